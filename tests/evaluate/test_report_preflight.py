"""The preflight part of the report: licence verdicts, memory and disk plan and cost from check/report.json."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from evaluate_workspace import make_config, make_workspace
from report_data import CHECK_REPORT, GIB

from shochu.config import RunConfig
from shochu.evaluate import report
from shochu.preflight import stage as check_stage
from shochu.workspace import Workspace, read_json, write_json

def _rows(html: str, table_id: str) -> list[list[str]]:
    """Return the cell texts of each row of the table with ``table_id``."""
    table = re.search(f'<table id="{table_id}">(.*?)</table>', html, re.DOTALL)
    assert table is not None, f"no table {table_id}"
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", table.group(1), re.DOTALL):
        cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.DOTALL)
        rows.append([re.sub(r"\s+", " ", cell).strip() for cell in cells])
    return rows


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, tiny_student_dir: Path):
    root = tmp_path_factory.mktemp("report-preflight")
    workspace = make_workspace(root, tiny_model_dir, tiny_student_dir)
    write_json(workspace.stage_dir("check") / "report.json", CHECK_REPORT)
    report.run(make_config(root), workspace)
    folder = workspace.stage_dir("report")
    return (folder / "report.html").read_text(encoding="utf-8"), read_json(folder / "report.json")


def test_licence_rows_in_json(reported) -> None:
    _, data = reported
    rows = data["preflight"]["licences"]
    assert [(row["model"], row["licence"], row["status"]) for row in rows] == [
        ("teacher", "llama3.1", "accepted"), ("teacher", "Apache-2.0", "allowed"),
        ("student", "CC-BY-NC-4.0", "blocked")]
    assert [row["accepted_by"] for row in rows] == ["--accept-licence llama3.1", None, None]


def test_licence_table_in_page(reported) -> None:
    html, _ = reported
    rows = _rows(html, "preflight-licences")
    assert rows[1] == ["teacher", "llama3.1", "Llama 3.1 Community License", "conditional", "accepted",
                       "--accept-licence llama3.1", "LICENSE"]
    assert rows[3][:5] == ["student", "CC-BY-NC-4.0", "Creative Commons Attribution Non Commercial 4.0",
                           "non-commercial", "blocked"]


def test_memory_table_in_page(reported) -> None:
    html, _ = reported
    rows = {row[0]: row[1:] for row in _rows(html, "preflight-memory")[1:]}
    assert rows["label"] == ["3.00 GiB", "12.00 GiB", "16.00 GiB", "fits"]
    assert rows["train"] == ["20.00 GiB", "12.00 GiB", "16.00 GiB", "does not fit"]
    assert rows["train (LoRA)"][-1] == "tight"
    assert rows["serve Q4_0"] == ["300.0 MiB", "12.00 GiB", "16.00 GiB", "fits (GPU: fits)"]
    assert rows["disk (/data)"] == ["5.00 GiB", "100.00 GiB", "", "fits"]


def test_memory_rows_in_json(reported) -> None:
    _, data = reported
    memory = {row["item"]: row for row in data["preflight"]["memory"]}
    assert memory["train"]["needed_bytes"] == 20 * GIB
    assert memory["train"]["available_bytes"] == 12 * GIB
    assert memory["train"]["verdict"] == "does not fit"
    assert data["preflight"]["disk"]["needed_bytes"] == 5 * GIB


def test_cost_table_in_page(reported) -> None:
    html, _ = reported
    rows = {row[0]: row[1] for row in _rows(html, "preflight-cost")[1:]}
    assert rows["months to break even"] == "25.1"
    assert rows["on-premises cost per 1M tokens"] == "3.95"
    assert rows["API cost per 1M tokens"] == "5.40"
    assert rows["share of serving hours needed"] == "19.0%"


def test_cost_in_json(reported) -> None:
    _, data = reported
    cost = data["preflight"]["cost"]
    assert cost["break_even_months"] == pytest.approx(25.0689)
    assert cost["onprem_per_million"] == pytest.approx(3.9465333)
    assert cost["utilisation"] == pytest.approx(0.1902587)


def test_problems_and_verdict_in_page(reported) -> None:
    html, _ = reported
    assert "1 problem(s)" in html
    assert "problem: memory: train needs about 20.0 GiB" in html
    assert "warning: offline mode is off" in html


def test_report_without_check(tmp_path: Path, tiny_model_dir: Path, tiny_student_dir: Path) -> None:
    workspace = make_workspace(tmp_path, tiny_model_dir, tiny_student_dir)
    report.run(make_config(tmp_path), workspace)
    html = (workspace.stage_dir("report") / "report.html").read_text(encoding="utf-8")
    assert read_json(workspace.stage_dir("report") / "report.json")["preflight"] is None
    assert "run `shochu check`" in html


def test_report_from_real_check(tmp_path: Path, tiny_model_dir: Path, tiny_student_dir: Path) -> None:
    workspace = make_workspace(tmp_path, tiny_model_dir, tiny_student_dir)
    config = RunConfig.model_validate({
        "workspace": str(tmp_path), "teacher": {"path": str(tiny_model_dir)}, "student": {"layers": 2},
        "check": {"accept_licences": ["unknown"], "stop_on_shortfall": False, "cost": {
            "api_input_price_per_million": 3, "api_output_price_per_million": 15,
            "monthly_input_tokens": 2e8, "monthly_output_tokens": 5e7, "hardware_cost": 30000,
            "power_watts": 700, "power_price_per_kwh": 0.3}}})
    check_stage.run(config, Workspace(tmp_path))
    report.run(make_config(tmp_path), workspace)
    data = read_json(workspace.stage_dir("report") / "report.json")["preflight"]
    assert [(row["model"], row["licence"], row["accepted_by"]) for row in data["licences"]] == [
        ("teacher", "unknown", "--accept-licence unknown"), ("student", None, None)]
    assert [row["item"] for row in data["memory"]][:2] == ["label", "train"]
    assert data["cost"]["break_even_months"] == pytest.approx(30000 / (1350 - 153.3))
    assert data["cost"]["utilisation"] is None


def test_check_changes_report_inputs(tmp_path: Path, tiny_model_dir: Path, tiny_student_dir: Path) -> None:
    workspace = make_workspace(tmp_path, tiny_model_dir, tiny_student_dir)
    config = make_config(tmp_path)
    before = report.inputs(config, workspace)
    write_json(workspace.stage_dir("check") / "report.json", CHECK_REPORT)
    after = report.inputs(config, workspace)
    assert "check" not in before
    assert "check" in after


def test_section_without_memory_plan() -> None:
    from shochu.evaluate.preflight_view import preflight_section
    from shochu.evaluate.report_html import render_report

    check = {**CHECK_REPORT, "memory": {"teacher": {"layers": 4}}, "cost": None}
    section = preflight_section(check)
    assert section["memory"] == []
    assert section["disk"] is None
    assert section["machine"] is None
    data = {"workspace": "ws", "written_at": "now", "training": {"train": [], "validation": [],
            "best_step": None, "best_val_loss": None, "steps_run": None, "stopped_early": None},
            "eval": None, "timings": [], "counts": {}, "samples": [], "preflight": section}
    html = render_report(data, {"training": None, "eval": None, "tasks": None}, ["teacher", "student"])
    assert '<table id="preflight-licences">' in html
    assert '<table id="preflight-memory">' not in html
    assert "No cost settings (check.cost)" in html
