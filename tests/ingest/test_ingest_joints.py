"""Each chunk's joint: the document text between the previous chunk and this one."""

from __future__ import annotations

from pathlib import Path

import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from shochu.ingest.chunking import Chunk, chunk_text, split_blocks
from shochu.ingest.store import read_chunks, write_tables
from shochu.ingest.tokens import TokenCounter

SENTENCE = "The operator checks the pressure gauge before every shift. "
TOKEN = "ghp_" + "Xq7Lm2Pz9Rt4Vb8Nc3Kd6Hs1Wf5Jg0Ya" * 12
TABLE_ROWS = [f"| part-{number:03d} | {number} |" for number in range(60)]
TABLE = "| Part | Stock |\n| --- | --- |\n" + "\n".join(TABLE_ROWS)


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    """A byte-level BPE tokenizer trained in the test, so that a long token takes many tokens."""
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator([SENTENCE, *TABLE_ROWS] * 4, trainer=trainer)
    return TokenCounter(bpe, fingerprint="test", name="test BPE")


def rejoined(chunks: list[Chunk]) -> str:
    return "".join(chunk.joint + chunk.text for chunk in chunks)


def test_mid_token_cut_rejoins_document(counter: TokenCounter) -> None:
    text = f"Authorization: Bearer {TOKEN}"
    chunks = chunk_text(text, markdown=True, counter=counter, chunk_tokens=48, min_chunk_tokens=4)
    assert len(chunks) > 3
    assert chunks[0].joint == ""
    assert "" in [chunk.joint for chunk in chunks[1:]]
    assert rejoined(chunks) == text.strip()


def test_pieces_of_block_keep_joint(counter: TokenCounter) -> None:
    # The heading leaves less room for the paragraph's first piece, so later pieces of the paragraph
    # are packed two to a chunk. They must be joined by what stood between them, not by a blank line.
    paragraph = SENTENCE * 6 + TOKEN + " " + SENTENCE * 6
    text = "## Access\n\n" + paragraph
    chunks = chunk_text(text, markdown=True, counter=counter, chunk_tokens=64, min_chunk_tokens=4)
    assert len(chunks) > 3
    assert all("\n\n" not in chunk.text for chunk in chunks[1:])
    assert rejoined(chunks) == text.strip()


def test_sentences_joined_by_space(counter: TokenCounter) -> None:
    text = SENTENCE * 30
    chunks = chunk_text(text, markdown=False, counter=counter, chunk_tokens=40, min_chunk_tokens=4)
    assert len(chunks) > 2
    assert {chunk.joint for chunk in chunks[1:]} == {" "}
    assert rejoined(chunks) == text.strip()


def test_block_joint_is_exact_separator(counter: TokenCounter) -> None:
    text = SENTENCE * 4 + "\n\n \n" + SENTENCE * 4
    block_tokens = counter.count([SENTENCE * 4])[0]
    chunks = chunk_text(text, markdown=False, counter=counter, chunk_tokens=block_tokens + 4,
                        min_chunk_tokens=4)
    assert len(chunks) == 2
    assert chunks[1].joint == "\n\n \n"
    assert rejoined(chunks) == text


def test_block_joints_from_split_blocks() -> None:
    blocks = split_blocks("# Title\nFirst line.\n\n\nSecond.", markdown=True)
    assert [block.joint for block in blocks] == ["", "\n", "\n\n\n"]


def test_table_piece_joint_is_line_break(counter: TokenCounter) -> None:
    chunks = chunk_text(TABLE, markdown=True, counter=counter, chunk_tokens=80, min_chunk_tokens=4)
    assert len(chunks) > 2
    assert chunks[0].joint == ""
    assert {chunk.joint for chunk in chunks[1:]} == {"\n"}


def test_joint_column_round_trips(tmp_path: Path) -> None:
    chunks = [{"chunk_id": "d-0000", "doc_id": "d", "index": 0, "text": "Bearer", "joint": ""},
              {"chunk_id": "d-0001", "doc_id": "d", "index": 1, "text": "eyJhbGciOi", "joint": " "}]
    write_tables(tmp_path, chunks)
    assert [record["joint"] for record in read_chunks(tmp_path)] == ["", " "]
