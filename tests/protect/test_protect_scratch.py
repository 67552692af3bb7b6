"""The protect stage's scratch file of spans, and document labels gathered while scanning."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from shochu.config import RunConfig
from shochu.ingest.store import write_tables
from shochu.protect import policy, stage
from shochu.protect.masker import Masker
from shochu.workspace import Workspace, read_json, read_jsonl

# Unique strings planted in the corpus. None of them may reach the scratch file.
PLANTED_TEXT = "Zorblax quarterly widget forecast"
PLANTED_EMAIL = "qx7.vantablack@example.org"

# Long enough that one address stays below the density rule's 10 entities per 1,000 characters.
MEMO = ("Mail ops@example.com about the printer on the third floor, which jams on every second page "
        "since the last firmware update. The vendor visit is booked for next week.")
CHUNKS = [
    {"chunk_id": "plan-0000", "doc_id": "plan", "source": "plan.md", "index": 0, "heading": "Plan",
     "text": f"{PLANTED_TEXT}. Questions to {PLANTED_EMAIL}."},
    {"chunk_id": "plan-0001", "doc_id": "plan", "source": "plan.md", "index": 1, "heading": None,
     "text": "The second part lists the regions."},
    {"chunk_id": "plan-0002", "doc_id": "plan", "source": "plan.md", "index": 2, "heading": "Notes",
     "text": "この資料は社外秘です。"},
    {"chunk_id": "memo-0000", "doc_id": "memo", "source": "memo.md", "index": 0, "heading": None,
     "text": MEMO},
]
DOCUMENTS = [
    {"doc_id": "plan", "source": "plan.md", "metadata": {"title": "Regional plan", "author": PLANTED_EMAIL}},
    {"doc_id": "memo", "source": "memo.md", "metadata": {}},
]


def _ingest(workspace: Workspace, chunks: list[dict], documents: list[dict]) -> None:
    write_tables(workspace.reset("ingest"), chunks, documents)
    workspace.finish("ingest", {}, {"documents": "test"}, {"chunks": len(chunks)}, time.time())


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    workspace = Workspace(tmp_path / "run")
    _ingest(workspace, CHUNKS, DOCUMENTS)
    return workspace


@pytest.fixture
def config(workspace: Workspace) -> RunConfig:
    return RunConfig.model_validate({"workspace": str(workspace.root),
                                     "protect": {"entities": ["EMAIL_ADDRESS"]}})


def _scratch(workspace: Workspace) -> Path:
    return workspace.root / stage.SCRATCH_DIR / stage.DETECTIONS_FILE


def test_keyword_in_third_chunk_labels_document(config: RunConfig, workspace: Workspace) -> None:
    stage.run(config, workspace)
    chunks = read_jsonl(workspace.stage_dir("protect") / "chunks.jsonl")
    report = read_json(workspace.stage_dir("protect") / "privacy_report.json")
    assert [chunk["confidentiality"] for chunk in chunks] == ["confidential", "confidential", "confidential",
                                                              "public"]
    assert report["labels"]["documents"]["plan"] == {"source": "plan.md", "label": "confidential",
                                                     "policy": "mask", "rules": ["keyword 社外秘"]}


def test_keyword_in_title_labels_document(config: RunConfig, workspace: Workspace) -> None:
    title = "Strictly confidential: printer"
    _ingest(workspace, CHUNKS[3:], [{**DOCUMENTS[1], "metadata": {"title": title}}])
    stage.run(config, workspace)
    report = read_json(workspace.stage_dir("protect") / "privacy_report.json")
    assert report["labels"]["documents"]["memo"]["rules"] == ["keyword strictly confidential"]


def test_scratch_removed_after_run(config: RunConfig, workspace: Workspace) -> None:
    stage.run(config, workspace)
    assert not _scratch(workspace).exists()
    assert not _scratch(workspace).parent.exists()


def test_scratch_not_in_outputs(config: RunConfig, workspace: Workspace) -> None:
    manifest = stage.run(config, workspace)
    assert set(manifest["outputs"]) == {"chunks.jsonl", "documents.jsonl", "privacy_report.json"}
    assert sorted(path.name for path in workspace.stage_dir("protect").iterdir()) == [
        "chunks.jsonl", "documents.jsonl", "manifest.json", "privacy_report.json"]


def test_stale_scratch_replaced(config: RunConfig, workspace: Workspace) -> None:
    # A killed run left spans that would mask the first four characters of the memo chunk.
    stale = _scratch(workspace)
    stale.parent.mkdir()
    stale.write_text('{"key": ["chunk", 3, "text"], "spans": [[0, 4, "PERSON", 1.0]], "failed": []}\n',
                     encoding="utf-8")
    stage.run(config, workspace)
    memo = read_jsonl(workspace.stage_dir("protect") / "chunks.jsonl")[3]
    assert memo["text"] == MEMO.replace("ops@example.com", "[EMAIL_ADDRESS_1]")
    assert memo["entities"] == {"EMAIL_ADDRESS": 1}
    assert not stale.exists()


def test_scratch_contains_no_corpus_text(config: RunConfig, workspace: Workspace,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    captured: list[bytes] = []
    remove = stage._remove_scratch

    def capture_then_remove(path: Path) -> None:
        captured.append(path.read_bytes())
        remove(path)

    monkeypatch.setattr(stage, "_remove_scratch", capture_then_remove)
    stage.run(config, workspace)
    assert len(captured) == 1
    content = captured[0]
    assert content.count(b"EMAIL_ADDRESS") == 2
    for planted in (PLANTED_TEXT, PLANTED_EMAIL, "vantablack", "Zorblax", "ops@example.com", "社外秘"):
        assert planted.encode("utf-8") not in content, f"{planted!r} found in the scratch file"


def test_write_pass_detects_metadata_only(config: RunConfig, workspace: Workspace,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # Chunk texts are detected once, in the scan, so the write pass reads their spans from the scratch file.
    detected: list[str] = []
    detect = Masker.detect
    write_outputs = stage._write_outputs

    def recording_detect(self: Masker, text: str):
        detected.append(text)
        return detect(self, text)

    def write_while_recording(*args, **kwargs):
        detected.clear()
        return write_outputs(*args, **kwargs)

    monkeypatch.setattr(Masker, "detect", recording_detect)
    monkeypatch.setattr(stage, "_write_outputs", write_while_recording)
    stage.run(config, workspace)
    chunks = read_jsonl(workspace.stage_dir("protect") / "chunks.jsonl")
    assert sorted(detected) == sorted(["Regional plan", PLANTED_EMAIL])
    assert chunks[0]["text"] == f"{PLANTED_TEXT}. Questions to [EMAIL_ADDRESS_1]."


def test_failed_scan_keeps_previous_output(config: RunConfig, workspace: Workspace,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    stage.run(config, workspace)
    before = (workspace.stage_dir("protect") / "chunks.jsonl").read_bytes()

    def broken(self, chunks) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(policy._Scanner, "add_chunks", broken)
    with pytest.raises(OSError, match="disk full"):
        stage.run(config, workspace)
    assert (workspace.stage_dir("protect") / "chunks.jsonl").read_bytes() == before
    assert workspace.is_complete("protect")
    assert not _scratch(workspace).exists()
