"""Offline review: export the sample to a file and import the decisions made in it.

The format follows the file name:

- ``.jsonl``: one object per sampled example;
- ``.csv``: the same fields as columns, UTF-8 with a byte-order mark so that
  spreadsheet programs read Japanese and Thai correctly;
- ``.json``: a list of Label Studio tasks (``[{"data": {...}}, ...]``), with the
  labeling config written next to it as ``<name>.label_config.xml``. Importing
  a ``.json`` file reads a Label Studio export of those tasks.

JSONL and CSV rows carry ``decision`` (accept, reject or edit), ``reason`` and
``edited_response`` for the reviewer to fill in. Import skips rows with an
empty decision. Every other field is there to read and is checked
against the sample on import, so that a response edited in the wrong column
is caught instead of lost.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from shochu.review.decisions import validate_decision
from shochu.review.sample import Card
from shochu.workspace import atomic_path, write_json, write_text

COLUMNS = ("id", "stratum", "task", "language", "split", "doc_id", "source_ids", "source", "instruction",
           "response", "decision", "reason", "edited_response")
_DECISION_COLUMNS = ("decision", "reason", "edited_response")

# Spreadsheet programs run a cell that starts with one of these as a formula.
# Such cells are written with a leading apostrophe, which import removes again.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ReviewFileError(ValueError):
    """An import file that cannot be used; the message lists every problem with file, line and field."""


def export_path_format(path: Path) -> str:
    suffix = path.suffix.lower()
    formats = {".jsonl": "jsonl", ".csv": "csv", ".json": "label-studio"}
    if suffix not in formats:
        raise ValueError(f"{path}: unknown export format {suffix or '(no suffix)'!r}; use .jsonl, .csv, or "
                         f".json for Label Studio tasks")
    return formats[suffix]


def export_rows(sample: list[Card], decisions: Mapping[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Return one flat row per sampled example, with the latest decision filled in where there is one."""
    rows = []
    for card in sample:
        decision = decisions.get(card["id"], {})
        row = {name: card.get(name) for name in COLUMNS if name not in _DECISION_COLUMNS}
        row["source_ids"] = " ".join(card.get("source_ids") or [])
        row["decision"] = decision.get("decision", "")
        row["reason"] = decision.get("reason", "")
        row["edited_response"] = decision.get("response", "") if decision.get("decision") == "edit" else ""
        rows.append(row)
    return rows


def export_sample(sample: list[Card], decisions: Mapping[str, dict[str, Any]], path: Path) -> list[Path]:
    """Write the sample to ``path`` in the format its suffix names; return the files written."""
    path = Path(path)
    kind = export_path_format(path)
    rows = export_rows(sample, decisions)
    if kind == "jsonl":
        write_text(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
        return [path]
    if kind == "csv":
        with atomic_path(path) as temporary, open(temporary, "w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            for row in rows:
                writer.writerow({name: _escape_formula(row[name]) for name in COLUMNS})
        return [path]

    tasks = []
    for row in rows:
        # Label Studio gives every task an "id" of its own, so the example id goes in "shochu_id".
        data = {name: "" if value is None else value
                for name, value in row.items() if name not in _DECISION_COLUMNS}
        data["shochu_id"] = data.pop("id")
        tasks.append({"data": data})
    config_path = path.with_name(path.stem + ".label_config.xml")
    write_json(path, tasks)
    write_text(config_path, LABEL_STUDIO_CONFIG)
    return [path, config_path]


def _escape_formula(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _unescape_formula(text: str) -> str:
    # NOTE: a cell whose own text starts with an apostrophe before = + - @ loses that apostrophe.
    return text[1:] if text.startswith("'") and text[1:].startswith(_FORMULA_STARTS) else text


# --- import ---------------------------------------------------------------


def import_decisions(path: Path, sample: list[Card], decided_at: str | None = None) -> list[dict[str, Any]]:
    """Read decisions from an exported file; return the records to append.

    Raises ``ReviewFileError`` listing every problem (file, line or task, field)
    when any row is invalid, so that a file is imported whole or not at all.
    """
    path = Path(path)
    if not path.is_file():
        raise ReviewFileError(f"{path}: file not found")
    cards = {card["id"]: card for card in sample}
    kind = export_path_format(path)
    rows = {"jsonl": _jsonl_rows, "csv": _csv_rows, "label-studio": _label_studio_rows}[kind](path)

    records: list[dict[str, Any]] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for where, row in rows:
        if isinstance(row, str):
            problems.append(f"{path}:{where}: {row}")
            continue
        if not str(row.get("decision") or "").strip():
            continue
        example_id = row.get("id")
        location = where
        if isinstance(example_id, str) and example_id:
            # A reviewer finds the row by its example id faster than by its line number.
            where = f"{location}, id {example_id}"
        if isinstance(example_id, str) and example_id in seen:
            problems.append(f"{path}:{where}: id: {example_id!r} already has a decision at "
                            f"{seen[example_id]}")
            continue
        seen[str(example_id)] = location

        card = cards.get(example_id) if isinstance(example_id, str) else None
        original = row.get("response")
        if card is not None and isinstance(original, str) and original.strip() \
                and original.replace("\r\n", "\n").strip() != card["response"].strip():
            problems.append(f"{path}:{where}: response: differs from the sampled response; put a corrected "
                            f"response in edited_response and set decision to edit")
            continue

        incoming = {"id": example_id, "decision": str(row["decision"]).strip().lower(),
                    "reason": row.get("reason") or "", "response": row.get("edited_response")}
        record, found = validate_decision(incoming, cards, decided_at)
        for problem in found:
            # The file's column for an edited response is edited_response; its response is the original.
            if problem.startswith("response:"):
                problem = "edited_response:" + problem[len("response:"):]
            problems.append(f"{path}:{where}: {problem}")
        if record is not None:
            records.append(record)

    if problems:
        shown = problems[:50]
        more = f"\n  ... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        raise ReviewFileError(f"{path}: {len(problems)} problem(s); nothing was imported:\n  "
                              + "\n  ".join(shown) + more)
    return records


def _jsonl_rows(path: Path) -> Iterator[tuple[str, dict[str, Any] | str]]:
    with open(path, encoding="utf-8-sig") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                yield f"line {line_number}", f"invalid JSON ({error.msg})"
                continue
            yield f"line {line_number}", row if isinstance(row, dict) else "expected a JSON object"


def _csv_rows(path: Path) -> Iterator[tuple[str, dict[str, Any] | str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [name for name in ("id", "decision") if name not in (reader.fieldnames or [])]
        if missing:
            yield "line 1", (f"missing column(s) {', '.join(missing)}; export the sample with "
                             f"`shochu review --export FILE.csv` and fill in that file")
            return
        start = 2
        for row_number, row in enumerate(reader, start=2):
            # Spreadsheets number rows, not lines: a quoted cell that spans lines makes them differ.
            where = f"line {start}" if start == row_number else f"line {start} (spreadsheet row {row_number})"
            yield where, {name: _unescape_formula(value) if isinstance(value, str) else value
                                    for name, value in row.items() if name is not None}
            # A quoted cell can span lines; the next row starts after the last line read.
            start = reader.line_num + 1


def _label_studio_rows(path: Path) -> Iterator[tuple[str, dict[str, Any] | str]]:
    try:
        tasks = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as error:
        yield f"line {error.lineno}", f"invalid JSON ({error.msg})"
        return
    if not isinstance(tasks, list):
        yield "(top level)", "expected a list of Label Studio tasks, as Label Studio's JSON export writes"
        return
    for index, task in enumerate(tasks):
        where = f"task {index}"
        data = task.get("data") if isinstance(task, dict) else None
        if not isinstance(data, dict):
            yield where, "data: missing; expected a Label Studio task with a data object"
            continue
        row: dict[str, Any] = {"id": data.get("shochu_id"), "response": data.get("response")}
        annotations = [annotation for annotation in task.get("annotations") or []
                       if isinstance(annotation, dict) and not annotation.get("was_cancelled")]
        if annotations:
            # The most recent annotation of a task is the reviewer's final word.
            for result in annotations[-1].get("result") or []:
                value = result.get("value") or {}
                if result.get("from_name") == "decision" and value.get("choices"):
                    row["decision"] = value["choices"][0]
                elif result.get("from_name") in ("reason", "edited_response") and value.get("text"):
                    row[result["from_name"]] = "\n".join(value["text"])
        yield where, row


LABEL_STUDIO_CONFIG = """<View>
  <Header value="Source (PII masked)"/>
  <Text name="source" value="$source"/>
  <Header value="Instruction"/>
  <Text name="instruction" value="$instruction"/>
  <Header value="Response"/>
  <Text name="response" value="$response"/>
  <Choices name="decision" toName="response" choice="single" required="true">
    <Choice value="accept"/>
    <Choice value="reject"/>
    <Choice value="edit"/>
  </Choices>
  <TextArea name="reason" toName="response" placeholder="Reason (required for reject)" maxSubmissions="1"/>
  <TextArea name="edited_response" toName="response" placeholder="Corrected response (for edit)"
            maxSubmissions="1"/>
</View>
"""
