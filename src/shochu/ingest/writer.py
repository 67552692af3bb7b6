"""The ingest stage's output files, written while the stage runs.

Documents and chunks go to Parquet tables in bounded row groups (``store.py``).
Errors and dropped duplicates stay JSON Lines, because they are small and
people read them.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from shochu.ingest.store import CHUNKS_FILE, DOCUMENTS_FILE, SCHEMAS, TableWriter
from shochu.workspace import atomic_path

OUTPUT_FILES = {
    "documents": DOCUMENTS_FILE,
    "chunks": CHUNKS_FILE,
    "errors": "errors.jsonl",
    "duplicates": "duplicates.jsonl",
}


class StageWriter:
    """Writer that streams records into the stage's Parquet tables and JSONL files.

    Each file is written under a temporary name and renamed into place when the
    ``with`` block ends without an exception. After an exception the temporary
    files are removed, so a failed run leaves no partial output.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._stack = ExitStack()
        self._tables: dict[str, TableWriter] = {}
        self._handles: dict[str, Any] = {}

    def __enter__(self) -> StageWriter:
        with ExitStack() as stack:
            for kind, name in OUTPUT_FILES.items():
                if name in SCHEMAS:
                    self._tables[kind] = stack.enter_context(TableWriter(self.folder / name, SCHEMAS[name]))
                    continue
                temporary = stack.enter_context(atomic_path(self.folder / name))
                self._handles[kind] = stack.enter_context(open(temporary, "w", encoding="utf-8"))
            self._stack = stack.pop_all()
        return self

    def __exit__(self, *exc_info: Any) -> bool | None:
        return self._stack.__exit__(*exc_info)

    def write(self, kind: str, record: dict[str, Any]) -> None:
        if kind in self._tables:
            self._tables[kind].append(record)
            return
        line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
        try:
            self._handles[kind].write(line)
        except UnicodeEncodeError:
            # A lone surrogate left by a library cannot be encoded as UTF-8; JSON
            # escapes keep it, and the line stays valid.
            self._handles[kind].write(json.dumps(record, ensure_ascii=True, default=str) + "\n")
