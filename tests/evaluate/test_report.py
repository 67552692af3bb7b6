"""The report stage: a self-contained HTML page with escaped text, and report.json with the same data."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from evaluate_workspace import PLANTED_SCRIPT, make_config, make_workspace
from report_data import EVAL_RESULTS, finish_eval

from shochu.evaluate import report
from shochu.evaluate.report import numeric_counts
from shochu.workspace import read_json

DATA_URI = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)

@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, tiny_student_dir: Path):
    root = tmp_path_factory.mktemp("report-workspace")
    workspace = make_workspace(root, tiny_model_dir, tiny_student_dir)
    finish_eval(workspace)
    manifest = report.run(make_config(root), workspace)
    folder = workspace.stage_dir("report")
    html = (folder / "report.html").read_text(encoding="utf-8")
    return workspace, manifest, html, read_json(folder / "report.json")


def test_report_files(reported) -> None:
    workspace, _, _, _ = reported
    names = {path.name for path in workspace.stage_dir("report").iterdir()}
    assert names == {"report.html", "report.json", "manifest.json"}


def test_report_embeds_three_pngs(reported) -> None:
    _, _, html, _ = reported
    images = DATA_URI.findall(html)
    assert len(images) == 3
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


def _rows(html: str, table_id: str) -> list[list[str]]:
    """Return the cell texts of each row of the table with ``table_id``."""
    table = re.search(f'<table id="{table_id}">(.*?)</table>', html, re.DOTALL)
    assert table is not None, f"no table {table_id}"
    return [[re.sub(r"\s+", " ", cell).strip() for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.DOTALL)]
            for row in re.findall(r"<tr>(.*?)</tr>", table.group(1), re.DOTALL)]


def test_side_by_side_intervals(reported) -> None:
    _, _, html, _ = reported
    rows = {(row[0], row[3]): row[4:] for row in _rows(html, "eval-tasks")[1:]}
    assert rows[("qa", "rouge_l")] == ["0.6000 [0.5000, 0.7000]", "0.1000 [0.0000, 0.2000]",
                                       "0.4000 [0.3000, 0.5000]"]
    assert rows[("qa", "kl_to_teacher")][2] == "0.3000"
    assert rows[("classify", "macro_f1")][0] == "0.5000 [0.0000, 1.0000]"


def test_capacity_gap_table(reported) -> None:
    _, _, html, _ = reported
    rows = _rows(html, "eval-gap")
    assert rows[1] == ["classify", "macro_f1", "0.5000", "0.2500", "0.2500 [0.0000, 0.5000]", "0.0%"]
    assert rows[2] == ["qa", "rouge_l", "0.6000", "0.4000", "0.2000 [0.1000, 0.3000]", "60.0%"]


def test_models_table_latency_and_memory(reported) -> None:
    _, _, html, _ = reported
    rows = {row[0]: row[1:] for row in _rows(html, "eval-models")[1:]}
    assert rows["teacher"] == ["1,000", "0.10", "50.0", "12.5", "80.0", "300.0 MiB"]
    assert rows["student"] == ["1,000", "0.10", "50.0", "37.5", "82.0", "900.0 MiB"]
    assert "Peak memory: peak RSS (VmHWM, reset before loading) minus RSS before loading." in html


def test_summary_table_columns(reported) -> None:
    _, _, html, _ = reported
    header = _rows(html, "eval-summary")[0]
    assert header == ["model", "kl_to_teacher", "rouge_l", "accuracy", "macro_f1"]


def test_confusion_tables(reported) -> None:
    _, _, html, _ = reported
    assert "<h3>Confusion matrices: classify</h3>" in html
    tables = re.findall(r'<table class="confusion">(.*?)</table>', html, re.DOTALL)
    assert len(tables) == 3
    assert "<th>(other)</th>" in tables[0]
