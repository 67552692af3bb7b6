"""Trainer checkpoints, metrics, exact resume and precision on the tiny models."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from trainer_fixtures import build_labelled, check_stop_and_resume, copy_labelled, dropout_student
from shochu.distill import train
from shochu.distill.checkpoints import BestCheckpoints
from shochu.workspace import read_jsonl

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def student(tmp_path_factory, tiny_student_dir):
    # Dropout makes every step draw random numbers, so resume must restore the RNG to match.
    return dropout_student(tiny_student_dir, tmp_path_factory.mktemp("student") / "model", 0.1)


@pytest.fixture(scope="module")
def template(tmp_path_factory, tiny_model_dir, student):
    return build_labelled(tmp_path_factory.mktemp("labelled"), tiny_model_dir, student)


@pytest.fixture()
def fresh(template, tmp_path, tiny_model_dir, student):
    def make(name="ws", **train_settings):
        return copy_labelled(template, tmp_path / name, tiny_model_dir, student, **train_settings)
    return make


# --- ranking ------------------------------------------------------------------------------------


def test_ranking_follows_the_stated_direction():
    lower = BestCheckpoints(keep=2, mode="min")
    higher = BestCheckpoints(keep=2, mode="max")
    for step, value in [(1, 3.0), (2, 1.0), (3, 2.0), (4, 5.0)]:
        lower.consider(step, value)
        higher.consider(step, value)
    assert lower.entries == [(2, 1.0), (3, 2.0)]
    assert higher.entries == [(4, 5.0), (1, 3.0)]


def test_ranking_moves_and_evicts_folders_as_it_should():
    ranking = BestCheckpoints(keep=3, mode="min")
    assert ranking.consider(1, 5.0).best
    second = ranking.consider(2, 4.0)
    assert (second.best, second.demoted, second.evicted) == (True, 1, [])
    third = ranking.consider(3, 4.5)
    assert (third.keep, third.best, third.demoted, third.evicted) == (True, False, None, [])
    fourth = ranking.consider(4, 3.0)
    assert (fourth.best, fourth.demoted, fourth.evicted) == (True, 2, [1])
    worse = ranking.consider(5, 9.0)
    assert not worse.keep
    # A tie keeps the earlier checkpoint.
    tie = ranking.consider(6, 3.0)
    assert (tie.keep, tie.best, tie.evicted) == (True, False, [3])
    assert ranking.entries == [(4, 3.0), (6, 3.0), (2, 4.0)]


def test_keep_one_replaces_best_without_moving_it():
    ranking = BestCheckpoints(keep=1, mode="max")
    ranking.consider(1, 1.0)
    decision = ranking.consider(2, 2.0)
    assert (decision.best, decision.demoted, decision.evicted) == (True, None, [])
    assert ranking.entries == [(2, 2.0)]


def test_ranking_rejects_an_unknown_direction():
    with pytest.raises(ValueError, match="metric_mode='lowest' must be 'min' or 'max'"):
        BestCheckpoints(keep=1, mode="lowest")


# --- the trainer ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["min", "max"])
def test_best_k_checkpoints_follow_metric_and_mode(fresh, mode):
    config, workspace = fresh(max_steps=8, eval_every=2, keep_best=3, metric="val_kd_loss",
                              metric_mode=mode, patience=100)
    manifest = train.run(config, workspace)
    folder = workspace.stage_dir("train")
    validations = [r for r in read_jsonl(folder / "metrics.jsonl") if r["split"] == "validation"]
    assert [r["step"] for r in validations] == [2, 4, 6, 8]

    # Expected order: best first, an earlier step first among equal values.
    ranked = sorted(validations, key=lambda r: (r["kd_loss"] if mode == "min" else -r["kd_loss"], r["step"]))
    best, *others = [r["step"] for r in ranked[:3]]
    assert manifest["counts"]["best_step"] == best
    assert json.loads((folder / "best" / "trainer_state.json").read_text())["step"] == best
    assert sorted(p.name for p in (folder / "checkpoints").iterdir()) == sorted(f"step-{s}" for s in others)
    for step in others:
        saved = json.loads((folder / "checkpoints" / f"step-{step}" / "trainer_state.json").read_text())
        assert saved["step"] == step
        assert (folder / "checkpoints" / f"step-{step}" / "model.safetensors").is_file()


def test_early_stopping_uses_the_configured_direction(fresh):
    # Training lowers the validation loss, so with "max" the first validation stays the best.
    config, workspace = fresh(max_steps=40, eval_every=2, patience=2, metric="val_loss", metric_mode="max",
                              learning_rate=1e-2)
    manifest = train.run(config, workspace)
    records = read_jsonl(workspace.stage_dir("train") / "metrics.jsonl")
    validations = [r for r in records if r["split"] == "validation"]
    assert manifest["counts"]["stopped_early"]
    assert validations[0]["loss"] > validations[1]["loss"] > validations[2]["loss"]
    assert manifest["counts"]["best_step"] == 2
    assert manifest["counts"]["steps_run"] == 6


def test_metrics_lines_per_interval_carry_terms_throughput_and_memory(fresh):
    config, workspace = fresh(max_steps=7, eval_every=7, log_every=3, kd_ratio=0.7)
    train.run(config, workspace)
    lines = [r for r in read_jsonl(workspace.stage_dir("train") / "metrics.jsonl") if r["split"] == "train"]
    assert [(r["step"], r["steps"]) for r in lines] == [(3, 3), (6, 3), (7, 1)]
    temperature = config.label.temperature
    for record in lines:
        assert record["loss"] == pytest.approx(0.7 * temperature**2 * record["kd_loss"] + 0.3 * record["ce_loss"])
        assert record["kd_loss"] > 0 and record["ce_loss"] > 0
        assert record["tokens_per_s"] > record["supervised_tokens_per_s"] > 0
        # A process that loaded torch and transformers holds well over 100 MiB.
        assert 100 < record["peak_rss_mib"] < 64 * 1024


def test_resume_after_a_stop_gives_the_same_final_weights(fresh):
    settings = {"max_steps": 6, "eval_every": 2, "grad_accum": 2, "batch_size": 3}
    config, workspace = fresh(**settings)
    saved, manifest = check_stop_and_resume(config, workspace)

    # 2 steps x 2 micro-batches x 3 examples.
    assert saved["examples_seen"] == 12
    assert saved["scheduler"]["last_epoch"] == 2
    assert (saved["data"]["epoch"], saved["data"]["index_in_epoch"]) == divmod(
        12, manifest["counts"]["train_examples"])


def test_resume_without_the_rng_state_would_differ(fresh):
    """The dropout student draws random numbers: a reseeded resume must not match, or the test above proves nothing."""
    config, workspace = fresh(max_steps=6, eval_every=3)
    train.run(config, workspace)
    uninterrupted = load_file(str(workspace.stage_dir("train") / "last" / "trainable.safetensors"))

    workspace.reset("train")
    train.run(config, workspace, stop_after_steps=3)
    rng_path = workspace.stage_dir("train") / "last" / "rng.safetensors"
    from safetensors.torch import save_file

    states = load_file(str(rng_path))
    save_file({name: torch.manual_seed(123).get_state() for name in states}, str(rng_path))
    train.run(config, workspace)
    resumed = load_file(str(workspace.stage_dir("train") / "last" / "trainable.safetensors"))
    assert any(not torch.equal(resumed[name], tensor) for name, tensor in uninterrupted.items())


def test_bfloat16_autocast_runs_and_changes_the_numbers(fresh):
    losses = {}
    for dtype in ("bfloat16", "float32"):
        config, workspace = fresh(dtype, max_steps=2, eval_every=2, dtype=dtype)
        train.run(config, workspace)
        first = read_jsonl(workspace.stage_dir("train") / "metrics.jsonl")[0]
        losses[dtype] = (first["kd_loss"], first["ce_loss"])
    # Autocast rounds the forward pass to bfloat16: close to float32, but not equal.
    assert losses["bfloat16"] != losses["float32"]
    for low, full in zip(losses["bfloat16"], losses["float32"], strict=True):
        assert low == pytest.approx(full, rel=0.05, abs=1e-4)


def test_auto_dtype_is_float32_on_cpu():
    assert train._autocast_dtype("auto", torch.device("cpu")) == torch.float32
    assert train._autocast_dtype("bfloat16", torch.device("cpu")) == torch.bfloat16
