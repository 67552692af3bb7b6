"""`shochu run` with progressive.chain set: the chain runs as the progressive stage and joins the report."""

import json
import math
from pathlib import Path

import pytest

from tiny_models import tiny_run_config
from shochu.pipeline import downstream_stages, run_all, stage_enabled
from shochu.workspace import read_json

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

# Twelve short, distinct documents, so that the test split has a few examples of each task.
DOCUMENTS = {
    "vpn.md": "Staff must use the VPN whenever they connect from outside the office network.",
    "passwords.md": "Passwords rotate every 90 days and must have at least 12 characters.",
    "expenses.md": "Expense claims are filed within 30 days with the receipts attached.",
    "sensors.md": "Calibration of the AP-200 sensor takes 15 minutes at 25 degrees.",
    "badges.md": "Visitors collect a paper badge at reception and return it before leaving.",
    "backups.md": "The file server is copied to tape each Friday night and kept for a year.",
    "printers.md": "Colour printing on the third floor needs a cost centre code.",
    "parking.md": "Bicycles go in the covered rack behind building C, not in the lobby.",
    "leave.md": "Annual leave requests reach the team lead two weeks before the first day.",
    "laptops.md": "A lost laptop is reported to the help desk within one hour.",
    "pw-ja.md": "パスワードは90日ごとに変更し、12文字以上にしてください。",
    "claims-th.md": "ส่งใบเบิกค่าใช้จ่ายภายใน 30 วัน พร้อมใบเสร็จ",
}


def _config(root: Path, teacher: Path, student: Path, **sections):
    docs = root / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    for name, text in DOCUMENTS.items():
        (docs / name).write_text(f"# {name}\n\n{text}\n", encoding="utf-8")
    config = tiny_run_config(root / "ws", teacher, student,
                             ingest={"input": str(docs), "chunk_tokens": 64, "min_chunk_tokens": 4},
                             build={"tasks": ["qa", "summary"], "split": {"validation": 0.25, "test": 0.25}},
                             label={"max_seq_len": 512},
                             train={"max_steps": 2, "eval_every": 2, "warmup_steps": 1},
                             eval={"bootstrap_resamples": 200, "max_new_tokens": 4},
                             check={"accept_licences": ["unknown"]}, **sections)
    return config


@pytest.fixture(scope="module")
def chain_run(tmp_path_factory, tiny_model_dir, tiny_student_dir):
    root = tmp_path_factory.mktemp("progressive-stage")
    config = _config(root, tiny_model_dir, tiny_student_dir, progressive={"chain": [3, 2], "max_steps": 2})
    first = run_all(config)
    manifest = read_json(root / "ws" / "progressive" / "manifest.json")
    second = run_all(config)
    return config, root / "ws", first, manifest, second


def test_run_all_runs_chain_before_report(chain_run):
    _, _, first, _, _ = chain_run
    assert first["stages_run"] == ["ingest", "protect", "build", "label", "train", "eval", "export",
                                   "progressive", "report"]
    assert first["progressive"]["verdict"].startswith("progressive-2 against direct-2:")


def test_run_all_skips_fresh_chain(chain_run):
    _, workspace, _, manifest, second = chain_run
    assert second["stages_run"] == []
    assert read_json(workspace / "progressive" / "manifest.json") == manifest


def test_manifest_counts_comparison(chain_run):
    _, workspace, _, manifest, _ = chain_run
    results = read_json(workspace / "progressive" / "results.json")
    assert manifest["counts"]["models"] == 3
    assert manifest["counts"]["comparison_rows"] == len(results["comparison"])
    assert manifest["counts"]["better"] + manifest["counts"]["worse"] + manifest["counts"]["unclear"] \
        == len(results["comparison"])
    assert set(manifest["inputs"]) == {"build", "label"}
    assert manifest["config"]["chain"] == [3, 2]
    assert manifest["config"]["train"]["max_steps"] == 2


def test_report_json_has_comparison(chain_run):
    _, workspace, _, _, _ = chain_run
    report = json.loads((workspace / "report" / "report.json").read_text(encoding="utf-8"))
    section = report["progressive"]
    assert section["chain"] == [3, 2]
    assert [model["name"] for model in section["models"]] == ["assistant-3", "progressive-2", "direct-2"]
    rows = {(row["task"], row["metric"]): row for row in section["comparison"]}
    expected = {(task, metric) for task in ("qa", "summary") for metric in ("rouge_l", "kl_to_teacher")}
    assert set(rows) == expected
    kl = rows[("qa", "kl_to_teacher")]
    assert math.isfinite(kl["difference"])
    assert kl["difference"] == pytest.approx(kl["progressive"] - kl["direct"])
    assert kl["helped"] in (True, False, None)
    assert section["verdict"].startswith("progressive-2 against direct-2:")
    assert "progressive" in [row["stage"] for row in report["timings"]]


def test_new_training_keeps_chain_fresh(chain_run):
    config, workspace, _, manifest, _ = chain_run
    summary = run_all(config, force={"train"})
    assert summary["stages_run"] == ["train", "eval", "export", "report"]
    assert read_json(workspace / "progressive" / "manifest.json") == manifest


def test_changed_steps_rerun_chain(chain_run):
    config, workspace, _, _, _ = chain_run
    data = config.model_dump(mode="json")
    data["progressive"]["max_steps"] = 3
    summary = run_all(config.model_validate(data), until="progressive")
    assert summary["stages_run"] == ["progressive"]
    results = read_json(workspace / "progressive" / "results.json")
    assert [step["train"]["steps_run"] for step in results["steps"]] == [3, 3]
    assert results["direct"]["train"]["steps_run"] == 3


def test_empty_chain_skips_stage(tmp_path, tiny_model_dir):
    config = tiny_run_config(tmp_path, tiny_model_dir, tiny_model_dir)
    assert not stage_enabled("progressive", config)
    assert stage_enabled("report", config)


def test_downstream_of_train_excludes_chain():
    assert "progressive" not in downstream_stages("train")
    assert "progressive" in downstream_stages("label")
    assert "report" in downstream_stages("progressive")
    assert downstream_stages("export") == {"report"}
