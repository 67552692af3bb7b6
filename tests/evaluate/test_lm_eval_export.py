"""`shochu export-lm-eval`: user evaluation sets as lm-evaluation-harness task YAML and data files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from shochu.cli import app
from shochu.config import RunConfig
from shochu.evaluate.lm_eval_export import export_lm_eval, task_name

LINES = [
    {"input": "How often do passwords rotate?", "reference": "Every 90 days.", "task": "qa"},
    {"input": "社外秘の文書はどこに保存しますか。", "reference": "共有フォルダには保存しません。", "task": "qa",
     "id": "ja-1"},
    {"input": "ส่งใบเบิกค่าใช้จ่ายภายในกี่วัน", "reference": "ภายใน 30 วัน", "task": "qa"},
    {"input": "My VPN token is refused.", "reference": "access", "task": "classify",
     "choices": ["access", "billing", "hardware"]},
    {"input": "The invoice shows the wrong amount.", "reference": "billing", "task": "classify"},
    {"input": "The laptop screen flickers.", "reference": "hardware", "task": "classify"},
    {"input": "Sensor AP-200, 15 minutes.", "reference": {"model": "AP-200", "minutes": "15"},
     "task": "extraction"},
]

REQUIRED_KEYS = {"task", "dataset_path", "dataset_kwargs", "test_split", "output_type", "doc_to_text",
                 "doc_to_target", "metric_list"}


def _write_set(folder: Path, lines=LINES) -> Path:
    path = folder / "helpdesk.jsonl"
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    return path


def _config(tmp_path: Path, *sets: Path) -> RunConfig:
    return RunConfig.model_validate({"workspace": str(tmp_path / "ws"), "eval": {
        "extra_sets": [str(path) for path in sets], "max_new_tokens": 48}})


@pytest.fixture
def exported(tmp_path: Path):
    config = _config(tmp_path, _write_set(tmp_path))
    paths = export_lm_eval(config, tmp_path / "lm-eval")
    tasks = {path.stem: yaml.safe_load(path.read_text(encoding="utf-8")) for path in paths}
    return tmp_path / "lm-eval", tasks


def _documents(task: dict) -> list[dict]:
    data_file = Path(task["dataset_kwargs"]["data_files"][task["test_split"]])
    return [json.loads(line) for line in data_file.read_text(encoding="utf-8").splitlines()]


def test_one_yaml_per_task(exported):
    _, tasks = exported
    assert set(tasks) == {"shochu_helpdesk_qa", "shochu_helpdesk_classify", "shochu_helpdesk_extract"}
    for name, task in tasks.items():
        assert REQUIRED_KEYS <= set(task), name
        assert task["task"] == name
        assert task["tag"] == ["shochu"]
        assert task["dataset_path"] == "json"


def test_generation_task_settings(exported):
    _, tasks = exported
    qa = tasks["shochu_helpdesk_qa"]
    assert qa["output_type"] == "generate_until"
    assert qa["doc_to_text"] == "{{input}}"
    assert qa["doc_to_target"] == "{{reference}}"
    assert qa["generation_kwargs"] == {"until": ["<|im_end|>"], "max_gen_toks": 48, "do_sample": False}
    metrics = [entry["metric"] for entry in qa["metric_list"]]
    assert metrics == ["exact_match", "chrf"]
    assert qa["metric_list"][0]["ignore_case"] is True


def test_data_file_lines_match_set(exported):
    _, tasks = exported
    documents = _documents(tasks["shochu_helpdesk_qa"])
    assert [document["input"] for document in documents] == [line["input"] for line in LINES[:3]]
    assert [document["reference"] for document in documents] == [line["reference"] for line in LINES[:3]]
    assert [document["id"] for document in documents] == ["helpdesk-1", "ja-1", "helpdesk-3"]


def test_data_file_absolute_and_unicode(exported):
    folder, tasks = exported
    data_file = Path(tasks["shochu_helpdesk_qa"]["dataset_kwargs"]["data_files"]["test"])
    assert data_file.is_absolute()
    assert data_file == (folder / "shochu_helpdesk_qa.jsonl").resolve()
    assert "社外秘" in data_file.read_text(encoding="utf-8")


def test_classify_is_multiple_choice(exported):
    _, tasks = exported
    classify = tasks["shochu_helpdesk_classify"]
    assert classify["output_type"] == "multiple_choice"
    assert classify["doc_to_choice"] == "choices"
    assert classify["doc_to_target"] == "gold"
    assert [entry["metric"] for entry in classify["metric_list"]] == ["acc"]
    documents = _documents(classify)
    assert documents[0]["choices"] == ["access", "billing", "hardware"]
    # Lines without choices get the sorted labels of the task.
    assert documents[1]["choices"] == ["access", "billing", "hardware"]
    assert [document["gold"] for document in documents] == [0, 1, 2]
    for document in documents:
        assert document["choices"][document["gold"]] == document["reference"]


def test_extract_reference_is_json_text(exported):
    _, tasks = exported
    documents = _documents(tasks["shochu_helpdesk_extract"])
    assert json.loads(documents[0]["reference"]) == {"model": "AP-200", "minutes": "15"}
    assert tasks["shochu_helpdesk_extract"]["output_type"] == "generate_until"


def test_reference_outside_choices_rejected(tmp_path):
    lines = [{"input": "Printer jam.", "reference": "hardware", "task": "classify", "choices": ["access", "billing"]}]
    config = _config(tmp_path, _write_set(tmp_path, lines))
    with pytest.raises(ValueError, match="not one of its choices"):
        export_lm_eval(config, tmp_path / "out")


def test_empty_extra_sets_rejected(tmp_path):
    with pytest.raises(ValueError, match="eval.extra_sets is empty"):
        export_lm_eval(_config(tmp_path), tmp_path / "out")


def test_colliding_names_rejected(tmp_path):
    first = _write_set(tmp_path)
    (tmp_path / "other").mkdir()
    second = _write_set(tmp_path / "other")
    with pytest.raises(ValueError, match="both export as 'shochu_helpdesk_qa'"):
        export_lm_eval(_config(tmp_path, first, second), tmp_path / "out")


def test_task_name_sanitised():
    assert task_name("FAQ 2024/qa") == "shochu_faq_2024_qa"


def test_cli_writes_tasks(tmp_path):
    config = _config(tmp_path, _write_set(tmp_path))
    config_file = tmp_path / "shochu.yaml"
    config_file.write_text(yaml.safe_dump(config.model_dump(mode="json")), encoding="utf-8")
    result = CliRunner().invoke(app, ["export-lm-eval", "--workspace", str(tmp_path / "ws"), "--config",
                                      str(config_file), "--output", str(tmp_path / "tasks")])
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in (tmp_path / "tasks").glob("*.yaml")) == [
        "shochu_helpdesk_classify.yaml", "shochu_helpdesk_extract.yaml", "shochu_helpdesk_qa.yaml"]
    assert "--tasks shochu" in result.output
