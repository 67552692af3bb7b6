"""Finding the input files of the ingest stage."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def is_skipped(name: str) -> bool:
    """True for hidden files and folders, and for Office lock files ("~$report.docx")."""
    return name.startswith((".", "~$"))


def list_input_files(root: Path) -> list[Path]:
    """Return every non-hidden file under ``root``, sorted by relative path.

    Symbolic links to folders are not followed, so a link loop cannot make the
    walk endless.
    """
    files = []
    for folder, subfolders, names in os.walk(root, followlinks=False):
        folder_path = Path(folder)
        subfolders[:] = [name for name in subfolders if not is_skipped(name)]
        files.extend(folder_path / name for name in names
                     if not is_skipped(name) and (folder_path / name).is_file())
    return sorted(files, key=lambda path: relative_source(path, root))


def relative_source(path: Path, root: Path) -> str:
    """Return the ``source`` of a file in the stage outputs: its POSIX path relative to ``root``."""
    return path.relative_to(root).as_posix()


def document_id(source: str) -> str:
    """Return the stable id of a document: the first 16 hex digits of the SHA-256 of its source."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]
