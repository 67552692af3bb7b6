"""The protect stage end to end on a tiny ingest output and tickets CSV."""

from __future__ import annotations

import csv
import logging
import time
from pathlib import Path

import pytest

from shochu.config import RunConfig
from shochu.ingest.store import write_tables
from shochu.pipeline import run_stage
from shochu.protect import recognizers, stage
from shochu.workspace import Workspace, read_json, read_jsonl

PLANTED = ["Hanako Yamada", "hanako@example.com", "090-1234-5678", "口座番号 1234567", "1234567",
           "田中太郎", "4111 1111 1111 1111", "Somchai", "+66 2 123 4567", "202-555-0147",
           "Kenji Sato", "k.sato@example.co.jp", "Kenji"]

CHUNKS = [
    {"chunk_id": "mail-0000", "doc_id": "mail", "source": "mail.eml", "index": 0,
     "heading": "From Hanako Yamada",
     "text": "Dear Hanako Yamada,\nyour card 4111 1111 1111 1111 is blocked. Call 090-1234-5678."},
    {"chunk_id": "hr-0000", "doc_id": "hr", "source": "hr.docx", "index": 0, "heading": None,
     "text": "給与振込先：口座番号 1234567（田中太郎様）"},
    {"chunk_id": "manual-0000", "doc_id": "manual", "source": "manual.pdf", "index": 0, "heading": "PX-300",
     "text": "Mount the PX-300 transmitter with two M4 screws."},
    {"chunk_id": "mail-0001", "doc_id": "mail", "source": "mail.eml", "index": 1, "heading": None,
     "text": "Kenji will check the order."},
]

DOCUMENTS = [
    {"doc_id": "mail", "source": "mail.eml", "format": "eml",
     "metadata": {"from": "Kenji Sato <k.sato@example.co.jp>", "title": "Card blocked",
                  "attachments": ["a.csv"]}},
    {"doc_id": "hr", "source": "hr.docx", "format": "docx", "metadata": {"title": "Payroll"}},
    {"doc_id": "manual", "source": "manual.pdf", "format": "pdf", "metadata": {}},
]

TICKETS = [
    {"ticket_id": "T-1", "subject": "VPN down",
     "body": "Hi, this is Somchai, mail hanako@example.com or +66 2 123 4567.",
     "category": " network "},
    {"ticket_id": "T-2", "subject": "Printer", "body": "Tray 2 jams. Call me at 202-555-0147.",
     "category": "hardware"},
    {"ticket_id": "T-3", "subject": "No label", "body": "Something broke.", "category": "  "},
    {"ticket_id": "T-4", "subject": "", "body": "", "category": "software"},
]


def _write_tickets(path: Path, rows: list[dict[str, str]], columns: list[str]) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    workspace = Workspace(tmp_path / "run")
    folder = workspace.reset("ingest")
    write_tables(folder, CHUNKS, DOCUMENTS)
    workspace.finish("ingest", {"chunk_chars": 1000}, {"documents": "test"}, {"chunks": 4}, time.time())
    return workspace


@pytest.fixture
def config(tmp_path: Path, workspace: Workspace) -> RunConfig:
    tickets = tmp_path / "tickets.csv"
    _write_tickets(tickets, TICKETS, ["ticket_id", "subject", "body", "category"])
    return RunConfig(workspace=str(workspace.root), build={"tickets": {"path": str(tickets)}})


@pytest.fixture
def manifest(config: RunConfig, workspace: Workspace) -> dict:
    return stage.run(config, workspace)


def test_chunks_masked(manifest: dict, workspace: Workspace) -> None:
    chunks = read_jsonl(workspace.stage_dir("protect") / "chunks.jsonl")
    assert chunks[0]["text"] == ("Dear [PERSON_1],\nyour card [CREDIT_CARD_1] is blocked. "
                                 "Call [PHONE_NUMBER_1].")
    assert chunks[1]["text"] == "給与振込先：口座番号 [BANK_ACCOUNT_1]（[PERSON_1]様）"
    assert chunks[2]["text"] == CHUNKS[2]["text"]


def test_metadata_name_masked_in_text(manifest: dict, workspace: Workspace) -> None:
    chunk = read_jsonl(workspace.stage_dir("protect") / "chunks.jsonl")[3]
    assert chunk["text"] == "[PERSON_1] will check the order."


def test_document_metadata_masked(manifest: dict, workspace: Workspace) -> None:
    document = read_jsonl(workspace.stage_dir("protect") / "documents.jsonl")[0]
    assert document["metadata"] == {"from": "[PERSON_1] <[EMAIL_ADDRESS_1]>", "title": "Card blocked",
                                    "attachments": ["a.csv"]}


def test_heading_shares_numbering_with_text(manifest: dict, workspace: Workspace) -> None:
    chunk = read_jsonl(workspace.stage_dir("protect") / "chunks.jsonl")[0]
    assert chunk["heading"] == "From [PERSON_1]"
    assert chunk["entities"] == {"CREDIT_CARD": 1, "PERSON": 2, "PHONE_NUMBER": 1}


def test_chunk_fields_kept(manifest: dict, workspace: Workspace) -> None:
    chunk = read_jsonl(workspace.stage_dir("protect") / "chunks.jsonl")[1]
    assert {key: chunk[key] for key in ("chunk_id", "doc_id", "source", "index", "heading")} == {
        "chunk_id": "hr-0000", "doc_id": "hr", "source": "hr.docx", "index": 0, "heading": None}


def test_tickets_masked(manifest: dict, workspace: Workspace) -> None:
    tickets = read_jsonl(workspace.stage_dir("protect") / "tickets.jsonl")
    assert [ticket["doc_id"] for ticket in tickets] == ["ticket-T-1", "ticket-T-2"]
    assert tickets[0]["text"] == ("Subject: VPN down\n\nHi, this is [PERSON_1], mail [EMAIL_ADDRESS_1] "
                                  "or [PHONE_NUMBER_1].")
    assert tickets[0]["label"] == "network"
    assert tickets[1]["entities"] == {"PHONE_NUMBER": 1}


def test_skipped_tickets_counted(manifest: dict) -> None:
    assert manifest["counts"]["skipped_tickets"] == {"empty_label": 1, "empty_text": 1}


def test_manifest_counts(manifest: dict) -> None:
    counts = manifest["counts"]
    assert (counts["chunks"], counts["chunks_with_entities"], counts["tickets"]) == (4, 3, 2)
    assert counts["entities"] == {"BANK_ACCOUNT": 1, "CREDIT_CARD": 1, "EMAIL_ADDRESS": 2, "PERSON": 6,
                                  "PHONE_NUMBER": 3}


def test_outputs_have_no_planted_values(manifest: dict, workspace: Workspace) -> None:
    for name in ("chunks.jsonl", "documents.jsonl", "tickets.jsonl", "privacy_report.json", "manifest.json"):
        text = (workspace.stage_dir("protect") / name).read_text(encoding="utf-8")
        for value in PLANTED:
            assert value not in text, f"{value!r} found in {name}"


def test_privacy_report_counts(manifest: dict, workspace: Workspace) -> None:
    report = read_json(workspace.stage_dir("protect") / "privacy_report.json")
    assert report["documents"]["hr"] == {"BANK_ACCOUNT": 1, "PERSON": 1}
    assert report["sources"]["chunks"] == {"records": 4, "with_entities": 3, "withheld": 0}
    assert report["score_threshold"] == 0.4


def test_stage_fresh_after_run(manifest: dict, config: RunConfig, workspace: Workspace) -> None:
    assert workspace.is_fresh(stage.NAME, stage.settings(config), stage.inputs(config, workspace))


def test_inputs_include_tickets(config: RunConfig, workspace: Workspace) -> None:
    assert set(stage.inputs(config, workspace)) == {"ingest", "tickets"}


def test_settings_include_tickets(config: RunConfig) -> None:
    assert stage.settings(config)["tickets"]["label_column"] == "category"


def test_missing_column_named(tmp_path: Path, workspace: Workspace) -> None:
    tickets = tmp_path / "bad.csv"
    _write_tickets(tickets, TICKETS, ["ticket_id", "subject", "category"])
    config = RunConfig(workspace=str(workspace.root), build={"tickets": {"path": str(tickets)}})
    expected = r"bad.csv: missing column\(s\) body; columns found: ticket_id, subject"
    with pytest.raises(ValueError, match=expected):
        stage.run(config, workspace)


def test_requires_ingest(tmp_path: Path) -> None:
    config = RunConfig(workspace=str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError, match="shochu ingest"):
        stage.run(config, Workspace(tmp_path / "empty"))


def test_failed_recognizer_withholds_chunk(config: RunConfig, workspace: Workspace,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self, pattern_text: str) -> bool:
        raise RuntimeError("checksum failed")

    monkeypatch.setattr(recognizers.CreditCardRecognizer, "validate_result", broken)
    manifest = stage.run(config, workspace)
    chunks = read_jsonl(workspace.stage_dir("protect") / "chunks.jsonl")
    assert chunks[0]["text"] == "[REDACTED]"
    assert manifest["counts"]["withheld_texts"] == 1


def test_start_log_says_why_a_stage_runs(config: RunConfig, workspace: Workspace,
                                         caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="shochu.pipeline"):
        run_stage("protect", config, workspace)
        run_stage("protect", config, workspace, force=True, reason="stage ingest ran")
        run_stage("protect", config, workspace, force=True)
    starts = [record.getMessage() for record in caplog.records if "starting" in record.getMessage()]
    assert starts == ["stage protect: starting (it has not finished before)",
                      "stage protect: starting (stage ingest ran)",
                      "stage protect: starting (forced)"]


def test_log_says_when_mask_policy_overrides_pseudonyms(tmp_path: Path, workspace: Workspace,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("SHOCHU_PSEUDONYM_KEY", "a-test-key-of-32-characters-long")
    config = RunConfig(workspace=str(workspace.root), protect={"operators": {"PERSON": "pseudonym"}})
    with caplog.at_level(logging.INFO, logger="shochu.protect.stage"):
        manifest = stage.run(config, workspace)
    masked = {label: count for label, count in manifest["counts"]["labels"].items()
              if count and config.protect.confidentiality.policy[label] == "mask"}
    lines = [record.getMessage() for record in caplog.records if "instead of pseudonym" in record.getMessage()]
    assert masked, "the test corpus needs a document whose label has the 'mask' policy"
    assert lines == [f"{sum(masked.values())} document(s) labelled {', '.join(sorted(masked))} got placeholders "
                     "instead of pseudonym, because protect.confidentiality.policy says 'mask' for those labels"]


def test_new_detection_version_makes_stage_stale(config: RunConfig, workspace: Workspace, manifest: dict,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    assert workspace.is_fresh("protect", stage.settings(config), stage.inputs(config, workspace))
    assert manifest["config"]["detection"]["version"] == stage.DETECTION_VERSION

    # Recognizers that find more must mask a workspace that older ones masked.
    monkeypatch.setattr(stage, "DETECTION_VERSION", stage.DETECTION_VERSION + 1)
    assert not workspace.is_fresh("protect", stage.settings(config), stage.inputs(config, workspace))
    assert workspace.stale_reasons("protect", stage.settings(config), stage.inputs(config, workspace)) == [
        "settings changed: detection.version"]
