"""docs/config.md lists every setting of the run config as the models define it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _script():
    spec = importlib.util.spec_from_file_location("config_reference", ROOT / "scripts" / "config_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reference_is_current() -> None:
    committed = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    assert committed == _script().render(), (
        "docs/config.md is out of date; run `.venv/bin/python scripts/config_reference.py`")


def test_reference_names_nested_settings_with_defaults() -> None:
    text = _script().render()
    assert "| `train.kd_ratio` | float | `0.5` |" in text
    assert "| `build.split.test` | float | `0.15` |" in text
    assert "| `workspace` | str | required |" in text
