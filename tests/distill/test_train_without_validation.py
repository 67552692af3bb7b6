"""Training with an empty validation split: it still trains, keeps the last step and says so."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tiny_models import tiny_run_config
from trainer_fixtures import write_built_examples
from shochu.pipeline import run_stage
from shochu.workspace import Workspace, read_json

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_empty_validation_warns_and_keeps_last(tmp_path: Path, tiny_model_dir: Path, tiny_student_dir: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    config = tiny_run_config(tmp_path / "ws", tiny_model_dir, tiny_student_dir,
                             train={"max_steps": 2, "eval_every": 1, "warmup_steps": 0, "batch_size": 2})
    write_built_examples(Path(config.workspace), train=4, validation=0)
    workspace = Workspace(Path(config.workspace))
    run_stage("label", config, workspace)

    with caplog.at_level(logging.WARNING, logger="shochu.distill.train"):
        run_stage("train", config, workspace)

    warnings = [record.getMessage() for record in caplog.records if record.name == "shochu.distill.train"]
    assert any("no validation examples, so checkpoints cannot be ranked" in message for message in warnings)
    manifest = read_json(workspace.stage_dir("train") / "manifest.json")
    assert manifest["counts"]["validation_examples"] == 0
    assert (workspace.stage_dir("train") / "best" / "config.json").is_file()
