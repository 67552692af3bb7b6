"""Detection windows: each chunk's text with the text around it in its document.

Ingest cuts documents into chunks, and a chunk boundary can fall inside a
value: between a label and its value (``口座番号`` | ``７６５４３２１``), between
a given name and a surname, or inside a token. Detecting each chunk alone
would see such a value in pieces and miss it. So the protect stage detects on
a window: the end of the previous chunk, the chunk's ``joint``, the chunk text,
the next chunk's joint and the start of the next chunk. It keeps the spans
that overlap the chunk text, clipped to it (``clip_spans``).

``chunk_windows`` streams the chunks in table order. It keeps the text of the
current document before the chunk (at most ``MAX_CONTEXT_CHARS``) and reads
ahead only the rows that the context after the chunk needs, so memory stays
bounded however long a document is. Two rows are neighbours when they are
adjacent in the table, have the same ``doc_id`` and consecutive ``index``
values, unless the second starts with the table header rows that ingest
repeats in every piece of a split table. Detection would read such a repeated
header as a data row under its own column, and ingest cuts tables only between
rows, so no value crosses that boundary.

Ingest writes each document's chunks together and in ``index`` order. In a
table written otherwise, a chunk whose neighbour rows are elsewhere is
detected with less or no context.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from shochu.protect.placeholders import Span

# Characters of context on each side of a chunk. By estimate, a label and its
# value, a title and a full name, or an address take a few dozen characters, and
# context cues sit within a line or two, so 256 keeps them visible.
CONTEXT_CHARS = 256
# Maximum length of a token run (printable ASCII without whitespace) that the window takes
# whole, with ``CONTEXT_CHARS`` beyond it, when the run crosses the chunk boundary
# (a token that ingest cut at token boundaries). So a bearer header with a JSON
# Web Token of a few kilobytes is detected whole. A longer run, such as a base64
# data URI, gets ``CONTEXT_CHARS`` only, because taking it whole would multiply
# detection work for every chunk it spans.
# NOTE: a secret longer than this that a boundary cuts is found only where one
# window contains enough of it for a recognizer to match.
MAX_RUN_CHARS = 8192
# Maximum context on each side of a chunk, and the document text kept before it.
MAX_CONTEXT_CHARS = MAX_RUN_CHARS + CONTEXT_CHARS
# Joint of a chunk from an ingest output older than the ``joint`` column: a
# line break, which keeps the two texts apart without merging their words.
DEFAULT_JOINT = "\n"

# A run of printable ASCII without whitespace: the characters of tokens, keys
# and encoded data. Japanese and Thai prose has no spaces, so a run of any
# non-space characters would take whole paragraphs of it into every window.
_TOKEN_RUN = re.compile(r"[!-~]*")
# A Markdown table's header row and separator row at the start of a text.
_TABLE_HEADER = re.compile(r"\A(\|[^\n]*\n\|[\s|:-]+\|)(?:\n|\Z)")


@dataclass(frozen=True)
class ChunkWindow:
    """A chunk record and the text in which its entities are detected."""

    chunk: dict[str, Any]
    text: str  # context before, the chunk text, context after
    start: int  # offset of the chunk text in ``text``

    @property
    def end(self) -> int:
        return self.start + len(self.chunk.get("text") or "")


def chunk_joint(chunk: dict[str, Any]) -> str:
    """Return the text between the previous chunk of the document and this one."""
    joint = chunk.get("joint")
    return DEFAULT_JOINT if joint is None else joint


def chunk_windows(chunks: Iterable[dict[str, Any]]) -> Iterator[ChunkWindow]:
    """Yield every chunk, in table order, with its detection window."""
    rows = iter(chunks)
    queued: deque[dict[str, Any]] = deque()
    previous: dict[str, Any] | None = None
    before = ""  # document text before the current chunk, at most MAX_CONTEXT_CHARS
    while True:
        if not queued:
            row = next(rows, None)
            if row is None:
                return
            queued.append(row)
        chunk = queued.popleft()
        text = chunk.get("text") or ""

        if previous is not None and _neighbours(previous, chunk):
            before = (before + chunk_joint(chunk))[-MAX_CONTEXT_CHARS:]
        else:
            before = ""
        after = _text_after(chunk, queued, rows)
        left = before[len(before) - _context_length(before, text, at_end=True):]
        right = after[:_context_length(after, text, at_end=False)]
        yield ChunkWindow(chunk, left + text + right, len(left))

        before = (before + text)[-MAX_CONTEXT_CHARS:]
        previous = chunk


def clip_spans(spans: Iterable[Span], window: ChunkWindow) -> tuple[list[Span], frozenset[int]]:
    """Return the spans that overlap the chunk text, in chunk offsets, and the indices of those clipped.

    A clipped span holds only the piece of a value that lies in this chunk.
    """
    clipped_spans: list[Span] = []
    clipped: set[int] = set()
    for span in spans:
        start, end = max(span.start, window.start), min(span.end, window.end)
        if start >= end:
            continue
        if span.start < window.start or span.end > window.end:
            clipped.add(len(clipped_spans))
        clipped_spans.append(Span(start - window.start, end - window.start, span.entity_type, span.score))
    return clipped_spans, frozenset(clipped)


def _neighbours(first: dict[str, Any], second: dict[str, Any]) -> bool:
    """Return True when ``second`` follows ``first`` in its document and does not repeat a table header."""
    if first.get("doc_id") != second.get("doc_id"):
        return False
    first_index, second_index = first.get("index"), second.get("index")
    if not isinstance(first_index, int) or not isinstance(second_index, int):
        return False
    if second_index != first_index + 1:
        return False
    header = _TABLE_HEADER.match(second.get("text") or "")
    return header is None or header.group(1) not in (first.get("text") or "")


def _text_after(chunk: dict[str, Any], queued: deque[dict[str, Any]], rows: Iterator[dict[str, Any]]) -> str:
    """Return up to MAX_CONTEXT_CHARS of document text after ``chunk``, reading ahead rows as needed."""
    pieces: list[str] = []
    length = 0
    last = chunk
    position = 0
    while length < MAX_CONTEXT_CHARS:
        if position == len(queued):
            row = next(rows, None)
            if row is None:
                break
            queued.append(row)
        following = queued[position]
        if not _neighbours(last, following):
            break
        for piece in (chunk_joint(following), following.get("text") or ""):
            pieces.append(piece)
            length += len(piece)
        last = following
        position += 1
    return "".join(pieces)[:MAX_CONTEXT_CHARS]


def _context_length(context: str, text: str, at_end: bool) -> int:
    """Return how many characters of ``context`` the window takes, next to ``text``.

    ``CONTEXT_CHARS``, or more when a token run (``_TOKEN_RUN``) of at most
    ``MAX_RUN_CHARS`` crosses the boundary: then the whole run and
    ``CONTEXT_CHARS`` beyond it. ``context`` contains up to ``MAX_CONTEXT_CHARS``,
    so such a run ends inside it.
    """
    edge = text[:1] if at_end else text[-1:]
    length = CONTEXT_CHARS
    if edge and _TOKEN_RUN.fullmatch(edge):
        # The run before the chunk is matched on the reversed context: a search
        # for a run at the end would retry from every position, in quadratic time.
        run_length = len(_TOKEN_RUN.match(context[::-1] if at_end else context).group())
        if run_length <= MAX_RUN_CHARS:
            length += run_length
    return min(length, len(context))
