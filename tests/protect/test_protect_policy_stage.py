"""The protect stage with operators, labels, the encrypted mapping and re-identification flags."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

import pytest
import regex
from cryptography.fernet import Fernet

from shochu.config import RunConfig
from shochu.ingest.store import write_tables
from shochu.protect import stage
from shochu.protect.operators import MissingKeyError
from shochu.protect.pseudonyms import Pseudonymizer
from shochu.protect.vault import MappingKeyError, read_mapping, reveal
from shochu.workspace import Workspace, read_json, read_jsonl

KEY = "a-test-key-of-32-characters-0001"
OTHER_KEY = "another-test-key-32-characters-2"

CHUNKS = [
    {"chunk_id": "mail-0000", "doc_id": "mail", "source": "mail/a.eml", "index": 0, "heading": None,
     "text": "Dear Hanako Yamada, thank you. 担当：田中太郎様"},
    {"chunk_id": "notes-0000", "doc_id": "notes", "source": "notes/b.md", "index": 0, "heading": "Visit",
     "text": "Hanako Yamada visited. 田中太郎様もご一緒でした。"},
    {"chunk_id": "plan-0000", "doc_id": "plan", "source": "plan.docx", "index": 0, "heading": None,
     "text": "極秘：Merger plan. Owner: Kenji Sato."},
    {"chunk_id": "payroll-0000", "doc_id": "payroll", "source": "hr/payroll.md", "index": 0, "heading": None,
     "text": "Hanako Yamada: salary review."},
    {"chunk_id": "roster-0000", "doc_id": "roster", "source": "roster.txt", "index": 0, "heading": None,
     "text": "生年月日：1990年4月1日、〒100-0001、男性\n〒100-0002 東京都千代田区"},
    {"chunk_id": "board-0000", "doc_id": "board", "source": "board.pdf", "index": 0, "heading": None,
     "text": "Quarterly numbers for the board."},
]
DOCUMENTS = [
    {"doc_id": "mail", "source": "mail/a.eml", "metadata": {"from": "Hanako Yamada"}},
    {"doc_id": "notes", "source": "notes/b.md", "metadata": {}},
    {"doc_id": "plan", "source": "plan.docx", "metadata": {"title": "Merger"}},
    {"doc_id": "payroll", "source": "hr/payroll.md", "metadata": {}},
    {"doc_id": "roster", "source": "roster.txt", "metadata": {}},
    {"doc_id": "board", "source": "board.pdf", "metadata": {"sensitivity_markings": ["社外秘"]}},
]
PLANTED = ["Hanako Yamada", "田中太郎", "Kenji Sato", "1990年4月1日", "100-0001", "Merger plan"]


def _workspace(root: Path) -> Workspace:
    workspace = Workspace(root)
    folder = workspace.reset("ingest")
    write_tables(folder, CHUNKS, DOCUMENTS)
    workspace.finish("ingest", {}, {"documents": "test"}, {"chunks": len(CHUNKS)}, time.time())
    return workspace


def _config(workspace: Workspace, **protect: Any) -> RunConfig:
    settings = {"operators": {"PERSON": "pseudonym"},
                "confidentiality": {"folders": {"hr/**": "confidential"}, "density": {}}, **protect}
    return RunConfig(workspace=str(workspace.root), protect=settings)


def _run(root: Path, **protect: Any) -> tuple[Workspace, dict[str, Any]]:
    workspace = _workspace(root)
    stage.run(_config(workspace, **protect), workspace)
    chunks = {chunk["doc_id"]: chunk for chunk in read_jsonl(workspace.stage_dir("protect") / "chunks.jsonl")}
    return workspace, chunks


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOCHU_PSEUDONYM_KEY", KEY)


@pytest.fixture
def protected(keyed: None, tmp_path: Path) -> tuple[Workspace, dict[str, Any]]:
    return _run(tmp_path / "run")


def test_same_name_same_pseudonym_across_documents(protected: tuple[Workspace, dict[str, Any]]) -> None:
    chunks = protected[1]
    surrogate = Pseudonymizer(KEY.encode()).surrogate("PERSON", "Hanako Yamada")
    japanese = Pseudonymizer(KEY.encode()).surrogate("PERSON", "田中太郎")
    assert chunks["mail"]["text"] == f"Dear {surrogate}, thank you. 担当：{japanese}様"
    assert chunks["notes"]["text"] == f"{surrogate} visited. {japanese}様もご一緒でした。"


def test_japanese_name_gets_japanese_pseudonym(protected: tuple[Workspace, dict[str, Any]]) -> None:
    text = protected[1]["mail"]["text"]
    surrogate = text[text.index("担当：") + 3:text.index("様")]
    assert regex.fullmatch(r"[\p{Han}\p{Hiragana}\p{Katakana}々ー]{2,8}", surrogate), surrogate
    assert surrogate != "田中太郎"


def test_pseudonyms_stable_across_runs(keyed: None, tmp_path: Path) -> None:
    first = _run(tmp_path / "first")[1]
    second = _run(tmp_path / "second")[1]
    assert first["mail"]["text"] == second["mail"]["text"]
    assert first["notes"]["text"] == second["notes"]["text"]


def test_other_key_other_pseudonyms(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SHOCHU_PSEUDONYM_KEY", KEY)
    first = _run(tmp_path / "first")[1]
    monkeypatch.setenv("SHOCHU_PSEUDONYM_KEY", OTHER_KEY)
    second = _run(tmp_path / "second")[1]
    assert first["mail"]["text"] != second["mail"]["text"]
    assert first["mail"]["text"].endswith("様")
    assert second["mail"]["text"].endswith("様")


def test_key_change_makes_stage_stale(monkeypatch: pytest.MonkeyPatch,
                                      protected: tuple[Workspace, dict[str, Any]]) -> None:
    workspace = protected[0]
    config = _config(workspace)
    assert workspace.is_fresh(stage.NAME, stage.settings(config), stage.inputs(config, workspace))
    monkeypatch.setenv("SHOCHU_PSEUDONYM_KEY", OTHER_KEY)
    assert not workspace.is_fresh(stage.NAME, stage.settings(config), stage.inputs(config, workspace))


def test_key_not_in_manifest(protected: tuple[Workspace, dict[str, Any]]) -> None:
    assert KEY not in (protected[0].stage_dir("protect") / "manifest.json").read_text(encoding="utf-8")


def test_missing_key_rejected(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SHOCHU_PSEUDONYM_KEY", raising=False)
    workspace = _workspace(tmp_path / "run")
    with pytest.raises(MissingKeyError, match="SHOCHU_PSEUDONYM_KEY is not set"):
        stage.run(_config(workspace), workspace)
    assert not workspace.stage_dir("protect").exists()


def test_secret_document_excluded(protected: tuple[Workspace, dict[str, Any]]) -> None:
    workspace, chunks = protected
    assert "plan" not in chunks
    documents = read_jsonl(workspace.stage_dir("protect") / "documents.jsonl")
    assert "plan" not in {document["doc_id"] for document in documents}


def test_marking_from_ingest_labels_document(protected: tuple[Workspace, dict[str, Any]]) -> None:
    assert protected[1]["board"]["confidentiality"] == "confidential"


def test_mask_policy_uses_placeholders(protected: tuple[Workspace, dict[str, Any]]) -> None:
    chunk = protected[1]["payroll"]
    assert (chunk["confidentiality"], chunk["text"]) == ("confidential", "[PERSON_1]: salary review.")


def test_report_sections(protected: tuple[Workspace, dict[str, Any]]) -> None:
    report = read_json(protected[0].stage_dir("protect") / "privacy_report.json")
    assert report["operators"] == {"DATE_OF_BIRTH": {"placeholder": 1},
                                   "PERSON": {"placeholder": 1, "pseudonym": 5},
                                   "POSTAL_CODE": {"placeholder": 2}}
    assert report["labels"]["counts"] == {"public": 3, "internal": 0, "confidential": 2, "secret": 1}
    assert report["labels"]["documents"]["payroll"] == {"source": "hr/payroll.md", "label": "confidential",
                                                         "policy": "mask", "rules": ["folder hr/**"]}
    assert report["excluded"] == {"count": 1, "documents": [
        {"doc_id": "plan", "source": "plan.docx",
         "reasons": [{"kind": "label", "label": "secret", "rules": ["keyword 極秘"]}]}]}


def test_report_flags_reidentification(protected: tuple[Workspace, dict[str, Any]]) -> None:
    report = read_json(protected[0].stage_dir("protect") / "privacy_report.json")
    assert report["reidentification"] == {"flagged_documents": 1, "flagged_documents_kept": 1,
                                          "flagged_records": 1, "documents": {
        "roster": {"source": "roster.txt", "excluded": False, "flagged_records": 1,
                   "combinations": [{"types": ["DATE_OF_BIRTH", "GENDER", "POSTAL_CODE"], "records": 1}]}}}


def test_outputs_have_no_planted_values(protected: tuple[Workspace, dict[str, Any]]) -> None:
    folder = protected[0].stage_dir("protect")
    for name in ("chunks.jsonl", "documents.jsonl", "privacy_report.json", "manifest.json"):
        text = (folder / name).read_text(encoding="utf-8")
        for value in PLANTED:
            assert value not in text, f"{value!r} found in {name}"


def test_drop_document_operator(tmp_path: Path) -> None:
    workspace, chunks = _run(tmp_path / "run", operators={"POSTAL_CODE": "drop_document"})
    assert "roster" not in chunks
    report = read_json(workspace.stage_dir("protect") / "privacy_report.json")
    roster = [entry for entry in report["excluded"]["documents"] if entry["doc_id"] == "roster"]
    assert roster == [{"doc_id": "roster", "source": "roster.txt", "reasons": [
        {"kind": "operator", "operator": "drop_document", "entity_types": ["POSTAL_CODE"]}]}]
    assert report["reidentification"]["documents"]["roster"]["excluded"] is True
    assert report["reidentification"]["flagged_documents_kept"] == 0


def test_excluded_ticket(tmp_path: Path) -> None:
    tickets = tmp_path / "tickets.csv"
    with open(tickets, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerows([["ticket_id", "subject", "body", "category"],
                          ["T-1", "VPN", "VPN down again.", "network"],
                          ["T-2", "ลับที่สุด", "แผนงานใหม่", "other"]])
    workspace = _workspace(tmp_path / "run")
    config = RunConfig(workspace=str(workspace.root), build={"tickets": {"path": str(tickets)}})
    manifest = stage.run(config, workspace)
    written = read_jsonl(workspace.stage_dir("protect") / "tickets.jsonl")
    assert [(ticket["id"], ticket["confidentiality"]) for ticket in written] == [("T-1", "public")]
    assert manifest["counts"]["excluded_documents"] == 2


@pytest.mark.parametrize(("rule", "inside_input"), [("exports/*.csv", True), ("*.csv", False)])
def test_folder_rule_covers_build_tickets_csv(tmp_path: Path, rule: str, inside_input: bool) -> None:
    # The CSV that build.tickets names is labelled by the same folder rules as the documents:
    # by its path within ingest.input, or by its file name when it lies outside.
    docs = tmp_path / "docs"
    tickets = (docs / "exports" if inside_input else tmp_path) / "tickets.csv"
    tickets.parent.mkdir(parents=True, exist_ok=True)
    with open(tickets, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["ticket_id", "subject", "body", "category"],
                                      ["T-1", "VPN", "VPN down again.", "network"]])
    workspace = _workspace(tmp_path / "run")
    config = RunConfig(workspace=str(workspace.root), ingest={"input": str(docs)},
                       build={"tickets": {"path": str(tickets)}},
                       protect={"confidentiality": {"folders": {rule: "secret"}}})
    stage.run(config, workspace)
    assert read_jsonl(workspace.stage_dir("protect") / "tickets.jsonl") == []
    report = read_json(workspace.stage_dir("protect") / "privacy_report.json")
    source = "exports/tickets.csv" if inside_input else "tickets.csv"
    assert report["labels"]["documents"]["ticket-T-1"] == {"source": source, "label": "secret",
                                                            "policy": "exclude", "rules": [f"folder {rule}"]}


@pytest.fixture
def mapping_key(monkeypatch: pytest.MonkeyPatch) -> bytes:
    key = Fernet.generate_key()
    monkeypatch.setenv("SHOCHU_MAPPING_KEY", key.decode())
    return key


def test_reversible_mapping(keyed: None, mapping_key: bytes, tmp_path: Path) -> None:
    workspace, chunks = _run(tmp_path / "run", reversible_mapping=True)
    path = workspace.stage_dir("protect") / "mapping.enc"
    data = path.read_bytes()
    for value in PLANTED:
        assert value.encode("utf-8") not in data
    surrogate = Pseudonymizer(KEY.encode()).surrogate("PERSON", "Hanako Yamada")
    assert {entry["value"] for entry in reveal(path, surrogate, mapping_key)} == {"Hanako Yamada"}
    assert [entry["value"] for entry in reveal(path, "[PERSON_1]", mapping_key, "payroll-0000")] == [
        "Hanako Yamada"]
    with pytest.raises(MappingKeyError):
        read_mapping(path, Fernet.generate_key())


def test_mapping_not_in_training_outputs(keyed: None, mapping_key: bytes, tmp_path: Path) -> None:
    workspace, _ = _run(tmp_path / "run", reversible_mapping=True)
    manifest = json.loads((workspace.stage_dir("protect") / "manifest.json").read_text(encoding="utf-8"))
    assert "mapping.enc" not in manifest["outputs"]
    entries = read_mapping(workspace.stage_dir("protect") / "mapping.enc", mapping_key)
    assert sorted((entry["record"], entry["entity_type"]) for entry in entries) == [
        ("mail", "PERSON"), ("mail-0000", "PERSON"), ("mail-0000", "PERSON"), ("notes-0000", "PERSON"),
        ("notes-0000", "PERSON"), ("payroll-0000", "PERSON"), ("roster-0000", "DATE_OF_BIRTH"),
        ("roster-0000", "POSTAL_CODE"), ("roster-0000", "POSTAL_CODE")]


def test_mapping_without_key_rejected(keyed: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SHOCHU_MAPPING_KEY", raising=False)
    workspace = _workspace(tmp_path / "run")
    with pytest.raises(MappingKeyError, match="SHOCHU_MAPPING_KEY is not set"):
        stage.run(_config(workspace, reversible_mapping=True), workspace)


def test_reveal_command(keyed: None, mapping_key: bytes, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from shochu.cli import app

    workspace, _ = _run(tmp_path / "run", reversible_mapping=True)
    runner = CliRunner()
    found = runner.invoke(app, ["protect", "--workspace", str(workspace.root), "--reveal", "[PERSON_1]",
                                "--record", "payroll-0000"])
    assert found.exit_code == 0, found.output
    assert json.loads(found.stdout) == {"record": "payroll-0000", "entity_type": "PERSON",
                                        "replacement": "[PERSON_1]", "value": "Hanako Yamada"}
    missing = runner.invoke(app, ["protect", "--workspace", str(workspace.root), "--reveal", "[PERSON_9]"])
    assert missing.exit_code == 2
    assert "not in the mapping" in " ".join(missing.output.split())
