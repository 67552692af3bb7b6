"""The scratch file that carries spans from the protect stage's detection pass to its write pass.

The detection pass (``scan_corpus``) appends one JSON line per text in which
it found spans or in which a recognizer failed, in scan order: the heading and
text of each chunk, then each ticket. A line contains the text's key, each
span's offsets (in the chunk or ticket text), entity type and score, the
indices of the spans clipped at a chunk boundary, and the names of the failed
recognizers. It never contains the text or a detected value.

The write pass requests the same keys in the same order, skipping the texts
of left-out documents, so it keeps one line in memory at a time. Keys
written or requested out of scan order raise ``ValueError``, because a
mismatched line would mask the wrong offsets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from shochu.protect.placeholders import Span

# A scanned text: ("chunk", row index, "heading" or "text") or ("ticket", row index, "text").
TextKey = tuple[str, int, str]

# Scan order of record kinds, and of the fields within one record.
_KINDS = ("chunk", "ticket")
_FIELDS = ("heading", "text")


@dataclass(frozen=True)
class Detection:
    """Non-overlapping spans of one text and the recognizers that failed on it.

    ``clipped`` lists the indices of the spans that hold only the piece of a
    value that a chunk boundary cut (see ``windows.py``).
    """

    spans: tuple[Span, ...]
    failed: tuple[str, ...] = ()
    clipped: frozenset[int] = frozenset()

    def clipped_spans(self) -> frozenset[Span]:
        return frozenset(self.spans[index] for index in self.clipped)


NO_DETECTION = Detection(())


class DetectionWriter:
    """Writer of the scratch file. Opening it truncates a file that a killed run left behind."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.lines = 0
        self._handle: TextIO = open(path, "w", encoding="utf-8")
        self._last: tuple[int, int, int] | None = None

    def write(self, key: TextKey, detection: Detection) -> None:
        """Append the detection of text ``key``. A text without spans or failed recognizers gets no line."""
        self._last = _next_position(key, self._last, "written")
        if not detection.spans and not detection.failed:
            return
        line: dict[str, Any] = {"key": list(key),
                                "spans": [[span.start, span.end, span.entity_type, span.score]
                                          for span in detection.spans],
                                "failed": list(detection.failed)}
        if detection.clipped:
            line["clipped"] = sorted(detection.clipped)
        self._handle.write(json.dumps(line, ensure_ascii=True) + "\n")
        self.lines += 1

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> DetectionWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


class DetectionReader:
    """Reader of the scratch file, forward only, in the order in which it was written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: TextIO = open(path, encoding="utf-8")
        self._line_number = 0
        self._last: tuple[int, int, int] | None = None
        self._pending = self._read_line()

    def get(self, key: TextKey) -> Detection:
        """Return the detection of text ``key``, skipping the lines of texts that were not requested."""
        position = _next_position(key, self._last, "requested")
        self._last = position
        while self._pending is not None and self._pending[0] < position:
            self._pending = self._read_line()
        if self._pending is not None and self._pending[0] == position:
            return self._pending[1]
        return NO_DETECTION

    def _read_line(self) -> tuple[tuple[int, int, int], Detection] | None:
        line = self._handle.readline()
        if not line:
            return None
        self._line_number += 1
        try:
            record: dict[str, Any] = json.loads(line)
            key = tuple(record["key"])
            spans = tuple(Span(start, end, entity_type, score)
                          for start, end, entity_type, score in record["spans"])
            clipped = frozenset(record.get("clipped", []))
            if not all(isinstance(index, int) and 0 <= index < len(spans) for index in clipped):
                raise ValueError("a clipped span index is out of range")
            return _position(key), Detection(spans, tuple(record["failed"]), clipped)
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{self.path}:{self._line_number}: invalid detection line ({error}); "
                             f"run the protect stage again") from error

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> DetectionReader:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def _position(key: tuple[Any, ...]) -> tuple[int, int, int]:
    """Return the rank of ``key`` in scan order."""
    if len(key) != 3 or key[0] not in _KINDS or not isinstance(key[1], int) or key[2] not in _FIELDS:
        raise ValueError(f"invalid text key {key!r}; expected (kind, row index, field) with kind in "
                         f"{', '.join(_KINDS)} and field in {', '.join(_FIELDS)}")
    return _KINDS.index(key[0]), key[1], _FIELDS.index(key[2])


def _next_position(key: TextKey, last: tuple[int, int, int] | None, action: str) -> tuple[int, int, int]:
    position = _position(key)
    if last is not None and position <= last:
        raise ValueError(f"text key {key!r} {action} out of scan order; the detection pass and the "
                         f"write pass must visit chunks, then tickets, each in table order")
    return position
