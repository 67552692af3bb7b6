"""Read labelled support tickets from a CSV file into (id, text, label) rows."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from shochu.config import TicketsConfig
from shochu.ingest.readers.base import EncodingError
from shochu.ingest.readers.encoding import decode_text


@dataclass(frozen=True)
class Ticket:
    id: str
    text: str
    label: str


def tickets_path(settings: TicketsConfig) -> Path:
    """Return the CSV path, or raise naming the setting when the file is missing."""
    path = Path(settings.path)
    if not path.is_file():
        raise FileNotFoundError(f"build.tickets.path: file not found: {path}")
    return path


def ticket_text(row: dict[str, str | None], text_columns: list[str]) -> str:
    """Join text columns as "Subject: ...\\n\\n<last column>".

    Every column but the last becomes a "Title: value" line; the last one
    (usually the body) follows after a blank line. Empty values are left out.
    """
    *field_columns, body_column = text_columns
    lines = []
    for column in field_columns:
        value = (row.get(column) or "").strip()
        if value:
            lines.append(f"{_title(column)}: {value}")
    body = (row.get(body_column) or "").strip()
    return "\n\n".join(part for part in ("\n".join(lines), body) if part)


def _title(column: str) -> str:
    return column.replace("_", " ").strip().capitalize()


def read_tickets(settings: TicketsConfig, skipped: Counter[str]) -> Iterator[Ticket]:
    """Yield one ticket per usable CSV row and count skipped rows per reason in ``skipped``.

    Raises ``ValueError`` naming the file, the missing columns and the columns
    found when the header lacks a configured column, and naming the file and the
    encodings tried when its encoding cannot be detected.
    """
    path = tickets_path(settings)
    reader = csv.DictReader(io.StringIO(_decoded(path), newline=""))
    _check_columns(path, reader.fieldnames, settings)
    for row in reader:
        ticket = _ticket(row, settings)
        if isinstance(ticket, str):
            skipped[ticket] += 1
        else:
            yield ticket


def _decoded(path: Path) -> str:
    """Return the CSV's text, decoded as ingest decodes text files (Shift_JIS exports included)."""
    try:
        text, _ = decode_text(path.read_bytes())
    except EncodingError as error:
        raise ValueError(f"{path}: {error}") from error
    return text


def _check_columns(path: Path, found: list[str] | None, settings: TicketsConfig) -> None:
    expected = [settings.id_column, *settings.text_columns, settings.label_column]
    missing = [column for column in dict.fromkeys(expected) if column not in (found or [])]
    if missing:
        found_text = ", ".join(found) if found else "none (the file is empty)"
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; columns found: {found_text}. "
                         f"Set build.tickets.id_column, text_columns and label_column to match the header.")


def _ticket(row: dict[str, str | None], settings: TicketsConfig) -> Ticket | str:
    """Return a ticket, or the reason the row is skipped."""
    ticket_id = (row.get(settings.id_column) or "").strip()
    label = (row.get(settings.label_column) or "").strip()
    text = ticket_text(row, settings.text_columns)
    if not ticket_id:
        return "empty_id"
    if not label:
        return "empty_label"
    if not text:
        return "empty_text"
    return Ticket(ticket_id, text, label)
