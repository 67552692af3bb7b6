"""The eval stage end to end on a tiny workspace: results.json, predictions.jsonl, manifest."""

from __future__ import annotations

from pathlib import Path

import pytest
from evaluate_workspace import TEST_RECORDS, make_config, make_workspace

from shochu.evaluate import stage
from shochu.workspace import Workspace, read_json, read_jsonl

MODELS = {"teacher", "student_init", "student"}


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, tiny_student_dir: Path):
    root = tmp_path_factory.mktemp("eval-workspace")
    workspace = make_workspace(root, tiny_model_dir, tiny_student_dir)
    config = make_config(root)
    manifest = stage.run(config, workspace)
    return workspace, config, manifest


@pytest.fixture(scope="module")
def results(finished) -> dict:
    workspace, _, _ = finished
    return read_json(workspace.stage_dir("eval") / "results.json")


def test_eval_output_files(finished) -> None:
    workspace, _, _ = finished
    names = {path.name for path in workspace.stage_dir("eval").iterdir()}
    assert names == {"results.json", "predictions.jsonl", "manifest.json"}


def test_results_top_level(results) -> None:
    assert set(results) == {"models", "tasks", "summary"}


def test_results_models(results) -> None:
    assert set(results["models"]) == MODELS
    assert results["models"]["student"]["path"] == "train/best"
    assert results["models"]["student_init"]["path"] == "models/student-init"


def test_results_model_facts(results) -> None:
    teacher, student = results["models"]["teacher"], results["models"]["student"]
    assert teacher["parameters"] > student["parameters"]
    assert student["tokens_per_second"] > 0
    assert student["load_seconds"] >= 0


def test_results_tasks(results) -> None:
    assert set(results["tasks"]) == {"qa", "summary", "classify"}
    assert results["tasks"]["qa"]["examples"] == 3
    assert results["tasks"]["qa"]["kl_examples"] == 3
    assert "kl_examples" not in results["tasks"]["classify"]


def test_teacher_kl_is_zero(results) -> None:
    for task in ("qa", "summary"):
        assert results["tasks"][task]["metrics"]["teacher"]["kl_to_teacher"] == 0.0


def test_student_kl_is_positive(results) -> None:
    for name in ("student_init", "student"):
        assert results["tasks"]["qa"]["metrics"][name]["kl_to_teacher"] > 0.0


def test_classify_metrics_in_range(results) -> None:
    for name in MODELS:
        metrics = results["tasks"]["classify"]["metrics"][name]
        assert 0.0 <= metrics["accuracy"] <= 1.0
        assert 0.0 <= metrics["valid_choice_share"] <= 1.0


def test_summary_averages_generated_tasks(results) -> None:
    tasks = results["tasks"]
    for name in MODELS:
        scores = [tasks[task]["metrics"][name]["rouge_l"] for task in ("qa", "summary")]
        expected = sum(scores) / 2
        assert results["summary"][name]["rouge_l"] == pytest.approx(expected)
        assert results["summary"][name]["accuracy"] == tasks["classify"]["metrics"][name]["accuracy"]


def test_predictions_cover_every_model(finished) -> None:
    workspace, _, _ = finished
    predictions = read_jsonl(workspace.stage_dir("eval") / "predictions.jsonl")
    assert len(predictions) == len(TEST_RECORDS) * len(MODELS)
    expected = {(record["id"], name) for record in TEST_RECORDS for name in MODELS}
    assert {(p["id"], p["model"]) for p in predictions} == expected


def test_manifest_counts(finished, results) -> None:
    _, _, manifest = finished
    assert manifest["counts"]["examples"] == {"classify": 2, "qa": 3, "summary": 1}
    assert manifest["counts"]["kl_to_teacher"]["teacher"] == 0.0
    assert manifest["counts"]["kl_to_teacher"]["student"] == results["summary"]["student"]["kl_to_teacher"]


def test_manifest_is_fresh(finished) -> None:
    workspace, config, _ = finished
    assert workspace.is_fresh("eval", stage.settings(config), stage.inputs(config, workspace))


def test_max_examples_takes_first_ids() -> None:
    selected = stage.select_examples(TEST_RECORDS, max_examples=2)
    assert [r["id"] for r in selected["qa"]] == ["qa-001", "qa-002"]


def test_eval_requires_build(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="shochu build"):
        stage.run(make_config(tmp_path), Workspace(tmp_path))
