"""Values that a chunk boundary cuts: detected across the boundary and masked in every chunk."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from tiny_models import build_tiny_model

from shochu.config import RunConfig
from shochu.ingest import stage as ingest_stage
from shochu.ingest.store import read_chunks, write_tables
from shochu.protect import stage
from shochu.protect.detections import Detection, DetectionReader, DetectionWriter
from shochu.protect.placeholders import Span
from shochu.protect.windows import CONTEXT_CHARS, MAX_RUN_CHARS, chunk_windows, clip_spans
from shochu.workspace import Workspace, read_jsonl

# Synthetic values in the shape of real ones; none of them is a live credential.
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
       "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IlRhcm8gWWFtYWRhIiwicm9sZXMiOlsiYWRtaW4iLCJvcHMiXSwiaWF0IjoxNzE2MjM5MDIyLC"
       "JleHAiOjE3MTYyNDI2MjIsImF1ZCI6ImFjbWUtcG9ydGFsIiwiaXNzIjoiaHR0cHM6Ly9hdXRoLmV4YW1wbGUuY29tIiwic2NvcGUiOiJyZWFk"
       "IHdyaXRlIGFkbWluIiwidGVuYW50IjoiYWNtZS1qcCIsInNlc3Npb24iOiI3ZjNjOWE0ZS0xYjJkLTRjNWUtOGY5YS0wYjFjMmQzZTRmNWEifQ."
       "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5d2FsZG9mcmVkcGx1Z3h5enp5MTIzNDU2Nzg5MA")
GITHUB_TOKEN = "ghp_" + "R7kQ2mX9vL4pT8wN3bY6cH1jF5gD0sA347Ae178B4a" * 3
SENTENCE = "The maintenance team checks the pump every ninety days. "


def pieces(value: str, length: int = 8) -> list[str]:
    """Return every slice of ``length`` characters of ``value``, so that any leaked piece is caught."""
    return [value[start:start + length] for start in range(0, len(value) - length + 1)]


def leaked(texts: list[str], value: str, length: int = 8) -> list[str]:
    return [piece for piece in pieces(value, length) if any(piece in text for text in texts)]


# --- ingest, then protect ---------------------------------------------------------


@pytest.fixture(scope="module")
def teacher(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("teacher") / "tiny")


@pytest.fixture(scope="module")
def protected(tmp_path_factory: pytest.TempPathFactory, teacher: Path) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("boundaries")
    docs = root / "docs"
    docs.mkdir()
    api = f"# Portal access\n\n{SENTENCE}\n\nAuthorization: Bearer {JWT}\n\n{SENTENCE}\n"
    (docs / "api.md").write_text(api, encoding="utf-8")
    deploy = f"{SENTENCE}Use the token {GITHUB_TOKEN} for the deploy job. {SENTENCE}\n"
    (docs / "deploy.md").write_text(deploy, encoding="utf-8")
    workspace = Workspace(root / "workspace")
    ingest = {"input": str(docs), "chunk_tokens": 48, "min_chunk_tokens": 4}
    config = RunConfig.model_validate({"workspace": str(workspace.root), "teacher": {"path": str(teacher)},
                                       "ingest": ingest})
    ingest_stage.run(config, workspace)
    manifest = stage.run(config, workspace)
    return {"chunks": read_chunks(workspace.stage_dir("ingest")), "manifest": manifest,
            "masked": read_jsonl(workspace.stage_dir("protect") / "chunks.jsonl")}


def test_ingest_cuts_inside_tokens(protected: dict[str, Any]) -> None:
    for value in (JWT, GITHUB_TOKEN):
        holding = [chunk for chunk in protected["chunks"] if chunk["text"] and chunk["text"][:6] in value]
        assert holding, "the test needs a chunk that starts inside the token"
        assert any(chunk["joint"] == "" for chunk in holding)


def test_long_bearer_token_masked(protected: dict[str, Any]) -> None:
    texts = [record["text"] for record in protected["masked"]]
    assert leaked(texts, JWT) == []
    assert sum("[SECRET_1]" in text for text in texts) > 1


def test_long_github_token_masked(protected: dict[str, Any]) -> None:
    texts = [record["text"] for record in protected["masked"]]
    assert leaked(texts, GITHUB_TOKEN) == []


def test_pieces_counted_once_per_chunk(protected: dict[str, Any]) -> None:
    holding = [record for record in protected["masked"] if "[SECRET_1]" in record["text"]]
    assert all(record["entities"] == {"SECRET": 1} for record in holding)
    assert protected["manifest"]["counts"]["entities"]["SECRET"] == len(holding)


# --- hand-written chunk tables, cut at chosen places ----------------------------------


def run_protect(tmp_path: Path, chunks: list[dict[str, Any]], **protect: Any) -> list[dict[str, Any]]:
    workspace = Workspace(tmp_path / "run")
    write_tables(workspace.reset("ingest"), chunks)
    workspace.finish("ingest", {}, {"documents": "test"}, {"chunks": len(chunks)}, time.time())
    config = RunConfig.model_validate({"workspace": str(workspace.root), "protect": protect})
    stage.run(config, workspace)
    return read_jsonl(workspace.stage_dir("protect") / "chunks.jsonl")


def split_document(doc_id: str, texts: list[str], joints: list[str] | None) -> list[dict[str, Any]]:
    """Chunk records of one document; ``joints`` None leaves out the column, as an older ingest did."""
    records = []
    for index, text in enumerate(texts):
        record = {"chunk_id": f"{doc_id}-{index:04d}", "doc_id": doc_id, "source": f"{doc_id}.md",
                  "index": index, "heading": None, "text": text}
        if joints is not None:
            record["joint"] = joints[index]
        records.append(record)
    return records


@pytest.mark.parametrize(("texts", "joint", "values"), [
    (["ผู้ติดต่อคือ น.ส.อรทัย", "สุขใจ ฝ่ายบัญชี โทรภายใน 214"], " ", ["อรทัย", "สุขใจ"]),
    (["振込先の情報です。口座番号", "７６５４３２１ までお願いします。"], " ", ["７６５４３２１"]),
    (["Please pay to Account No.", "40-11-82 31926819 before Friday."], " ", ["31926819"]),
    (["aws_region: ap-northeast-1\nsecret_access_key:", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"], " ",
     ["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"]),
    (["本社の住所 郵便番号", "150-0002 東京都渋谷区渋谷二丁目"], " ", ["150-0002"]),
])
def test_value_cut_by_boundary_masked(tmp_path: Path, texts: list[str], joint: str,
                                      values: list[str]) -> None:
    masked = run_protect(tmp_path, split_document("doc", texts, ["", joint]))
    output = [record["text"] for record in masked]
    for value in values:
        assert not any(value in text for text in output), value


def test_clipped_span_gets_placeholder_not_pseudonym(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOCHU_PSEUDONYM_KEY", "test-key-with-enough-characters")
    texts = ["Tokens rotate weekly. The deploy job uses ghp_R7kQ2mX9vL4pT8wN3",
             "bY6cH1jF5gD0sA347Ae178B4a today."]
    masked = run_protect(tmp_path, split_document("doc", texts, ["", ""]), operators={"SECRET": "hash"})
    assert masked[0]["text"] == "Tokens rotate weekly. The deploy job uses [SECRET_1]"
    assert masked[1]["text"] == "[SECRET_1] today."
    assert [record["entities"] for record in masked] == [{"SECRET": 1}, {"SECRET": 1}]


def test_older_table_without_joint_column(tmp_path: Path) -> None:
    texts = ["Mail the form to hanako@example.com", "or to the office in Osaka."]
    windows = list(chunk_windows(split_document("doc", texts, None)))
    assert windows[0].text == texts[0] + "\n" + texts[1]

    masked = run_protect(tmp_path, split_document("doc", texts, None))
    assert [record["text"] for record in masked] == ["Mail the form to [EMAIL_ADDRESS_1]", texts[1]]
    assert masked[0]["joint"] is None


def test_chunks_of_other_documents_not_context(tmp_path: Path) -> None:
    chunks = [*split_document("first", ["口座番号"], [""]),
              *split_document("second", ["７６５４３２１ です。"], [""])]
    windows = list(chunk_windows(chunks))
    assert [window.text for window in windows] == ["口座番号", "７６５４３２１ です。"]


def test_window_context_bounded() -> None:
    texts = [SENTENCE * 20, SENTENCE * 20, SENTENCE * 20]
    windows = list(chunk_windows(split_document("doc", texts, ["", " ", " "])))
    middle = windows[1]
    assert middle.start == CONTEXT_CHARS
    assert len(middle.text) == len(texts[1]) + 2 * CONTEXT_CHARS
    assert middle.text[middle.start:middle.end] == texts[1]


def test_window_takes_whole_token_run() -> None:
    texts = ["Authorization: Bearer " + JWT[:200], JWT[200:400], JWT[400:] + " done."]
    windows = list(chunk_windows(split_document("doc", texts, ["", "", ""])))
    assert "Authorization: Bearer " + JWT + " done." == windows[1].text


def test_window_takes_prose_without_spaces_in_part() -> None:
    # Japanese and Thai prose has no spaces; only token runs (printable ASCII) are taken whole.
    japanese = "担当者は本日の会議で来期の計画を説明した。" * 60
    texts = [japanese, japanese, japanese]
    windows = list(chunk_windows(split_document("doc", texts, ["", "", ""])))
    middle = windows[1]
    assert middle.start == CONTEXT_CHARS
    assert len(middle.text) == len(japanese) + 2 * CONTEXT_CHARS


def test_clip_spans_marks_pieces() -> None:
    window = next(iter(chunk_windows(split_document("doc", ["abc", "defgh"], ["", " "]))))
    spans, clipped = clip_spans([Span(1, 6, "PERSON", 0.9), Span(0, 1, "PERSON", 0.9)], window)
    assert spans == [Span(1, 3, "PERSON", 0.9), Span(0, 1, "PERSON", 0.9)]
    assert clipped == frozenset({0})


def test_scratch_file_keeps_clipped_spans(tmp_path: Path) -> None:
    path = tmp_path / "detections.jsonl"
    detection = Detection((Span(0, 4, "SECRET", 1.0), Span(8, 12, "PERSON", 0.9)), (), frozenset({0}))
    with DetectionWriter(path) as writer:
        writer.write(("chunk", 0, "text"), detection)
    assert '"clipped": [0]' in path.read_text(encoding="utf-8")

    with DetectionReader(path) as reader:
        read_back = reader.get(("chunk", 0, "text"))
    assert read_back == detection
    assert read_back.clipped_spans() == frozenset({Span(0, 4, "SECRET", 1.0)})


def test_scratch_file_rejects_bad_clipped_index(tmp_path: Path) -> None:
    path = tmp_path / "detections.jsonl"
    path.write_text('{"key": ["chunk", 0, "text"], "spans": [[0, 4, "PERSON", 1.0]], "failed": [], '
                    '"clipped": [3]}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="invalid detection line"):
        DetectionReader(path)


def test_window_skips_runs_over_limit() -> None:
    blob = "QUJD" * MAX_RUN_CHARS
    cut = MAX_RUN_CHARS + 200
    texts = [blob[:cut], blob[cut:cut + 400], blob[cut + 400:]]
    assert len(texts[2]) > MAX_RUN_CHARS
    windows = list(chunk_windows(split_document("doc", texts, ["", "", ""])))
    assert windows[1].start == CONTEXT_CHARS
    assert len(windows[1].text) == len(texts[1]) + 2 * CONTEXT_CHARS
