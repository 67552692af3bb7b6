"""Online teacher and hidden alignment with two CPU processes under `accelerate launch` (gloo on loopback)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from safetensors.torch import load_file

from test_trainer_ddp import accelerate_launch
from tiny_models import tiny_run_config
from trainer_fixtures import write_built_examples
from shochu.distill import train
from shochu.models import prepare_models
from shochu.pipeline import save_resolved_config
from shochu.workspace import Workspace, read_jsonl

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

STEPS = {"teacher": "online", "max_steps": 4, "eval_every": 2, "grad_accum": 2, "warmup_steps": 1,
         "hidden_alignment": {"loss": "mse"}}


def _workspace(root: Path, teacher: Path, batch_size: int):
    config = tiny_run_config(root, teacher, teacher, train={**STEPS, "batch_size": batch_size})
    config.student.path = None
    config.student.layers = 2
    workspace = Workspace(Path(config.workspace))
    write_built_examples(workspace.root)
    return config, workspace


def test_two_online_processes_match_one_process(tmp_path, tiny_model_dir):
    config, workspace = _workspace(tmp_path / "one", tiny_model_dir, batch_size=4)
    single = train.run(config, workspace)
    single_metrics = read_jsonl(workspace.stage_dir("train") / "metrics.jsonl")
    single_weights = load_file(str(workspace.stage_dir("train") / "last" / "trainable.safetensors"))

    config, workspace = _workspace(tmp_path / "two", tiny_model_dir, batch_size=2)
    # Import the models first, as `shochu run` would have done before this stage.
    prepare_models(config.teacher.path, None, config.student.layers, workspace.models_dir)
    save_resolved_config(config, workspace)
    result = accelerate_launch(2, "train", "--workspace", str(workspace.root))
    assert result.returncode == 0, result.stderr[-3000:]

    manifest = json.loads((workspace.stage_dir("train") / "manifest.json").read_text())
    assert manifest["counts"]["processes"] == 2
    assert manifest["counts"]["teacher"] == "online"
    metrics = read_jsonl(workspace.stage_dir("train") / "metrics.jsonl")
    # Each rank ran its own teacher on its half of the batch; the reduced terms equal one process's.
    for one, two in zip(single_metrics, metrics, strict=True):
        assert (one["split"], one["step"]) == (two["split"], two["step"])
        assert two["loss"] == pytest.approx(one["loss"], rel=1e-5)
        assert two["align_loss"] == pytest.approx(one["align_loss"], rel=1e-5)
    weights = load_file(str(workspace.stage_dir("train") / "last" / "trainable.safetensors"))
    assert weights.keys() == single_weights.keys()
    # Rounding-level differences in the summed gradients move weights far less than 1e-5 in 4 steps.
    largest = max(float((weights[name] - tensor).abs().max()) for name, tensor in single_weights.items())
    assert largest < 1e-5
    assert single["counts"]["best_step"] == manifest["counts"]["best_step"]
