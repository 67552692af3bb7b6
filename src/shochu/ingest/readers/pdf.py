"""PDF files, read with pdfium: text per page without running headers and footers.

Whether a page needs OCR is decided per page from that page's own text layer:
a page with fewer than ``MIN_PAGE_CHARS`` characters that contains an image is
rendered and read by Tesseract. When OCR is unavailable such pages are listed
in a warning, or the file fails when no page has text.
"""

from __future__ import annotations

import math
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from shochu.ingest.readers import ocr
from shochu.ingest.readers.base import (EncryptedError, InputFile, NoTextError, OcrUnavailableError,
                                        ReadError, ReadOptions, Reader)
from shochu.ingest.readers.running import drop_running_lines, line_key, running_lines
from shochu.ingest.readers.sensitivity import edge_lines

# A page whose text layer has fewer non-space characters than this, and which
# contains an image, is treated as scanned.
MIN_PAGE_CHARS = 20
# Largest rendered page, in pixels, so that a poster-sized page stays within memory.
_MAX_RENDER_PIXELS = 40_000_000

# Characters that end a sentence, and closing quotes or brackets that may follow them.
_SENTENCE_FINAL = ".!?。！？．"
_CLOSING = "\"'”’」』）)]"


class PdfReader(Reader):
    format = "pdf"
    suffixes = (".pdf",)

    def read(self, file: InputFile, options: ReadOptions) -> tuple[str, dict[str, Any]]:
        document = _open(file.data)
        try:
            pages, failed, scanned = _page_lines(document)
            ocr_pages, unread, ocr_problem = _ocr_scanned(document, scanned, pages, options)
            title = _title(document)
        finally:
            document.close()

        if pages and len(failed) == len(pages):
            raise ReadError(f"text extraction failed on all {len(pages)} page(s); re-save the PDF "
                            f"(for example by printing it to PDF) and re-run")
        running = running_lines(pages)
        marking_lines = sorted({line for lines in pages for line in lines if line_key(line) in running})
        page_edges = [line for lines in pages for line in edge_lines(lines)]
        pages = [drop_running_lines(lines, running) for lines in pages]
        empty = [number for number, lines in enumerate(pages, start=1) if not lines]
        if len(empty) == len(pages):
            if ocr_problem is not None:
                raise OcrUnavailableError(f"no text layer on page(s) {_numbers(unread)}, which "
                                          f"{ocr_problem}") from None
            raise NoTextError(f"no text on any of its {len(pages)} page(s), and no scanned image that "
                              f"OCR found text in; check that the file is not blank, then re-run")

        metadata: dict[str, Any] = {"pages": len(pages), "pages_without_text": empty,
                                    "marking_lines": marking_lines, "edge_lines": page_edges}
        if ocr_pages:
            metadata["pages_ocr"] = ocr_pages
        if failed:
            metadata["pages_failed"] = failed
        if title:
            metadata["title"] = title
        if unread:
            metadata["warnings"] = [{"error": "ocr_unavailable",
                                     "message": f"page(s) {_numbers(unread)} have no text layer and were "
                                                f"left out: the page {ocr_problem}"}]
        return join_pages(["\n".join(lines) for lines in pages]), metadata


def _ocr_scanned(document: pdfium.PdfDocument, scanned: list[int], pages: list[list[str]],
                 options: ReadOptions) -> tuple[list[int], list[int], str | None]:
    """Replace the lines of scanned pages with their OCR text, in place.

    Returns the numbers of the pages read by OCR, those left unread, and why
    OCR was unavailable (None when it was available).
    """
    try:
        ocr.check_available(options)
    except OcrUnavailableError as error:
        return [], scanned, str(error)
    for number in scanned:
        text = ocr.recognize(_render(document, number - 1), options)
        pages[number - 1] = [line for line in text.splitlines() if line.strip()]
    return scanned, [], None


def _render(document: pdfium.PdfDocument, index: int) -> Any:
    """Render one page in greyscale at ``ocr.RENDER_DPI``, scaled down for very large pages."""
    page = document[index]
    try:
        width, height = page.get_size()  # in points, 72 per inch
        scale = ocr.RENDER_DPI / 72
        scale = min(scale, math.sqrt(_MAX_RENDER_PIXELS / max(1.0, width * height)))
        bitmap = page.render(scale=scale, grayscale=True)
        return bitmap.to_pil()
    finally:
        page.close()


def _numbers(pages: list[int]) -> str:
    return ", ".join(map(str, pages))


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


def _page_lines(document: pdfium.PdfDocument) -> tuple[list[list[str]], list[int], list[int]]:
    """Return each page's non-blank lines, the pages whose extraction failed, and the scanned pages."""
    pages: list[list[str]] = []
    failed: list[int] = []
    scanned: list[int] = []
    for index in range(len(document)):
        try:
            text = page_text(document, index)
        except Exception:  # noqa: BLE001 - one broken page must not lose the others
            text = ""
            failed.append(index + 1)
        pages.append([line for line in text.splitlines() if line.strip()])
        if len("".join(text.split())) < MIN_PAGE_CHARS and _has_image(document, index):
            scanned.append(index + 1)
    return pages, failed, scanned


def _has_image(document: pdfium.PdfDocument, index: int) -> bool:
    page = document[index]
    try:
        return any(True for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]))
    finally:
        page.close()


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
