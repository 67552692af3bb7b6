"""The per-file extraction step of the ingest stage: load, pick a reader, extract.

``extract_file`` turns one input file (an archive, member by member) into a
``FileResult``: an ordered list of events, each a plain dict that is either a
problem for errors.jsonl or an extracted document. Events depend only on the
file's bytes, its source and the extraction settings, so they can be computed in
a worker process and kept between runs (``incremental.py``). What depends on
the whole corpus (de-duplication, chunking, writing) happens in ``records.py``.

Every failure becomes one problem event with the file's relative path, a reason
code and a message saying what the user can do, so no single file stops the
stage. Nothing here logs document text.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from shochu.config import IngestConfig, TicketMapping
from shochu.ingest.archive import ArchiveBudget, read_members
from shochu.ingest.files import Problem
from shochu.ingest.readers import (READERS_BY_FORMAT, InputFile, Reader, ReadError, ReadOptions, reader_for,
                                   unsupported_message)
from shochu.ingest.readers.base import NoTextError
from shochu.ingest.readers.mail import mail_attachments, split_mbox
from shochu.ingest.readers.ticket_export import mapping_for, read_ticket_export
from shochu.ingest.sniff import BINARY_FORMATS, IMAGE_FORMATS, sniff_format

# Maximum length, in characters, of a library exception's text quoted in errors.jsonl.
_MAX_MESSAGE_CHARS = 500
# Archives inside archives are read this many levels deep.
_MAX_ARCHIVE_DEPTH = 3
_MIB = 2**20

# Formats named in messages the way users know them.
_FORMAT_NAMES = {"pdf": "PDF", "docx": "Word (.docx)", "xlsx": "Excel (.xlsx)", "pptx": "PowerPoint (.pptx)",
                 "html": "HTML", "zip": "ZIP", "png": "PNG image", "jpeg": "JPEG image",
                 "tiff": "TIFF image", "gif": "GIF image"}
_FORMAT_SUFFIXES = {"pdf": ".pdf", "docx": ".docx", "xlsx": ".xlsx", "pptx": ".pptx", "html": ".html",
                    "zip": ".zip", "png": ".png", "jpeg": ".jpg", "tiff": ".tif", "gif": ".gif"}
_OOXML_SUFFIXES = (".docx", ".xlsx", ".xlsm", ".pptx")
# Readers of legacy Office formats, whose files are OLE2 compound files.
OLE_READER_FORMATS = frozenset({"xls"})


@dataclass
class FileResult:
    """What extracting one input file produced, in the order it happened.

    ``events`` are plain dicts, so that they pickle cheaply between processes
    and store as JSON: ``{"kind": "problem", source, error, message, severity}``,
    ``{"kind": "document", source, format, text, metadata, markdown, sha256,
    warnings}``, ``{"kind": "container", format}`` for each ZIP archive or mbox
    file opened and ``{"kind": "member"}`` for each archive member, mbox message
    or e-mail attachment read.
    """

    events: list[dict[str, Any]] = field(default_factory=list)
    read_seconds: dict[str, float] = field(default_factory=dict)


def extract_file(path: Path, source: str, config: IngestConfig) -> FileResult:
    """Extract one file of the input folder; every failure becomes a problem event, never an exception."""
    extractor = FileExtractor(config)
    loaded = extractor.load(path, source)
    if isinstance(loaded, Problem):
        extractor.problem(loaded)
    else:
        extractor.dispatch(loaded, depth=0, budget=None)
    return extractor.result


def problem_event(problem: Problem, severity: str = "error") -> dict[str, Any]:
    return {"kind": "problem", "source": problem.source, "error": problem.error,
            "message": problem.message, "severity": severity}


class FileExtractor:
    """Read one input file (or archive, member by member) into a ``FileResult``."""

    def __init__(self, config: IngestConfig) -> None:
        self.config = config
        self.max_file_bytes = int(config.max_file_mb * _MIB)
        self.max_archive_bytes = int(config.max_archive_mb * _MIB)
        self.options = ReadOptions(ocr=config.ocr, ocr_languages=config.ocr_languages)
        self.result = FileResult()

    def problem(self, problem: Problem, severity: str = "error") -> None:
        self.result.events.append(problem_event(problem, severity))

    # --- loading -------------------------------------------------------------

    def load(self, path: Path, source: str) -> InputFile | Problem:
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

    def dispatch(self, file: InputFile, depth: int, budget: ArchiveBudget | None) -> None:
        # Ticket mappings name files of the input folder, not archive members,
        # so that a file's cache key needs only the mapping of its own path.
        mapping = mapping_for(file.source, self.config.tickets) if depth == 0 else None
        if mapping is not None:
            self._extract_tickets(file, *mapping)
            return

        content_format = sniff_format(file.data)
        if content_format == "zip" or (content_format is None and file.suffix == ".zip"):
            self._extract_archive(file, depth, budget)
            return

        if content_format is None and file.suffix == ".mbox":
            self._extract_mbox(file, depth, budget)
            return

        reader = self._choose_reader(file, content_format)
        if isinstance(reader, Problem):
            self.problem(reader)
        elif reader.format == "eml":
            self._extract_mail(file, reader, depth, budget)
        else:
            self._extract(file, reader)

    def _choose_reader(self, file: InputFile, content_format: str | None) -> Reader | Problem:
        """Pick the reader of what the file contains; report a name that lies about the content."""
        by_name = reader_for(file.source)
        suffix = file.suffix or "(no suffix)"

        if content_format == "ole":
            if by_name is not None and by_name.format in OLE_READER_FORMATS:
                return by_name
            return _ole_problem(file.source, file.suffix, by_name)
        if content_format in BINARY_FORMATS or (content_format == "html" and _expects_binary(by_name)):
            by_content = READERS_BY_FORMAT.get(_reader_format(content_format))
            if by_content is not None and by_content is by_name:
                return by_name
            name = _FORMAT_NAMES.get(content_format, content_format)
            if by_content is None:
                return Problem(file.source, "unsupported", f"the content is a {name} file, which has no "
                               f"reader; convert it to a supported format or remove it")
            self.problem(Problem(file.source, "wrong_extension",
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

    def _extract_archive(self, file: InputFile, depth: int, budget: ArchiveBudget | None) -> None:
        if depth >= _MAX_ARCHIVE_DEPTH:
            self.problem(Problem(file.source, "archive_too_deep",
                                 f"archive nested more than {_MAX_ARCHIVE_DEPTH} levels deep, not "
                                 f"read; extract it and put its files in the input folder"))
            return
        budget = budget or ArchiveBudget(self.max_archive_bytes)
        try:
            for member in read_members(file, self.max_file_bytes, budget):
                if isinstance(member, Problem):
                    self.problem(member)
                    continue
                self.result.events.append({"kind": "member"})
                if not member.data:
                    self.problem(_empty_problem(member.source))
                    continue
                self.dispatch(member, depth + 1, budget)
        except ReadError as error:
            self.problem(Problem(file.source, type(error).__name__, str(error)))
        self.result.events.append({"kind": "container", "format": "zip"})

    def _extract_mbox(self, file: InputFile, depth: int, budget: ArchiveBudget | None) -> None:
        """Read each message of an mbox file as an e-mail named "<mbox>/message-00001.eml"."""
        if depth >= _MAX_ARCHIVE_DEPTH:
            self.problem(Problem(file.source, "archive_too_deep",
                                 f"mbox file nested more than {_MAX_ARCHIVE_DEPTH} levels deep, not read; "
                                 f"save it as its own file in the input folder"))
            return
        messages = split_mbox(file.data)
        if not messages:
            self.problem(Problem(file.source, "not_mbox", "no message found: an mbox file starts with a "
                                 "'From ' line before each message. Export the mailbox again as mbox, or "
                                 "save the messages as .eml files, and re-run"))
            return
        for number, data in enumerate(messages, start=1):
            self.result.events.append({"kind": "member"})
            member = InputFile(f"{file.source}/message-{number:05d}.eml", data)
            if not data.strip():
                self.problem(_empty_problem(member.source))
                continue
            self.dispatch(member, depth + 1, budget)
        self.result.events.append({"kind": "container", "format": "mbox"})

    def _extract_mail(self, file: InputFile, reader: Reader, depth: int, budget: ArchiveBudget | None) -> None:
        """Read an e-mail's body, then each attachment as a member named "<message>/<file name>"."""
        try:
            attachments = mail_attachments(file.data)
        except Exception:  # noqa: BLE001 - the body reader reports a message that cannot be parsed
            attachments = []
        # A message whose only content is its attachments is not a problem.
        self._extract(file, reader, no_text_ok=bool(attachments))
        if not attachments:
            return
        if depth >= _MAX_ARCHIVE_DEPTH:
            self.problem(Problem(file.source, "archive_too_deep",
                                 f"attachments nested more than {_MAX_ARCHIVE_DEPTH} levels deep, not read; "
                                 f"save them as files in the input folder"))
            return
        for name, data in attachments:
            self.result.events.append({"kind": "member"})
            member = InputFile(f"{file.source}/{name}", data)
            if not data:
                self.problem(_empty_problem(member.source))
                continue
            self.dispatch(member, depth + 1, budget)

    def _extract_tickets(self, file: InputFile, index: int, mapping: TicketMapping) -> None:
        """Read a ticket export as one document per ticket, with sources such as "export.csv#T-1042"."""
        started = time.perf_counter()
        try:
            export = read_ticket_export(file, index, mapping)
        except Exception as error:  # noqa: BLE001 - a broken export becomes an errors.jsonl record
            message = error_message("ticket export reader", error)
            self.problem(Problem(file.source, type(error).__name__, message))
            return
        finally:
            seconds = self.result.read_seconds
            seconds["tickets"] = seconds.get("tickets", 0.0) + time.perf_counter() - started

        for problem in export.problems:
            self.problem(Problem(file.source, problem.error, problem.message), problem.severity)
        for ticket in export.tickets:
            self.result.events.append({
                "kind": "document", "source": f"{file.source}#{ticket.ticket_id}", "format": export.format,
                "text": ticket.text, "metadata": ticket.metadata, "markdown": False, "sha256": export.sha256,
                "warnings": [],
            })

    # --- extraction ----------------------------------------------------------

    def _extract(self, file: InputFile, reader: Reader, no_text_ok: bool = False) -> None:
        started = time.perf_counter()
        try:
            extraction = reader.extract(file, self.options)
        except Exception as error:  # noqa: BLE001 - a broken file becomes an errors.jsonl record
            if not (no_text_ok and isinstance(error, NoTextError)):
                message = error_message(f"{reader.format} reader", error)
                self.problem(Problem(file.source, type(error).__name__, message))
            return
        finally:
            seconds = self.result.read_seconds
            seconds[reader.format] = seconds.get(reader.format, 0.0) + time.perf_counter() - started
        self.result.events.append({
            "kind": "document", "source": file.source, "format": reader.format, "text": extraction.text,
            "metadata": extraction.metadata, "markdown": extraction.markdown,
            "sha256": hashlib.sha256(file.data).hexdigest(), "warnings": extraction.warnings,
        })


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


def error_message(step: str, error: Exception) -> str:
    """Say what failed and what to do; a ``ReadError`` already does both."""
    if isinstance(error, ReadError):
        return str(error)
    detail = str(error).strip() or "no detail"
    if len(detail) > _MAX_MESSAGE_CHARS:
        detail = detail[:_MAX_MESSAGE_CHARS] + "..."
    return (f"{step} failed ({type(error).__name__}: {detail}); check that the file "
            f"opens in its usual application, re-save it and re-run")
