"""PDF files, read with pdfium: text per page without running headers and footers."""

from __future__ import annotations

from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from shochu.ingest.readers.base import EncryptedError, InputFile, NoTextError, Reader, ReadError
from shochu.ingest.readers.running import drop_running_lines, running_lines

# Characters that end a sentence, and closing quotes or brackets that may follow them.
_SENTENCE_FINAL = ".!?。！？．"
_CLOSING = "\"'”’」』）)]"


class PdfReader(Reader):
    format = "pdf"
    suffixes = (".pdf",)

    def read(self, file: InputFile) -> tuple[str, dict[str, Any]]:
        document = _open(file.data)
        try:
            pages, failed = _page_lines(document)
            title = _title(document)
        finally:
            document.close()

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
        if title:
            metadata["title"] = title
        return join_pages(["\n".join(lines) for lines in pages]), metadata


def _open(data: bytes) -> pdfium.PdfDocument:
    """Open a PDF from memory; an empty user password is tried, as viewers do.

    Raises ``EncryptedError`` when a real password is needed and ``ReadError``
    when pdfium cannot parse the file (truncated or damaged).
    """
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        if getattr(error, "err_code", None) == pdfium_c.FPDF_ERR_PASSWORD:
            raise EncryptedError("the PDF is password-protected; decrypt it (open it with the "
                                 "password and save a copy without one) and re-run") from error
        raise ReadError(f"the PDF cannot be parsed ({error}); it may be truncated or damaged. "
                        f"Copy the original file again, or re-save it by printing it to PDF, and "
                        f"re-run") from error


def _title(document: pdfium.PdfDocument) -> str | None:
    """Return the title from the document information, or None when it is missing or unreadable."""
    try:
        title = document.get_metadata_dict().get("Title")
    except Exception:  # noqa: BLE001 - a damaged information dictionary must not lose the text
        return None
    if not title or not str(title).strip():
        return None
    return str(title).strip()


def _page_lines(document: pdfium.PdfDocument) -> tuple[list[list[str]], list[int]]:
    """Return each page's non-blank lines, and the numbers of pages whose extraction failed."""
    pages: list[list[str]] = []
    failed: list[int] = []
    for index in range(len(document)):
        try:
            text = page_text(document, index)
        except Exception:  # noqa: BLE001 - one broken page must not lose the others
            text = ""
            failed.append(index + 1)
        pages.append([line for line in text.splitlines() if line.strip()])
    return pages, failed


def page_text(document: pdfium.PdfDocument, index: int) -> str:
    """Return the text layer of one page, in pdfium's order, with "\n" line ends."""
    page = document[index]
    try:
        text_page = page.get_textpage()
        try:
            return text_page.get_text_range().replace("\r\n", "\n")
        finally:
            text_page.close()
    finally:
        page.close()


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
