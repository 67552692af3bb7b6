"""PDF files, read with pypdf: text per page without running headers and footers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pypdf
from pypdf import PasswordType

from shochu.ingest.readers.base import EncryptedError, NoTextError, Reader, ReadError
from shochu.ingest.readers.running import drop_running_lines, running_lines

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
        if pages and len(failed) == len(pages):
            raise ReadError(f"text extraction failed on all {len(pages)} page(s); re-save the PDF "
                            f"(for example by printing it to PDF) and re-run")
        running = running_lines(pages)
        pages = [drop_running_lines(lines, running) for lines in pages]
        empty = [number for number, lines in enumerate(pages, start=1) if not lines]
        if len(empty) == len(pages):
            raise NoTextError(f"no extractable text on any of its {len(pages)} page(s), so it is "
                              f"probably scanned; OCR is not supported yet: convert it to a text "
                              f"PDF (for example with OCRmyPDF) and re-run")

        metadata: dict[str, Any] = {"pages": len(pages), "pages_without_text": empty}
        if failed:
            metadata["pages_failed"] = failed
        title = _title(reader)
        if title:
            metadata["title"] = title
        return join_pages(["\n".join(lines) for lines in pages]), metadata


def _decrypt(reader: pypdf.PdfReader) -> None:
    """Open a PDF encrypted with an empty user password; raise for a real password."""
    if not reader.is_encrypted:
        return
    if reader.decrypt("") == PasswordType.NOT_DECRYPTED:
        raise EncryptedError("encrypted PDF: decrypt it (remove the password) and re-run")


def _title(reader: pypdf.PdfReader) -> str | None:
    """Return the title from the document information, or None when it is missing or unreadable."""
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:  # noqa: BLE001 - a damaged information dictionary must not lose the text
        return None
    if not title or not str(title).strip():
        return None
    return str(title).strip()


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


def ends_sentence(text: str) -> bool:
    stripped = text.rstrip().rstrip(_CLOSING)
    return bool(stripped) and stripped[-1] in _SENTENCE_FINAL


def join_pages(pages: list[str]) -> str:
    """Join page texts, continuing a paragraph that a page break cut mid-sentence.

    A page that ends with sentence-final punctuation closes its paragraph, so a
    blank line follows it. Any other page continues on the next page after a
    single line break, as a line wrap inside the page would.
    """
    parts: list[str] = []
    for page in filter(None, pages):
        if parts:
            parts.append("\n\n" if ends_sentence(parts[-1]) else "\n")
        parts.append(page)
    return "".join(parts)
