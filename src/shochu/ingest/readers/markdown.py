"""Markdown rendering shared by the readers of structured formats."""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence

_WHITESPACE_RUNS = re.compile(r"\s+")


def table_cell(value: object) -> str:
    """Render one cell value on a single line, with "|" escaped."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime.datetime) and value.time() == datetime.time(0):
        value = value.date()  # spreadsheets store plain dates as midnight
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return _WHITESPACE_RUNS.sub(" ", text).strip().replace("|", "\\|")


def markdown_table(rows: Sequence[Sequence[object]]) -> str:
    """Render rows as a Markdown table whose first row is the header.

    Short rows are padded with empty cells, so every value stays in its column.
    """
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    cells = [[table_cell(value) for value in row] + [""] * (width - len(row)) for row in rows]

    lines = [_table_line(cells[0]), _table_line(["---"] * width)]
    lines.extend(_table_line(row) for row in cells[1:])
    return "\n".join(lines)


def _table_line(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"
