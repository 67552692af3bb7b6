"""The check stage: report and manifest, the gate in `shochu run` and the `shochu check` command."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from shochu.cli import app
from shochu.config import RunConfig
from shochu.pipeline import run_all
from shochu.preflight import stage
from shochu.preflight.machine import Machine
from shochu.preflight.plan import GIB
from shochu.preflight.stage import PreflightError
from shochu.workspace import Workspace, read_json

LLAMA_3_1 = " LLAMA 3.1 COMMUNITY LICENSE AGREEMENT\n\n Llama 3.1 Version Release Date: July 23, 2024\n"


@pytest.fixture()
def llama_teacher(tmp_path: Path, tiny_model_dir: Path) -> Path:
    """The tiny teacher with a Llama 3.1 licence file."""
    folder = shutil.copytree(tiny_model_dir, tmp_path / "llama-teacher")
    (folder / "LICENSE").write_text(LLAMA_3_1, encoding="utf-8")
    return folder


def _config(root: Path, teacher: Path, student: Path | None = None, **check) -> RunConfig:
    data = {"workspace": str(root / "ws"), "teacher": {"path": str(teacher)},
            "student": {"path": str(student)} if student else {"layers": 2}, "check": check}
    return RunConfig.model_validate(data)


def _small_machine(ram: int) -> Machine:
    return Machine(ram_total=ram, ram_available=ram, cpus=2, disk_path="/", disk_free=100 * GIB)


# --- report and manifest --------------------------------------------------------


def test_packaged_teacher_passes(tmp_path: Path) -> None:
    config = RunConfig(workspace=str(tmp_path / "ws"), check={"stop_on_shortfall": False})
    report = stage.run(config, Workspace(tmp_path / "ws"))
    teacher = report.licences["models"][0]["findings"]
    assert report.problems == []
    assert [finding["id"] for finding in teacher] == ["Apache-2.0"]


def test_report_and_manifest_written(tmp_path: Path, tiny_model_dir: Path) -> None:
    workspace = Workspace(tmp_path / "ws")
    stage.run(_config(tmp_path, tiny_model_dir, accept_licences=["unknown"]), workspace)
    report = read_json(workspace.stage_dir("check") / "report.json")
    assert report["passed"] is True
    assert report["memory"]["teacher"]["layers"] == 4
    assert workspace.manifest("check")["counts"]["accepted_licences"] == 1


def test_report_phases(tmp_path: Path, tiny_model_dir: Path) -> None:
    report = stage.run(_config(tmp_path, tiny_model_dir, accept_licences=["unknown"]), None)
    assert [phase["name"] for phase in report.memory["phases"]] == ["import", "label", "train"]
    assert [phase["name"] for phase in report.memory["serving"]] == ["serve Q4_0", "serve Q8_0", "serve F16"]


def test_imported_teacher_skips_import_phase(tmp_path: Path, tiny_model_dir: Path) -> None:
    workspace = Workspace(tmp_path / "ws")
    (workspace.models_dir / "teacher").mkdir(parents=True)
    (workspace.models_dir / "teacher" / "shochu_model.json").write_text("{}", encoding="utf-8")
    report = stage.run(_config(tmp_path, tiny_model_dir, accept_licences=["unknown"]), workspace)
    assert [phase["name"] for phase in report.memory["phases"]] == ["label", "train"]


def test_no_workspace_writes_nothing(tmp_path: Path, tiny_model_dir: Path) -> None:
    stage.run(_config(tmp_path, tiny_model_dir), None)
    assert not (tmp_path / "ws").exists()


# --- the licence gate -----------------------------------------------------------


def test_llama_teacher_stops(tmp_path: Path, llama_teacher: Path) -> None:
    report = stage.run(_config(tmp_path, llama_teacher), None)
    with pytest.raises(PreflightError) as raised:
        stage.enforce(report)
    message = str(raised.value)
    assert "licence llama3.1 (Llama 3.1 Community License Agreement, from LICENSE) needs acceptance" in message
    assert "--accept-licence llama3.1" in message
    assert "700 million monthly active users" in message


def test_acceptance_recorded(tmp_path: Path, llama_teacher: Path) -> None:
    report = stage.run(_config(tmp_path, llama_teacher, accept_licences=["Llama3.1"]), None)
    accepted = report.licences["accepted"]
    assert report.problems == []
    assert [(entry["licence"], entry["model"]) for entry in accepted] == [("llama3.1", "teacher")]


def test_student_licence_checked(tmp_path: Path, tiny_model_dir: Path, llama_teacher: Path) -> None:
    report = stage.run(_config(tmp_path, tiny_model_dir, student=llama_teacher, accept_licences=["unknown"]), None)
    assert len(report.problems) == 1
    assert report.problems[0].startswith(f"student {llama_teacher}: licence llama3.1")


def test_pruned_student_inherits(tmp_path: Path, llama_teacher: Path) -> None:
    report = stage.run(_config(tmp_path, llama_teacher, accept_licences=["llama3.1"]), None)
    assert report.licences["models"][1]["inherits"] == "teacher"


def test_api_data_is_warning_only(tmp_path: Path, tiny_model_dir: Path) -> None:
    config = _config(tmp_path, tiny_model_dir, accept_licences=["unknown"], data_from_api=["gpt-4o"])
    report = stage.run(config, None)
    assert report.problems == []
    assert any("'gpt-4o'" in warning for warning in report.warnings)


def test_run_stops_before_ingest(tmp_path: Path, llama_teacher: Path) -> None:
    config = _config(tmp_path, llama_teacher)
    with pytest.raises(PreflightError, match="llama3.1"):
        run_all(config)
    assert not (tmp_path / "ws" / "ingest").exists()
    assert (tmp_path / "ws" / "check" / "report.json").is_file()


# --- memory and disk --------------------------------------------------------------


def test_shortfall_stops_with_suggestions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stage, "probe", lambda root=None: _small_machine(int(2.2 * GIB)))
    report = stage.run(RunConfig(workspace=str(tmp_path / "ws"), student={"layers": 8}), None)
    assert any(problem.startswith("memory: train needs about") for problem in report.problems)
    assert report.memory["suggestions"]["train"][0].startswith("train.batch_size: ")


def test_shortfall_warns_when_allowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stage, "probe", lambda root=None: _small_machine(int(1.0 * GIB)))
    report = stage.run(RunConfig(workspace=str(tmp_path / "ws"), check={"stop_on_shortfall": False}), None)
    assert report.problems == []
    assert any(warning.startswith("memory: label needs about") for warning in report.warnings)


def test_too_many_student_layers(tmp_path: Path, tiny_model_dir: Path) -> None:
    config = _config(tmp_path, tiny_model_dir, accept_licences=["unknown"])
    config.student.layers = 9
    report = stage.run(config, None)
    assert report.problems == ["student.layers is 9, but the teacher has only 4 layers; "
                               "set student.layers to at most 4"]


def test_examples_counted_after_build(tmp_path: Path, tiny_model_dir: Path) -> None:
    workspace = Workspace(tmp_path / "ws")
    workspace.stage_dir("build").mkdir(parents=True)
    workspace.finish("build", {}, {}, {"examples": {"train": 30, "validation": 5, "test": 7}}, time.time())
    config = _config(tmp_path, tiny_model_dir)
    assert stage.planned_examples(config, workspace) == 35


def test_examples_bounded_by_max_chunks(tmp_path: Path, tiny_model_dir: Path) -> None:
    config = _config(tmp_path, tiny_model_dir)
    config.build.max_chunks = 40
    config.build.tasks = ["qa", "summary"]
    # 40 chunks x 2 tasks, less the 15% test split.
    assert stage.planned_examples(config, None) == 68


def test_examples_unknown_before_ingest(tmp_path: Path, tiny_model_dir: Path) -> None:
    assert stage.planned_examples(_config(tmp_path, tiny_model_dir), None) is None


# --- cost and offline ---------------------------------------------------------------


def test_cost_in_report(tmp_path: Path, tiny_model_dir: Path) -> None:
    cost = {"api_input_price_per_million": 2.5, "api_output_price_per_million": 10.0,
            "monthly_input_tokens": 100e6, "monthly_output_tokens": 20e6, "hardware_cost": 7000.0,
            "power_watts": 500.0, "power_price_per_kwh": 0.2, "other_monthly_cost": 27.0}
    report = stage.run(_config(tmp_path, tiny_model_dir, accept_licences=["unknown"], cost=cost), None)
    assert report.cost["result"]["break_even_months"] == pytest.approx(20.0)


def test_offline_switches_reported(tmp_path: Path, tiny_model_dir: Path) -> None:
    report = stage.run(_config(tmp_path, tiny_model_dir, accept_licences=["unknown"]), None)
    assert report.offline["huggingface_hub_offline"] is True


# --- the command --------------------------------------------------------------------


def test_command_exit_one_on_problem(tmp_path: Path, llama_teacher: Path) -> None:
    result = CliRunner().invoke(app, ["check", "--teacher", str(llama_teacher)])
    assert result.exit_code == 1
    assert "--accept-licence llama3.1" in " ".join(result.output.split())


def test_command_accepts_licence(tmp_path: Path, llama_teacher: Path) -> None:
    result = CliRunner().invoke(app, ["check", "--teacher", str(llama_teacher), "--student-layers", "2",
                                      "--accept-licence", "llama3.1"])
    assert result.exit_code == 0, result.output
    # The report is the command's output: on stdout, so that it can be redirected to a file.
    assert "check passed" in result.stdout


def test_command_writes_workspace_report(tmp_path: Path, llama_teacher: Path) -> None:
    workspace = tmp_path / "ws"
    result = CliRunner().invoke(app, ["check", "--teacher", str(llama_teacher), "--student-layers", "2",
                                      "--accept-licence", "llama3.1", "--workspace", str(workspace)])
    assert result.exit_code == 0, result.output
    assert read_json(workspace / "check" / "report.json")["licences"]["accepted"][0]["licence"] == "llama3.1"


def test_command_non_commercial_flag(tmp_path: Path, tiny_model_dir: Path) -> None:
    folder = shutil.copytree(tiny_model_dir, tmp_path / "nc-teacher")
    (folder / "README.md").write_text("---\nlicense: cc-by-nc-4.0\n---\n", encoding="utf-8")
    options = ["check", "--teacher", str(folder), "--student-layers", "2", "--accept-licence", "CC-BY-NC-4.0"]
    blocked = CliRunner().invoke(app, options)
    allowed = CliRunner().invoke(app, [*options, "--non-commercial"])
    assert blocked.exit_code == 1
    assert allowed.exit_code == 0, allowed.output


def test_command_reads_config_check_section(tmp_path: Path, llama_teacher: Path) -> None:
    config = tmp_path / "shochu.yaml"
    config.write_text(yaml.safe_dump({"workspace": "ws", "teacher": {"path": str(llama_teacher)},
                                      "student": {"layers": 2}, "check": {"accept_licences": ["llama3.1"]}}),
                      encoding="utf-8")
    result = CliRunner().invoke(app, ["check", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ws" / "check" / "report.json").is_file()


def test_command_hub_id_message(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["check", "--teacher", "HuggingFaceTB/SmolLM2-135M-Instruct"])
    assert result.exit_code == 2
    assert "never downloads models" in " ".join(result.output.split())
