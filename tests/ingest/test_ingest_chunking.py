"""Chunking within a token budget, counted with a byte-level BPE tokenizer trained in the test."""

from __future__ import annotations

import re
import unicodedata

import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from shochu.ingest.chunking import chunk_text, split_blocks, split_to_fit
from shochu.ingest.tokens import TokenCounter

SENTENCE = "The operator checks the pressure gauge before every shift. "
TABLE_ROWS = [f"| part-{number:03d} | {number} |" for number in range(80)]
TABLE = "| Part | Stock |\n| --- | --- |\n" + "\n".join(TABLE_ROWS)
JAPANESE_SENTENCE = "安全靴は工場内で必ず着用してください。"
THAI_SENTENCE = "พนักงานต้องสวมรองเท้านิรภัยในโรงงาน"
_HEADING_LINE = re.compile(r"^#{1,6} ")


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    """A byte-level BPE tokenizer: Japanese and Thai characters take several tokens each, as in SmolLM2."""
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator([SENTENCE, JAPANESE_SENTENCE, THAI_SENTENCE, *TABLE_ROWS] * 4, trainer=trainer)
    return TokenCounter(bpe, fingerprint="test", name="test BPE")


def mixed_document() -> str:
    return "\n\n".join([
        "# Safety manual",
        "## Shoes",
        SENTENCE * 30,
        JAPANESE_SENTENCE * 25,
        "## Thai site",
        " ".join([THAI_SENTENCE] * 40),
        "## Stock",
        TABLE,
        "## Serial numbers",
        "A" * 900,
    ])


@pytest.mark.parametrize("budget", [48, 100, 256])
def test_chunks_within_token_budget(counter: TokenCounter, budget: int) -> None:
    chunks = chunk_text(mixed_document(), markdown=True, counter=counter, chunk_tokens=budget, min_chunk_tokens=16)
    counts = counter.count([chunk.text for chunk in chunks])
    assert len(chunks) > 3
    assert max(counts) <= budget
    assert [chunk.tokens for chunk in chunks] == counts


def test_headings_never_crossed(counter: TokenCounter) -> None:
    chunks = chunk_text(mixed_document(), markdown=True, counter=counter, chunk_tokens=100, min_chunk_tokens=60)
    for chunk in chunks:
        lines = [line for line in chunk.text.split("\n") if line.strip()]
        body = lines[next((index for index, line in enumerate(lines) if not _HEADING_LINE.match(line)), len(lines)):]
        assert not any(_HEADING_LINE.match(line) for line in body), chunk.text[:80]


def test_chunk_heading_is_its_section(counter: TokenCounter) -> None:
    chunks = chunk_text(mixed_document(), markdown=True, counter=counter, chunk_tokens=100, min_chunk_tokens=16)
    headings = {chunk.heading for chunk in chunks}
    assert headings == {"Shoes", "Thai site", "Stock", "Serial numbers"}
    assert all(THAI_SENTENCE not in chunk.text for chunk in chunks if chunk.heading != "Thai site")


def test_chunks_keep_all_sentences(counter: TokenCounter) -> None:
    text = SENTENCE * 40
    chunks = chunk_text(text, markdown=False, counter=counter, chunk_tokens=60, min_chunk_tokens=10)
    assert len(chunks) > 1
    assert " ".join(chunk.text for chunk in chunks) == text.strip()
    assert all(chunk.text.endswith(".") for chunk in chunks)


def test_japanese_split_at_sentence_end(counter: TokenCounter) -> None:
    text = JAPANESE_SENTENCE * 30
    pieces = split_to_fit(text, 120, counter)
    assert len(pieces) > 1
    assert all(piece.endswith("。") for piece, _ in pieces)
    assert "".join(piece for piece, _ in pieces) == text
    assert all(size <= 120 for _, size in pieces)


def test_thai_split_at_spaces(counter: TokenCounter) -> None:
    text = " ".join([THAI_SENTENCE] * 20)
    pieces = split_to_fit(text, 100, counter)
    assert len(pieces) > 1
    assert all(size <= 100 for _, size in pieces)
    assert " ".join(piece for piece, _ in pieces) == text


def test_long_sentence_cut_at_tokens(counter: TokenCounter) -> None:
    text = "x" * 250 + "。"
    pieces = split_to_fit(text, 40, counter)
    assert len(pieces) > 1
    assert "".join(piece for piece, _ in pieces) == text
    assert all(counter.count([piece])[0] == size <= 40 for piece, size in pieces)


def test_thai_marks_stay_with_letter(counter: TokenCounter) -> None:
    # Without spaces, so the only cut points are token boundaries; Thai vowels and tone marks are combining marks.
    text = THAI_SENTENCE * 12
    pieces = split_to_fit(text, 33, counter)
    assert len(pieces) > 2
    assert "".join(piece for piece, _ in pieces) == text
    assert not any(unicodedata.category(piece[0]).startswith("M") for piece, _ in pieces)


def test_table_rows_never_split(counter: TokenCounter) -> None:
    rows = set(TABLE.split("\n"))
    chunks = chunk_text(TABLE, markdown=True, counter=counter, chunk_tokens=120, min_chunk_tokens=20)
    assert len(chunks) > 1
    assert all(line in rows for chunk in chunks for line in chunk.text.split("\n"))


def test_table_header_repeated(counter: TokenCounter) -> None:
    chunks = chunk_text(TABLE, markdown=True, counter=counter, chunk_tokens=120, min_chunk_tokens=20)
    assert all(chunk.text.startswith("| Part | Stock |\n| --- | --- |\n") for chunk in chunks)


def test_heading_remembered(counter: TokenCounter) -> None:
    text = "# Manual\n\n## Cleaning\n\n" + SENTENCE * 12 + "\n\n## Storage\n\n" + SENTENCE * 8
    chunks = chunk_text(text, markdown=True, counter=counter, chunk_tokens=160, min_chunk_tokens=10)
    headings = [chunk.heading for chunk in chunks]
    assert headings == sorted(headings)  # every "Cleaning" chunk, then every "Storage" chunk
    assert headings.count("Cleaning") >= 2
    assert headings.count("Storage") >= 2
    assert chunks[0].text.startswith("# Manual\n\n## Cleaning\n\n")


def test_heading_starts_new_chunk(counter: TokenCounter) -> None:
    text = "## Cleaning\n\n" + SENTENCE * 3 + "\n\n## Storage\n\n" + SENTENCE * 3
    chunks = chunk_text(text, markdown=True, counter=counter, chunk_tokens=500, min_chunk_tokens=10)
    assert [chunk.text.split("\n")[0] for chunk in chunks] == ["## Cleaning", "## Storage"]


def test_section_tail_joins_section(counter: TokenCounter) -> None:
    text = "## Cleaning\n\n" + SENTENCE * 4 + "\n\nKeep dry.\n\n## Storage\n\n" + SENTENCE * 4
    chunks = chunk_text(text, markdown=True, counter=counter, chunk_tokens=60, min_chunk_tokens=20)
    tail = next(chunk for chunk in chunks if "Keep dry." in chunk.text)
    assert tail.heading == "Cleaning"
    assert tail.text.endswith(SENTENCE.strip() + "\n\nKeep dry.")
    assert tail.tokens >= 20


def test_short_section_stays_own_chunk(counter: TokenCounter) -> None:
    text = "## Cleaning\n\n" + SENTENCE * 2 + "\n\n## Note\n\nKeep dry.\n\n## Storage\n\n" + SENTENCE * 2
    chunks = chunk_text(text, markdown=True, counter=counter, chunk_tokens=200, min_chunk_tokens=50)
    assert [chunk.heading for chunk in chunks] == ["Cleaning", "Note", "Storage"]
    assert chunks[1].text == "## Note\n\nKeep dry."


def test_single_short_document_kept(counter: TokenCounter) -> None:
    chunks = chunk_text("Keep dry.", markdown=False, counter=counter, chunk_tokens=100, min_chunk_tokens=50)
    assert [chunk.text for chunk in chunks] == ["Keep dry."]
    assert chunks[0].tokens == counter.count(["Keep dry."])[0]


def test_empty_text_has_no_chunks(counter: TokenCounter) -> None:
    assert chunk_text("\n\n", markdown=True, counter=counter, chunk_tokens=100, min_chunk_tokens=10) == []


def test_shell_prompt_not_heading_in_plain_text(counter: TokenCounter) -> None:
    chunks = chunk_text("# apt-get install pump\n\nThen start it.", markdown=False, counter=counter,
                        chunk_tokens=100, min_chunk_tokens=1)
    assert chunks[0].heading is None


def test_code_fence_comment_not_heading() -> None:
    blocks = split_blocks("## Install\n\n```\n# apt-get install pump\n\n# pumpctl start\n```", markdown=True)
    assert [block.kind for block in blocks] == ["heading", "code"]
    assert blocks[1].heading == "Install"
