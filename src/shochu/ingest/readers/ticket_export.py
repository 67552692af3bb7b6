"""Ticket exports (CSV or JSONL) read as one document per ticket, by a mapping of ``ingest.tickets``.

A mapping names the column with the ticket id, the columns joined into the
ticket's text and the columns kept as metadata. ``read_ticket_export`` returns
the tickets of one file and the problems found in it. A broken row, an invalid
JSON line, a repeated id or a ticket without text costs only that ticket. A
mapped id or text column that the file lacks costs the whole file, because
every ticket would come out wrong.

The bytes are decoded as a stream with the encoding that ``decode_text``
detects on the first MiB, and parsed row by row, so a large export is never
held as one decoded string. When a later byte does not fit that encoding, the
whole file is decoded once to detect it again.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import hashlib
import io
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from shochu.config import TicketMapping
from shochu.ingest.normalize import normalize_text
from shochu.ingest.readers.base import InputFile, ReadError
from shochu.ingest.readers.encoding import decode_text
from shochu.ingest.readers.sensitivity import edge_lines, marking_candidates, markings_in

FORMATS_BY_SUFFIX = {".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
# Bytes from the start of the file on which the encoding is detected.
_DETECTION_BYTES = 1 << 20
_DELIMITERS = (",", "\t", ";", "|")
# Problems listed one per line of errors.jsonl, per kind and file. The rest are counted in one more line.
_MAX_LISTED_PROBLEMS = 20
# Line numbers quoted in a message that counts skipped tickets.
_MAX_QUOTED_LINES = 10
# Column names quoted in a missing-column message.
_MAX_QUOTED_COLUMNS = 30
# Nested JSON objects are searched this deep for field names to suggest.
_MAX_FIELD_DEPTH = 4
# Field names of a JSONL export gathered for a missing-field message.
_MAX_SUGGESTED_FIELDS = 1000
_MISSING = object()


@dataclass(frozen=True)
class Ticket:
    """One ticket of an export: its id, the line it starts on, its normalised text and metadata."""

    ticket_id: str
    line: int
    text: str
    metadata: dict[str, Any]


@dataclass(frozen=True)
class ExportProblem:
    """A problem in one export file: an ``error`` code, a ``message`` with what to do, and a severity."""

    error: str
    message: str
    severity: str = "error"


@dataclass
class TicketExport:
    """The tickets of one export file in file order, and its problems."""

    format: str
    encoding: str
    sha256: str
    tickets: list[Ticket] = field(default_factory=list)
    problems: list[ExportProblem] = field(default_factory=list)


def mapping_for(source: str, mappings: list[TicketMapping]) -> tuple[int, TicketMapping] | None:
    """Return the index and the first mapping with a pattern that matches ``source``, or None."""
    path = PurePosixPath(source)
    for index, mapping in enumerate(mappings):
        if any(_glob_match(path, pattern) for pattern in mapping.files):
            return index, mapping
    return None


def _glob_match(path: PurePosixPath, pattern: str) -> bool:
    """Match a relative path against a glob in which '**' spans folders and '*' does not.

    A pattern without '/' also matches the file name in any folder, as in
    ``protect.confidentiality.folders``.
    """
    pattern_parts = PurePosixPath(pattern).parts
    if "/" not in pattern and _match_name(path.name, pattern):
        return True
    return _match_parts(path.parts, pattern_parts)


def _match_parts(parts: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    if not pattern:
        return not parts
    if pattern[0] == "**":
        return any(_match_parts(parts[start:], pattern[1:]) for start in range(len(parts) + 1))
    return bool(parts) and _match_name(parts[0], pattern[0]) and _match_parts(parts[1:], pattern[1:])


def _match_name(name: str, pattern: str) -> bool:
    # PurePosixPath.match compares one component case-sensitively on POSIX.
    return PurePosixPath(name).match(pattern)


def read_ticket_export(file: InputFile, index: int, mapping: TicketMapping) -> TicketExport:
    """Read every ticket of ``file`` with ``mapping`` (``ingest.tickets[index]``).

    Raises ``ReadError`` when the format is unknown or the bytes cannot be
    decoded, and ``EncodingError`` (a ``ReadError``) from ``decode_text``.
    """
    export_format = mapping.format or FORMATS_BY_SUFFIX.get(file.suffix)
    if export_format is None:
        raise ReadError(f"unknown export format for a '{file.suffix or '(no suffix)'}' file; set "
                        f"ingest.tickets[{index}].format to csv or jsonl, or rename the file to .csv "
                        f"or .jsonl")
    sha256 = hashlib.sha256(file.data).hexdigest()

    encoding = _detect_encoding(file.data)
    try:
        return _parse(file, index, mapping, export_format, encoding, sha256)
    except UnicodeDecodeError:
        # The first MiB fitted an encoding that a later byte does not.
        _, encoding = decode_text(file.data)
        return _parse(file, index, mapping, export_format, encoding, sha256)


def _detect_encoding(data: bytes) -> str:
    """Return the codec name for ``data``, detected by ``decode_text`` on its first lines."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = data
    if len(data) > _DETECTION_BYTES:
        # Cut after a line feed, which is never part of a multi-byte character
        # in UTF-8, Shift_JIS, EUC-JP or the single-byte code pages.
        cut = data.rfind(b"\n", 0, _DETECTION_BYTES)
        sample = data[:cut + 1] if cut > 0 else data
    _, encoding = decode_text(sample)
    return encoding


def _parse(file: InputFile, index: int, mapping: TicketMapping, export_format: str, encoding: str,
           sha256: str) -> TicketExport:
    export = TicketExport(format=f"ticket_{export_format}", encoding=encoding, sha256=sha256)
    collector = _Collector(export, index, mapping)
    stream = io.TextIOWrapper(io.BytesIO(file.data), encoding=encoding, errors="strict", newline="")
    if export_format == "csv":
        _read_csv(stream, file.suffix, collector)
    else:
        _read_jsonl(stream, collector)
    collector.finish()
    return export


# --- CSV ---------------------------------------------------------------------


def _read_csv(stream: io.TextIOWrapper, suffix: str, collector: _Collector) -> None:
    first_line = next(stream, None)
    if first_line is None:
        return
    reader = csv.reader(itertools.chain([first_line], stream), delimiter=_delimiter(first_line, suffix),
                        strict=True)
    header: list[str] | None = None
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            if header is None:
                raise ReadError(f"the header line cannot be parsed as CSV ({error}); check the first line "
                                f"of the export and re-run") from error
            # An unclosed quote makes the following lines one value, up to the
            # csv module's field size limit, so every line it swallowed is lost.
            collector.malformed(line, f"{error}", last_line=reader.line_num)
            continue
        if not any(cell.strip() for cell in row):
            continue

        if header is None:
            header = [cell.strip() for cell in row]
            if not collector.check_columns(header, "the header"):
                return
            continue
        if len(row) != len(header):
            collector.malformed(line, f"the row has {len(row)} fields but the header has {len(header)}")
            continue
        values: dict[str, str] = {}
        for name, value in zip(header, row, strict=True):
            values.setdefault(name, value)
        collector.add(line, values.get)


def _delimiter(header: str, suffix: str) -> str:
    """Return the candidate delimiter that occurs most often in the header line."""
    counts = {candidate: header.count(candidate) for candidate in _DELIMITERS}
    best = max(counts, key=lambda candidate: counts[candidate])
    if counts[best] > 0:
        return best
    return "\t" if suffix == ".tsv" else ","


# --- JSONL -------------------------------------------------------------------


def _read_jsonl(stream: io.TextIOWrapper, collector: _Collector) -> None:
    found_fields: dict[str, None] = {}
    present: set[str] = set()
    for line, text in enumerate(stream, start=1):
        if not text.strip():
            continue
        try:
            record = json.loads(text.strip())
        except json.JSONDecodeError as error:
            collector.malformed(line, f"invalid JSON ({error.msg} at column {error.colno})")
            continue
        if not isinstance(record, dict):
            collector.malformed(line, f"a JSON {type(record).__name__}, not an object")
            continue
        if len(found_fields) < _MAX_SUGGESTED_FIELDS:
            found_fields.update(dict.fromkeys(_field_paths(record)))
        present.update(column for column in collector.mapped_columns
                       if column not in present and _lookup(record, column) is not _MISSING)
        collector.add(line, lambda column, record=record: _json_text(_lookup(record, column)))

    # A mapped field that no record has is a mapping error, like a missing CSV
    # column, rather than a ticket without a value.
    if not collector.check_columns(list(found_fields), "any record", present):
        collector.discard_tickets()


def _lookup(record: dict[str, Any], path: str) -> Any:
    """Return the value at ``path``: a key of ``record`` or a dotted path into nested objects."""
    if path in record:
        return record[path]
    node: Any = record
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _field_paths(record: dict[str, Any], prefix: str = "", depth: int = 0) -> Iterator[str]:
    for key, value in record.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and depth < _MAX_FIELD_DEPTH:
            yield from _field_paths(value, f"{path}.", depth + 1)
        else:
            yield path


def _json_text(value: Any) -> str | None:
    """Return a JSON value as text: strings as they are, other values as compact JSON."""
    if value is _MISSING or value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return ", ".join(value)
    return json.dumps(value, ensure_ascii=False)


# --- tickets -----------------------------------------------------------------


def join_ticket_text(values: list[tuple[str, str]]) -> str:
    """Join (column, value) pairs as "Title: value" lines, then the last value after a blank line.

    This is the layout of ``build.tickets`` (``shochu.protect.tickets.ticket_text``).
    Empty values are left out, and a dotted JSON path is titled by its words.
    """
    *fields, (_, body) = values
    lines = [f"{_title(column)}: {value.strip()}" for column, value in fields if value.strip()]
    return "\n\n".join(part for part in ("\n".join(lines), body.strip()) if part)


def _title(column: str) -> str:
    return column.replace("_", " ").replace(".", " ").strip().capitalize()


class _Collector:
    """Turn parsed rows into tickets of one export and gather its problems."""

    def __init__(self, export: TicketExport, index: int, mapping: TicketMapping) -> None:
        self.export = export
        self.index = index
        self.mapping = mapping
        self.first_line_of: dict[str, int] = {}
        self.listed: dict[str, list[str]] = {"malformed_row": [], "duplicate_ticket_id": []}
        self.unlisted_lines: dict[str, list[int]] = {"malformed_row": [], "duplicate_ticket_id": []}
        self.lines_without_id: list[int] = []
        self.lines_without_text: list[int] = []
        self.metadata_columns = list(mapping.metadata_columns)
        self.mapped_columns = list(dict.fromkeys([mapping.id_column, *mapping.text_columns,
                                                  *mapping.metadata_columns]))

    def check_columns(self, found: list[str], where: str, present: set[str] | None = None) -> bool:
        """Report mapped columns missing from ``found``, and return False when the tickets cannot be read."""
        present = set(found) if present is None else present
        settings = [("id_column", self.mapping.id_column),
                    *(("text_columns", column) for column in self.mapping.text_columns),
                    *(("metadata_columns", column) for column in self.mapping.metadata_columns)]
        readable = True
        for setting, column in settings:
            if column in present:
                continue
            is_metadata = setting == "metadata_columns"
            readable = readable and is_metadata
            if is_metadata and column in self.metadata_columns:
                self.metadata_columns.remove(column)
            effect = ("tickets were read without it" if is_metadata
                      else "no ticket of this file was read")
            self.export.problems.append(ExportProblem(
                "ticket_column_missing",
                f"column '{column}' of ingest.tickets[{self.index}].{setting} is not in {where}, so "
                f"{effect}; columns found: {_quoted_columns(found)}.{_suggestion(column, found)} Change "
                f"ingest.tickets[{self.index}].{setting} to a column of this file (names are "
                f"case-sensitive) and re-run",
                severity="warning" if is_metadata else "error"))
        return readable

    def discard_tickets(self) -> None:
        """Drop the tickets read so far, and their problems, once the mapping turns out not to fit."""
        self.export.tickets.clear()
        self.export.problems = [problem for problem in self.export.problems
                                if problem.error != "duplicate_ticket_id"]
        self.listed["duplicate_ticket_id"].clear()
        self.unlisted_lines["duplicate_ticket_id"].clear()
        self.lines_without_id.clear()
        self.lines_without_text.clear()

    def malformed(self, line: int, detail: str, last_line: int | None = None) -> None:
        where = f"line {line}"
        if last_line is not None and last_line > line:
            where = f"lines {line} to {last_line}"
        advice = ("a value that contains the delimiter, a double quote or a line break must be "
                  "enclosed in double quotes" if self.export.format == "ticket_csv"
                  else "each line must hold one JSON object")
        self._list("malformed_row", line, f"{where} skipped: {detail}; fix that row of the "
                   f"export ({advice}) and re-run")

    def add(self, line: int, value_of: Callable[[str], str | None]) -> None:
        """Add the ticket whose columns ``value_of`` returns, or count why it is skipped."""
        ticket_id = (value_of(self.mapping.id_column) or "").strip()
        if not ticket_id:
            self.lines_without_id.append(line)
            return
        pairs = [(column, value_of(column) or "") for column in self.mapping.text_columns]
        text = normalize_text(join_ticket_text(pairs))
        if not text:
            self.lines_without_text.append(line)
            return
        first_line = self.first_line_of.get(ticket_id)
        if first_line is not None:
            self._list("duplicate_ticket_id", line, f"ticket id '{ticket_id}' at line {line} repeats the "
                       f"ticket at line {first_line}, so only the first was kept; give each ticket a "
                       f"unique id in column '{self.mapping.id_column}' or remove the repeated row")
            return
        self.first_line_of[ticket_id] = line

        metadata: dict[str, Any] = {}
        for column in self.metadata_columns:
            value = value_of(column)
            if value is not None and value.strip():
                metadata[column] = value.strip()
        metadata.update({"ticket_id": ticket_id, "line": line, "encoding": self.export.encoding})
        # Stamps such as 社外秘 in the first or last lines, found the way readers find page headers.
        markings = markings_in(marking_candidates(edge_lines(text.splitlines())))
        if markings:
            metadata["sensitivity_markings"] = markings
        self.export.tickets.append(Ticket(ticket_id, line, text, metadata))

    def finish(self) -> None:
        """Add the problems that count skipped rows, once every row has been read."""
        for error, lines in self.unlisted_lines.items():
            if lines:
                self.export.problems.append(ExportProblem(
                    error, f"{_count(len(lines), 'more row')} skipped for the same reason "
                    f"({_lines_text(lines)}); the first {_MAX_LISTED_PROBLEMS} are listed one by one"))
        if self.lines_without_id:
            lines = self.lines_without_id
            self.export.problems.append(ExportProblem(
                "missing_ticket_id", f"{_count(len(lines), 'row')} had no value in column "
                f"'{self.mapping.id_column}' ({_lines_text(lines)}) and {_were(len(lines))} skipped; fill "
                f"in the ticket ids and re-run"))
        if self.lines_without_text:
            lines = self.lines_without_text
            columns = ", ".join(self.mapping.text_columns)
            self.export.problems.append(ExportProblem(
                "empty_ticket_text", f"{_count(len(lines), 'ticket')} had no text in columns {columns} "
                f"({_lines_text(lines)}) and {_were(len(lines))} skipped; nothing to do unless those "
                f"columns should hold text", severity="warning"))
        if not self.export.tickets and not self.export.problems:
            self.export.problems.append(ExportProblem(
                "no_tickets", "the export contains no ticket rows; check that it is the right file and "
                "re-export it"))

    def _list(self, error: str, line: int, message: str) -> None:
        if len(self.listed[error]) < _MAX_LISTED_PROBLEMS:
            self.listed[error].append(message)
            self.export.problems.append(ExportProblem(error, message))
        else:
            self.unlisted_lines[error].append(line)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _were(number: int) -> str:
    return "was" if number == 1 else "were"


def _lines_text(lines: list[int]) -> str:
    shown = ", ".join(str(line) for line in lines[:_MAX_QUOTED_LINES])
    more = f" and {len(lines) - _MAX_QUOTED_LINES} more" if len(lines) > _MAX_QUOTED_LINES else ""
    return f"line{'s' if len(lines) > 1 else ''} {shown}{more}"


def _quoted_columns(found: list[str]) -> str:
    if not found:
        return "none"
    shown = ", ".join(f"'{column}'" for column in found[:_MAX_QUOTED_COLUMNS])
    more = f" and {len(found) - _MAX_QUOTED_COLUMNS} more" if len(found) > _MAX_QUOTED_COLUMNS else ""
    return shown + more


def _suggestion(column: str, found: list[str]) -> str:
    """Return " Did you mean 'X'?" for the closest column name, or an empty string.

    A name that differs only by case comes first, then a JSON path that ends in
    the same field name ("id" for "ticket.id"), then the closest by spelling.
    """
    folded = {name.casefold(): name for name in found}
    key = column.casefold()
    leaf = key.rsplit(".", 1)[-1]
    same_leaf = [name for folded_name, name in folded.items() if folded_name.rsplit(".", 1)[-1] == leaf]
    if key in folded:
        close = folded[key]
    elif same_leaf:
        close = same_leaf[0]
    else:
        matches = difflib.get_close_matches(key, list(folded), n=1, cutoff=0.6)
        if not matches:
            return ""
        close = folded[matches[0]]
    return f" Did you mean '{close}'?"
