"""The report stage: a self-contained HTML page with escaped text, and report.json with the same data."""

from __future__ import annotations

import base64
import re
import time
from pathlib import Path

import pytest
from evaluate_workspace import PLANTED_SCRIPT, TEST_RECORDS, make_config, make_workspace

from shochu.evaluate import report
from shochu.evaluate.report import numeric_counts
from shochu.workspace import read_json, write_json, write_jsonl

PLANTED_OUTPUT = "<b onmouseover=alert(1)>bold</b>"
DATA_URI = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)

EVAL_RESULTS = {
    "models": {name: {"path": path, "parameters": 1000, "tokens_per_second": 50.0, "load_seconds": 0.1}
               for name, path in [("teacher", "models/teacher"), ("student_init", "models/student-init"),
                                  ("student", "train/best")]},
    "tasks": {
        "qa": {"examples": 3, "kl_examples": 3, "metrics": {
            "teacher": {"rouge_l": 0.6, "kl_to_teacher": 0.0},
            "student_init": {"rouge_l": 0.1, "kl_to_teacher": 0.9},
            "student": {"rouge_l": 0.4, "kl_to_teacher": 0.3}}},
        "classify": {"examples": 2, "metrics": {
            name: {"accuracy": 0.5, "valid_choice_share": 1.0}
            for name in ("teacher", "student_init", "student")}},
    },
    "summary": {"teacher": {"kl_to_teacher": 0.0, "rouge_l": 0.6, "accuracy": 0.5},
                "student_init": {"kl_to_teacher": 0.9, "rouge_l": 0.1, "accuracy": 0.5},
                "student": {"kl_to_teacher": 0.3, "rouge_l": 0.4, "accuracy": 0.5}},
}


def _finish_eval(workspace) -> None:
    predictions = [{"id": r["id"], "task": r["task"], "model": model,
                    "prediction": PLANTED_OUTPUT if model == "teacher" else f"answer {r['id']}"}
                   for r in TEST_RECORDS for model in ("teacher", "student_init", "student")]
    write_jsonl(workspace.stage_dir("eval") / "predictions.jsonl", predictions)
    write_json(workspace.stage_dir("eval") / "results.json", EVAL_RESULTS)
    workspace.finish("eval", {"max_new_tokens": 6}, {}, {"examples": {"qa": 3}}, time.time())


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, tiny_student_dir: Path):
    root = tmp_path_factory.mktemp("report-workspace")
    workspace = make_workspace(root, tiny_model_dir, tiny_student_dir)
    _finish_eval(workspace)
    manifest = report.run(make_config(root), workspace)
    folder = workspace.stage_dir("report")
    html = (folder / "report.html").read_text(encoding="utf-8")
    return workspace, manifest, html, read_json(folder / "report.json")


def test_report_files(reported) -> None:
    workspace, _, _, _ = reported
    names = {path.name for path in workspace.stage_dir("report").iterdir()}
    assert names == {"report.html", "report.json", "manifest.json"}


def test_report_embeds_two_pngs(reported) -> None:
    _, _, html, _ = reported
    images = DATA_URI.findall(html)
    assert len(images) == 2
    for image in images:
        assert base64.b64decode(image).startswith(b"\x89PNG\r\n\x1a\n")


def test_report_loads_nothing_external(reported) -> None:
    _, _, html, _ = reported
    assert EXTERNAL.search(html) is None
    assert "http://" not in html
    assert "https://" not in html
    assert "<link" not in html


def test_report_escapes_planted_script(reported) -> None:
    _, _, html, _ = reported
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(" in html


def test_report_escapes_planted_output(reported) -> None:
    _, _, html, _ = reported
    assert "<b onmouseover" not in html
    assert "&lt;b onmouseover=alert(1)&gt;bold&lt;/b&gt;" in html


def test_report_json_eval(reported) -> None:
    _, _, _, data = reported
    assert data["eval"] == EVAL_RESULTS


def test_report_json_training(reported) -> None:
    _, _, _, data = reported
    assert data["training"]["best_step"] == 5
    assert len(data["training"]["train"]) == 10
    assert [r["step"] for r in data["training"]["validation"]] == [5, 10]


def test_report_json_timings(reported) -> None:
    _, _, html, data = reported
    stages = [row["stage"] for row in data["timings"]]
    assert stages == ["ingest", "protect", "build", "label", "train", "eval"]
    for stage in stages:
        assert f"<td>{stage}</td>" in html


def test_report_counts_numbers_only(reported) -> None:
    _, _, html, data = reported
    assert data["counts"]["protect"] == {"chunks": 9, "entities.PERSON": 3, "entities.EMAIL_ADDRESS": 2}
    assert "not a count" not in html


def test_report_samples(reported) -> None:
    _, _, html, data = reported
    assert [s["id"] for s in data["samples"]] == ["classify-001", "classify-002", "qa-001", "qa-002",
                                                  "summary-001"]
    assert data["samples"][2]["input"].endswith(PLANTED_SCRIPT)
    assert set(data["samples"][0]["predictions"]) == {"teacher", "student"}
    for sample in data["samples"]:
        assert f"<td>{sample['id']}</td>" in html


def test_report_eval_table(reported) -> None:
    _, _, html, _ = reported
    assert "<td>valid_choice_share</td>" in html
    assert "<td>kl_to_teacher</td>" in html


def test_report_manifest(reported) -> None:
    workspace, manifest, _, _ = reported
    assert manifest["counts"]["samples"] == 5
    assert set(manifest["inputs"]) == {"ingest", "protect", "build", "label", "train", "eval"}
    assert workspace.is_fresh("report", manifest["config"], manifest["inputs"])


def test_report_without_eval(tmp_path: Path, tiny_model_dir: Path, tiny_student_dir: Path) -> None:
    workspace = make_workspace(tmp_path, tiny_model_dir, tiny_student_dir)
    report.run(make_config(tmp_path), workspace)
    html = (workspace.stage_dir("report") / "report.html").read_text(encoding="utf-8")
    assert "The eval stage has not run" in html
    assert len(DATA_URI.findall(html)) == 1


def test_numeric_counts_flattens() -> None:
    counts = {"a": 1, "b": {"c": 2.5, "d": "text"}, "e": True}
    assert numeric_counts(counts) == {"a": 1, "b.c": 2.5}
