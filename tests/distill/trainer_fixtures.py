"""A labelled tiny workspace built once per test module and copied for each test.

Building examples with the tiny teacher takes most of a minute; training on the
copy takes seconds, so each trainer test starts from its own copy.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tiny_models import tiny_run_config, write_protected_corpus


def dropout_student(source: Path, destination: Path, dropout: float) -> Path:
    """Copy a tiny student and give it attention dropout, so that its training draws random numbers."""
    shutil.copytree(source, destination)
    config_path = destination / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["attention_dropout"] = dropout
    config_path.write_text(json.dumps(config), encoding="utf-8")
    return destination


def build_labelled(root: Path, teacher: Path, student: Path) -> Path:
    """Run build and label into ``root/ws`` and return the workspace folder."""
    from shochu.pipeline import run_stage
    from shochu.workspace import Workspace

    config = tiny_run_config(root / "ws", teacher, student)
    write_protected_corpus(Path(config.workspace))
    workspace = Workspace(Path(config.workspace))
    run_stage("build", config, workspace)
    run_stage("label", config, workspace)
    return Path(config.workspace)


def copy_labelled(template: Path, root: Path, teacher: Path, student: Path, **train):
    """A copy of the labelled workspace and a config whose train section has ``train`` overrides."""
    from shochu.workspace import Workspace

    shutil.copytree(template, root, ignore=shutil.ignore_patterns("train"))
    config = tiny_run_config(root, teacher, student, train=train)
    return config, Workspace(root)
