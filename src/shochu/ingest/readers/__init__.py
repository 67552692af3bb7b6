"""Readers per file format, registered by file suffix."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from shochu.ingest.readers.base import Extraction, InputFile, Reader, ReadError, ReadOptions
from shochu.ingest.readers.delimited import DelimitedReader
from shochu.ingest.readers.excel import ExcelReader, LegacyExcelReader
from shochu.ingest.readers.html import HtmlReader
from shochu.ingest.readers.image import ImageReader
from shochu.ingest.readers.mail import MailReader
from shochu.ingest.readers.pdf import PdfReader
from shochu.ingest.readers.powerpoint import PowerPointReader
from shochu.ingest.readers.text import MarkdownReader, TextReader
from shochu.ingest.readers.word import WordReader

READERS: dict[str, Reader] = {
    suffix: reader
    for reader in (PdfReader(), WordReader(), ExcelReader(), LegacyExcelReader(), PowerPointReader(),
                   HtmlReader(), MarkdownReader(), TextReader(), MailReader(), DelimitedReader(), ImageReader())
    for suffix in reader.suffixes
}
READERS_BY_FORMAT: dict[str, Reader] = {reader.format: reader for reader in READERS.values()}
# ZIP archives and mbox files are read by the stage, member by member, not by a reader.
SUPPORTED_SUFFIXES = tuple(sorted([*READERS, ".zip", ".mbox"]))

# Formats that need a conversion before they can be read, with what to convert them to.
_CONVERSIONS = {
    ".doc": ".docx", ".ppt": ".pptx", ".rtf": ".docx", ".odt": ".docx",
    ".ods": ".xlsx", ".odp": ".pptx", ".msg": ".eml",
}


def reader_for(path: Path | str) -> Reader | None:
    """Return the reader registered for the file name's suffix, or None."""
    return READERS.get(PurePosixPath(path).suffix.lower())


def unsupported_message(path: Path | str) -> str:
    """Say why a file has no reader and what to do about it."""
    suffix = PurePosixPath(path).suffix.lower()
    if suffix in _CONVERSIONS:
        return (f"unsupported file type '{suffix}': save it as {_CONVERSIONS[suffix]} and re-run, "
                f"or remove it from the input folder")
    suffix_text = f"'{suffix}'" if suffix else "(no suffix)"
    return (f"unsupported file type {suffix_text}; supported: {', '.join(SUPPORTED_SUFFIXES)}. Convert the "
            f"file to one of these or remove it from the input folder")


__all__ = ["READERS", "READERS_BY_FORMAT", "SUPPORTED_SUFFIXES", "Extraction", "InputFile", "ReadError",
           "ReadOptions", "Reader", "reader_for", "unsupported_message"]
