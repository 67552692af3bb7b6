"""Offline review: export of the sample to JSONL, CSV and Label Studio tasks, and import of decisions."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from shochu.config import ReviewConfig
from shochu.review.decisions import DECISIONS_FILE, append_decisions
from shochu.review.exchange import COLUMNS, ReviewFileError, export_sample, import_decisions
from shochu.review.sample import ensure_sample, review_dir
from shochu.workspace import Workspace

_EDITED = "- 請求書は二十五日までに提出します。\n= second line, starting like a formula"


@pytest.fixture
def sample(review_workspace: Path) -> list[dict]:
    return ensure_sample(Workspace(review_workspace), ReviewConfig(sample_size=12), run_seed=0)


def _fill(rows: list[dict], sample: list[dict]) -> None:
    """Decide the first three rows as a reviewer would: accept, reject with a reason, edit."""
    ids = [card["id"] for card in sample]
    by_id = {row["id"]: row for row in rows}
    by_id[ids[0]]["decision"] = "accept"
    by_id[ids[1]].update(decision="reject", reason="答えが根拠に基づいていない")
    by_id[ids[2]].update(decision="Edit", edited_response=_EDITED, reason="shortened")


def _expected(sample: list[dict]) -> list[tuple]:
    return [(sample[0]["id"], "accept", "", None), (sample[1]["id"], "reject", "答えが根拠に基づいていない", None),
            (sample[2]["id"], "edit", "shortened", _EDITED)]


def _summary(records: list[dict]) -> list[tuple]:
    return sorted((r["id"], r["decision"], r["reason"], r.get("response")) for r in records)


def test_jsonl_round_trip(sample: list[dict], tmp_path: Path) -> None:
    path = tmp_path / "review.jsonl"
    assert export_sample(sample, {}, path) == [path]
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [row["id"] for row in rows] == [card["id"] for card in sample]
    assert list(rows[0]) == list(COLUMNS)
    assert rows[0]["source"] == sample[0]["source"]

    _fill(rows, sample)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    records = import_decisions(path, sample)

    assert _summary(records) == sorted(_expected(sample))
    assert {r["stratum"] for r in records} == {card["stratum"] for card in sample[:3]}


def test_csv_round_trip(sample: list[dict], tmp_path: Path) -> None:
    path = tmp_path / "review.csv"
    export_sample(sample, {}, path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["id"] for row in rows] == [card["id"] for card in sample]
    assert rows[0]["source"] == sample[0]["source"]

    _fill(rows, sample)
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    records = import_decisions(path, sample)

    assert _summary(records) == sorted(_expected(sample))


def test_csv_cells_never_formulas(sample: list[dict], tmp_path: Path) -> None:
    card = dict(sample[0], response="=HYPERLINK(\"http://example.invalid\")", instruction="+1 then -2")
    decisions = {card["id"]: {"id": card["id"], "decision": "edit", "reason": "", "response": "-bullet",
                              "stratum": card["stratum"]}}
    path = tmp_path / "review.csv"

    export_sample([card], decisions, path)
    with open(path, encoding="utf-8-sig", newline="") as handle:
        row = next(csv.DictReader(handle))

    assert row["response"] == "'=HYPERLINK(\"http://example.invalid\")"
    assert row["instruction"] == "'+1 then -2"
    assert row["edited_response"] == "'-bullet"
    assert row["decision"] == "edit"
    imported = import_decisions(path, [card])
    assert imported[0]["response"] == "-bullet"


def test_export_shows_existing_decisions(review_workspace: Path, sample: list[dict], tmp_path: Path) -> None:
    decisions = {sample[0]["id"]: {"id": sample[0]["id"], "decision": "reject", "reason": "duplicate",
                                   "stratum": sample[0]["stratum"]}}
    path = tmp_path / "review.jsonl"

    export_sample(sample, decisions, path)
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])

    assert (first["decision"], first["reason"], first["edited_response"]) == ("reject", "duplicate", "")


def test_import_lists_every_problem(sample: list[dict], tmp_path: Path) -> None:
    path = tmp_path / "review.csv"
    export_sample(sample, {}, path)
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    rows[0]["decision"] = "approve"
    rows[1]["decision"] = "reject"
    rows[2]["decision"] = "edit"
    rows[3].update(decision="accept", id="not-sampled")
    rows[4].update(decision="accept", response="I fixed it here instead")
    rows[5]["decision"] = "accept"
    rows[6].update(decision="accept", id=rows[5]["id"])
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)

    with pytest.raises(ReviewFileError) as caught:
        import_decisions(path, sample)

    message = str(caught.value)
    assert "6 problem(s); nothing was imported" in message
    # Source and instruction cells span lines; a row starts on the line that begins with its id.
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    ids = {row["id"] for row in rows}
    line = [number for number, text in enumerate(lines, start=1) if text.split(",")[0] in ids]
    assert len(line) == len(rows)
    assert line[0] == 2
    # Each row after the first starts below a multi-line cell, so its spreadsheet row is named too.
    where = [f"line {number}" if number == index else f"line {number} (spreadsheet row {index})"
             for index, number in enumerate(line, start=2)]
    assert where[0] == "line 2"
    assert where[1] == f"line {line[1]} (spreadsheet row 3)"
    assert f"{path}:{where[0]}, id {rows[0]['id']}: decision: must be one of accept, reject, edit (got 'approve')" \
        in message
    assert f"{path}:{where[1]}, id {rows[1]['id']}: reason: required when the decision is reject" in message
    assert f"{path}:{where[2]}, id {rows[2]['id']}: edited_response: required when the decision is edit" in message
    assert f"{path}:{where[3]}, id not-sampled: id: 'not-sampled' is not in the review sample" in message
    assert f"{path}:{where[4]}, id {rows[4]['id']}: response: differs from the sampled response" in message
    assert f"{path}:{where[6]}, id {rows[5]['id']}: id: {rows[5]['id']!r} already has a decision at {where[5]}" \
        in message


def test_import_counts_multiline_cells(sample: list[dict], tmp_path: Path) -> None:
    path = tmp_path / "review.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "decision", "reason", "edited_response"])
        writer.writeheader()
        writer.writerow({"id": sample[0]["id"], "decision": "edit", "edited_response": "one\ntwo\nthree"})
        writer.writerow({"id": sample[1]["id"], "decision": "reject", "reason": ""})

    with pytest.raises(ReviewFileError, match=r"review.csv:line 5 \(spreadsheet row 3\), id [^:]+: reason: required"):
        import_decisions(path, sample)


def test_import_rejects_unknown_columns(sample: list[dict], tmp_path: Path) -> None:
    path = tmp_path / "review.csv"
    path.write_text("example,verdict\nx,accept\n", encoding="utf-8")

    with pytest.raises(ReviewFileError, match=r"line 1: missing column\(s\) id, decision"):
        import_decisions(path, sample)


def test_import_rejects_bad_json_line(sample: list[dict], tmp_path: Path) -> None:
    path = tmp_path / "review.jsonl"
    path.write_text(json.dumps({"id": sample[0]["id"], "decision": "accept"}) + "\n{broken\n", encoding="utf-8")

    with pytest.raises(ReviewFileError, match=r"review.jsonl:line 2: invalid JSON"):
        import_decisions(path, sample)


def test_unknown_format_named(sample: list[dict], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown export format '.xlsx'"):
        export_sample(sample, {}, tmp_path / "review.xlsx")


def test_label_studio_tasks(sample: list[dict], tmp_path: Path) -> None:
    path = tmp_path / "tasks.json"

    written = export_sample(sample, {}, path)

    assert written == [path, tmp_path / "tasks.label_config.xml"]
    tasks = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(tasks, list)
    assert len(tasks) == len(sample)
    first = tasks[0]["data"]
    assert first["shochu_id"] == sample[0]["id"]
    assert first["source"] == sample[0]["source"]
    assert first["response"] == sample[0]["response"]
    assert "decision" not in first
    config = written[1].read_text(encoding="utf-8")
    # Every $variable of the labeling config is a field of each task's data.
    for variable in ("$source", "$instruction", "$response"):
        assert variable in config
        assert variable[1:] in first


def test_label_studio_export_import(sample: list[dict], tmp_path: Path) -> None:
    path = tmp_path / "tasks.json"
    export_sample(sample, {}, path)
    tasks = json.loads(path.read_text(encoding="utf-8"))

    def result(name: str, kind: str, value: object) -> dict:
        return {"from_name": name, "to_name": "response", "type": kind,
                "value": {"choices" if kind == "choices" else "text": value}}

    # What Label Studio's JSON export contains after review: tasks with annotations.
    tasks[0]["annotations"] = [{"result": [result("decision", "choices", ["accept"])], "was_cancelled": False}]
    tasks[1]["annotations"] = [
        {"result": [result("decision", "choices", ["accept"])]},
        {"result": [result("decision", "choices", ["reject"]), result("reason", "textarea", ["answer is wrong"])]},
    ]
    tasks[2]["annotations"] = [{"result": [result("decision", "choices", ["edit"]),
                                           result("edited_response", "textarea", ["new", "answer"])]}]
    tasks[3]["annotations"] = [{"result": [result("decision", "choices", ["accept"])], "was_cancelled": True}]
    path.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")

    records = import_decisions(path, sample)

    assert _summary(records) == sorted([(sample[0]["id"], "accept", "", None),
                                        (sample[1]["id"], "reject", "answer is wrong", None),
                                        (sample[2]["id"], "edit", "", "new\nanswer")])


def test_import_then_append(review_workspace: Path, sample: list[dict], tmp_path: Path) -> None:
    path = tmp_path / "review.jsonl"
    export_sample(sample, {}, path)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    _fill(rows, sample)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")

    decisions_path = review_dir(review_workspace) / DECISIONS_FILE
    append_decisions(decisions_path, import_decisions(path, sample))
    export_sample(sample, {r["id"]: r for r in map(json.loads, decisions_path.read_text().splitlines())}, path)
    again = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    assert [(row["decision"], row["edited_response"]) for row in again[:3]] == [
        ("accept", ""), ("reject", ""), ("edit", _EDITED)]
