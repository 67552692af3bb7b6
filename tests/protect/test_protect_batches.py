"""The protect stage over ingest tables larger than one read batch."""

from __future__ import annotations

import time
from pathlib import Path

from shochu.config import RunConfig
from shochu.ingest.store import BATCH_ROWS, write_tables
from shochu.protect import stage
from shochu.workspace import Workspace, read_jsonl

CHUNK_COUNT = BATCH_ROWS + 37


def test_protect_reads_every_batch(tmp_path: Path) -> None:
    chunks = [{"chunk_id": f"doc{number % 5}-{number:05d}", "doc_id": f"doc{number % 5}",
               "source": f"doc{number % 5}.md", "index": number, "heading": None,
               "text": f"Ticket {number}: mail ops{number}@example.com about the 東京 office."}
              for number in range(CHUNK_COUNT)]
    documents = [{"doc_id": f"doc{number}", "source": f"doc{number}.md", "metadata": {}} for number in range(5)]
    workspace = Workspace(tmp_path / "run")
    write_tables(workspace.reset("ingest"), chunks, documents)
    workspace.finish("ingest", {}, {"documents": "test"}, {"chunks": CHUNK_COUNT}, time.time())

    config = RunConfig.model_validate({"workspace": str(workspace.root),
                                       "protect": {"entities": ["EMAIL_ADDRESS"]}})
    manifest = stage.run(config, workspace)
    masked = read_jsonl(workspace.stage_dir("protect") / "chunks.jsonl")

    assert manifest["counts"]["chunks"] == CHUNK_COUNT
    assert [record["chunk_id"] for record in masked] == [chunk["chunk_id"] for chunk in chunks]
    assert masked[-1]["text"] == f"Ticket {CHUNK_COUNT - 1}: mail [EMAIL_ADDRESS_1] about the 東京 office."
    assert all(record["entities"] == {"EMAIL_ADDRESS": 1} for record in masked)
    assert not any("@example.com" in record["text"] for record in masked)
