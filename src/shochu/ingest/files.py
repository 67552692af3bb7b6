"""Finding the input files of the ingest stage, and what could not be looked at."""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from shochu.ingest.readers.base import EncodingError
from shochu.ingest.readers.encoding import decode_text

# Lone surrogates U+DC80 to U+DCFF: how Python keeps file name bytes that are not UTF-8.
_SURROGATE_ESCAPES = re.compile("[\udc80-\udcff]")
# Bytes hashed at a time when fingerprinting a file.
_HASH_BLOCK = 1 << 20


@dataclass(frozen=True)
class Problem:
    """A file or folder that was not ingested: one line of errors.jsonl.

    ``error`` is a short reason code. ``message`` explains what is wrong and what
    the user can do about it.
    """

    source: str
    error: str
    message: str


def is_skipped(name: str) -> bool:
    """True for hidden files and folders, and for Office lock files ("~$report.docx")."""
    return name.startswith((".", "~$"))


def list_input_files(root: Path) -> tuple[list[Path], list[Problem]]:
    """Return every non-hidden regular file under ``root``, sorted by relative path, and the problems met.

    A folder that cannot be listed, a dangling symbolic link, a link to a folder
    and anything that is not a regular file (a FIFO, a socket) each become a
    ``Problem``. Links to folders are not followed, so a link loop cannot make
    the walk endless.
    """
    files: list[Path] = []
    problems: list[Problem] = []

    def unreadable_folder(error: OSError) -> None:
        folder = Path(error.filename)
        problems.append(Problem(relative_source(folder, root) if folder != root else ".",
                                "unreadable_folder",
                                f"the folder cannot be listed ({error.strerror}), so none of its files "
                                f"were read; give the user running shochu read and execute permission "
                                f"on it (chmod u+rx) or move it out of the input folder, then re-run"))

    for folder, subfolders, names in os.walk(root, onerror=unreadable_folder, followlinks=False):
        folder_path = Path(folder)
        subfolders[:] = [name for name in subfolders if not is_skipped(name)]
        for name in subfolders:
            if (folder_path / name).is_symlink():
                problems.append(_linked_folder_problem(folder_path / name, root))
        for name in names:
            if is_skipped(name):
                continue
            path = folder_path / name
            problem = _special_file_problem(path, root)
            if problem is None:
                files.append(path)
            else:
                problems.append(problem)

    files.sort(key=lambda path: relative_source(path, root))
    problems.sort(key=lambda problem: problem.source)
    return files, problems


def _linked_folder_problem(path: Path, root: Path) -> Problem:
    return Problem(relative_source(path, root), "linked_folder",
                   "symbolic link to a folder, not followed (a link loop would never end); copy the "
                   "folder into the input folder, or point ingest.input at it, and re-run")


def _special_file_problem(path: Path, root: Path) -> Problem | None:
    """Return the problem with a directory entry that is not a readable regular file, or None."""
    source = relative_source(path, root)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        if path.is_symlink():
            target = os.readlink(path)
            return Problem(source, "dangling_symlink",
                           f"symbolic link to {target}, which does not exist; fix or remove the link "
                           f"and re-run")
        return Problem(source, "file_vanished", "the file was removed while ingest ran; re-run")
    except OSError as error:
        return Problem(source, "unreadable_file", f"cannot look at the file ({error.strerror}); check "
                       f"its permissions and the folder's, then re-run")
    if not stat.S_ISREG(mode):
        return Problem(source, "not_a_file", "not a regular file (a FIFO, socket or device), so it was "
                       "not read; remove it from the input folder")
    return None


def relative_source(path: Path, root: Path) -> str:
    """Return the ``source`` of a file in the stage outputs: its POSIX path relative to ``root``.

    A name that is not valid UTF-8 (a Shift_JIS name copied from a Windows share)
    reaches Python with surrogate escapes, which cannot be written as UTF-8. Its
    bytes are decoded as text files are, or shown as escapes when that fails.
    """
    source = path.relative_to(root).as_posix()
    if source.isascii() or not _SURROGATE_ESCAPES.search(source):
        return source
    raw = os.fsencode(source)
    try:
        return decode_text(raw)[0]
    except EncodingError:
        return raw.decode("utf-8", "backslashreplace")


def document_id(source: str) -> str:
    """Return the stable id of a document: the first 16 hex digits of the SHA-256 of its source."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


def fingerprint_input(root: Path) -> str:
    """Return one SHA-256 over the files ingest would read: relative paths and contents.

    A file that cannot be read contributes its path, size and modification time
    instead of its content, and each problem of the walk adds its source and
    reason. So an unreadable file never stops the stage before it starts, and
    fixing it makes the stage run again.
    """
    files, problems = list_input_files(root)
    digest = hashlib.sha256()
    for path in files:
        digest.update(relative_source(path, root).encode("utf-8") + b"\0")
        digest.update(_file_fingerprint(path).encode("utf-8") + b"\0")
    for problem in problems:
        digest.update(f"{problem.source}\0{problem.error}\0".encode())
    return digest.hexdigest()


def _file_fingerprint(path: Path) -> str:
    try:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while block := handle.read(_HASH_BLOCK):
                digest.update(block)
        return digest.hexdigest()
    except OSError as error:
        try:
            details = path.stat()
            return f"unreadable:{error.errno}:{details.st_size}:{details.st_mtime_ns}"
        except OSError:
            return f"unreadable:{error.errno}"
