"""Parquet tables of the ingest stage: exact round trip, atomic writes, bounded row groups and batches."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shochu.ingest.dedup import SCRATCH_FILE, DuplicateClusters, key_digest
from shochu.ingest.store import (CHUNK_SCHEMA, CHUNKS_FILE, DOCUMENTS_FILE, StoredTable, TableWriter, iter_chunks,
                                 read_chunks, read_documents)
from shochu.ingest.writer import StageWriter

TEXTS = [
    "社外秘の文書は共有フォルダに保存しないでください。\n経費精算は30日以内に提出してください。",
    "ห้ามนำเอกสารลับออกนอกสำนักงาน กรุณาติดต่อฝ่ายบุคคล",
    "Ky\u014dto and Kyo\u0304to, tabs\tand\r\nCRLF, NUL \x00, emoji \U0001F600, zero width \u200b.",
    "",
]


def chunk(number: int, text: str, heading: str | None = None) -> dict:
    return {"chunk_id": f"doc-{number:04d}", "doc_id": "doc", "source": "a/文書.md", "index": number,
            "heading": heading, "text": text, "joint": "" if number == 0 else "\n", "tokens": len(text),
            "language": "ja", "cluster": f"doc-{number:04d}"}


DOCUMENT = {"doc_id": "doc", "source": "a/文書.md", "format": "markdown", "language": "ja", "chars": 42,
            "sha256": "ab" * 32, "metadata": {"title": "規程", "to": ["a@example.com", "b@example.com"],
                                              "pages": 3, "draft": False}}


def test_round_trip_equals_jsonl(tmp_path: Path) -> None:
    chunks = [chunk(number, text, heading="見出し" if number else None) for number, text in enumerate(TEXTS)]
    with StageWriter(tmp_path) as writer:
        writer.write("documents", DOCUMENT)
        for record in chunks:
            writer.write("chunks", record)

    # What a JSON Lines file held: the records after a JSON round trip.
    assert read_chunks(tmp_path) == [json.loads(json.dumps(record, ensure_ascii=False)) for record in chunks]
    assert read_documents(tmp_path) == [json.loads(json.dumps(DOCUMENT, ensure_ascii=False))]


def test_lone_surrogate_stored_as_replacement(tmp_path: Path) -> None:
    with StageWriter(tmp_path) as writer:
        writer.write("chunks", chunk(0, "bad \udc8e byte, 日本語 kept"))
        writer.write("chunks", chunk(1, "clean ภาษาไทย"))

    texts = [record["text"] for record in read_chunks(tmp_path)]
    assert texts == ["bad \ufffd byte, 日本語 kept", "clean ภาษาไทย"]


def test_failed_run_leaves_no_output(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), StageWriter(tmp_path) as writer:
        writer.write("chunks", chunk(0, TEXTS[0]))
        raise RuntimeError("extraction failed")

    assert list(tmp_path.iterdir()) == []


KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
from shochu.ingest.writer import StageWriter
with StageWriter(Path(sys.argv[1])) as writer:
    for number in range(5000):
        writer.write("chunks", {"chunk_id": f"c{number}", "doc_id": "d", "text": "x" * 500})
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_killed_run_leaves_no_table(tmp_path: Path) -> None:
    completed = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(tmp_path)], check=False)
    assert completed.returncode == -9

    names = sorted(path.name for path in tmp_path.iterdir())
    assert CHUNKS_FILE not in names
    assert DOCUMENTS_FILE not in names
    # Only temporary files remain, which the next run of the stage deletes.
    assert names
    assert all(name.startswith(".") and name.endswith(".tmp") for name in names)


def test_row_groups_bounded_by_rows(tmp_path: Path) -> None:
    path = tmp_path / CHUNKS_FILE
    with TableWriter(path, CHUNK_SCHEMA, row_group_rows=100) as writer:
        for number in range(1050):
            writer.append(chunk(number, f"chunk {number}"))

    metadata = pq.ParquetFile(path).metadata
    sizes = [metadata.row_group(group).num_rows for group in range(metadata.num_row_groups)]
    assert sizes == [100] * 10 + [50]
    assert writer.rows == 1050


def test_row_groups_bounded_by_chars(tmp_path: Path) -> None:
    path = tmp_path / CHUNKS_FILE
    with TableWriter(path, CHUNK_SCHEMA, row_group_rows=10_000, row_group_chars=50_000) as writer:
        for number in range(100):
            writer.append(chunk(number, "文" * 10_000))

    metadata = pq.ParquetFile(path).metadata
    sizes = [metadata.row_group(group).num_rows for group in range(metadata.num_row_groups)]
    assert max(sizes) == 5
    assert sum(sizes) == 100


def test_reader_streams_batches(tmp_path: Path) -> None:
    # 20,000 chunks of 1,000 characters: about 20 MB of text in row groups of 500 rows.
    with TableWriter(tmp_path / CHUNKS_FILE, CHUNK_SCHEMA, row_group_rows=500) as writer:
        for number in range(20_000):
            writer.append(chunk(number, f"{number:08d}" + "あ" * 992))

    table = StoredTable(tmp_path / CHUNKS_FILE, batch_size=256)
    assert len(table) == 20_000
    peak, seen = 0, 0
    for batch in table.batches():
        assert len(batch) <= 256
        assert batch[0]["chunk_id"] == f"doc-{seen:04d}"
        seen += len(batch)
        peak = max(peak, pa.total_allocated_bytes())
    assert seen == 20_000
    # Arrow memory never contains more than a few row groups (about 1.5 MB of UTF-8 each).
    assert peak < 8_000_000


def test_table_iterates_twice(tmp_path: Path) -> None:
    with TableWriter(tmp_path / CHUNKS_FILE, CHUNK_SCHEMA, row_group_rows=3) as writer:
        for number, text in enumerate(TEXTS):
            writer.append(chunk(number, text))

    table = StoredTable(tmp_path / CHUNKS_FILE, batch_size=2)
    first, second = list(table), list(table)
    assert first == second
    assert [record["text"] for record in first] == TEXTS
    assert list(iter_chunks(tmp_path, batch_size=1)) == first


def test_missing_table_names_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="chunks.parquet not found; run `shochu ingest`"):
        read_chunks(tmp_path)


def test_corrupt_table_names_file(tmp_path: Path) -> None:
    (tmp_path / CHUNKS_FILE).write_bytes(b"not parquet at all")
    with pytest.raises(ValueError, match="chunks.parquet is not a readable Parquet file"):
        read_chunks(tmp_path)


def test_scratch_database_deleted(tmp_path: Path) -> None:
    scratch = tmp_path / SCRATCH_FILE
    clusters = DuplicateClusters(0.8, scratch)
    assert clusters.assign("a", TEXTS[0], "ja") == "a"
    assert clusters.assign("b", TEXTS[0] + " ", "ja") == "a"
    assert scratch.exists()

    assert clusters.counts() == {"duplicate_clusters": 1, "chunks_in_duplicate_clusters": 2}
    clusters.close()
    assert not scratch.exists()


def test_scratch_left_by_killed_run_replaced(tmp_path: Path) -> None:
    scratch = tmp_path / SCRATCH_FILE
    DuplicateClusters(0.8, scratch).assign("old", TEXTS[0], "ja")  # never closed, as after a kill

    clusters = DuplicateClusters(0.8, scratch)
    assert clusters.assign("new", TEXTS[0], "ja") == "new"
    clusters.close()


def test_first_document_by_digest() -> None:
    clusters = DuplicateClusters(0.8)
    digest = key_digest("same text")
    assert clusters.first_document(digest, "first", "a.md") is None
    assert clusters.first_document(digest, "second", "b.md") == {"doc_id": "first", "source": "a.md"}
    assert clusters.first_document(key_digest("other text"), "third", "c.md") is None
    clusters.close()
