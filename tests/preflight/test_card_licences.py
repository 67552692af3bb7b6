"""The model card and lineage record the licences that `shochu check` found and the acceptances."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from shochu.config import RunConfig
from shochu.export import stage as export_stage
from shochu.preflight import stage
from shochu.workspace import Workspace, read_json

LLAMA_3_1 = " LLAMA 3.1 COMMUNITY LICENSE AGREEMENT\n\n Llama 3.1 Version Release Date: July 23, 2024\n"


@pytest.fixture()
def llama_teacher(tmp_path: Path, tiny_model_dir: Path) -> Path:
    """The tiny teacher with a Llama 3.1 licence file."""
    folder = shutil.copytree(tiny_model_dir, tmp_path / "llama-teacher")
    (folder / "LICENSE").write_text(LLAMA_3_1, encoding="utf-8")
    return folder


def accepting_config(root: Path, teacher: Path, student: Path) -> RunConfig:
    """A config for the tiny models that accepts the teacher's Llama 3.1 licence and the student's missing one."""
    return RunConfig.model_validate({"workspace": str(root), "teacher": {"path": str(teacher)},
                                     "student": {"path": str(student)},
                                     "check": {"accept_licences": ["llama3.1", "unknown"]}})


def _finished_workspace(root: Path, student_dir: Path, config: RunConfig) -> Workspace:
    """A workspace whose train stage has finished with ``student_dir`` as the best checkpoint."""
    workspace = Workspace(root)
    shutil.copytree(student_dir, workspace.stage_dir("train") / "best")
    for name in ("ingest", "protect", "build", "label", "train"):
        workspace.stage_dir(name).mkdir(parents=True, exist_ok=True)
        workspace.finish(name, {"test": True}, {}, {}, time.time())
    return workspace


def test_card_records_acceptance(tmp_path: Path, llama_teacher: Path, tiny_student_dir: Path) -> None:
    config = accepting_config(tmp_path / "ws", llama_teacher, tiny_student_dir)
    workspace = _finished_workspace(tmp_path / "ws", tiny_student_dir, config)
    stage.run(config, workspace)
    export_stage.run(config, workspace)
    card = (workspace.stage_dir("export") / "model" / "README.md").read_text(encoding="utf-8")
    assert "- llama3.1 (Llama 3.1 Community License Agreement), for the teacher" in card
    assert "- unknown (no licence found), for the student" in card
    assert 'must have a name that starts with "Llama"' in card


def test_card_licence_from_check(tmp_path: Path, llama_teacher: Path, tiny_student_dir: Path) -> None:
    config = accepting_config(tmp_path / "ws", llama_teacher, tiny_student_dir)
    workspace = _finished_workspace(tmp_path / "ws", tiny_student_dir, config)
    stage.run(config, workspace)
    export_stage.run(config, workspace)
    lineage = read_json(workspace.stage_dir("export") / "lineage.json")
    assert lineage["licence"] == "llama3.1"


def test_acceptance_change_stales_export(tmp_path: Path, llama_teacher: Path, tiny_student_dir: Path) -> None:
    config = accepting_config(tmp_path / "ws", llama_teacher, tiny_student_dir)
    workspace = _finished_workspace(tmp_path / "ws", tiny_student_dir, config)
    stage.run(config, workspace)
    before = export_stage.inputs(config, workspace)
    config.check.commercial_use = False
    stage.run(config, workspace)
    assert export_stage.inputs(config, workspace)["check"] != before["check"]
