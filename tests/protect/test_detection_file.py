"""The scratch file of spans between the protect stage's detection pass and its write pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from shochu.protect.detections import NO_DETECTION, Detection, DetectionReader, DetectionWriter
from shochu.protect.placeholders import Span

PERSON = Detection((Span(5, 12, "PERSON", 0.85), Span(20, 37, "EMAIL_ADDRESS", 1.0)))
FAILED = Detection((), ("CreditCardRecognizer",))
PHONE = Detection((Span(0, 13, "PHONE_NUMBER", 0.4000000000000001),))


def _write(path: Path) -> int:
    with DetectionWriter(path) as writer:
        writer.write(("chunk", 0, "heading"), NO_DETECTION)
        writer.write(("chunk", 0, "text"), PERSON)
        writer.write(("chunk", 1, "text"), NO_DETECTION)
        writer.write(("chunk", 2, "heading"), FAILED)
        writer.write(("chunk", 2, "text"), PHONE)
        writer.write(("ticket", 0, "text"), PHONE)
        return writer.lines


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "detections.jsonl"
    assert _write(path) == 4
    with DetectionReader(path) as reader:
        assert reader.get(("chunk", 0, "heading")) == NO_DETECTION
        assert reader.get(("chunk", 0, "text")) == PERSON
        assert reader.get(("chunk", 1, "text")) == NO_DETECTION
        assert reader.get(("chunk", 2, "heading")) == FAILED
        assert reader.get(("chunk", 2, "text")) == PHONE
        assert reader.get(("ticket", 0, "text")) == PHONE
        assert reader.get(("ticket", 1, "text")) == NO_DETECTION


def test_score_kept_exactly(tmp_path: Path) -> None:
    path = tmp_path / "detections.jsonl"
    _write(path)
    with DetectionReader(path) as reader:
        assert reader.get(("chunk", 2, "text")).spans[0].score == 0.4000000000000001


def test_reader_skips_unrequested_texts(tmp_path: Path) -> None:
    # The write pass skips the chunks of a left-out document.
    path = tmp_path / "detections.jsonl"
    _write(path)
    with DetectionReader(path) as reader:
        assert reader.get(("chunk", 2, "text")) == PHONE
        assert reader.get(("ticket", 0, "text")) == PHONE


def test_request_out_of_order_rejected(tmp_path: Path) -> None:
    path = tmp_path / "detections.jsonl"
    _write(path)
    with DetectionReader(path) as reader:
        reader.get(("chunk", 2, "text"))
        with pytest.raises(ValueError, match=r"\('chunk', 0, 'text'\) requested out of scan order"):
            reader.get(("chunk", 0, "text"))


def test_repeated_request_rejected(tmp_path: Path) -> None:
    path = tmp_path / "detections.jsonl"
    _write(path)
    with DetectionReader(path) as reader:
        reader.get(("chunk", 0, "text"))
        with pytest.raises(ValueError, match="out of scan order"):
            reader.get(("chunk", 0, "text"))


def test_write_out_of_order_rejected(tmp_path: Path) -> None:
    with DetectionWriter(tmp_path / "detections.jsonl") as writer:
        writer.write(("ticket", 0, "text"), PHONE)
        with pytest.raises(ValueError, match=r"\('chunk', 5, 'text'\) written out of scan order"):
            writer.write(("chunk", 5, "text"), PHONE)


def test_unknown_key_rejected(tmp_path: Path) -> None:
    with DetectionWriter(tmp_path / "detections.jsonl") as writer:
        with pytest.raises(ValueError, match="invalid text key"):
            writer.write(("document", 0, "text"), PHONE)


def test_writer_replaces_stale_file(tmp_path: Path) -> None:
    path = tmp_path / "scratch" / "detections.jsonl"
    path.parent.mkdir()
    path.write_text('{"key": ["chunk", 0, "text"], "spans": [[0, 4, "PERSON", 1.0]], "failed": []}\n')
    with DetectionWriter(path) as writer:
        writer.write(("chunk", 0, "text"), NO_DETECTION)
    assert path.read_bytes() == b""


def test_invalid_line_named(tmp_path: Path) -> None:
    path = tmp_path / "detections.jsonl"
    _write(path)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"key": ["ticket", 3, "text"], "spans": [[1, 2]]}\n')
    with DetectionReader(path) as reader:
        reader.get(("ticket", 0, "text"))
        with pytest.raises(ValueError, match=r"detections.jsonl:5: invalid detection line"):
            reader.get(("ticket", 3, "text"))


def test_file_contains_offsets_and_types_only(tmp_path: Path) -> None:
    path = tmp_path / "detections.jsonl"
    _write(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ('{"key": ["chunk", 0, "text"], "spans": [[5, 12, "PERSON", 0.85], '
                        '[20, 37, "EMAIL_ADDRESS", 1.0]], "failed": []}')
    assert lines[1] == '{"key": ["chunk", 2, "heading"], "spans": [], "failed": ["CreditCardRecognizer"]}'
