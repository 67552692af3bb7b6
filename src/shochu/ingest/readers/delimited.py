"""CSV and TSV files, rendered as one "column: value" block per row.

Ticket and CRM exports read better as text than as a wide table: each row
becomes a paragraph, so the chunker keeps a row's fields together.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from shochu.ingest.readers.base import InputFile, ReadOptions, Reader
from shochu.ingest.readers.encoding import decode_text

_DELIMITERS = (",", "\t", ";", "|")
_BLANK_LINES = re.compile(r"\n\s*\n")


class DelimitedReader(Reader):
    format = "csv"
    suffixes = (".csv", ".tsv")

    def read(self, file: InputFile, options: ReadOptions) -> tuple[str, dict[str, Any]]:
        text, encoding = decode_text(file.data)
        parsed = csv.reader(io.StringIO(text), delimiter=_delimiter(text, file.suffix))
        rows = [row for row in parsed if any(row)]
        if not rows:
            return "", {"encoding": encoding}

        columns = _column_names(rows[0])
        records = [_render_row(columns, row) for row in rows[1:]]
        metadata = {"encoding": encoding, "columns": columns, "rows": len(rows) - 1}
        return "\n\n".join(record for record in records if record), metadata


def _delimiter(text: str, suffix: str) -> str:
    """Pick the candidate that occurs most often in the header line.

    The header is the one line that quoted multi-line fields never disturb, which
    is where ``csv.Sniffer`` often guesses wrong on ticket exports.
    """
    header = text.split("\n", 1)[0]
    default = "\t" if suffix == ".tsv" else ","
    counts = {candidate: header.count(candidate) for candidate in _DELIMITERS}
    best = max(counts, key=lambda candidate: counts[candidate])
    return best if counts[best] > 0 else default


def _column_names(header: list[str]) -> list[str]:
    return [name.strip() or f"column {number}" for number, name in enumerate(header, start=1)]


def _render_row(columns: list[str], row: list[str]) -> str:
    lines = []
    for number, value in enumerate(row, start=1):
        value = _BLANK_LINES.sub("\n", value.strip())
        if not value:
            continue
        name = columns[number - 1] if number <= len(columns) else f"column {number}"
        lines.append(f"{name}: {value}")
    return "\n".join(lines)
