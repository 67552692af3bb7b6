"""Optical character recognition with Tesseract, through pytesseract.

Tesseract is a system program (Debian packages tesseract-ocr, tesseract-ocr-jpn
and tesseract-ocr-tha). When it or a configured language is missing, or OCR is
turned off, ``OcrUnavailableError`` names the cause and the fix, so a scanned
page is reported instead of read as empty.
"""

from __future__ import annotations

import functools
import re

import pytesseract
from PIL import Image

from shochu.ingest.readers.base import OcrUnavailableError, ReadOptions

# Resolution at which PDF pages are rendered for OCR; Tesseract reads body text
# best at about 300 dots per inch.
RENDER_DPI = 300
# Tesseract puts spaces between neighbouring CJK characters, and between them and
# digits ("30 日"); Japanese writes neither.
_CJK = r"\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff01-\uff9f"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}]) +(?=[{_CJK}0-9])|(?<=[0-9]) +(?=[{_CJK}])")


def check_available(options: ReadOptions) -> None:
    """Raise ``OcrUnavailableError`` when OCR is off, Tesseract is missing or lacks a language."""
    if not options.ocr:
        raise OcrUnavailableError("needs OCR, which is turned off (ingest.ocr is false); set ingest.ocr "
                                  "to true, or convert the file to a text PDF (for example with OCRmyPDF) "
                                  "and re-run")
    problem = _tesseract_problem(options.ocr_languages)
    if problem:
        raise OcrUnavailableError(f"needs OCR, but {problem}")


@functools.lru_cache(maxsize=8)
def _tesseract_problem(languages: str) -> str | None:
    """Return what keeps Tesseract from reading ``languages``, or None when it can."""
    try:
        installed = set(pytesseract.get_languages(config=""))
    except (pytesseract.TesseractNotFoundError, OSError):
        return ("the tesseract program was not found; install the Debian packages tesseract-ocr, "
                "tesseract-ocr-jpn and tesseract-ocr-tha (scripts/system-deps.sh) and re-run")
    missing = [language for language in languages.split("+") if language not in installed]
    if missing:
        return (f"Tesseract has no data for language(s) {', '.join(missing)} (installed: "
                f"{', '.join(sorted(installed)) or 'none'}); install the tesseract-ocr-<language> "
                f"package or change ingest.ocr_languages, then re-run")
    return None


def recognize(image: Image.Image, options: ReadOptions) -> str:
    """Return the text Tesseract reads in ``image``, without the spaces it puts around CJK characters."""
    check_available(options)
    if image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    text = pytesseract.image_to_string(image, lang=options.ocr_languages)
    return _SPACE_BETWEEN_CJK.sub("", text)
