"""ZIP archives, read in memory member by member; nothing is ever extracted to disk.

Each member becomes an ``InputFile`` whose source is the archive's source, a
slash and the member's path. Some members are not read, and a ``Problem``
takes their place: a name that points outside the archive (absolute, a drive
letter or ".."), a password-protected or damaged member, a member larger than
the per-file limit, and every member after the archive as a whole has
expanded past its budget. The size limits are enforced on the bytes actually
decompressed, not on the sizes the archive declares, so a decompression bomb
stops at the limit.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from shochu.ingest.files import Problem, is_skipped
from shochu.ingest.readers.base import InputFile, ReadError

# Folders that archiving tools add and that hold no documents.
_TOOL_FOLDERS = {"__MACOSX"}
_DRIVE_LETTER = re.compile(r"^[A-Za-z]:")
# Flag bits of a ZIP member header (APPNOTE.TXT, section 4.4.4).
_ENCRYPTED_FLAG = 0x1
_UTF8_NAME_FLAG = 0x800
_READ_BLOCK = 1 << 20


@dataclass
class ArchiveBudget:
    """Bytes that may still be decompressed from one top-level archive, nested archives included."""

    remaining: int


def read_members(archive: InputFile, max_member_bytes: int,
                 budget: ArchiveBudget) -> Iterator[InputFile | Problem]:
    """Yield each file member of ``archive`` in stored order, or the problem that kept it unread."""
    try:
        handle = zipfile.ZipFile(archive.stream())
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise ReadError(f"the ZIP archive cannot be opened ({error}); it may be truncated or damaged. "
                        f"Copy it again or re-create it, then re-run") from error

    with handle:
        for info in handle.infolist():
            if info.is_dir():
                continue
            name = _member_name(info)
            unsafe = _unsafe_reason(name)
            if unsafe:
                # The source names the member as stored; it is only a label and is never opened as a path.
                yield Problem(f"{archive.source}/{name}", "unsafe_archive_path",
                              f"member {name!r} was not read because its path {unsafe}; such names "
                              f"are a sign of a crafted archive. Re-create the archive from the "
                              f"original files if you need this member")
                continue
            parts = PurePosixPath(name).parts
            if any(is_skipped(part) or part in _TOOL_FOLDERS for part in parts):
                continue
            yield _read_member(handle, info, InputFile(f"{archive.source}/{name}", b""),
                               max_member_bytes, budget)


def _member_name(info: zipfile.ZipInfo) -> str:
    """Return the member's path with "/" separators.

    Archives made on Japanese Windows store names in CP932 without setting the
    UTF-8 flag, and ``zipfile`` then decodes them as CP437; such names are
    decoded again as UTF-8 or CP932 when the bytes allow.
    """
    name = info.filename
    if not info.flag_bits & _UTF8_NAME_FLAG:
        try:
            raw = name.encode("cp437")
        except UnicodeEncodeError:
            raw = None
        if raw is not None:
            for encoding in ("utf_8", "cp932"):
                try:
                    name = raw.decode(encoding)
                    break
                except UnicodeDecodeError:
                    continue
    return name.replace("\\", "/")


def _unsafe_reason(name: str) -> str | None:
    """Say why a member path would point outside the archive's folder, or return None."""
    if "\0" in name:
        return "contains a NUL character"
    if name.startswith("/"):
        return "is absolute"
    if _DRIVE_LETTER.match(name):
        return "starts with a drive letter"
    if ".." in name.split("/"):
        return "contains '..'"
    return None


def _read_member(handle: zipfile.ZipFile, info: zipfile.ZipInfo, member: InputFile,
                 max_member_bytes: int, budget: ArchiveBudget) -> InputFile | Problem:
    source = member.source
    if info.flag_bits & _ENCRYPTED_FLAG:
        return Problem(source, "encrypted", "the archive member is password-protected; extract it with "
                       "the password, put the file in the input folder and re-run")
    if info.file_size > max_member_bytes:
        return Problem(source, "too_large", f"the archive member is {_mib(info.file_size)} MiB, over "
                       f"ingest.max_file_mb ({_mib(max_member_bytes)} MiB); raise ingest.max_file_mb "
                       f"or split the file")
    limit = min(max_member_bytes, budget.remaining)
    try:
        data = _read_at_most(handle, info, limit)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError) as error:
        return Problem(source, "damaged_archive_member", f"the archive member cannot be decompressed "
                       f"({error}); re-create the archive from the original files and re-run")
    if data is None:
        if limit == budget.remaining:
            budget.remaining = 0
            return Problem(source, "archive_limit", "the archive expanded past ingest.max_archive_mb "
                           "before this member, so it was not read; a decompression bomb does this. "
                           "Extract the archive yourself if you trust it, or raise ingest.max_archive_mb")
        return Problem(source, "too_large", f"the archive member expands past ingest.max_file_mb "
                       f"({_mib(max_member_bytes)} MiB) although it declares {info.file_size} bytes, "
                       f"as a decompression bomb does; it was not read")
    budget.remaining -= len(data)
    return InputFile(source, data)


def _read_at_most(handle: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes | None:
    """Return the member's bytes, or None as soon as more than ``limit`` bytes come out."""
    buffer = io.BytesIO()
    with handle.open(info) as stream:
        while block := stream.read(min(_READ_BLOCK, limit + 1 - buffer.tell())):
            buffer.write(block)
            if buffer.tell() > limit:
                return None
    return buffer.getvalue()


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f}"
