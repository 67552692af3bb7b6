"""`shochu run` on a slice of the sample corpus with the real packaged teacher."""

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shochu.ingest.store import read_documents
from shochu.workspace import read_jsonl

pytestmark = pytest.mark.integration

ACME = Path(__file__).resolve().parents[1] / "examples" / "acme"
SLICE = [
    "policies/travel-and-expense-policy.pdf",
    "it-helpdesk/vpn-setup-guide.docx",
    "wiki/password-reset.html",
    "mail/corporate-card-declined.eml",
    "meetings",
]
TICKETS = 48

CONFIG = """
workspace: ws
ingest:
  input: docs
  chunk_tokens: 448
build:
  max_chunks: 4
  max_new_tokens: 32
  batch_size: 4
  tickets:
    path: tickets.csv
  split:
    validation: 0.2
    test: 0.2
label:
  max_seq_len: 640
train:
  max_steps: 6
  eval_every: 3
  batch_size: 2
  warmup_steps: 1
eval:
  max_examples: 3
  max_new_tokens: 16
  batch_size: 4
"""


def _copy_slice(destination: Path) -> None:
    docs = destination / "docs"
    for relative in SLICE:
        source = ACME / "docs" / relative
        target = docs / relative
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (docs / "broken.pdf").write_bytes(b"%PDF-1.7 this is not a real PDF")

    with open(ACME / "tickets.csv", encoding="utf-8", newline="") as source:
        rows = list(csv.DictReader(source))
    with open(destination / "tickets.csv", "w", encoding="utf-8", newline="") as target:
        writer = csv.DictWriter(target, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows[:TICKETS])


def _run(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "shochu", "run", "--config", str(config)],
                          capture_output=True, text=True, timeout=1500)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    _copy_slice(root)
    config = root / "shochu.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    result = _run(config)
    assert result.returncode == 0, result.stderr[-4000:]
    yield root, config, result

    # The finished workspace takes about 2 GB of models, and no later test reads it.
    shutil.rmtree(root, ignore_errors=True)


def test_summary_names_outputs(finished_run):
    root, _, result = finished_run
    summary = json.loads((root / "ws" / "summary.json").read_text())
    assert summary["model"] == str(root / "ws" / "export" / "model")
    assert Path(summary["report"]).is_file()
    assert Path(summary["eval_results"]).is_file()
    assert summary["model"] in result.stdout


def test_broken_document_reported_not_fatal(finished_run):
    root, _, _ = finished_run
    errors = read_jsonl(root / "ws" / "ingest" / "errors.jsonl")
    assert [error["source"] for error in errors] == ["broken.pdf"]
    documents = read_documents(root / "ws" / "ingest")
    assert len(documents) >= 5


def test_planted_card_number_masked_everywhere(finished_run):
    root, _, _ = finished_run
    for path in [root / "ws" / "protect" / "chunks.jsonl", root / "ws" / "protect" / "privacy_report.json",
                 root / "ws" / "build" / "train.jsonl", root / "ws" / "build" / "test.jsonl"]:
        text = path.read_text(encoding="utf-8")
        assert "4111 1111 1111 1111" not in text, path


def test_splits_share_no_document(finished_run):
    root, _, _ = finished_run
    splits = {name: {r["doc_id"] for r in read_jsonl(root / "ws" / "build" / f"{name}.jsonl")}
              for name in ("train", "validation", "test")}
    assert not splits["train"] & splits["test"]
    assert not splits["train"] & splits["validation"]


def test_eval_compares_three_models(finished_run):
    root, _, _ = finished_run
    results = json.loads((root / "ws" / "eval" / "results.json").read_text())
    assert set(results["summary"]) == {"teacher", "student_init", "student"}
    assert results["summary"]["teacher"]["kl_to_teacher"] == pytest.approx(0.0, abs=1e-4)
    assert results["summary"]["student"]["kl_to_teacher"] > 0


def test_export_is_loadable_folder_with_card(finished_run):
    from transformers import AutoModelForCausalLM

    root, _, _ = finished_run
    model_dir = root / "ws" / "export" / "model"
    card = (model_dir / "README.md").read_text(encoding="utf-8")
    assert "Apache-2.0" in card or "apache-2.0" in card
    model = AutoModelForCausalLM.from_pretrained(model_dir, local_files_only=True)
    assert model.config.num_hidden_layers == 8


def test_report_embeds_curves(finished_run):
    root, _, _ = finished_run
    html = (root / "ws" / "report" / "report.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in html
    assert "https://" not in html


def test_rerun_skips_finished_stages(finished_run):
    root, config, _ = finished_run
    result = _run(config)
    assert result.returncode == 0, result.stderr[-4000:]
    summary = json.loads((root / "ws" / "summary.json").read_text())
    assert summary["stages_run"] == []


def test_hub_id_teacher_rejected(tmp_path):
    config = tmp_path / "shochu.yaml"
    config.write_text("workspace: ws\nteacher:\n  path: HuggingFaceTB/SmolLM2-135M-Instruct\n", encoding="utf-8")
    result = _run(config)
    assert result.returncode == 2
    assert "never downloads models" in result.stderr
    assert not (tmp_path / "ws").exists()
