"""File type detection from content (magic bytes), independent of the file name.

A file whose extension lies about its type (a DOCX saved as ``.pdf``, a PDF
named ``.txt``) is read by the reader of what it contains, and the mismatch is
reported. Formats are named as the readers name them ("pdf", "docx", ...),
plus "zip" for an archive, "ole" for an OLE2 compound file (legacy Office or a
password-protected OOXML file) and image formats.
"""

from __future__ import annotations

import io
import zipfile

OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_IMAGE_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "png",
    b"\xff\xd8\xff": "jpeg",
    b"II*\x00": "tiff",
    b"MM\x00*": "tiff",
    b"GIF87a": "gif",
    b"GIF89a": "gif",
}
# The part that identifies each OOXML format inside its ZIP container.
_OOXML_PARTS = {"word/document.xml": "docx", "xl/workbook.xml": "xlsx", "ppt/presentation.xml": "pptx"}
# PDF readers accept the "%PDF-" header anywhere in the first 1024 bytes.
_PDF_HEADER_WINDOW = 1024
_HTML_STARTS = (b"<!doctype html", b"<html")

IMAGE_FORMATS = frozenset(_IMAGE_SIGNATURES.values())
# Formats whose magic bytes are reliable; text formats have none.
BINARY_FORMATS = frozenset({"pdf", "docx", "xlsx", "pptx", "zip", "ole", *IMAGE_FORMATS})


def sniff_format(data: bytes) -> str | None:
    """Return the format that ``data`` starts like, or None when its bytes show no known signature."""
    if b"%PDF-" in data[:_PDF_HEADER_WINDOW]:
        return "pdf"
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_format(data)
    if data.startswith(OLE_SIGNATURE):
        return "ole"
    for signature, name in _IMAGE_SIGNATURES.items():
        if data.startswith(signature):
            return name
    head = data[:256].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(_HTML_STARTS):
        return "html"
    return None


def _zip_format(data: bytes) -> str:
    """Tell an OOXML document from a plain ZIP archive by the parts it contains."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return "zip"  # the archive reader reports the damage
    for part, name in _OOXML_PARTS.items():
        if part in names:
            return name
    return "zip"
