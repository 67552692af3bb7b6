"""The eval stage end to end on a tiny workspace: results.json, predictions.jsonl, manifest.

The workspace also has a user evaluation set (QA and extraction lines) and a user
metric file, so one run covers the extra sets and metrics too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evaluate_workspace import TEST_RECORDS, make_config, make_workspace

from shochu.evaluate import stage
from shochu.workspace import Workspace, read_json, read_jsonl

MODELS = {"teacher", "student_init", "student"}
EXTRA_SET = [
    {"input": "Return JSON with name and city: Tanaka lives in Osaka.", "task": "extract",
     "reference": {"name": "Tanaka", "city": "Osaka"}},
    {"id": "faq-th", "input": "สมชายอยู่ที่ไหน ตอบเป็น JSON", "task": "extract",
     "reference": "{\"name\": \"สมชาย\", \"city\": \"กรุงเทพฯ\"}"},
    {"input": "What is the capital of Japan?", "reference": "Tokyo", "task": "qa"},
]
METRIC_FILE = """
def answer_length(predictions, references):
    return sum(len(p) for p in predictions) / len(predictions)


def shape(predictions, references):
    if len(predictions) < 2:
        return None
    return {"count": float(len(predictions)), "empty": sum(not p for p in predictions) / len(predictions)}
"""
EXTRA_TASKS = {"faq/extract": 2, "faq/qa": 1}


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, tiny_student_dir: Path):
    root = tmp_path_factory.mktemp("eval-workspace")
    user = tmp_path_factory.mktemp("user-files")
    (user / "faq.jsonl").write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in EXTRA_SET),
                                    encoding="utf-8")
    (user / "my_metrics.py").write_text(METRIC_FILE, encoding="utf-8")
    workspace = make_workspace(root, tiny_model_dir, tiny_student_dir)
    config = make_config(root)
    config.eval.extra_sets = [str(user / "faq.jsonl")]
    config.eval.metrics = [f"{user / 'my_metrics.py'}:answer_length", f"{user / 'my_metrics.py'}:shape"]
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
    assert set(results) == {"models", "tasks", "summary", "capacity_gap", "bootstrap"}


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
    assert set(results["tasks"]) == {"qa", "summary", "classify", *EXTRA_TASKS}
    assert results["tasks"]["qa"]["examples"] == 3
    assert results["tasks"]["qa"]["kl_examples"] == 3
    assert results["tasks"]["classify"]["kl_examples"] == results["tasks"]["classify"]["examples"]


def test_teacher_kl_is_zero(results) -> None:
    for task in ("qa", "summary", "classify"):
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
    assert len(predictions) == (len(TEST_RECORDS) + len(EXTRA_SET)) * len(MODELS)
    extra_ids = ["faq-1", "faq-th", "faq-3"]
    expected = {(record_id, name) for record_id in [r["id"] for r in TEST_RECORDS] + extra_ids for name in MODELS}
    assert {(p["id"], p["model"]) for p in predictions} == expected


def test_manifest_counts(finished, results) -> None:
    _, _, manifest = finished
    assert manifest["counts"]["examples"] == {"classify": 2, "qa": 3, "summary": 1, **EXTRA_TASKS}
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


# --- metrics per kind, intervals, capacity gap -------------------------------------


def test_task_kinds_and_sources(results, finished) -> None:
    _, config, _ = finished
    tasks = results["tasks"]
    assert {task: entry["kind"] for task, entry in tasks.items()} == {
        "qa": "qa", "summary": "summary", "classify": "classify", "faq/extract": "extract", "faq/qa": "qa"}
    assert tasks["qa"]["source"] == "build/test.jsonl"
    assert tasks["faq/qa"]["source"] == config.eval.extra_sets[0]


def test_metric_names_per_kind(results) -> None:
    token = {"kl_to_teacher", "top1_agreement", "perplexity", "probability_gap_p50", "probability_gap_p90",
             "probability_gap_p99"}
    user = {"answer_length", "shape.count", "shape.empty"}
    expected = {
        "qa": {"rouge_l", "exact_match", "teacher_agreement", *token, *user},
        "classify": {"accuracy", "macro_f1", "first_mention_accuracy", "valid_choice_share", *token,
                     "answer_length", "shape.count", "shape.empty"},
        "faq/extract": {"field_precision", "field_recall", "field_f1", "json_validity", *token, *user},
        # One example: shape() returns None, so only answer_length is reported.
        "faq/qa": {"rouge_l", "exact_match", "teacher_agreement", *token, "answer_length"},
    }
    for task, names in expected.items():
        for name in MODELS:
            assert set(results["tasks"][task]["metrics"][name]) == names, (task, name)


def test_every_metric_has_interval(results) -> None:
    for task, entry in results["tasks"].items():
        for name in MODELS:
            for metric, value in entry["metrics"][name].items():
                interval = entry["intervals"][name][metric]
                if value is None:
                    assert interval is None
                    continue
                low, high = interval
                assert low <= value + 1e-9, (task, name, metric)
                assert value <= high + 1e-9, (task, name, metric)


def test_teacher_token_fidelity(results) -> None:
    teacher = results["tasks"]["qa"]["metrics"]["teacher"]
    assert teacher["kl_to_teacher"] == 0.0
    assert teacher["top1_agreement"] == 1.0
    assert teacher["probability_gap_p99"] == 0.0
    assert teacher["perplexity"] > 1.0


def test_student_token_fidelity(results) -> None:
    student = results["tasks"]["qa"]["metrics"]["student"]
    assert 0.0 <= student["top1_agreement"] <= 1.0
    assert 0.0 < student["probability_gap_p50"] <= student["probability_gap_p90"] <= student["probability_gap_p99"]
    assert student["perplexity"] > 1.0


def test_teacher_agrees_with_itself(results) -> None:
    assert results["tasks"]["qa"]["metrics"]["teacher"]["teacher_agreement"] == pytest.approx(1.0)


def test_confusion_per_model(results) -> None:
    confusion = results["tasks"]["classify"]["confusion"]
    assert set(confusion) == MODELS
    for entry in confusion.values():
        assert entry["classes"] == ["account", "billing", "hardware", "network", "software"]
        assert sum(map(sum, entry["counts"])) == 2
    assert "confusion" not in results["tasks"]["qa"]


def test_user_metric_values(results, finished) -> None:
    workspace, _, _ = finished
    predictions = [p for p in read_jsonl(workspace.stage_dir("eval") / "predictions.jsonl")
                   if p["task"] == "faq/extract" and p["model"] == "student"]
    metrics = results["tasks"]["faq/extract"]["metrics"]["student"]
    expected = sum(len(p["prediction"]) for p in predictions) / len(predictions)
    assert metrics["answer_length"] == pytest.approx(expected)
    assert metrics["shape.count"] == 2.0


def test_extraction_json_validity_range(results) -> None:
    for name in MODELS:
        metrics = results["tasks"]["faq/extract"]["metrics"][name]
        assert metrics["json_validity"] in (0.0, 0.5, 1.0)
        assert metrics["field_recall"] is not None


def test_capacity_gap_sorted(results) -> None:
    rows = results["capacity_gap"]
    assert {row["task"] for row in rows} == set(results["tasks"])
    gaps = [row["gap"] for row in rows]
    assert gaps == sorted(gaps, reverse=True)
    for row in rows:
        metrics = results["tasks"][row["task"]]["metrics"]
        assert row["gap"] == pytest.approx(metrics["teacher"][row["metric"]] - metrics["student"][row["metric"]])


def test_capacity_gap_primary_metrics(results) -> None:
    metric = {row["task"]: row["metric"] for row in results["capacity_gap"]}
    assert metric == {"qa": "rouge_l", "summary": "rouge_l", "classify": "macro_f1", "faq/extract": "field_f1",
                      "faq/qa": "rouge_l"}


def test_bootstrap_settings_recorded(results) -> None:
    assert results["bootstrap"]["resamples"] == 200
    assert results["bootstrap"]["confidence"] == 0.95


# --- latency and memory --------------------------------------------------------


def test_latency_per_model(results) -> None:
    for name in MODELS:
        latency = results["models"][name]["latency"]
        assert latency["prompts"] == 2
        assert latency["new_tokens_per_prompt"] == 4
        assert latency["time_to_first_token_ms_median"] > 0
        assert latency["time_to_first_token_ms_max"] >= latency["time_to_first_token_ms_median"]
        assert latency["decode_tokens_per_second"] > 0


def test_peak_memory_per_model(results) -> None:
    for name in MODELS:
        memory = results["models"][name]["peak_memory"]
        assert memory["device"] == "cpu"
        assert "RSS" in memory["method"]
        assert memory["bytes"] is None or memory["bytes"] >= 0


def test_inputs_cover_user_files(finished) -> None:
    workspace, config, _ = finished
    found = stage.inputs(config, workspace)
    assert set(found) == {"build", "train", config.eval.extra_sets[0], config.eval.metrics[0].rpartition(":")[0]}


def test_report_renders_real_results(finished) -> None:
    from shochu.evaluate import report

    workspace, config, _ = finished
    report.run(config, workspace)
    html = (workspace.stage_dir("report") / "report.html").read_text(encoding="utf-8")
    assert '<table id="eval-gap">' in html
    assert "<td>faq/extract</td>" in html
    assert "Confusion matrices: classify" in html
    assert html.count("data:image/png;base64,") == 3
