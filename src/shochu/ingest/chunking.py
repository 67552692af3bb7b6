"""Structure-aware chunking of normalised document text.

Text is split into blocks (headings, paragraphs, Markdown tables, fenced code),
blocks are packed into chunks of up to ``chunk_chars`` characters without
crossing a heading, and chunks shorter than ``min_chunk_chars`` are merged into
a neighbour. A block longer than ``chunk_chars`` is split at sentence ends, then
at line breaks, then between words; a table is split only between rows.

Because short chunks are always merged, a chunk can exceed ``chunk_chars`` by
the size of the short chunk merged into it, and a single table row longer than
``chunk_chars`` stays whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_TABLE_SEPARATOR = re.compile(r"^\|[\s|:-]+\|$")
_PARAGRAPH_BREAK = "\n\n"

# Cut points for an over-long block, tried in order: sentence ends, then line
# breaks, then any whitespace. A sentence ends at Latin punctuation followed by
# whitespace, at Japanese or full-width punctuation, or at a space between two
# Thai or Lao characters, because those scripts end sentences with a space.
_SENTENCE_END = re.compile(
    r"[.!?]+[\"'”’)\]]*\s+"
    r"|[。！？．]+[」』）”’]*\s*"
    r"|(?<=[\u0E00-\u0EFF]) +(?=[\u0E00-\u0EFF])"
)
_LINE_END = re.compile(r"\n+")
_WHITESPACE = re.compile(r"\s+")
_CUT_POINTS = (_SENTENCE_END, _LINE_END, _WHITESPACE)


@dataclass
class Block:
    kind: str  # "heading", "paragraph", "table" or "code"
    text: str
    heading: str | None  # nearest heading at or above this block


@dataclass
class Chunk:
    text: str
    heading: str | None
    headings_only: bool = False


def chunk_text(text: str, markdown: bool, chunk_chars: int, min_chunk_chars: int) -> list[Chunk]:
    """Split a document's text into chunks; ``markdown`` enables headings, tables and fences."""
    blocks = split_blocks(text, markdown)
    chunks = _pack(blocks, chunk_chars)
    return _merge_short(chunks, min_chunk_chars)


# --- blocks ---------------------------------------------------------------


def split_blocks(text: str, markdown: bool) -> list[Block]:
    """Split text at blank lines; with ``markdown``, also at headings, tables and code fences."""
    blocks: list[Block] = []
    lines: list[str] = []
    kind = "paragraph"
    heading: str | None = None
    in_fence = False

    def flush() -> None:
        if lines:
            blocks.append(Block(kind, "\n".join(lines), heading))
            lines.clear()

    for line in text.split("\n"):
        if in_fence:
            lines.append(line)
            if _FENCE.match(line):
                in_fence = False
                flush()
            continue

        line_kind = _line_kind(line, markdown)
        if line_kind == "blank" or line_kind != kind or line_kind == "heading":
            flush()
        if line_kind == "blank":
            continue
        kind = line_kind
        if kind == "heading":
            heading = _HEADING.match(line).group(2)
        if kind == "code":
            in_fence = True
        lines.append(line)
    flush()
    return blocks


def _line_kind(line: str, markdown: bool) -> str:
    if not line.strip():
        return "blank"
    if not markdown:
        return "paragraph"
    if _FENCE.match(line):
        return "code"
    if _HEADING.match(line):
        return "heading"
    if line.lstrip().startswith("|"):
        return "table"
    return "paragraph"


# --- splitting over-long blocks --------------------------------------------


def split_block(block: Block, limit: int) -> list[str]:
    """Return the block's text in pieces of at most ``limit`` characters where possible."""
    if len(block.text) <= limit:
        return [block.text]
    if block.kind == "table":
        return _split_table(block.text, limit)
    return split_to_fit(block.text, limit)


def _split_table(text: str, limit: int) -> list[str]:
    """Split a Markdown table between rows, repeating its header row in every piece."""
    rows = text.split("\n")
    header: list[str] = []
    if len(rows) > 2 and _TABLE_SEPARATOR.match(rows[1].strip()):
        header, rows = rows[:2], rows[2:]
    header_size = sum(len(row) + 1 for row in header)

    pieces: list[list[str]] = []
    size = 0
    for row in rows:
        if pieces and size + len(row) + 1 <= limit:
            pieces[-1].append(row)
            size += len(row) + 1
        else:
            pieces.append([*header, row])
            size = header_size + len(row) + 1
    return ["\n".join(piece) for piece in pieces]


def split_to_fit(text: str, limit: int) -> list[str]:
    """Split text into pieces of at most ``limit`` characters at the best cut points available."""
    return [piece.strip() for piece in _fit_segments(text, limit) if piece.strip()]


def _fit_segments(text: str, limit: int) -> list[str]:
    """Return pieces of at most ``limit`` characters that concatenate back to ``text``."""
    if len(text) <= limit:
        return [text]
    for pattern in _CUT_POINTS:
        segments = _cut_after(text, pattern)
        if len(segments) > 1:
            fitted = [piece for segment in segments for piece in _fit_segments(segment, limit)]
            return _pack_strings(fitted, limit)
    return [text[start:start + limit] for start in range(0, len(text), limit)]


def _cut_after(text: str, pattern: re.Pattern[str]) -> list[str]:
    """Cut text after every match of ``pattern``; the segments concatenate back to ``text``."""
    ends = [match.end() for match in pattern.finditer(text) if 0 < match.end() < len(text)]
    starts = [0, *ends]
    return [text[start:end] for start, end in zip(starts, [*ends, len(text)]) if start < end]


def _pack_strings(segments: list[str], limit: int) -> list[str]:
    """Concatenate consecutive segments into pieces of similar size, none above ``limit``.

    Each piece aims at the total size divided by the number of pieces needed, so
    the last piece is not left as a short remainder.
    """
    total = sum(len(segment) for segment in segments)
    target = total / max(1, -(-total // limit))
    pieces: list[str] = []
    current = ""
    for segment in segments:
        if current and (len(current) + len(segment) > limit or len(current) >= target):
            pieces.append(current)
            current = ""
        current += segment
    pieces.append(current)
    return pieces


# --- packing and merging -----------------------------------------------------


def _pack(blocks: list[Block], limit: int) -> list[Chunk]:
    """Pack consecutive blocks into chunks of at most ``limit`` characters; a heading starts a chunk."""
    chunks: list[Chunk] = []
    parts: list[str] = []
    size = 0
    heading: str | None = None
    headings_only = True

    for block in blocks:
        if block.kind == "heading" and parts and not headings_only:
            chunks.append(Chunk(_PARAGRAPH_BREAK.join(parts), heading))
            parts, size, headings_only = [], 0, True
        # Pieces that follow a heading leave room for it, so the heading is not left alone.
        room = limit - size - len(_PARAGRAPH_BREAK) if parts and headings_only else limit
        for piece in split_block(block, room if room >= limit // 2 else limit):
            added = len(piece) + (len(_PARAGRAPH_BREAK) if parts else 0)
            if parts and size + added > limit:
                chunks.append(Chunk(_PARAGRAPH_BREAK.join(parts), heading, headings_only))
                parts, size, headings_only = [], 0, True
                added = len(piece)
            parts.append(piece)
            size += added
            heading = block.heading
            headings_only = headings_only and block.kind == "heading"

    if parts:
        chunks.append(Chunk(_PARAGRAPH_BREAK.join(parts), heading, headings_only))
    return chunks


def _merge_short(chunks: list[Chunk], min_chars: int) -> list[Chunk]:
    """Merge every chunk shorter than ``min_chars`` into a neighbour, unless it is the only chunk."""
    chunks = list(chunks)
    index = 0
    while index < len(chunks) and len(chunks) > 1:
        if len(chunks[index].text) >= min_chars:
            index += 1
            continue
        other = _merge_target(chunks, index)
        first, second = sorted((index, other))
        chunks[first:second + 1] = [_joined(chunks[first], chunks[second])]
        index = first
    return chunks


def _merge_target(chunks: list[Chunk], index: int) -> int:
    """Pick the neighbour a short chunk joins.

    A chunk of headings only joins the text that follows it. The tail of a
    section joins the chunk before it in the same section. Otherwise the
    smaller neighbour is chosen, which keeps merged chunks close to the limit.
    """
    if index == 0:
        return 1
    if index == len(chunks) - 1:
        return index - 1
    chunk, previous, following = chunks[index], chunks[index - 1], chunks[index + 1]
    if chunk.headings_only:
        return index + 1
    if previous.heading == chunk.heading:
        return index - 1
    if following.heading == chunk.heading:
        return index + 1
    return index - 1 if len(previous.text) <= len(following.text) else index + 1


def _joined(first: Chunk, second: Chunk) -> Chunk:
    """Join two adjacent chunks under the heading of the longer one, which contains most of the text."""
    heading = first.heading if len(first.text) >= len(second.text) else second.heading
    return Chunk(first.text + _PARAGRAPH_BREAK + second.text, heading,
                 first.headings_only and second.headings_only)
