"""Plain text and Markdown files."""

from __future__ import annotations

import re
from typing import Any

from shochu.ingest.readers.base import InputFile, ReadOptions, Reader
from shochu.ingest.readers.encoding import decode_text

_FIRST_HEADING = re.compile(r"^#[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


class TextReader(Reader):
    format = "text"
    suffixes = (".txt", ".text")

    def read(self, file: InputFile, options: ReadOptions) -> tuple[str, dict[str, Any]]:
        text, encoding = decode_text(file.data)
        return text, {"encoding": encoding}


class MarkdownReader(Reader):
    format = "markdown"
    suffixes = (".md", ".markdown")
    markdown = True

    def read(self, file: InputFile, options: ReadOptions) -> tuple[str, dict[str, Any]]:
        text, encoding = decode_text(file.data)
        metadata: dict[str, Any] = {"encoding": encoding}
        heading = _FIRST_HEADING.search(text)
        if heading:
            metadata["title"] = heading.group(1)
        return text, metadata
