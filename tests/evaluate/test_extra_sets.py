"""User evaluation sets: JSONL parsing, records per task, and errors that name the file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shochu.evaluate.extra_sets import ExtraSetError, load_extra_set, load_extra_sets


def _write(path: Path, lines: list) -> Path:
    text = "".join((line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n"
                   for line in lines)
    path.write_text(text, encoding="utf-8")
    return path


def test_records_per_task(tmp_path: Path) -> None:
    path = _write(tmp_path / "support.jsonl", [
        {"input": "VPN fails", "reference": "network", "task": "classify", "choices": ["network", "billing"]},
        "",
        {"input": "社外秘の文書は？", "reference": "共有しない", "task": "qa", "id": "jp-1"},
        {"input": "Name?", "reference": {"name": "สมชาย"}, "task": "extract"},
    ])
    tasks = load_extra_set(path)
    assert list(tasks) == ["support/classify", "support/qa", "support/extract"]
    classify = tasks["support/classify"][0]
    assert classify["id"] == "support-1"
    assert classify["kind"] == "classify"
    assert classify["choices"] == ["network", "billing"]
    assert classify["messages"] == [{"role": "user", "content": "VPN fails"}]
    assert tasks["support/qa"][0]["id"] == "jp-1"
    assert json.loads(tasks["support/extract"][0]["response"]) == {"name": "สมชาย"}
    assert tasks["support/extract"][0]["id"] == "support-4"


@pytest.mark.parametrize(("line", "message"), [
    ('{"input": "a", "reference": "b"', "invalid JSON"),
    ('["a"]', "expected a JSON object, got list"),
    ({"input": "a", "reference": "b"}, "missing field(s) task"),
    ({"input": "a", "reference": "b", "task": "translate"}, "task is 'translate'; use one of qa, summary"),
    ({"input": "", "reference": "b", "task": "qa"}, "input must be a non-empty string"),
    ({"input": "a", "reference": 3, "task": "qa"}, "reference must be a string"),
    ({"input": "a", "reference": "Tanaka", "task": "extract"}, "must be a JSON object"),
    ({"input": "a", "reference": "b", "task": "qa", "choices": ["b"]}, "only on classify lines"),
    ({"input": "a", "reference": "b", "task": "qa", "id": 7}, "id must be a string"),
])
def test_invalid_line_named(tmp_path: Path, line, message: str) -> None:
    path = _write(tmp_path / "bad.jsonl", [{"input": "ok", "reference": "ok", "task": "qa"}, line])
    with pytest.raises(ExtraSetError) as raised:
        load_extra_set(path)
    text = str(raised.value)
    assert f"{path}:2: " in text
    assert message in text


def test_every_invalid_line_listed(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.jsonl", ["{", {"input": "a", "reference": "b", "task": "qa"}, "[1]"])
    with pytest.raises(ExtraSetError, match="2 invalid line") as raised:
        load_extra_set(path)
    assert f"{path}:1:" in str(raised.value)
    assert f"{path}:3:" in str(raised.value)


def test_repeated_id(tmp_path: Path) -> None:
    line = {"input": "a", "reference": "b", "task": "qa", "id": "x"}
    path = _write(tmp_path / "dup.jsonl", [line, line])
    with pytest.raises(ExtraSetError, match=r"dup.jsonl:2: id 'x' repeats line 1"):
        load_extra_set(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="listed in eval.extra_sets"):
        load_extra_set(tmp_path / "nothing.jsonl")


def test_empty_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "empty.jsonl", ["", "  "])
    with pytest.raises(ExtraSetError, match="no examples"):
        load_extra_set(path)


def test_sets_keep_sources(tmp_path: Path) -> None:
    first = _write(tmp_path / "a.jsonl", [{"input": "x", "reference": "y", "task": "qa"}])
    second = _write(tmp_path / "b.jsonl", [{"input": "x", "reference": "y", "task": "summary"}])
    tasks, sources = load_extra_sets([str(first), str(second)], {"qa"})
    assert list(tasks) == ["a/qa", "b/summary"]
    assert sources == {"a/qa": str(first), "b/summary": str(second)}


def test_same_stem_twice_rejected(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    first = _write(tmp_path / "one" / "faq.jsonl", [{"input": "x", "reference": "y", "task": "qa"}])
    second = _write(tmp_path / "two" / "faq.jsonl", [{"input": "x", "reference": "y", "task": "qa"}])
    with pytest.raises(ExtraSetError, match="task 'faq/qa' is already defined"):
        load_extra_sets([str(first), str(second)], set())


def test_extraction_alias(tmp_path: Path) -> None:
    path = _write(tmp_path / "forms.jsonl", [{"input": "x", "reference": {"a": 1}, "task": "extraction"}])
    tasks = load_extra_set(path)
    assert list(tasks) == ["forms/extract"]
    assert tasks["forms/extract"][0]["kind"] == "extract"
