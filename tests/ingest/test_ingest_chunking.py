from shochu.ingest.chunking import chunk_text, split_blocks, split_to_fit

SENTENCE = "The operator checks the pressure gauge before every shift. "
TABLE_ROWS = [f"| part-{number:03d} | {number} |" for number in range(80)]
TABLE = "| Part | Stock |\n| --- | --- |\n" + "\n".join(TABLE_ROWS)


def test_chunks_within_limits() -> None:
    text = "\n\n".join(SENTENCE * count for count in (3, 9, 1, 14, 2, 6, 30))
    chunks = chunk_text(text, markdown=False, chunk_chars=400, min_chunk_chars=100)
    assert max(len(chunk.text) for chunk in chunks) <= 400 + 100
    assert min(len(chunk.text) for chunk in chunks) >= 100


def test_chunks_keep_all_sentences() -> None:
    text = SENTENCE * 40
    chunks = chunk_text(text, markdown=False, chunk_chars=300, min_chunk_chars=50)
    assert " ".join(chunk.text for chunk in chunks) == text.strip()


def test_table_rows_never_split() -> None:
    rows = set(TABLE.split("\n"))
    chunks = chunk_text(TABLE, markdown=True, chunk_chars=300, min_chunk_chars=50)
    assert len(chunks) > 1
    assert all(line in rows for chunk in chunks for line in chunk.text.split("\n"))


def test_table_header_repeated() -> None:
    chunks = chunk_text(TABLE, markdown=True, chunk_chars=300, min_chunk_chars=50)
    assert all(chunk.text.startswith("| Part | Stock |\n| --- | --- |\n") for chunk in chunks)


def test_japanese_split_at_sentence_end() -> None:
    text = "安全靴は工場内で必ず着用してください。" * 30
    pieces = split_to_fit(text, 100)
    assert all(piece.endswith("。") for piece in pieces)
    assert "".join(pieces) == text


def test_thai_split_at_spaces() -> None:
    text = " ".join(["ภาษาไทยเป็นภาษาราชการ"] * 20)
    pieces = split_to_fit(text, 100)
    assert all(len(piece) <= 100 for piece in pieces)
    assert " ".join(pieces) == text


def test_text_without_spaces_cut_at_limit() -> None:
    assert [len(piece) for piece in split_to_fit("x" * 250, 100)] == [100, 100, 50]


def test_heading_remembered() -> None:
    text = "# Manual\n\n## Cleaning\n\n" + SENTENCE * 12 + "\n\n## Storage\n\n" + SENTENCE * 8
    chunks = chunk_text(text, markdown=True, chunk_chars=400, min_chunk_chars=50)
    assert [chunk.heading for chunk in chunks] == ["Cleaning", "Cleaning", "Storage", "Storage"]


def test_heading_starts_new_chunk() -> None:
    text = "## Cleaning\n\n" + SENTENCE * 3 + "\n\n## Storage\n\n" + SENTENCE * 3
    chunks = chunk_text(text, markdown=True, chunk_chars=1500, min_chunk_chars=50)
    assert [chunk.text.split("\n")[0] for chunk in chunks] == ["## Cleaning", "## Storage"]


def test_short_chunk_merged() -> None:
    text = "## Cleaning\n\n" + SENTENCE * 5 + "\n\n## Note\n\nKeep dry.\n\n## Storage\n\n" + SENTENCE * 5
    chunks = chunk_text(text, markdown=True, chunk_chars=400, min_chunk_chars=100)
    assert len(chunks) == 2
    assert any("## Note\n\nKeep dry." in chunk.text for chunk in chunks)


def test_single_short_document_kept() -> None:
    chunks = chunk_text("Keep dry.", markdown=False, chunk_chars=400, min_chunk_chars=100)
    assert [chunk.text for chunk in chunks] == ["Keep dry."]


def test_shell_prompt_not_heading_in_plain_text() -> None:
    chunks = chunk_text("# apt-get install pump\n\nThen start it.", markdown=False,
                        chunk_chars=400, min_chunk_chars=1)
    assert chunks[0].heading is None


def test_code_fence_comment_not_heading() -> None:
    blocks = split_blocks("## Install\n\n```\n# apt-get install pump\n\n# pumpctl start\n```", markdown=True)
    assert [block.kind for block in blocks] == ["heading", "code"]
    assert blocks[1].heading == "Install"
