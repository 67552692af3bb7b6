"""The check stops a run whose protect keys are missing before ingest starts, and warns of a threshold too high."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from shochu.config import RunConfig
from shochu.pipeline import run_all
from shochu.preflight.stage import PreflightError, check_protect


def _config(tmp_path: Path, **protect) -> RunConfig:
    (tmp_path / "docs").mkdir(exist_ok=True)
    (tmp_path / "docs" / "note.md").write_text("# Note\n\nNothing personal here.\n", encoding="utf-8")
    return RunConfig.model_validate({"workspace": str(tmp_path / "ws"), "ingest": {"input": str(tmp_path / "docs")},
                                     "protect": protect})


def test_default_protect_settings_pass(tmp_path: Path) -> None:
    assert check_protect(_config(tmp_path)) == ([], [])


def test_missing_pseudonym_and_mapping_keys_are_problems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOCHU_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("SHOCHU_MAPPING_KEY", raising=False)
    problems, _ = check_protect(_config(tmp_path, operators={"PERSON": "pseudonym"}, reversible_mapping=True))
    assert len(problems) == 2
    assert "SHOCHU_PSEUDONYM_KEY is not set" in problems[0]
    assert "SHOCHU_MAPPING_KEY is not set" in problems[1]


def test_set_keys_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOCHU_PSEUDONYM_KEY", "k" * 12)
    mapping = Fernet.generate_key().decode()
    monkeypatch.setenv("SHOCHU_MAPPING_KEY", mapping)
    problems, _ = check_protect(_config(tmp_path, operators={"PERSON": "hash"}, reversible_mapping=True))
    assert problems == ["SHOCHU_PSEUDONYM_KEY is 12 characters long; use at least 16 random characters"]

    monkeypatch.setenv("SHOCHU_PSEUDONYM_KEY", "k" * 16)
    assert check_protect(_config(tmp_path, operators={"PERSON": "hash"}, reversible_mapping=True)) == ([], [])


def test_threshold_above_every_unvalidated_score_warns(tmp_path: Path) -> None:
    assert check_protect(_config(tmp_path, score_threshold=0.85)) == ([], [])
    _, warnings = check_protect(_config(tmp_path, score_threshold=0.99))
    assert len(warnings) == 1
    assert warnings[0].startswith("protect.score_threshold 0.99 is above 0.85")
    assert "person names, addresses" in warnings[0]


def test_run_stops_before_ingest_without_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOCHU_PSEUDONYM_KEY", raising=False)
    config = _config(tmp_path, operators={"PERSON": "pseudonym"})
    with pytest.raises(PreflightError, match="SHOCHU_PSEUDONYM_KEY is not set"):
        run_all(config, until="ingest")
    assert not (tmp_path / "ws" / "ingest").exists()


def test_masker_logs_the_threshold_warning(caplog: pytest.LogCaptureFixture) -> None:
    from shochu.config import ProtectConfig
    from shochu.protect.masker import Masker

    with caplog.at_level(logging.WARNING, logger="shochu.protect.masker"):
        Masker(ProtectConfig(score_threshold=0.9))
    assert "protect.score_threshold 0.9 is above 0.85" in caplog.text
