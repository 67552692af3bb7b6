"""The ingest stage's tables of documents and chunks, stored as Parquet and read back in batches.

``TableWriter`` buffers records and writes them as row groups of at most
``ROW_GROUP_ROWS`` rows or ``ROW_GROUP_CHARS`` characters of text, so the stage
keeps one row group in memory however large the corpus is. The file is written
under a temporary name and renamed into place only when the writer closes
without an exception, so a killed or failed run leaves no partial table.

Readers (``iter_chunks``, ``iter_documents``, ``StoredTable``) decode one
batch of rows at a time. A document's ``metadata`` is stored as JSON text,
because its keys differ from format to format, and is decoded back into a
dict. Parquet strings must be valid UTF-8, so a lone surrogate (which some
readers leave in extracted text) is stored as U+FFFD.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from shochu.workspace import atomic_path

CHUNKS_FILE = "chunks.parquet"
DOCUMENTS_FILE = "documents.parquet"
ROW_GROUP_ROWS = 2048
ROW_GROUP_CHARS = 16 << 20  # characters of string fields, about 16 to 64 MiB of UTF-8
BATCH_ROWS = 1024

# Version of the chunks table's layout and chunking rules. Version 2 added
# ``joint`` and keeps the pieces of one split block joined by their own joint.
CHUNKS_FORMAT = 2

# Ingest fills every column. Only ids and chunk text are required, so that a
# hand-written table (a test fixture, an import from another tool) may leave
# the rest empty. A table written before ``joint`` existed has no such column,
# and its readers get records without the key.
CHUNK_SCHEMA = pa.schema([
    pa.field("chunk_id", pa.string(), nullable=False),
    pa.field("doc_id", pa.string(), nullable=False),
    pa.field("source", pa.string()),
    pa.field("index", pa.int32()),
    pa.field("heading", pa.string()),
    pa.field("text", pa.string(), nullable=False),
    # Document text between the previous chunk of the same document and this one: "" after a cut inside a
    # word or token, whitespace otherwise, "" for a document's first chunk (see ``chunking.py``).
    pa.field("joint", pa.string()),
    pa.field("tokens", pa.int32()),  # tokens of the teacher's tokenizer, without special tokens
    pa.field("language", pa.string()),
    pa.field("cluster", pa.string()),
])
DOCUMENT_SCHEMA = pa.schema([
    pa.field("doc_id", pa.string(), nullable=False),
    pa.field("source", pa.string()),
    pa.field("format", pa.string()),
    pa.field("language", pa.string()),
    pa.field("chars", pa.int64()),
    pa.field("sha256", pa.string()),
    pa.field("metadata", pa.string(), nullable=False),  # JSON object
])
SCHEMAS = {CHUNKS_FILE: CHUNK_SCHEMA, DOCUMENTS_FILE: DOCUMENT_SCHEMA}

_SURROGATES = re.compile("[\ud800-\udfff]")


class TableWriter:
    """Writer of one Parquet table, flushed in bounded row groups and renamed into place on success."""

    def __init__(self, path: Path, schema: pa.Schema, row_group_rows: int = ROW_GROUP_ROWS,
                 row_group_chars: int = ROW_GROUP_CHARS) -> None:
        self.path = path
        self.schema = schema
        self.row_group_rows = row_group_rows
        self.row_group_chars = row_group_chars
        self.rows = 0
        self._buffer: list[dict[str, Any]] = []
        self._buffered_chars = 0
        self._stack = ExitStack()
        self._writer: pq.ParquetWriter | None = None

    def __enter__(self) -> TableWriter:
        with ExitStack() as stack:
            temporary = stack.enter_context(atomic_path(self.path))
            self._writer = pq.ParquetWriter(temporary, self.schema, compression="zstd")
            stack.callback(self._writer.close)
            self._stack = stack.pop_all()
        return self

    def __exit__(self, exc_type: Any, *exc_info: Any) -> bool | None:
        # The last row group is written only on success; after an error the
        # temporary file is removed anyway.
        if exc_type is None:
            self.flush()
        return self._stack.__exit__(exc_type, *exc_info)

    def append(self, record: dict[str, Any]) -> None:
        """Buffer one record; write a row group when the buffer reaches its row or size limit."""
        if self.schema is DOCUMENT_SCHEMA:
            record = {**record, "metadata": json.dumps(record.get("metadata") or {}, ensure_ascii=False,
                                                       default=str)}
        self._buffer.append(record)
        self._buffered_chars += sum(len(value) for value in record.values() if isinstance(value, str))
        if len(self._buffer) >= self.row_group_rows or self._buffered_chars >= self.row_group_chars:
            self.flush()

    def flush(self) -> None:
        """Write the buffered records as one row group."""
        if not self._buffer or self._writer is None:
            return
        try:
            table = pa.Table.from_pylist(self._buffer, schema=self.schema)
        except UnicodeEncodeError:
            table = pa.Table.from_pylist([_without_surrogates(record) for record in self._buffer], schema=self.schema)
        self._writer.write_table(table, row_group_size=len(self._buffer))
        self.rows += len(self._buffer)
        self._buffer = []
        self._buffered_chars = 0


def _without_surrogates(record: dict[str, Any]) -> dict[str, Any]:
    return {key: _SURROGATES.sub("\ufffd", value) if isinstance(value, str) else value
            for key, value in record.items()}


class StoredTable:
    """A Parquet table read lazily: iterating reads it batch by batch, and ``len`` comes from its footer.

    It can be iterated more than once, each time from the start of the file, so
    a stage can take several passes over chunks that do not fit in memory.
    """

    def __init__(self, path: Path, batch_size: int = BATCH_ROWS) -> None:
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found; run `shochu ingest` to write it")
        self.path = path
        self.batch_size = batch_size
        self._rows = _open(path).metadata.num_rows

    def __len__(self) -> int:
        return self._rows

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for batch in self.batches():
            yield from batch

    def batches(self) -> Iterator[list[dict[str, Any]]]:
        """Yield the rows as lists of at most ``batch_size`` records."""
        decode_metadata = self.path.name == DOCUMENTS_FILE
        for batch in _open(self.path).iter_batches(batch_size=self.batch_size):
            records = batch.to_pylist()
            if decode_metadata:
                for record in records:
                    record["metadata"] = json.loads(record["metadata"])
            yield records


def _open(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise ValueError(f"{path} is not a readable Parquet file ({error}); delete it and re-run "
                         f"`shochu ingest`") from error


def iter_chunks(folder: Path, batch_size: int = BATCH_ROWS) -> Iterator[dict[str, Any]]:
    """Yield the chunk records of an ingest folder in order, reading ``batch_size`` rows at a time."""
    yield from StoredTable(folder / CHUNKS_FILE, batch_size)


def iter_documents(folder: Path, batch_size: int = BATCH_ROWS) -> Iterator[dict[str, Any]]:
    """Yield the document records of an ingest folder in order, with ``metadata`` decoded."""
    yield from StoredTable(folder / DOCUMENTS_FILE, batch_size)


def read_chunks(folder: Path) -> list[dict[str, Any]]:
    """Return every chunk record of an ingest folder; for small corpora and tests."""
    return list(iter_chunks(folder))


def read_documents(folder: Path) -> list[dict[str, Any]]:
    """Return every document record of an ingest folder; for small corpora and tests."""
    return list(iter_documents(folder))


def write_tables(folder: Path, chunks: list[dict[str, Any]], documents: list[dict[str, Any]] | None = None) -> None:
    """Write chunk and document records as the ingest stage would; for fixtures and benchmarks."""
    tables = [(CHUNKS_FILE, chunks), (DOCUMENTS_FILE, documents)]
    for name, records in tables:
        if records is None:
            continue
        with TableWriter(folder / name, SCHEMAS[name]) as writer:
            for record in records:
                writer.append(record)
