"""CLI behaviour a user meets before any stage runs: option errors and the run summary."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from shochu.cli import app
from shochu.pipeline import build_summary
from shochu.workspace import Workspace

runner = CliRunner()


def test_invalid_option_names_field_and_value(tmp_path: Path) -> None:
    result = runner.invoke(app, ["train", "--workspace", str(tmp_path / "ws"), "--kd-ratio", "3"])
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "train.kd_ratio" in output
    assert "(got 3.0)" in output
    # pydantic's own wording points to its web site; the message must not.
    assert "http" not in output


def test_summary_leaves_out_outputs_of_stages_not_run(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "ws")
    workspace.root.mkdir()
    summary = build_summary(workspace, {"ingest": 1.0}, ["ingest"], 1.0)
    assert summary["model"] is None
    assert summary["report"] is None
    assert summary["eval_results"] is None
    assert summary["stages_run"] == ["ingest"]


def test_tickets_option_keeps_config_column_mapping(tmp_path: Path) -> None:
    from shochu.cli import _config_for

    config_file = tmp_path / "run.yaml"
    config_file.write_text("workspace: ws\nbuild:\n  tickets:\n    path: old.csv\n    label_column: queue\n",
                           encoding="utf-8")
    overrides = {"build": {"tickets": {"path": str(tmp_path / "new.csv")}}}
    config = _config_for(tmp_path / "ws", config_file, overrides)
    assert config.build.tickets.path == str(tmp_path / "new.csv")
    assert config.build.tickets.label_column == "queue"


def test_misspelt_key_gets_suggestion(tmp_path: Path) -> None:
    from shochu.config import ConfigError, load_config

    config_file = tmp_path / "run.yaml"
    config_file.write_text("workspace: ws\ningest:\n  chunk_token: 600\n", encoding="utf-8")
    try:
        load_config(config_file)
    except ConfigError as error:
        message = str(error)
    else:
        raise AssertionError("a misspelt key was accepted")
    assert "ingest.chunk_token: Extra inputs are not permitted (got 600); did you mean 'chunk_tokens'?" in message


def test_run_under_a_launcher_says_which_stages_split(tmp_path: Path, monkeypatch) -> None:
    # `accelerate launch -m shochu run` would start every stage in each process; only label and
    # train split their work, so the run stops before any process writes a file.
    config_file = tmp_path / "run.yaml"
    config_file.write_text(f"workspace: {tmp_path / 'ws'}\n", encoding="utf-8")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    result = runner.invoke(app, ["run", "--config", str(config_file)])
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "shochu run was started as 2 processes" in output
    assert "--until build" in output
    assert not (tmp_path / "ws").exists()


def test_ingest_missing_folder_names_both_sources(tmp_path: Path) -> None:
    result = runner.invoke(app, ["ingest", str(tmp_path / "absent"), "--workspace", str(tmp_path / "ws")])
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert f"ingest.input folder not found: {tmp_path / 'absent'}" in output
    assert "fix the folder given to `shochu ingest` or set as ingest.input in the config" in output
