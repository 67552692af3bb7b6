"""The reader contract: one ``Reader`` subclass per file format.

A subclass sets ``format`` and ``suffixes`` and writes ``read``, which returns the
raw text and metadata of one file. The base class normalises the text and rejects
a file that yields none. The stage's loop catches every exception per file, so a
reader may raise anything. It raises a ``ReadError`` subclass when it can tell the
user what to do about the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from shochu.ingest.normalize import normalize_text


class ReadError(Exception):
    """A file that cannot be ingested; the message explains why and what to do."""


class EncryptedError(ReadError):
    """The file is password-protected."""


class NoTextError(ReadError):
    """The file opened but contains no text (a scan, an empty file, an image-only slide deck)."""


class EncodingError(ReadError):
    """The bytes of a text file cannot be decoded with confidence."""


@dataclass
class Extraction:
    """Normalised text of one file, with what the reader learned about it."""

    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    # True when the text marks headings with "#" and tables with "|", so that the
    # chunker may split on them. Plain text and PDF text are not Markdown: a line
    # starting with "#" there is often a shell prompt or comment.
    markdown: bool = False


class Reader:
    """Base class of the per-format readers."""

    format: ClassVar[str]
    suffixes: ClassVar[tuple[str, ...]]
    markdown: ClassVar[bool] = False

    def read(self, path: Path) -> tuple[str, dict[str, Any]]:
        """Return the raw text of ``path`` and its metadata."""
        raise NotImplementedError

    def extract(self, path: Path) -> Extraction:
        """Read ``path`` and normalise its text; raise ``NoTextError`` when none remains."""
        raw_text, metadata = self.read(path)
        text = normalize_text(raw_text)
        if not text:
            raise NoTextError(f"no text found in this {self.format} file; check that it is not "
                              f"empty or made of images only, then re-run")
        return Extraction(text=text, metadata=metadata, markdown=self.markdown)
