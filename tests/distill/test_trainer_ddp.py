"""Labelling and data-parallel training with two CPU processes under `accelerate launch` (gloo on loopback)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from trainer_fixtures import build_labelled, copy_labelled
from shochu.distill import train
from shochu.distill.labels import SoftLabels
from shochu.pipeline import save_resolved_config
from shochu.workspace import read_jsonl

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

STEPS = {"max_steps": 4, "eval_every": 2, "grad_accum": 2, "warmup_steps": 1}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def accelerate_launch(processes: int, *arguments: str) -> subprocess.CompletedProcess:
    """Run ``python -m shochu ARGUMENTS`` in ``processes`` CPU processes, rendezvous on 127.0.0.1."""
    port = str(free_port())
    # --multi_gpu selects accelerate's torchrun launcher; --cpu alone would start a single
    # process. Without a GPU, each process's Accelerator uses the CPU and gloo.
    command = [str(Path(sys.executable).with_name("accelerate")), "launch", "--multi_gpu",
               "--num_processes", str(processes), "--num_machines", "1", "--mixed_precision", "no",
               "--dynamo_backend", "no", "--main_process_ip", "127.0.0.1", "--main_process_port", port,
               "-m", "shochu", *arguments]
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port, "OMP_NUM_THREADS": "1",
           "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def template(tmp_path_factory, tiny_model_dir, tiny_student_dir):
    return build_labelled(tmp_path_factory.mktemp("labelled"), tiny_model_dir, tiny_student_dir)


def test_two_processes_match_one_process_with_the_same_global_batch(template, tmp_path, tiny_model_dir,
                                                                    tiny_student_dir):
    # One process with micro-batches of 4 sees the examples that two processes with 2 each see together.
    config, workspace = copy_labelled(template, tmp_path / "one", tiny_model_dir, tiny_student_dir,
                                      batch_size=4, **STEPS)
    single = train.run(config, workspace)
    single_metrics = read_jsonl(workspace.stage_dir("train") / "metrics.jsonl")
    single_weights = load_file(str(workspace.stage_dir("train") / "last" / "trainable.safetensors"))

    config, workspace = copy_labelled(template, tmp_path / "two", tiny_model_dir, tiny_student_dir,
                                      batch_size=2, **STEPS)
    save_resolved_config(config, workspace)
    result = accelerate_launch(2, "train", "--workspace", str(workspace.root))
    assert result.returncode == 0, result.stderr[-3000:]
    # The main process prints the summary for both.
    assert (result.stdout + result.stderr).count("train finished:") == 1

    manifest = json.loads((workspace.stage_dir("train") / "manifest.json").read_text())
    assert manifest["counts"]["processes"] == 2
    metrics = read_jsonl(workspace.stage_dir("train") / "metrics.jsonl")
    train_lines = [r for r in metrics if r["split"] == "train"]
    single_lines = [r for r in single_metrics if r["split"] == "train"]
    # Both ranks ran: every step counts the supervised tokens of all 8 examples, as the single run does.
    assert [r["tokens"] for r in train_lines] == [r["tokens"] for r in single_lines]
    assert sum(r["tokens"] for r in train_lines) > 0

    # Equal in exact arithmetic. The two runs add float32 partial sums in another order (per-rank
    # gradients reduced by gloo, narrower padding), which differs at rounding level, about 1e-7
    # relative. Adam turns a gradient into an update of at most the learning rate (2e-4) whatever its
    # size, so such differences move weights by far less than 1e-5 in 4 steps (measured: 2e-7).
    for one, two in zip(single_metrics, metrics, strict=True):
        assert (one["split"], one["step"]) == (two["split"], two["step"])
        assert two["loss"] == pytest.approx(one["loss"], rel=1e-5)
    weights = load_file(str(workspace.stage_dir("train") / "last" / "trainable.safetensors"))
    largest = max(float((weights[name] - tensor).abs().max()) for name, tensor in single_weights.items())
    assert largest < 1e-5
    assert single["counts"]["best_step"] == manifest["counts"]["best_step"]


def test_two_processes_label_their_own_shards(template, tmp_path, tiny_model_dir, tiny_student_dir):
    config, workspace = copy_labelled(template, tmp_path / "ws", tiny_model_dir, tiny_student_dir)
    shutil.rmtree(workspace.stage_dir("label"))
    save_resolved_config(config, workspace)
    result = accelerate_launch(2, "label", "--workspace", str(workspace.root))
    assert result.returncode == 0, result.stderr[-3000:]

    folder = workspace.stage_dir("label")
    index = json.loads((folder / "index.json").read_text())
    writers = {}
    for split, shards in index["splits"].items():
        for number, shard in enumerate(shards):
            with safe_open(folder / shard["file"], framework="pt") as handle:
                writers[shard["file"]] = int(handle.metadata()["rank"])
            assert writers[shard["file"]] == number % 2, shard["file"]
    # 24 training examples in shards of 10 and 6 validation examples: four shards, both ranks wrote.
    assert len(writers) == 4 and set(writers.values()) == {0, 1}
    assert json.loads((folder / "manifest.json").read_text())["counts"]["processes"] == 2

    # The same rows as the one-process labels of the template.
    for split in ("train", "validation"):
        one, two = SoftLabels(template / "label", split), SoftLabels(folder, split)
        assert one.example_ids == two.example_ids
        for example_id in one.example_ids:
            for expected, actual in zip(one.get(example_id), two.get(example_id), strict=True):
                assert torch.equal(expected, actual), example_id
