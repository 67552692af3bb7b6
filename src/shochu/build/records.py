"""User-provided instruction/response JSONL: read every valid line, report every bad one.

A line is a JSON object with a non-empty string ``instruction`` and
``response``. Optional fields: ``input`` (appended to the instruction after a
blank line), ``id`` and ``doc_id`` (examples sharing a ``doc_id`` land in the
same split). A bad line is reported with the file and line number and skipped;
it never stops the build.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shochu.build.language import detect_language
from shochu.workspace import fingerprint_bytes

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LineError:
    file: str
    line: int
    error: str

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "error": self.error}


def _line_problem(record: Any) -> str | None:
    if not isinstance(record, dict):
        return f"expected a JSON object, got {type(record).__name__}"
    for name in ("instruction", "response"):
        if name not in record:
            return f"missing field {name!r}"
        if not isinstance(record[name], str) or not record[name].strip():
            return f"field {name!r} must be a non-empty string"
    if "input" in record and not isinstance(record["input"], str):
        return "field 'input' must be a string"
    return None


def read_instruction_file(path: Path, task: str) -> tuple[list[dict[str, Any]], list[LineError]]:
    """Turn each valid line into an example of ``task``; return the examples and the bad lines."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"build.{'general' if task == 'general' else 'instructions'}.path: "
                                f"file not found: {path}; point it to a JSONL file of instruction/response objects")
    examples: list[dict[str, Any]] = []
    errors: list[LineError] = []
    seen: dict[str, int] = {}
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                errors.append(LineError(str(path), number, f"invalid JSON ({error.msg})"))
                continue
            problem = _line_problem(record)
            if problem is not None:
                errors.append(LineError(str(path), number, problem))
                continue
            example = _example(record, task, path, number)
            if example["id"] in seen:
                errors.append(LineError(str(path), number, f"duplicate id {record.get('id')!r}, first on line "
                                                           f"{seen[example['id']]}"))
                continue
            seen[example["id"]] = number
            examples.append(example)
    if errors:
        logger.warning("%s: %d of %d lines skipped; see build/errors.jsonl for line numbers and reasons",
                       path, len(errors), len(errors) + len(examples))
    return examples, errors


def _example(record: dict[str, Any], task: str, path: Path, number: int) -> dict[str, Any]:
    instruction = record["instruction"].strip()
    if record.get("input", "").strip():
        instruction = f"{instruction}\n\n{record['input'].strip()}"
    identifier = str(record.get("id") or f"{number}")
    # Ids and groups are stable across runs: they depend on the file's name and the line, not its order.
    source = fingerprint_bytes(str(path.name).encode("utf-8"))[:8]
    return {
        "id": f"{task}-{source}-{identifier}",
        "task": task,
        "doc_id": str(record.get("doc_id") or f"{task}-{source}-{number}"),
        "language": detect_language(instruction),
        "messages": [{"role": "user", "content": instruction}],
        "response": record["response"].strip(),
    }
