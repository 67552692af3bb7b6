"""Structural HTML-to-Markdown conversion, the HTML reader's fallback.

It walks the page body in document order and keeps headings, paragraphs, list
items, tables and preformatted blocks, after removing elements that are
navigation or page furniture by tag, ARIA role or class name.
"""

from __future__ import annotations

import re
from typing import Any

from shochu.ingest.readers.markdown import markdown_table

_SKIPPED_TAGS = {"script", "style", "noscript", "template", "nav", "header", "footer", "aside",
                 "form", "iframe", "svg", "head", "title", "button", "select"}
_SKIPPED_ROLES = {"navigation", "banner", "contentinfo", "search", "menu", "menubar"}
# Class or id words (compared whole, not as substrings) of navigation blocks in
# common wiki and documentation generators.
_SKIPPED_NAMES = {"nav", "navbar", "navheader", "navfooter", "navigation", "menu", "breadcrumb",
                  "breadcrumbs", "sidebar", "toc", "skip-link", "skiplink", "footer", "site-footer"}
_BLOCK_TAGS = {"p", "div", "section", "article", "main", "ul", "ol", "dl", "dt", "dd", "blockquote",
               "figure", "figcaption", "address", "center", "hr", "br", "body", "caption", "details",
               "summary"}
_HEADING_TAGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_WHITESPACE_RUNS = re.compile(r"\s+")
# A colspan or rowspan above this is treated as this, so a malformed page cannot blow up a table.
_MAX_SPAN = 50


def collapse(text: str) -> str:
    return _WHITESPACE_RUNS.sub(" ", text).strip()


def is_boilerplate(element: Any) -> bool:
    if element.tag in ("header", "footer") and _inside_content(element):
        return False  # an article's own header contains its title
    if element.tag in _SKIPPED_TAGS or element.get("role") in _SKIPPED_ROLES:
        return True
    names = set((element.get("class") or "").lower().split()) | {(element.get("id") or "").lower()}
    return bool(names & _SKIPPED_NAMES)


def _inside_content(element: Any) -> bool:
    return any(ancestor.tag in ("article", "main", "section") for ancestor in element.iterancestors())


class _MarkdownBuilder:
    """Collects Markdown blocks; inline text gathers until the next block boundary."""

    def __init__(self) -> None:
        self.blocks: list[tuple[str, str]] = []  # (kind, text)
        self._inline: list[str] = []
        self._prefix = ""

    def add_text(self, text: str | None) -> None:
        if text:
            self._inline.append(text)

    def flush(self) -> None:
        paragraph = collapse("".join(self._inline))
        self._inline.clear()
        if paragraph:
            kind = "item" if self._prefix else "paragraph"
            self.blocks.append((kind, self._prefix + paragraph))
        self._prefix = ""

    def add_block(self, kind: str, text: str) -> None:
        self.flush()
        if text.strip():
            self.blocks.append((kind, text))

    def start_item(self, depth: int) -> None:
        self.flush()
        self._prefix = "  " * depth + "- "

    def markdown(self) -> str:
        self.flush()
        parts: list[str] = []
        previous = None
        for kind, text in self.blocks:
            if parts:
                parts.append("\n" if kind == previous == "item" else "\n\n")
            parts.append(text)
            previous = kind
        return "".join(parts)


def structural_markdown(root: Any) -> tuple[str, list[str]]:
    """Return the Markdown of an lxml tree's body, and the texts of its headings."""
    body = root.find(".//body")
    builder = _MarkdownBuilder()
    _render(body if body is not None else root, builder, depth=0)
    headings = [text.lstrip("#").strip() for kind, text in builder.blocks if kind == "heading"]
    return builder.markdown(), headings


def _render(element: Any, builder: _MarkdownBuilder, depth: int) -> None:
    if not isinstance(element.tag, str) or is_boilerplate(element):
        return  # comments, processing instructions and page furniture

    tag = element.tag.lower()
    if tag in _HEADING_TAGS:
        heading = collapse(element.text_content())
        builder.add_block("heading", "#" * _HEADING_TAGS[tag] + " " + heading if heading else "")
    elif tag == "pre":
        code = element.text_content().strip("\n")
        builder.add_block("code", "```\n" + code + "\n```" if code.strip() else "")
    elif tag == "table":
        builder.add_block("table", markdown_table(_table_rows(element)))
    elif tag == "li":
        builder.start_item(max(depth - 1, 0))
        _render_children(element, builder, depth)
        builder.flush()
    else:
        if tag in _BLOCK_TAGS:
            builder.flush()
        _render_children(element, builder, depth + (tag in ("ul", "ol")))
        if tag in _BLOCK_TAGS:
            builder.flush()


def _render_children(element: Any, builder: _MarkdownBuilder, depth: int) -> None:
    builder.add_text(element.text)
    for child in element:
        _render(child, builder, depth)
        builder.add_text(child.tail)


def _table_rows(table: Any) -> list[list[str]]:
    """Return the cell texts per row, one per grid column.

    A cell spanning several columns or rows (colspan, rowspan) keeps its text in
    its first grid position and leaves the others empty, so no later cell moves
    into a column that is not its own.
    """
    rows = []
    pending: dict[int, int] = {}  # column -> rows still covered by a rowspan from above
    for row in table.iter("tr"):
        if next(row.iterancestors("table"), None) is not table:
            continue  # a row of a nested table, whose text is already in its outer cell
        cells: list[str] = []
        for cell in row:
            if not isinstance(cell.tag, str) or cell.tag.lower() not in ("td", "th"):
                continue
            _skip_covered(cells, pending)
            columns = _span(cell, "colspan")
            rows_below = _span(cell, "rowspan") - 1
            for offset in range(columns):
                if rows_below:
                    pending[len(cells) + offset] = rows_below
            cells.append(collapse(cell.text_content()))
            cells.extend([""] * (columns - 1))
        _skip_covered(cells, pending, to_end=True)
        if any(cells):
            rows.append(cells)
    return rows


def _skip_covered(cells: list[str], pending: dict[int, int], to_end: bool = False) -> None:
    """Append an empty cell for each grid position that a rowspan from above covers."""
    while pending.get(len(cells), 0) > 0 or (to_end and any(column >= len(cells) for column in pending)):
        column = len(cells)
        if pending.get(column, 0) > 0:
            pending[column] -= 1
            if pending[column] == 0:
                del pending[column]
        cells.append("")


def _span(cell: Any, attribute: str) -> int:
    value = (cell.get(attribute) or "1").strip()
    return min(int(value), _MAX_SPAN) if value.isdigit() and int(value) > 0 else 1
