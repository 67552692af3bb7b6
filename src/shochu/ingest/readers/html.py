"""HTML files: main content through trafilatura, with a structural fallback."""

from __future__ import annotations

from typing import Any

import trafilatura

from shochu.ingest.readers.base import InputFile, ReadOptions, Reader
from shochu.ingest.readers.html_structure import collapse, is_boilerplate, structural_markdown

# Quoted earlier messages in HTML e-mail bodies.
_QUOTE_XPATH = "//blockquote | //div[contains(concat(' ', normalize-space(@class), ' '), ' gmail_quote ')]"
# A page with at least this many headings must keep one of them in trafilatura's
# output, or the structural conversion is used instead.
_MIN_HEADINGS_TO_CHECK = 2


class HtmlReader(Reader):
    format = "html"
    suffixes = (".html", ".htm", ".xhtml")
    markdown = True

    def read(self, file: InputFile, options: ReadOptions) -> tuple[str, dict[str, Any]]:
        text, metadata = html_to_markdown(file.data)
        return text, metadata


def html_to_markdown(content: bytes | str, drop_quotes: bool = False) -> tuple[str, dict[str, Any]]:
    """Return the main content of an HTML page as Markdown, and metadata (title, extractor).

    trafilatura removes navigation and other boilerplate and keeps tables. The
    structural conversion of the page body replaces its result when that is
    empty (short pages, e-mail bodies). It also does when trafilatura dropped
    every heading of a page that has several, as trafilatura 2.3.1 does for
    DocBook pages, whose headings sit inside wrapper elements. ``drop_quotes``
    removes quoted earlier messages, for e-mail bodies.
    """
    tree = trafilatura.load_html(content)
    if tree is None:
        return "", {}
    metadata: dict[str, Any] = {}
    title = collapse(tree.findtext(".//title") or "")
    if title:
        metadata["title"] = title
    if drop_quotes:
        for quoted in tree.xpath(_QUOTE_XPATH):
            quoted.drop_tree()

    # The structural conversion and the title heading come first, because trafilatura
    # prunes the tree it is given.
    structured, headings = structural_markdown(tree)
    title_heading = _first_h1(tree)
    extracted = trafilatura.extract(tree, output_format="markdown", include_tables=True,
                                    include_formatting=True, include_comments=False,
                                    include_links=False, include_images=False)

    if _keeps_structure(extracted, headings):
        metadata["extractor"] = "trafilatura"
        return _with_title_heading(extracted or "", title_heading), metadata
    metadata["extractor"] = "structure"
    return structured, metadata


def _first_h1(tree: Any) -> str | None:
    """Return the text of the page's first ``<h1>`` outside navigation, or None."""
    for element in tree.iter("h1"):
        if any(is_boilerplate(ancestor) and ancestor.tag != "header" for ancestor in element.iterancestors()):
            continue
        text = collapse(element.text_content())
        if text:
            return text
    return None


def _with_title_heading(extracted: str, title_heading: str | None) -> str:
    """Put the page's ``<h1>`` back at the top of trafilatura's output when it was dropped.

    trafilatura 2.3.1 drops an ``<h1>`` that sits outside the element it takes
    as the main content (a wiki's page title above the article, or inside the
    page header) and one that repeats the ``<title>``. Without it the first
    chunks of the page have no heading.
    """
    if not title_heading or not extracted.strip():
        return extracted
    lines = extracted.split("\n")
    headings = {_plain_heading(line) for line in lines if line.startswith("#")}
    if title_heading in headings:
        return extracted
    if collapse(lines[0]) == title_heading:
        return "# " + extracted.lstrip()
    return f"# {title_heading}\n\n{extracted}"


def _plain_heading(line: str) -> str:
    """Return a Markdown heading line's text without the marks that trafilatura adds for formatting."""
    return collapse(line.lstrip("#").replace("\\", "").replace("**", "").replace("`", ""))


def _keeps_structure(extracted: str | None, headings: list[str]) -> bool:
    if not extracted or not extracted.strip():
        return False
    if len(headings) < _MIN_HEADINGS_TO_CHECK:
        return True
    extracted_headings = {collapse(line.lstrip("#").replace("\\", ""))
                          for line in extracted.splitlines() if line.startswith("#")}
    return any(heading in extracted_headings for heading in headings)
