"""The ingest stage's output files, written as JSON Lines while the stage runs."""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from shochu.workspace import atomic_path

OUTPUT_FILES = {
    "documents": "documents.jsonl",
    "chunks": "chunks.jsonl",
    "errors": "errors.jsonl",
    "duplicates": "duplicates.jsonl",
}


class StageWriter:
    """Writer that streams records into the stage's JSONL files.

    Each file is written under a temporary name and renamed into place when the
    ``with`` block ends without an exception. After an exception the temporary
    files are removed, so a failed run leaves no partial output.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._stack = ExitStack()
        self._handles: dict[str, Any] = {}

    def __enter__(self) -> StageWriter:
        with ExitStack() as stack:
            for kind, name in OUTPUT_FILES.items():
                temporary = stack.enter_context(atomic_path(self.folder / name))
                self._handles[kind] = stack.enter_context(open(temporary, "w", encoding="utf-8"))
            self._stack = stack.pop_all()
        return self

    def __exit__(self, *exc_info: Any) -> bool | None:
        return self._stack.__exit__(*exc_info)

    def write(self, kind: str, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
        try:
            self._handles[kind].write(line)
        except UnicodeEncodeError:
            # A lone surrogate left by a library cannot be encoded as UTF-8; JSON
            # escapes keep it, and the line stays valid.
            self._handles[kind].write(json.dumps(record, ensure_ascii=True, default=str) + "\n")
