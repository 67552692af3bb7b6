"""The hard-label baseline: trained with CE only on the same data and steps, then evaluated beside the others.

This runs build, label, train and eval for real on the tiny models, so it takes
a few minutes on a busy two-core machine.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tiny_models import tiny_run_config, write_protected_corpus

from shochu.evaluate import report
from shochu.evaluate.baseline import baseline_config, train_baseline
from shochu.pipeline import run_stage
from shochu.workspace import Workspace, read_json, read_jsonl

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, tiny_student_dir: Path):
    root = tmp_path_factory.mktemp("baseline") / "ws"
    config = tiny_run_config(root, tiny_model_dir, tiny_student_dir,
                             eval={"baseline": True, "max_examples": 2, "latency_prompts": 1,
                                   "latency_new_tokens": 3, "bootstrap_resamples": 100})
    write_protected_corpus(root)
    workspace = Workspace(root)
    for stage in ("build", "label", "train", "eval"):
        run_stage(stage, config, workspace)
    report.run(config, workspace)
    return config, workspace, read_json(workspace.stage_dir("eval") / "results.json")


def test_baseline_config_drops_kd() -> None:
    from shochu.config import RunConfig

    config = RunConfig(workspace="ws", train={"kd_ratio": 0.7, "metric": "val_kd_loss", "max_steps": 9,
                                              "teacher": "online", "hidden_alignment": {"weight": 0.5}})
    baseline = baseline_config(config)
    assert baseline.train.kd_ratio == 0.0
    assert baseline.train.hidden_alignment is None
    assert config.train.hidden_alignment.weight == 0.5
    assert baseline.train.metric == "val_loss"
    assert baseline.train.max_steps == 9
    assert config.train.kd_ratio == 0.7


def test_baseline_model_evaluated(evaluated) -> None:
    _, _, results = evaluated
    assert list(results["models"]) == ["teacher", "student_init", "student", "baseline"]
    assert results["models"]["baseline"]["path"] == "baseline/best"
    for entry in results["tasks"].values():
        assert "baseline" in entry["metrics"]
        assert "baseline" in entry["intervals"]


def test_baseline_trained_with_ce_only(evaluated) -> None:
    _, workspace, _ = evaluated
    records = [r for r in read_jsonl(workspace.root / "baseline" / "metrics.jsonl")
               if r["split"] == "train"]
    assert records
    for record in records:
        assert record["loss"] == pytest.approx(record["ce_loss"], rel=1e-5)


def test_baseline_same_budget(evaluated) -> None:
    config, workspace, _ = evaluated
    distilled = read_jsonl(workspace.stage_dir("train") / "metrics.jsonl")
    baseline = read_jsonl(workspace.root / "baseline" / "metrics.jsonl")
    last_step = max(r["step"] for r in distilled if r["split"] == "train")
    assert max(r["step"] for r in baseline if r["split"] == "train") == last_step
    assert last_step == config.train.max_steps


def test_baseline_keeps_best_only(evaluated) -> None:
    _, workspace, _ = evaluated
    names = {path.name for path in (workspace.root / "baseline").iterdir()}
    assert "best" in names
    assert "finished.json" in names
    assert "last" not in names


def test_finished_baseline_reused(evaluated) -> None:
    # Eval empties its own folder on every run; the baseline outside it is not trained again.
    config, workspace, _ = evaluated
    weights = workspace.root / "baseline" / "best" / "model.safetensors"
    written = weights.stat().st_mtime_ns
    assert train_baseline(config, workspace) == workspace.root / "baseline" / "best"
    assert weights.stat().st_mtime_ns == written


def test_baseline_weights_differ(evaluated) -> None:
    _, workspace, _ = evaluated
    baseline = load_file(workspace.root / "baseline" / "best" / "model.safetensors")
    initial = load_file(workspace.models_dir / "student-init" / "model.safetensors")
    distilled = load_file(workspace.stage_dir("train") / "best" / "model.safetensors")
    name = next(key for key in baseline if "layers.0.mlp" in key)
    assert not torch.equal(baseline[name], initial[name])
    assert not torch.equal(baseline[name], distilled[name])


def test_gap_rows_compare_with_baseline(evaluated) -> None:
    _, _, results = evaluated
    for row in results["capacity_gap"]:
        metrics = results["tasks"][row["task"]]["metrics"]
        assert row["baseline"] == metrics["baseline"][row["metric"]]
        assert row["gain_over_baseline"] == pytest.approx(row["student"] - row["baseline"])


def test_report_shows_baseline(evaluated) -> None:
    _, workspace, _ = evaluated
    html = (workspace.stage_dir("report") / "report.html").read_text(encoding="utf-8")
    assert "<th>hard-label baseline</th>" in html
    assert "<td>baseline</td>" in html
