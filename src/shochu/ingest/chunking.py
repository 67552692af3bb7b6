"""Structure-aware chunking of normalised document text within a token budget.

Text is split into blocks (headings, paragraphs, Markdown tables, fenced code),
and blocks are packed into chunks of at most ``chunk_tokens`` tokens, counted
with the teacher's tokenizer (``shochu.ingest.tokens.TokenCounter``), without
crossing a heading. A chunk under ``min_chunk_tokens`` joins a neighbouring
chunk of its own section when the joined chunk stays within the budget, and a
chunk of headings only joins the text that follows it. So a short section stays
a short chunk of its own.

A block over the budget is split at sentence ends, then at line breaks, then
between words, and a single sentence still over the budget is cut at token
boundaries, never inside a character or between a letter and its combining
marks. A table is split between rows, repeating its header rows in every piece.

While packing, a chunk's size is the sum of its parts' token counts. Every
finished chunk is then counted again as a whole and split further if that count
is over the budget. So no chunk exceeds ``chunk_tokens`` by the tokenizer's own
count, except a run of combining marks longer than the budget, which has no
cut point.

Inside a chunk, blocks are separated by a blank line (``"\n\n"``) whatever
separated them in the document, and the pieces of one split block keep the text
that stood between them: ``""`` after a cut inside a word or token, the
whitespace after a cut between words, sentences or lines. Each chunk's
``joint`` is the document text between the previous chunk's end and its own
start, so a later stage can see a value that a chunk boundary cuts (the protect
stage detects across boundaries). Chunk texts joined with their joints give
back the document text, except that blocks inside one chunk are separated by
``"\n\n"``, whitespace that a cut strips at the start or end of a block is
lost, and repeated table header rows are added.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

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
    section: int = 0  # number of headings at or above this block; 0 before the first heading
    joint: str = ""  # document text between the previous block and this one; "" for the first block


@dataclass
class Chunk:
    text: str
    heading: str | None
    headings_only: bool = False
    section: int = 0
    tokens: int = 0  # the tokenizer's count of ``text`` once ``chunk_text`` returns; an estimate before
    counted: bool = False  # True when ``tokens`` is already the tokenizer's count of ``text``
    joint: str = ""  # document text between the previous chunk's end and this chunk's start
    starts_block: bool = True  # False when the chunk starts with a piece of a block that a cut split


class TokenCounter(Protocol):
    """Interface of the token counter that chunking uses, implemented by ``shochu.ingest.tokens``."""

    separator_tokens: int  # tokens of the paragraph break that joins the parts of a chunk

    def count(self, texts: Sequence[str]) -> list[int]: ...

    def token_ends(self, text: str) -> list[int]: ...


def chunk_text(text: str, markdown: bool, counter: TokenCounter, chunk_tokens: int,
               min_chunk_tokens: int) -> list[Chunk]:
    """Split a document's text into chunks of at most ``chunk_tokens`` tokens.

    ``markdown`` enables headings, tables and code fences. Each returned chunk's
    ``tokens`` is the tokenizer's count of its text.
    """
    blocks = split_blocks(text, markdown)
    sizes = counter.count([block.text for block in blocks])
    chunks = _pack(blocks, sizes, chunk_tokens, counter)
    chunks = _merge_short(chunks, min_chunk_tokens, chunk_tokens, counter.separator_tokens)
    return _fit_counted(chunks, chunk_tokens, counter)


# --- blocks ---------------------------------------------------------------


def split_blocks(text: str, markdown: bool) -> list[Block]:
    """Split text at blank lines; with ``markdown``, also at headings, tables and code fences."""
    blocks: list[Block] = []
    all_lines = text.split("\n")
    lines: list[str] = []
    first_line = 0  # line number of lines[0]
    previous_last_line: int | None = None  # line number of the last line of the previous block
    kind = "paragraph"
    heading: str | None = None
    section = 0
    in_fence = False

    def flush() -> None:
        nonlocal previous_last_line
        if not lines:
            return
        joint = ""
        if previous_last_line is not None:
            # The line break after the previous block, then each blank line with its own line break.
            joint = "\n" + "".join(blank + "\n" for blank in all_lines[previous_last_line + 1:first_line])
        blocks.append(Block(kind, "\n".join(lines), heading, section, joint))
        previous_last_line = first_line + len(lines) - 1
        lines.clear()

    for number, line in enumerate(all_lines):
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
            section += 1
        if kind == "code":
            in_fence = True
        if not lines:
            first_line = number
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

# A piece of text and its token count.
Piece = tuple[str, int]
# A piece of a block, its token count, and the block text before it: leading
# whitespace for the first piece, then what a cut stripped ("" inside a word or token).
JoinedPiece = tuple[str, int, str]


def split_block(block: Block, size: int, limit: int, counter: TokenCounter) -> list[JoinedPiece]:
    """Return the block's text in pieces of at most ``limit`` tokens, each with its exact count and joint.

    ``size`` is the tokenizer's count of the whole block. Table pieces can count
    over ``limit``, because rows are packed by the sum of their counts.
    """
    if size <= limit:
        return [(block.text, size, "")]
    if block.kind == "table":
        return _split_table(block.text, limit, counter)
    pieces = split_to_fit(block.text, limit, counter)
    joints = piece_joints(block.text, pieces)
    return [(piece, piece_size, joint) for (piece, piece_size), joint in zip(pieces, joints)]


def piece_joints(text: str, pieces: Sequence[Piece]) -> list[str]:
    """Return the text before each piece: leading whitespace for the first, then what each cut stripped.

    ``pieces`` must be substrings of ``text`` in order, with only whitespace
    between them, as ``split_to_fit`` returns them.
    """
    joints: list[str] = []
    position = 0
    for piece, _ in pieces:
        found = text.find(piece, position)
        if found < 0:
            raise ValueError(f"a piece of {len(piece)} characters is not in the split text after "
                             f"offset {position}")
        joints.append(text[position:found])
        position = found + len(piece)
    return joints


def _split_table(text: str, limit: int, counter: TokenCounter) -> list[JoinedPiece]:
    """Split a Markdown table between rows, repeating its header rows in every piece.

    A row that does not fit beside the header rows is split as text, without
    them. The joint of a piece that starts a row is the line break between rows,
    although the piece starts with the repeated header rows.
    """
    rows = text.split("\n")
    header: list[str] = []
    if len(rows) > 2 and _TABLE_SEPARATOR.match(rows[1].strip()):
        header, rows = rows[:2], rows[2:]
    header_size = counter.count(["\n".join(header)])[0] + len(header) if header else 0
    row_sizes = counter.count(rows)

    pieces: list[Piece] = []
    joints: list[str] = []
    current: list[str] = []
    size = 0
    for row, row_size in zip(rows, row_sizes):
        # Each row costs its tokens plus one for the line break before it.
        if current and size + row_size + 1 <= limit:
            current.append(row)
            size += row_size + 1
            continue
        if current:
            pieces.append(("\n".join(current), size))
            joints.append("\n")
        if header_size + row_size + 1 <= limit:
            current, size = [*header, row], header_size + row_size + 1
        else:
            row_pieces = split_to_fit(row, limit, counter)
            row_joints = piece_joints(row, row_pieces)
            pieces.extend(row_pieces)
            joints.extend(["\n" + row_joints[0], *row_joints[1:]])
            current, size = [], 0
    if current:
        pieces.append(("\n".join(current), size))
        joints.append("\n")
    texts = [piece for piece, _ in pieces]
    if joints:
        joints[0] = ""
    return list(zip(texts, counter.count(texts), joints))


def split_to_fit(text: str, limit: int, counter: TokenCounter) -> list[Piece]:
    """Split text into stripped pieces of at most ``limit`` tokens at the best cut points available.

    The returned counts are the tokenizer's counts of the stripped pieces.
    """
    segments = _fit_segments(text, counter.count([text])[0], limit, counter, level=0)
    pieces = [piece.strip() for piece, _ in _pack_strings(segments, limit)]
    pieces = [piece for piece in pieces if piece]
    fitted: list[Piece] = []
    for piece, size in zip(pieces, counter.count(pieces)):
        if size <= limit:
            fitted.append((piece, size))
        else:
            # Joined segments can count a few tokens more than their sum; cut such a piece again.
            fitted.extend(_cut_tokens(piece, size, limit, counter, step=limit - (size - limit)))
    return fitted


def _fit_segments(text: str, size: int, limit: int, counter: TokenCounter, level: int) -> list[Piece]:
    """Return segments of at most ``limit`` tokens each that concatenate back to ``text``.

    ``level`` is the first cut pattern to try: the segments that one pattern
    made contain no further match of it.
    """
    if size <= limit:
        return [(text, size)]
    for index in range(level, len(_CUT_POINTS)):
        segments = _cut_after(text, _CUT_POINTS[index])
        if len(segments) > 1:
            sizes = counter.count(segments)
            return [fitted for segment, segment_size in zip(segments, sizes)
                    for fitted in _fit_segments(segment, segment_size, limit, counter, index + 1)]
    return _cut_tokens(text, size, limit, counter, step=limit)


def _cut_tokens(text: str, size: int, limit: int, counter: TokenCounter, step: int) -> list[Piece]:
    """Cut text after every ``step`` tokens, and a piece still over ``limit`` again with a smaller step.

    The pieces concatenate back to ``text``. Text with no allowed cut point
    (see ``TokenCounter.token_ends``) stays whole even when it is over ``limit``.
    """
    ends = counter.token_ends(text)
    step = max(1, min(step, len(ends)))
    cuts = ends[step - 1::step]
    if not cuts:
        return [(text, size)]
    bounds = [0, *cuts, len(text)]
    pieces = [text[start:end] for start, end in zip(bounds, bounds[1:]) if start < end]
    result: list[Piece] = []
    for piece, piece_size in zip(pieces, counter.count(pieces)):
        if piece_size <= limit or len(pieces) == 1:
            result.append((piece, piece_size))
        else:
            result.extend(_cut_tokens(piece, piece_size, limit, counter, step - (piece_size - limit)))
    return result


def _cut_after(text: str, pattern: re.Pattern[str]) -> list[str]:
    """Cut text after every match of ``pattern``; the segments concatenate back to ``text``."""
    ends = [match.end() for match in pattern.finditer(text) if 0 < match.end() < len(text)]
    starts = [0, *ends]
    return [text[start:end] for start, end in zip(starts, [*ends, len(text)]) if start < end]


def _pack_strings(segments: list[Piece], limit: int) -> list[Piece]:
    """Concatenate consecutive segments into pieces of similar size, none above ``limit`` tokens by estimate.

    Each piece aims at the total size divided by the number of pieces needed, so
    the last piece is not left as a short remainder.
    """
    total = sum(size for _, size in segments)
    target = total / max(1, -(-total // limit))
    pieces: list[Piece] = []
    current, current_size = "", 0
    for segment, size in segments:
        if current and (current_size + size > limit or current_size >= target):
            pieces.append((current, current_size))
            current, current_size = "", 0
        current += segment
        current_size += size
    pieces.append((current, current_size))
    return pieces


# --- packing and merging -----------------------------------------------------


def _pack(blocks: list[Block], sizes: list[int], limit: int, counter: TokenCounter) -> list[Chunk]:
    """Pack consecutive blocks into chunks of at most ``limit`` tokens by estimate; headings start chunks."""
    separator = counter.separator_tokens
    chunks: list[Chunk] = []
    parts: list[str] = []
    size = 0
    heading: str | None = None
    section = 0
    headings_only = True
    joint = ""  # document text before the chunk being packed
    starts_block = True

    def flush() -> None:
        # A chunk of one piece already has the piece's exact count.
        chunks.append(Chunk("".join(parts), heading, headings_only, section, size, counted=len(parts) == 1,
                            joint=joint, starts_block=starts_block))

    for block, block_size in zip(blocks, sizes):
        if block.kind == "heading" and parts and not headings_only:
            flush()
            parts, size, headings_only = [], 0, True
        # Pieces that follow a heading leave room for it, so the heading is not left alone.
        room = limit - size - separator if parts and headings_only else limit
        piece_limit = room if room >= limit // 2 else limit
        for number, (piece, piece_size, piece_joint) in enumerate(split_block(block, block_size, piece_limit,
                                                                              counter)):
            added = piece_size + (separator if parts else 0)
            if parts and size + added > limit:
                flush()
                parts, size, headings_only = [], 0, True
                added = piece_size
            if not parts:
                joint = block.joint + piece_joint if number == 0 else piece_joint
                starts_block = number == 0
            elif number == 0:
                parts.append(_PARAGRAPH_BREAK)
            else:
                # Pieces of one block keep their own joint: "" after a cut inside a word or token.
                parts.append(piece_joint)
            parts.append(piece)
            size += added
            heading, section = block.heading, block.section
            headings_only = headings_only and block.kind == "heading"

    if parts:
        flush()
    return chunks


def _merge_short(chunks: list[Chunk], min_tokens: int, limit: int, separator: int) -> list[Chunk]:
    """Merge chunks under ``min_tokens`` into a neighbour where the rules of ``_merge_targets`` allow it."""
    chunks = list(chunks)
    index = 0
    while index < len(chunks):
        if chunks[index].tokens >= min_tokens:
            index += 1
            continue
        fitting = [other for other in _merge_targets(chunks, index)
                   if chunks[index].tokens + separator + chunks[other].tokens <= limit]
        if not fitting:
            index += 1
            continue
        first, second = sorted((index, fitting[0]))
        chunks[first:second + 1] = [_joined(chunks[first], chunks[second], separator)]
        index = first
    return chunks


def _merge_targets(chunks: list[Chunk], index: int) -> list[int]:
    """Return the neighbours a short chunk may join, the preferred one first.

    A chunk of headings only joins the text that follows it. Any other chunk
    joins only a neighbour of its own section, the chunk before it first, so
    the tail of a section joins the rest of the section.
    """
    chunk = chunks[index]
    following = index + 1 if index + 1 < len(chunks) else None
    if chunk.headings_only and following is not None:
        return [following]
    targets = [index - 1] if index > 0 else []
    if following is not None:
        targets.append(following)
    return [other for other in targets if chunks[other].section == chunk.section]


def _joined(first: Chunk, second: Chunk, separator: int) -> Chunk:
    """Join two adjacent chunks; the joined chunk belongs to the section of the second."""
    between = _PARAGRAPH_BREAK if second.starts_block else second.joint
    return Chunk(first.text + between + second.text, second.heading,
                 first.headings_only and second.headings_only, second.section,
                 first.tokens + separator + second.tokens, joint=first.joint, starts_block=first.starts_block)


def _fit_counted(chunks: list[Chunk], limit: int, counter: TokenCounter) -> list[Chunk]:
    """Count every chunk as a whole; split one whose count is over ``limit`` until each piece fits."""
    counts = iter(counter.count([chunk.text for chunk in chunks if not chunk.counted]))
    fitted: list[Chunk] = []
    for chunk in chunks:
        size = chunk.tokens if chunk.counted else next(counts)
        fitted.extend(_fit_chunk(chunk, size, limit, counter))
    return fitted


def _fit_chunk(chunk: Chunk, size: int, limit: int, counter: TokenCounter) -> list[Chunk]:
    """Return the chunk with its exact count, or its halves split at the middle paragraph break.

    The second half's joint is that paragraph break. It stands for whatever
    separated two blocks in the document (at least one line break), which the
    chunk text no longer records.
    """
    if size <= limit:
        return [Chunk(chunk.text, chunk.heading, chunk.headings_only, chunk.section, size, counted=True,
                      joint=chunk.joint, starts_block=chunk.starts_block)]
    parts = chunk.text.split(_PARAGRAPH_BREAK)
    if len(parts) == 1:
        pieces = split_to_fit(chunk.text, limit, counter)
        joints = piece_joints(chunk.text, pieces)
        return [Chunk(piece, chunk.heading, False, chunk.section, piece_size, counted=True,
                      joint=chunk.joint + joint if number == 0 else joint,
                      starts_block=chunk.starts_block and number == 0)
                for number, ((piece, piece_size), joint) in enumerate(zip(pieces, joints))]
    middle = len(parts) // 2
    halves = [_PARAGRAPH_BREAK.join(parts[:middle]), _PARAGRAPH_BREAK.join(parts[middle:])]
    joints = [(chunk.joint, chunk.starts_block), (_PARAGRAPH_BREAK, True)]
    fitted: list[Chunk] = []
    for half, half_size, (joint, starts_block) in zip(halves, counter.count(halves), joints):
        fitted.extend(_fit_chunk(Chunk(half, chunk.heading, False, chunk.section, joint=joint,
                                       starts_block=starts_block), half_size, limit, counter))
    return fitted
