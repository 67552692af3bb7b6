"""Word (.docx) files, read with python-docx and rendered as Markdown."""

from __future__ import annotations

import re
from typing import Any

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from shochu.ingest.readers.base import InputFile, ReadOptions, Reader
from shochu.ingest.readers.markdown import markdown_table
from shochu.ingest.readers.sensitivity import office_labels

_HEADING_STYLE = re.compile(r"^Heading (\d)$")


class WordReader(Reader):
    """Reader of the document body: paragraphs, lists and tables.

    NOTE: page headers and footers, footnotes, comments, text boxes and content
    controls (such as a generated table of contents) are not read.
    """

    format = "docx"
    suffixes = (".docx",)
    markdown = True

    def read(self, file: InputFile, options: ReadOptions) -> tuple[str, dict[str, Any]]:
        document = docx.Document(file.stream())

        # The body is walked in document order, so tables stay between the
        # paragraphs that surround them.
        parts: list[str] = []
        previous_was_item = False
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                text, is_item = markdown_table(_table_rows(block)), False
            else:
                text, is_item = _paragraph_markdown(block)
            if not text:
                continue
            if parts:
                parts.append("\n" if is_item and previous_was_item else "\n\n")
            parts.append(text)
            previous_was_item = is_item

        metadata = _metadata(document)
        metadata["marking_lines"] = _header_footer_lines(document)
        labels = office_labels(file.data)
        if labels:
            metadata["sensitivity_labels"] = labels
        return "".join(parts), metadata


def _paragraph_markdown(paragraph: Paragraph) -> tuple[str, bool]:
    """Return a paragraph as a Markdown heading, list item or plain line, and whether it is an item."""
    text = paragraph.text.strip()
    style = paragraph.style.name if paragraph.style is not None else ""
    if not text:
        return "", False

    heading = _HEADING_STYLE.match(style)
    if heading:
        return "#" * int(heading.group(1)) + " " + text, False
    if style == "Title":
        return "# " + text, False

    level = _list_level(paragraph, style)
    if level is None:
        return text, False
    marker = "1." if "Number" in style else "-"
    return "  " * level + marker + " " + text, True


def _list_level(paragraph: Paragraph, style: str) -> int | None:
    """Return the nesting level of a list item (0 = top), or None for other paragraphs."""
    # python-docx has no public numbering API, so the w:numPr element of the
    # paragraph properties is read directly.
    properties = paragraph._p.pPr
    numbering = properties.numPr if properties is not None else None
    if numbering is not None and numbering.ilvl is not None:
        return int(numbering.ilvl.val)
    if numbering is not None or style.startswith("List"):
        return 0
    return None


def _table_rows(table: Table) -> list[list[str]]:
    """Return the table's text as one list of cells per row, one cell per grid column.

    A cell spanning several columns keeps its text in the first and leaves the
    others empty, so later cells stay in their columns. A vertically merged cell
    repeats its text in every row it spans (python-docx reports it that way).
    """
    rows = []
    for row in table.rows:
        cells = [""] * row.grid_cols_before
        span_left = 0
        for cell in row.cells:
            if span_left:
                span_left -= 1
                cells.append("")
                continue
            cells.append(cell.text)
            span_left = cell.grid_span - 1
        cells.extend([""] * row.grid_cols_after)
        rows.append(cells)
    return rows


def _header_footer_lines(document: Any) -> list[str]:
    """Return the text lines of every section's page headers and footers, tables included."""
    lines: list[str] = []
    for section in document.sections:
        for part in (section.header, section.footer, section.first_page_header, section.first_page_footer,
                     section.even_page_header, section.even_page_footer):
            if part.is_linked_to_previous:
                continue
            lines.extend(paragraph.text for paragraph in part.paragraphs)
            for table in part.tables:
                lines.extend(cell.text for row in table.rows for cell in row.cells)
    return [line for line in lines if line.strip()]


def _metadata(document: Any) -> dict[str, Any]:
    properties = document.core_properties
    metadata: dict[str, Any] = {}
    for name in ("title", "author", "subject"):
        value = getattr(properties, name)
        if value:
            metadata[name] = value
    for name in ("created", "modified"):
        value = getattr(properties, name)
        if value is not None:
            metadata[name] = value.isoformat()
    return metadata
