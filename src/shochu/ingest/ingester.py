"""The per-file step of the ingest stage: load, pick a reader, extract, de-duplicate, chunk, write.

Every failure becomes one errors.jsonl record with the file's relative path, a
reason code and a message saying what the user can do, so no single file stops
the stage. Logs name files by their relative path and never carry their text.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from shochu.config import IngestConfig
from shochu.ingest.archive import ArchiveBudget, read_members
from shochu.ingest.chunking import Chunk, chunk_text
from shochu.ingest.dedup import DuplicateClusters, key_digest, matching_key
from shochu.ingest.files import Problem, document_id, relative_source
from shochu.ingest.normalize import detect_language
from shochu.ingest.readers import (READERS_BY_FORMAT, Extraction, InputFile, Reader, ReadError, ReadOptions,
                                   reader_for)
from shochu.ingest.readers import unsupported_message
from shochu.ingest.sniff import BINARY_FORMATS, IMAGE_FORMATS, sniff_format
from shochu.ingest.writer import StageWriter

logger = logging.getLogger("shochu.ingest.stage")

# Maximum length, in characters, of a library exception's text quoted in errors.jsonl.
_MAX_MESSAGE_CHARS = 500
# Archives inside archives are read this many levels deep.
_MAX_ARCHIVE_DEPTH = 3
# Problems logged one by one; the rest are only counted, and all are in errors.jsonl.
_MAX_LOGGED_PROBLEMS = 20
_MIB = 2**20

# Formats named in messages the way users know them.
_FORMAT_NAMES = {"pdf": "PDF", "docx": "Word (.docx)", "xlsx": "Excel (.xlsx)", "pptx": "PowerPoint (.pptx)",
                 "html": "HTML", "zip": "ZIP", "png": "PNG image", "jpeg": "JPEG image",
                 "tiff": "TIFF image", "gif": "GIF image"}
_FORMAT_SUFFIXES = {"pdf": ".pdf", "docx": ".docx", "xlsx": ".xlsx", "pptx": ".pptx", "html": ".html",
                    "zip": ".zip", "png": ".png", "jpeg": ".jpg", "tiff": ".tif", "gif": ".gif"}
_OOXML_SUFFIXES = (".docx", ".xlsx", ".xlsm", ".pptx")


@dataclass
class Tally:
    """Counts for the manifest; updated once per file."""

    files: int = 0
    archive_members: int = 0
    documents: int = 0
    chunks: int = 0
    errors: int = 0
    warnings: int = 0
    duplicates_dropped: int = 0
    chars: int = 0
    formats: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)
    error_types: Counter[str] = field(default_factory=Counter)
    read_seconds: Counter[str] = field(default_factory=Counter)

    def counts(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "archive_members": self.archive_members,
            "documents": self.documents,
            "chunks": self.chunks,
            "errors": self.errors,
            "warnings": self.warnings,
            "duplicates_dropped": self.duplicates_dropped,
            "chars": self.chars,
            "formats": dict(sorted(self.formats.items())),
            "languages": dict(sorted(self.languages.items())),
            "error_types": dict(sorted(self.error_types.items())),
            "read_seconds": {name: round(seconds, 3) for name, seconds in sorted(self.read_seconds.items())},
        }


class FileIngester:
    """Read one input file (or archive, member by member) and write its records."""

    def __init__(self, root: Path, config: IngestConfig, writer: StageWriter, tally: Tally) -> None:
        self.root = root
        self.config = config
        self.writer = writer
        self.tally = tally
        self.max_file_bytes = int(config.max_file_mb * _MIB)
        self.max_archive_bytes = int(config.max_archive_mb * _MIB)
        self.options = ReadOptions(ocr=config.ocr, ocr_languages=config.ocr_languages)
        self.seen_texts: dict[str, dict[str, str]] = {}  # matching-key digest -> first document's id and source
        self.clusters = DuplicateClusters(config.near_duplicate_threshold)

    def ingest_path(self, path: Path) -> None:
        """Ingest one file of the input folder."""
        self.tally.files += 1
        loaded = self._load(path, relative_source(path, self.root))
        if isinstance(loaded, Problem):
            self.record_problem(loaded)
            return
        self._ingest(loaded, depth=0, budget=None)

    def record_problem(self, problem: Problem, severity: str = "error") -> None:
        """Write one errors.jsonl line; a warning marks a file that was still ingested."""
        self.writer.write("errors", {"source": problem.source, "error": problem.error,
                                     "message": problem.message, "severity": severity})
        if severity == "warning":
            self.tally.warnings += 1
        else:
            self.tally.errors += 1
        self.tally.error_types[problem.error] += 1

        logged = self.tally.errors + self.tally.warnings
        level = logging.WARNING if logged <= _MAX_LOGGED_PROBLEMS else logging.DEBUG
        outcome = "read with a warning" if severity == "warning" else "not ingested"
        logger.log(level, "ingest: %s %s: %s", problem.source, outcome, problem.error)

    # --- loading -------------------------------------------------------------

    def _load(self, path: Path, source: str) -> InputFile | Problem:
        """Read a file's bytes after checking its size; return the problem instead when it has one."""
        try:
            size = path.stat().st_size
            if size == 0:
                return _empty_problem(source)
            if size > self.max_file_bytes:
                return self._too_large_problem(source, size)
            with open(path, "rb") as handle:
                data = handle.read(self.max_file_bytes + 1)
        except PermissionError:
            return Problem(source, "unreadable_file", "permission denied; give the user running shochu "
                           "read permission on the file (chmod u+r) and re-run")
        except OSError as error:
            return Problem(source, "unreadable_file", f"cannot read the file ({error.strerror}); check "
                           f"that the disk or share is reachable and re-run")
        if len(data) > self.max_file_bytes:
            return self._too_large_problem(source, len(data))
        if not data:
            return _empty_problem(source)
        return InputFile(source, data)

    def _too_large_problem(self, source: str, size: int) -> Problem:
        return Problem(source, "too_large", f"the file is {size / _MIB:.1f} MiB, over ingest.max_file_mb "
                       f"({self.config.max_file_mb:g} MiB); raise ingest.max_file_mb or split the file, "
                       f"then re-run")

    # --- dispatch ------------------------------------------------------------

    def _ingest(self, file: InputFile, depth: int, budget: ArchiveBudget | None) -> None:
        content_format = sniff_format(file.data)
        if content_format == "zip" or (content_format is None and file.suffix == ".zip"):
            self._ingest_archive(file, depth, budget)
            return

        reader = self._choose_reader(file, content_format)
        if isinstance(reader, Problem):
            self.record_problem(reader)
            return
        self._extract(file, reader)

    def _choose_reader(self, file: InputFile, content_format: str | None) -> Reader | Problem:
        """Pick the reader of what the file contains; report a name that lies about the content."""
        by_name = reader_for(file.source)
        suffix = file.suffix or "(no suffix)"

        if content_format == "ole":
            return _ole_problem(file.source, file.suffix, by_name)
        if content_format in BINARY_FORMATS or (content_format == "html" and _expects_binary(by_name)):
            by_content = READERS_BY_FORMAT.get(_reader_format(content_format))
            if by_content is not None and by_content is by_name:
                return by_name
            name = _FORMAT_NAMES.get(content_format, content_format)
            if by_content is None:
                return Problem(file.source, "unsupported", f"the content is a {name} file, which has no "
                               f"reader; convert it to a supported format or remove it")
            self.record_problem(Problem(file.source, "wrong_extension",
                                        f"the content is a {name} file but the name ends in '{suffix}', so "
                                        f"it was read as {name}; rename it to "
                                        f"{_FORMAT_SUFFIXES[content_format]} so that other tools open it "
                                        f"too"), severity="warning")
            return by_content

        if by_name is None:
            return Problem(file.source, "unsupported", unsupported_message(file.source))
        if _expects_binary(by_name):
            name = _FORMAT_NAMES[by_name.format]
            return Problem(file.source, "wrong_content",
                           f"the name ends in '{suffix}' but the content does not start like a {name} "
                           f"file, so it is damaged, cut off at the start, or another kind of file "
                           f"renamed; open it in its usual application, save it again and re-run")
        return by_name

    def _ingest_archive(self, file: InputFile, depth: int, budget: ArchiveBudget | None) -> None:
        if depth >= _MAX_ARCHIVE_DEPTH:
            self.record_problem(Problem(file.source, "archive_too_deep",
                                        f"archive nested more than {_MAX_ARCHIVE_DEPTH} levels deep, not "
                                        f"read; extract it and put its files in the input folder"))
            return
        budget = budget or ArchiveBudget(self.max_archive_bytes)
        try:
            for member in read_members(file, self.max_file_bytes, budget):
                if isinstance(member, Problem):
                    self.record_problem(member)
                    continue
                self.tally.archive_members += 1
                if not member.data:
                    self.record_problem(_empty_problem(member.source))
                    continue
                self._ingest(member, depth + 1, budget)
        except ReadError as error:
            self.record_problem(Problem(file.source, type(error).__name__, str(error)))
        self.tally.formats["zip"] += 1

    # --- extraction and records --------------------------------------------

    def _extract(self, file: InputFile, reader: Reader) -> None:
        started = time.perf_counter()
        try:
            extraction = reader.extract(file, self.options)
            chunks = chunk_text(extraction.text, extraction.markdown, self.config.chunk_chars,
                                self.config.min_chunk_chars)
        except Exception as error:  # noqa: BLE001 - a broken file becomes an errors.jsonl record
            self.record_problem(Problem(file.source, type(error).__name__, _error_message(reader, error)))
            return
        finally:
            self.tally.read_seconds[reader.format] += time.perf_counter() - started
        for warning in extraction.warnings:
            self.record_problem(Problem(file.source, warning["error"], warning["message"]), severity="warning")
        self._record_document(file, reader.format, extraction, chunks)

    def _record_document(self, file: InputFile, format_name: str, extraction: Extraction,
                         chunks: list[Chunk]) -> None:
        doc_id = document_id(file.source)

        # Exact duplicates, compared by matching key: the first file in path order is kept.
        text_digest = key_digest(matching_key(extraction.text))
        original = self.seen_texts.get(text_digest)
        if original is not None:
            self.writer.write("duplicates", {"doc_id": doc_id, "source": file.source,
                                             "duplicate_of": original["doc_id"],
                                             "duplicate_of_source": original["source"]})
            self.tally.duplicates_dropped += 1
            logger.debug("ingest: %s dropped as a duplicate of %s", file.source, original["source"])
            return
        self.seen_texts[text_digest] = {"doc_id": doc_id, "source": file.source}

        language = detect_language(extraction.text)
        self.writer.write("documents", {
            "doc_id": doc_id, "source": file.source, "format": format_name, "language": language,
            "chars": len(extraction.text), "sha256": hashlib.sha256(file.data).hexdigest(),
            "metadata": extraction.metadata,
        })
        # Near-duplicate chunks are kept; their shared cluster id lets the build
        # stage keep a cluster on one side of the train/test split.
        for index, chunk in enumerate(chunks):
            chunk_id = f"{doc_id}-{index:04d}"
            chunk_language = detect_language(chunk.text)
            self.writer.write("chunks", {
                "chunk_id": chunk_id, "doc_id": doc_id, "source": file.source, "index": index,
                "heading": chunk.heading, "text": chunk.text, "language": chunk_language,
                "cluster": self.clusters.assign(chunk_id, chunk.text, chunk_language),
            })

        self.tally.documents += 1
        self.tally.chunks += len(chunks)
        self.tally.chars += len(extraction.text)
        self.tally.formats[format_name] += 1
        self.tally.languages[language] += 1
        logger.debug("ingest: %s read as %s (%s): %d chars, %d chunks", file.source, format_name,
                     language, len(extraction.text), len(chunks))


def _reader_format(content_format: str) -> str:
    """Return the reader format for a sniffed format: every image format has one image reader."""
    return "image" if content_format in IMAGE_FORMATS else content_format


def _expects_binary(reader: Reader | None) -> bool:
    """True for readers of formats that have magic bytes, so a name-only match means nothing."""
    return reader is not None and reader.format in BINARY_FORMATS


def _empty_problem(source: str) -> Problem:
    return Problem(source, "empty_file", "the file is empty (0 bytes); copy it again from its original "
                   "location, or remove it")


def _ole_problem(source: str, suffix: str, by_name: Reader | None) -> Problem:
    """Explain an OLE2 compound file: a password-protected OOXML file or a legacy Office file."""
    if suffix in _OOXML_SUFFIXES:
        return Problem(source, "encrypted_or_legacy",
                       f"the file is an OLE2 container, not a '{suffix}' file: it is either "
                       f"password-protected or a legacy Office file renamed. Remove the password (or open "
                       f"it and save it as {suffix}) and re-run")
    if by_name is None:
        return Problem(source, "unsupported", unsupported_message(PurePosixPath(source).name))
    return Problem(source, "wrong_extension",
                   f"the content is a legacy Office (OLE2) file but the name ends in '{suffix}'; open it "
                   f"in Office, save it as .docx, .xlsx or .pptx and re-run")


def _error_message(reader: Reader, error: Exception) -> str:
    """Say what failed and what to do; a ``ReadError`` already does both."""
    if isinstance(error, ReadError):
        return str(error)
    detail = str(error).strip() or "no detail"
    if len(detail) > _MAX_MESSAGE_CHARS:
        detail = detail[:_MAX_MESSAGE_CHARS] + "..."
    return (f"{reader.format} reader failed ({type(error).__name__}: {detail}); check that the file "
            f"opens in its usual application, re-save it and re-run")
