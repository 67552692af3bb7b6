"""The reader contract: one ``Reader`` subclass per file format.

A subclass sets ``format`` and ``suffixes`` and writes ``read``, which returns the
raw text and metadata of one ``InputFile``. Readers work on the file's bytes in
memory, never on a path, so a member of a ZIP archive is read without being
extracted to disk. The base class normalises the text and rejects a file that
yields none. The stage's loop catches every exception per file, so a reader may
raise anything. It raises a ``ReadError`` subclass when it can tell the user what
to do about the file.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from shochu.ingest.normalize import normalize_text
from shochu.ingest.readers.sensitivity import edge_lines, marking_candidates, markings_in


class ReadError(Exception):
    """A file that cannot be ingested; the message explains why and what to do."""


class EncryptedError(ReadError):
    """The file is password-protected."""


class NoTextError(ReadError):
    """The file opened but contains no text (a scan, an empty file, an image-only slide deck)."""


class EncodingError(ReadError):
    """The bytes of a text file cannot be decoded with confidence."""


class OcrUnavailableError(ReadError):
    """A scanned page or image needs OCR, and Tesseract or one of its languages is missing."""


@dataclass(frozen=True)
class InputFile:
    """One file's bytes and its ``source``: the POSIX path relative to the input folder.

    A member of an archive has the archive's source, a slash and the member's
    path inside it, such as ``bundle.zip/reports/q1.pdf``.
    """

    source: str
    data: bytes

    @classmethod
    def from_path(cls, path: Path, source: str | None = None) -> InputFile:
        return cls(source if source is not None else path.name, path.read_bytes())

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.source).suffix.lower()

    def stream(self) -> io.BytesIO:
        return io.BytesIO(self.data)


@dataclass(frozen=True)
class ReadOptions:
    """Settings that change how readers read: OCR of images and scanned PDF pages."""

    ocr: bool = True
    ocr_languages: str = "eng+jpn+tha"


@dataclass
class Extraction:
    """Normalised text of one file, with what the reader learned about it.

    ``warnings`` lists problems that did not stop the file from being read, such
    as a scanned page left out because OCR is unavailable, each as a dict with
    an ``error`` code and a ``message``.
    """

    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    warnings: list[dict[str, str]] = field(default_factory=list)
    # True when the text marks headings with "#" and tables with "|", so that the
    # chunker may split on them. Plain text and PDF text are not Markdown: a line
    # starting with "#" there is often a shell prompt or comment.
    markdown: bool = False


class Reader:
    """Base class of the per-format readers."""

    format: ClassVar[str]
    suffixes: ClassVar[tuple[str, ...]]
    markdown: ClassVar[bool] = False

    def read(self, file: InputFile, options: ReadOptions) -> tuple[str, dict[str, Any]]:
        """Return the raw text of ``file`` and its metadata.

        Problems that do not stop the read go in the metadata under "warnings";
        ``extract`` moves them to ``Extraction.warnings``. Page header and footer
        lines go under "marking_lines" and the lines at page edges under
        "edge_lines". ``extract`` searches both, and the first and last lines of
        the text, and records the markings it finds as "sensitivity_markings".
        """
        raise NotImplementedError

    def extract(self, file: InputFile | Path, options: ReadOptions | None = None) -> Extraction:
        """Read ``file`` and normalise its text; raise ``NoTextError`` when none remains."""
        if isinstance(file, Path):
            file = InputFile.from_path(file)
        raw_text, metadata = self.read(file, options or ReadOptions())
        warnings = metadata.pop("warnings", [])

        # Page headers and footers come from the reader, taken before it removed
        # running lines. Short lines at page edges and at the text's own start and
        # end are searched too.
        edges = [*metadata.pop("edge_lines", []), *edge_lines(raw_text.splitlines())]
        markings = markings_in([*metadata.pop("marking_lines", []), *marking_candidates(edges)])
        if markings:
            metadata["sensitivity_markings"] = markings

        text = normalize_text(raw_text)
        if not text:
            raise NoTextError(f"no text found in this {self.format} file; check that it is not "
                              f"empty or made of images only, then re-run")
        return Extraction(text=text, metadata=metadata, markdown=self.markdown, warnings=warnings)
