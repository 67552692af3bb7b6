"""The corpus-wide step of the ingest stage: de-duplicate, chunk and write the extracted files.

``RecordWriter.add`` takes the ``FileResult`` of each input file in path order
and writes its problems and documents to the stage files. Document-level exact
duplicates, chunking, language detection and duplicate clusters all run here,
over every file of the run, whether its extraction was fresh or reused. So the
output depends only on the input folder and the settings, never on which files
an earlier run had already extracted.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from shochu.config import IngestConfig
from shochu.ingest.chunking import TokenCounter, chunk_text
from shochu.ingest.dedup import SCRATCH_FILE, DuplicateClusters, key_digest, matching_key
from shochu.ingest.files import Problem, document_id
from shochu.ingest.ingester import FileResult, error_message, problem_event
from shochu.ingest.normalize import detect_language
from shochu.ingest.writer import StageWriter

logger = logging.getLogger("shochu.ingest.stage")

# Problems logged one by one; the rest are only counted, and all are in errors.jsonl.
_MAX_LOGGED_PROBLEMS = 20


@dataclass
class Tally:
    """Counts for the manifest; updated once per file."""

    files: int = 0
    extracted: int = 0
    reused: int = 0
    archive_members: int = 0
    documents: int = 0
    chunks: int = 0
    errors: int = 0
    warnings: int = 0
    duplicates_dropped: int = 0
    chars: int = 0
    tokens: int = 0
    max_chunk_tokens: int = 0
    formats: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)
    error_types: Counter[str] = field(default_factory=Counter)
    read_seconds: Counter[str] = field(default_factory=Counter)

    def counts(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "extracted": self.extracted,
            "reused": self.reused,
            "archive_members": self.archive_members,
            "documents": self.documents,
            "chunks": self.chunks,
            "errors": self.errors,
            "warnings": self.warnings,
            "duplicates_dropped": self.duplicates_dropped,
            "chars": self.chars,
            "tokens": self.tokens,
            "max_chunk_tokens": self.max_chunk_tokens,
            "formats": dict(sorted(self.formats.items())),
            "languages": dict(sorted(self.languages.items())),
            "error_types": dict(sorted(self.error_types.items())),
            "read_seconds": {name: round(seconds, 3) for name, seconds in sorted(self.read_seconds.items())},
        }


class RecordWriter:
    """Write the records of each file's extraction result, in the order the results are added."""

    def __init__(self, config: IngestConfig, writer: StageWriter, tally: Tally,
                 counter: TokenCounter) -> None:
        self.config = config
        self.counter = counter
        self.writer = writer
        self.tally = tally
        # Chunk clusters and document digests live in a scratch SQLite file; ``close`` deletes it.
        self.clusters = DuplicateClusters(config.near_duplicate_threshold, writer.folder / SCRATCH_FILE)

    def add(self, source: str, result: FileResult, reused: bool) -> None:
        """Write the records of input file ``source``; ``reused`` marks a result kept from an earlier run."""
        self.tally.files += 1
        if reused:
            self.tally.reused += 1
        else:
            self.tally.extracted += 1
            self.tally.read_seconds.update(result.read_seconds)

        # Problems of archive members, mbox messages and attachments are logged after the
        # whole file, so that the log line can give how much of the rest of the file was ingested.
        member_problems: list[dict[str, Any]] = []
        documents_before = self.tally.documents
        for event in result.events:
            kind = event["kind"]
            if kind == "problem":
                is_member = event["source"] != source
                self.record_problem(event, log=not is_member)
                if is_member:
                    member_problems.append(event)
            elif kind == "member":
                self.tally.archive_members += 1
            elif kind == "container":
                self.tally.formats[event["format"]] += 1
            elif kind == "document":
                self._record_document(event)
        for event in member_problems:
            self._log_problem(event, f"the rest of {source} was read and gave "
                                     f"{self.tally.documents - documents_before} ingested documents")

    def record_problem(self, problem: Problem | dict[str, Any], severity: str = "error",
                       log: bool = True) -> None:
        """Write one errors.jsonl line; a warning marks a file that was still ingested.

        ``log=False`` leaves the log line to the caller, which logs it with ``_log_problem``.
        """
        event = problem_event(problem, severity) if isinstance(problem, Problem) else problem
        self.writer.write("errors", {key: event[key] for key in ("source", "error", "message", "severity")})
        if event["severity"] == "warning":
            self.tally.warnings += 1
        else:
            self.tally.errors += 1
        self.tally.error_types[event["error"]] += 1

        if log:
            self._log_problem(event)

    def _log_problem(self, event: dict[str, Any], context: str | None = None) -> None:
        """Log one problem at WARNING level while few were logged, at DEBUG level after that."""
        logged = self.tally.errors + self.tally.warnings
        level = logging.WARNING if logged <= _MAX_LOGGED_PROBLEMS else logging.DEBUG
        outcome = "read with a warning" if event["severity"] == "warning" else "not ingested"
        if context is None:
            logger.log(level, "ingest: %s %s: %s", event["source"], outcome, event["error"])
        else:
            logger.log(level, "ingest: %s %s: %s; %s", event["source"], outcome, event["error"], context)

    def _record_document(self, document: dict[str, Any]) -> None:
        source, text, format_name = document["source"], document["text"], document["format"]
        try:
            chunks = chunk_text(text, document["markdown"], self.counter, self.config.chunk_tokens,
                                self.config.chunk_minimum())
        except Exception as error:  # noqa: BLE001 - a file that cannot be chunked becomes an errors.jsonl record
            self.record_problem(Problem(source, type(error).__name__,
                                        error_message(f"chunking the {format_name} text", error)))
            return
        for warning in document["warnings"]:
            self.record_problem(Problem(source, warning["error"], warning["message"]), severity="warning")
        doc_id = document_id(source)

        # Exact duplicates, compared by matching key: the first file in path order is kept.
        text_digest = key_digest(matching_key(text))
        original = self.clusters.first_document(text_digest, doc_id, source)
        if original is not None:
            self.writer.write("duplicates", {"doc_id": doc_id, "source": source,
                                             "duplicate_of": original["doc_id"],
                                             "duplicate_of_source": original["source"]})
            self.tally.duplicates_dropped += 1
            logger.debug("ingest: %s dropped as a duplicate of %s", source, original["source"])
            return

        language = detect_language(text)
        self.writer.write("documents", {
            "doc_id": doc_id, "source": source, "format": format_name, "language": language,
            "chars": len(text), "sha256": document["sha256"], "metadata": document["metadata"],
        })
        # Near-duplicate chunks are kept; their shared cluster id lets the build
        # stage keep a cluster on one side of the train/test split.
        for index, chunk in enumerate(chunks):
            chunk_id = f"{doc_id}-{index:04d}"
            chunk_language = detect_language(chunk.text)
            self.writer.write("chunks", {
                "chunk_id": chunk_id, "doc_id": doc_id, "source": source, "index": index,
                "heading": chunk.heading, "text": chunk.text, "joint": chunk.joint, "tokens": chunk.tokens,
                "language": chunk_language,
                "cluster": self.clusters.assign(chunk_id, chunk.text, chunk_language),
            })

        self.tally.documents += 1
        self.tally.chunks += len(chunks)
        self.tally.tokens += sum(chunk.tokens for chunk in chunks)
        self.tally.max_chunk_tokens = max([self.tally.max_chunk_tokens, *(chunk.tokens for chunk in chunks)])
        self.tally.chars += len(text)
        self.tally.formats[format_name] += 1
        self.tally.languages[language] += 1
        logger.debug("ingest: %s read as %s (%s): %d chars, %d chunks", source, format_name,
                     language, len(text), len(chunks))
