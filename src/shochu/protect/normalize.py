"""NFKC-normalised copies of text that map detected spans back to the original.

Detection runs on the NFKC form, so full-width digits, letters and hyphens
(``０９０－１２３４``) match the same patterns as their ASCII forms. Masking edits
the original text, so every character of the normalised copy records the
original offsets of the character group it came from.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# Marks that join the preceding character under NFKC although their combining
# class is 0: the half-width katakana voiced and semi-voiced sound marks.
_JOINING_MARKS = frozenset("\uff9e\uff9f")


@dataclass(frozen=True)
class NormalizedText:
    """An NFKC copy of a text and, per character of the copy, its original span."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Return the original span covering the normalised span ``[start, end)``."""
        if start >= end:
            raise ValueError(f"empty span [{start}, {end})")
        return self.starts[start], self.ends[end - 1]


def _groups(text: str) -> list[tuple[int, int]]:
    """Split text into a base character plus the marks that compose with it."""
    groups: list[tuple[int, int]] = []
    for index, character in enumerate(text):
        joins = unicodedata.combining(character) or character in _JOINING_MARKS
        if joins and groups:
            groups[-1] = (groups[-1][0], index + 1)
        else:
            groups.append((index, index + 1))
    return groups


def normalize(text: str) -> NormalizedText:
    """Return the NFKC form of ``text`` with an offset map back to ``text``.

    Each group (a character and its combining marks) is normalised on its own,
    so a span boundary in the copy always falls on a group boundary in the
    original. A span that starts or ends inside the expansion of one group
    (``㈱`` becomes ``(株)``) maps to the whole group.
    """
    if text.isascii():
        offsets = tuple(range(len(text)))
        return NormalizedText(text, offsets, tuple(i + 1 for i in offsets))

    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for start, end in _groups(text):
        piece = unicodedata.normalize("NFKC", text[start:end])
        pieces.append(piece)
        starts.extend([start] * len(piece))
        ends.extend([end] * len(piece))
    return NormalizedText("".join(pieces), tuple(starts), tuple(ends))
