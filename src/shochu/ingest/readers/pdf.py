"""PDF files, read with pypdf: text per page without running headers and footers."""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pypdf
from pypdf import PasswordType

from shochu.ingest.readers.base import EncryptedError, NoTextError, Reader

# Lines among the first and last few of a page that may be a running header or
# footer. The text order of a page follows its content stream, which usually
# draws headers first and footers last.
_EDGE_LINES = 3
# A line counts as running when it appears at the edge of more than this share
# of the pages (and on at least two of them).
_RUNNING_SHARE = 0.5
_DIGIT_RUNS = re.compile(r"\d+")
_WHITESPACE_RUNS = re.compile(r"\s+")
# Characters that end a sentence, and closing quotes or brackets that may follow them.
_SENTENCE_FINAL = ".!?。！？．"
_CLOSING = "\"'”’」』）)]"


class PdfReader(Reader):
    format = "pdf"
    suffixes = (".pdf",)

    def read(self, path: Path) -> tuple[str, dict[str, Any]]:
        reader = pypdf.PdfReader(path)
        _decrypt(reader)

        pages, failed = _page_lines(reader)
        running = running_lines(pages)
        pages = [_without_running(lines, running) for lines in pages]
        empty = [number for number, lines in enumerate(pages, start=1) if not lines]
        if len(empty) == len(pages):
            raise NoTextError(f"no extractable text on any of its {len(pages)} page(s), so it is "
                              f"probably scanned; OCR is not supported yet: convert it to a text "
                              f"PDF (for example with OCRmyPDF) and re-run")

        metadata: dict[str, Any] = {"pages": len(pages), "pages_without_text": empty}
        if failed:
            metadata["pages_failed"] = failed
        title = reader.metadata.title if reader.metadata else None
        if title:
            metadata["title"] = str(title)
        return join_pages(["\n".join(lines) for lines in pages]), metadata


def _decrypt(reader: pypdf.PdfReader) -> None:
    """Open a PDF encrypted with an empty user password; raise for a real password."""
    if not reader.is_encrypted:
        return
    if reader.decrypt("") == PasswordType.NOT_DECRYPTED:
        raise EncryptedError("encrypted PDF: decrypt it (remove the password) and re-run")


def _page_lines(reader: pypdf.PdfReader) -> tuple[list[list[str]], list[int]]:
    """Return each page's non-blank lines, and the numbers of pages whose extraction failed."""
    pages: list[list[str]] = []
    failed: list[int] = []
    for number, page in enumerate(reader.pages, start=1):
        try:
            text = page.extract_text() or ""
        except Exception:  # noqa: BLE001 - one broken page must not lose the others
            text = ""
            failed.append(number)
        pages.append([line for line in text.splitlines() if line.strip()])
    return pages, failed


def _line_key(line: str) -> str:
    """Key under which a line counts as repeated: digits and spacing do not matter."""
    return _WHITESPACE_RUNS.sub(" ", _DIGIT_RUNS.sub("0", line)).strip()


def _edge_indexes(count: int) -> set[int]:
    """Indexes of the first and last ``_EDGE_LINES`` lines of a page with ``count`` lines."""
    return set(range(min(_EDGE_LINES, count))) | set(range(max(0, count - _EDGE_LINES), count))


def running_lines(pages: list[list[str]]) -> set[str]:
    """Return the keys of lines that repeat at the top or bottom of most pages.

    Digits are ignored, so "Page 3 of 7" and "Page 4 of 7" count as one line.
    """
    counts: Counter[str] = Counter()
    for lines in pages:
        counts.update({_line_key(lines[index]) for index in _edge_indexes(len(lines))})
    needed = max(2, math.floor(len(pages) * _RUNNING_SHARE) + 1)
    return {key for key, count in counts.items() if count >= needed}


def _without_running(lines: list[str], running: set[str]) -> list[str]:
    """Drop running lines from the edges of a page; the same text mid-page stays."""
    edge = _edge_indexes(len(lines))
    return [line for index, line in enumerate(lines) if index not in edge or _line_key(line) not in running]


def ends_sentence(text: str) -> bool:
    stripped = text.rstrip().rstrip(_CLOSING)
    return bool(stripped) and stripped[-1] in _SENTENCE_FINAL


def join_pages(pages: list[str]) -> str:
    """Join page texts, continuing a paragraph that a page break cut mid-sentence.

    A page that ends with sentence-final punctuation closes its paragraph (blank
    line); any other page ending continues on the next page (line break), as a
    line wrap inside the page would.
    """
    parts: list[str] = []
    for page in filter(None, pages):
        if parts:
            parts.append("\n\n" if ends_sentence(parts[-1]) else "\n")
        parts.append(page)
    return "".join(parts)
