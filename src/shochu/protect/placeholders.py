"""Replace detected spans with numbered, typed placeholders such as ``[PERSON_1]``.

This is the transformation step. Detection lives in ``recognizers.py``,
``person.py`` and ``analyzer.py``. Within one text (or one group of texts
sharing a ``PlaceholderNumbering``) the same value always gets the same
placeholder, so a reader can still tell that two mentions are one person.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

# Placeholder that replaces a whole text when detection failed on it.
REDACTED_TEXT = "[REDACTED]"

# Entity types whose value is compared on letters and digits only, so that
# "090-1234-5678" and "090 1234 5678" share a placeholder.
_ALPHANUMERIC_KEYED = frozenset({"PHONE_NUMBER", "CREDIT_CARD", "BANK_ACCOUNT", "IBAN_CODE", "JP_MY_NUMBER",
                                 "TH_NATIONAL_ID", "PASSPORT_NUMBER", "POSTAL_CODE"})
_NOT_ALPHANUMERIC = re.compile(r"[\W_]+")
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Span:
    """A detected entity: ``[start, end)`` offsets in the original text."""

    start: int
    end: int
    entity_type: str
    score: float

    @property
    def length(self) -> int:
        return self.end - self.start


def resolve_overlaps(spans: list[Span]) -> list[Span]:
    """Keep non-overlapping spans, preferring the higher score, then the longer span.

    Remaining ties go to the earlier span, then to the entity type first in
    alphabetical order, so the choice does not depend on recognizer order.
    The result is sorted by start offset, so no placeholder can land inside
    another.
    """
    ranked = sorted(spans, key=lambda span: (-span.score, -span.length, span.start, span.entity_type))

    # Chosen spans never overlap, so sorted by start their ends are sorted too,
    # and one binary search finds the only neighbours a new span can touch.
    chosen: list[Span] = []
    starts: list[int] = []
    for span in ranked:
        position = bisect.bisect_left(starts, span.start)
        overlaps_before = position > 0 and chosen[position - 1].end > span.start
        overlaps_after = position < len(chosen) and chosen[position].start < span.end
        if not overlaps_before and not overlaps_after:
            chosen.insert(position, span)
            starts.insert(position, span.start)
    return chosen


def value_key(entity_type: str, value: str) -> str:
    """Return the form of a value that decides whether two mentions share a placeholder."""
    normalized = unicodedata.normalize("NFKC", value).casefold()
    if entity_type in _ALPHANUMERIC_KEYED:
        return _NOT_ALPHANUMERIC.sub("", normalized)
    return _WHITESPACE.sub(" ", normalized).strip()


@dataclass
class PlaceholderNumbering:
    """Numbers per entity type, assigned in order of first appearance."""

    _numbers: dict[tuple[str, str], int] = field(default_factory=dict)
    _next: Counter[str] = field(default_factory=Counter)

    def placeholder(self, entity_type: str, value: str) -> str:
        key = (entity_type, value_key(entity_type, value))
        if key not in self._numbers:
            self._next[entity_type] += 1
            self._numbers[key] = self._next[entity_type]
        return f"[{entity_type}_{self._numbers[key]}]"


def replace_spans(text: str, spans: list[Span],
                  numbering: PlaceholderNumbering) -> tuple[str, dict[str, int]]:
    """Replace sorted, non-overlapping spans and return the new text and the counts per type."""
    pieces: list[str] = []
    counts: Counter[str] = Counter()
    position = 0
    for span in spans:
        if span.start < position:
            raise ValueError(f"overlapping span at {span.start}; call resolve_overlaps first")
        pieces.append(text[position:span.start])
        pieces.append(numbering.placeholder(span.entity_type, text[span.start:span.end]))
        counts[span.entity_type] += 1
        position = span.end
    pieces.append(text[position:])
    return "".join(pieces), dict(counts)
