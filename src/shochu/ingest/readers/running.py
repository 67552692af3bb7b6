"""Running headers and footers: lines repeated at the edges of most pages or slides."""

from __future__ import annotations

import math
import re
from collections import Counter

# Lines among the first and last few of a page that may be a running header or
# footer. The text order of a PDF page follows its content stream, which usually
# draws headers first and footers last.
_EDGE_LINES = 3
# A line counts as running when it appears at the edge of more than this share
# of the pages (and on at least two of them).
_RUNNING_SHARE = 0.5
_DIGIT_RUNS = re.compile(r"\d+")
# Words that change from page to page in a printed date: English month and weekday
# names, full or abbreviated, and a Japanese weekday in brackets ("6月3日（月）").
_DATE_WORDS = re.compile(r"\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
                         r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|mon(?:day)?"
                         r"|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?"
                         r"|sat(?:urday)?|sun(?:day)?)\b\.?", re.IGNORECASE)
_JAPANESE_WEEKDAY = re.compile(r"[（(][月火水木金土日][)）]")
_WHITESPACE_RUNS = re.compile(r"\s+")


def line_key(line: str) -> str:
    """Return the key under which a line counts as repeated.

    Digits, spacing, and month and weekday names do not matter, so page numbers
    and dates such as "Monday, 3 June 2024" do not make a footer unique.
    """
    key = _JAPANESE_WEEKDAY.sub("(D)", _DATE_WORDS.sub("D", _DIGIT_RUNS.sub("0", line)))
    return _WHITESPACE_RUNS.sub(" ", key).strip()


def _edge_indexes(count: int) -> set[int]:
    """Return the indexes of the first and last ``_EDGE_LINES`` lines of a page with ``count`` lines."""
    return set(range(min(_EDGE_LINES, count))) | set(range(max(0, count - _EDGE_LINES), count))


def running_lines(pages: list[list[str]]) -> set[str]:
    """Return the keys of lines that repeat at the top or bottom of most pages.

    Digits are ignored, so "Page 3 of 7" and "Page 4 of 7" count as one line.
    """
    counts: Counter[str] = Counter()
    for lines in pages:
        counts.update({line_key(lines[index]) for index in _edge_indexes(len(lines))})
    needed = max(2, math.floor(len(pages) * _RUNNING_SHARE) + 1)
    return {key for key, count in counts.items() if key and count >= needed}


def drop_running_lines(lines: list[str], running: set[str]) -> list[str]:
    """Drop running lines from the edges of a page; the same text mid-page stays."""
    edge = _edge_indexes(len(lines))
    return [line for index, line in enumerate(lines) if index not in edge or line_key(line) not in running]
