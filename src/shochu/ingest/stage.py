"""The ingest stage: a folder of documents in, normalised and chunked text out.

Outputs in the workspace's ``ingest/`` folder:

- ``documents.jsonl``: one record per document read (id, source, format, language,
  size, file hash, metadata such as title or e-mail headers).
- ``chunks.jsonl``: the documents' text split for the later stages.
- ``errors.jsonl``: one record per file that could not be read or has no reader.
- ``duplicates.jsonl``: documents dropped because an earlier one has the same text.
- ``manifest.json``: written last, by ``Workspace.finish``.

Metadata can contain personal data (names in e-mail headers, authors); it stays
in these files. Logs carry only counts, document ids, formats and error classes.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import track

from shochu.config import IngestConfig, RunConfig
from shochu.ingest.chunking import Chunk, chunk_text
from shochu.ingest.files import document_id, list_input_files, relative_source
from shochu.ingest.normalize import detect_language
from shochu.ingest.readers import Extraction, Reader, ReadError, reader_for, unsupported_message
from shochu.ingest.writer import OUTPUT_FILES, StageWriter
from shochu.workspace import Workspace, fingerprint_file, fingerprint_tree

logger = logging.getLogger(__name__)

NAME = "ingest"

# Maximum length, in characters, of a library exception's text quoted in errors.jsonl.
_MAX_MESSAGE_CHARS = 500


def settings(config: RunConfig) -> dict[str, Any]:
    """Return the config section that decides this stage's output."""
    return config.section(NAME)


def inputs(config: RunConfig, workspace: Workspace) -> dict[str, str]:
    """Return fingerprints of the stage's inputs: the whole input folder."""
    return {"documents": fingerprint_tree(input_folder(config))}


def run(config: RunConfig, workspace: Workspace) -> dict[str, Any]:
    """Read every file of the input folder and write the stage outputs; return the manifest."""
    started = time.time()
    root = input_folder(config)
    _check_workspace_outside(root, workspace)
    files = list_input_files(root)
    if not files:
        raise FileNotFoundError(f"ingest.input folder {root} contains no files (hidden files are "
                                f"skipped); put the documents to ingest there and re-run")

    # Fingerprinted before reading, so that a file changed during the run makes the next run stale.
    input_fingerprints = inputs(config, workspace)
    folder = workspace.reset(NAME)
    logger.info("ingest: reading %d files", len(files))
    tally = _Tally()
    with StageWriter(folder) as writer:
        ingest = _FileIngester(root, config.ingest, writer, tally)
        # Progress goes to stderr, so that stdout stays clean for the CLI's JSON summary.
        progress = track(files, description="Ingesting documents", total=len(files),
                         console=Console(stderr=True))
        for path in progress:
            ingest(path)

    counts = tally.counts()
    logger.info("ingest: %d documents, %d chunks, %d errors, %d duplicates dropped",
                counts["documents"], counts["chunks"], counts["errors"], counts["duplicates_dropped"])
    outputs = {name: fingerprint_file(folder / name) for name in OUTPUT_FILES.values()}
    return workspace.finish(NAME, config=settings(config), inputs=input_fingerprints,
                            counts=counts, started=started, outputs=outputs)


def input_folder(config: RunConfig) -> Path:
    """Return the configured input folder; raise ``FileNotFoundError`` naming it when it is missing."""
    if not config.ingest.input:
        raise FileNotFoundError("ingest.input is not set; set it to the folder of documents to ingest")
    root = Path(config.ingest.input)
    if not root.is_dir():
        raise FileNotFoundError(f"ingest.input folder not found: {root}; create it or fix the path "
                                f"in the config")
    return root


def _check_workspace_outside(root: Path, workspace: Workspace) -> None:
    if workspace.root.is_relative_to(root.resolve()):
        raise ValueError(f"workspace {workspace.root} is inside ingest.input {root}, so every run "
                         f"would ingest its own outputs; move the workspace outside the input folder")


@dataclass
class _Tally:
    """Counts for the manifest; updated once per file."""

    files: int = 0
    documents: int = 0
    chunks: int = 0
    errors: int = 0
    duplicates_dropped: int = 0
    chars: int = 0
    formats: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)
    error_types: Counter[str] = field(default_factory=Counter)
    read_seconds: Counter[str] = field(default_factory=Counter)

    def counts(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "documents": self.documents,
            "chunks": self.chunks,
            "errors": self.errors,
            "duplicates_dropped": self.duplicates_dropped,
            "chars": self.chars,
            "formats": dict(sorted(self.formats.items())),
            "languages": dict(sorted(self.languages.items())),
            "error_types": dict(sorted(self.error_types.items())),
            "read_seconds": {name: round(seconds, 3) for name, seconds in sorted(self.read_seconds.items())},
        }


class _FileIngester:
    """Per-file step of the stage: read, de-duplicate, chunk and write one file's records.

    A file that fails becomes an errors.jsonl record, so no single file stops the stage.
    """

    def __init__(self, root: Path, config: IngestConfig, writer: StageWriter, tally: _Tally) -> None:
        self.root = root
        self.config = config
        self.writer = writer
        self.tally = tally
        self.seen_texts: dict[str, dict[str, str]] = {}  # text SHA-256 -> first document's id and source

    def __call__(self, path: Path) -> None:
        self.tally.files += 1
        source = relative_source(path, self.root)
        doc_id = document_id(source)

        reader = reader_for(path)
        if reader is None:
            self._record_error(doc_id, source, "unsupported", unsupported_message(path))
            return

        started = time.perf_counter()
        try:
            extraction = reader.extract(path)
            file_sha256 = fingerprint_file(path)
            chunks = chunk_text(extraction.text, extraction.markdown, self.config.chunk_chars,
                                self.config.min_chunk_chars)
        except Exception as error:  # noqa: BLE001 - a broken file becomes an errors.jsonl record
            self._record_error(doc_id, source, type(error).__name__, _error_message(reader, error))
            return
        finally:
            self.tally.read_seconds[reader.format] += time.perf_counter() - started

        self._record_document(doc_id, source, reader.format, extraction, file_sha256, chunks)

    def _record_document(self, doc_id: str, source: str, format_name: str, extraction: Extraction,
                         file_sha256: str, chunks: list[Chunk]) -> None:
        # Exact duplicates: the first file in path order is kept.
        text_sha256 = hashlib.sha256(extraction.text.encode("utf-8")).hexdigest()
        original = self.seen_texts.get(text_sha256)
        if original is not None:
            self.writer.write("duplicates", {"doc_id": doc_id, "source": source,
                                             "duplicate_of": original["doc_id"],
                                             "duplicate_of_source": original["source"]})
            self.tally.duplicates_dropped += 1
            logger.debug("ingest: document %s dropped as a duplicate of %s", doc_id, original["doc_id"])
            return
        self.seen_texts[text_sha256] = {"doc_id": doc_id, "source": source}

        language = detect_language(extraction.text)
        self.writer.write("documents", {
            "doc_id": doc_id, "source": source, "format": format_name, "language": language,
            "chars": len(extraction.text), "sha256": file_sha256, "metadata": extraction.metadata,
        })
        for index, chunk in enumerate(chunks):
            self.writer.write("chunks", {
                "chunk_id": f"{doc_id}-{index:04d}", "doc_id": doc_id, "source": source,
                "index": index, "heading": chunk.heading, "text": chunk.text,
            })

        self.tally.documents += 1
        self.tally.chunks += len(chunks)
        self.tally.chars += len(extraction.text)
        self.tally.formats[format_name] += 1
        self.tally.languages[language] += 1
        logger.debug("ingest: document %s (%s, %s): %d chars, %d chunks", doc_id, format_name,
                     language, len(extraction.text), len(chunks))

    def _record_error(self, doc_id: str, source: str, error: str, message: str) -> None:
        self.writer.write("errors", {"source": source, "error": error, "message": message})
        self.tally.errors += 1
        self.tally.error_types[error] += 1
        logger.warning("ingest: file %s not ingested: %s", doc_id, error)


def _error_message(reader: Reader, error: Exception) -> str:
    """Say what failed and what to do; a ``ReadError`` already does both."""
    if isinstance(error, ReadError):
        return str(error)
    detail = str(error).strip() or "no detail"
    if len(detail) > _MAX_MESSAGE_CHARS:
        detail = detail[:_MAX_MESSAGE_CHARS] + "..."
    return (f"{reader.format} reader failed ({type(error).__name__}: {detail}); check that the file "
            f"opens in its usual application, re-save it and re-run")
