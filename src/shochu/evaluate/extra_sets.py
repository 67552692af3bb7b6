"""User evaluation sets: JSONL files listed in ``eval.extra_sets``, scored beside the build stage's test split.

Each line is one JSON object:

    {"input": "...", "reference": "...", "task": "qa"}

``task`` is the kind of task (qa, summary, classify or extract; extraction is accepted
for extract) and picks the metrics.
Optional fields: ``id`` (unique in the file; the default is ``<file stem>-<line>``),
``choices`` (a list of labels, for classify) and, for extract, a ``reference`` given as
a JSON object instead of its text. The examples of one file and kind form one task,
named ``<file stem>/<kind>`` in the results.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shochu.evaluate.metrics import parse_json_object
from shochu.evaluate.task_metrics import CLASSIFY, EXTRA_KIND_ALIASES, EXTRACT, KINDS

MAX_LISTED_ERRORS = 20


class ExtraSetError(ValueError):
    """An evaluation set with invalid lines; the message names the file and each line."""


def _record(path: Path, number: int, data: Any) -> tuple[dict[str, Any] | None, str | None]:
    """Check one parsed line; return the eval record or the problem found."""
    if not isinstance(data, dict):
        return None, f"expected a JSON object, got {type(data).__name__}"
    missing = [name for name in ("input", "reference", "task") if name not in data]
    if missing:
        return None, f"missing field(s) {', '.join(missing)}; each line needs input, reference and task"
    kind = EXTRA_KIND_ALIASES.get(data["task"], data["task"])
    if kind not in KINDS:
        return None, f"task is {kind!r}; use one of {', '.join(KINDS)}"
    if not isinstance(data["input"], str) or not data["input"].strip():
        return None, "input must be a non-empty string"

    reference = data["reference"]
    if kind == EXTRACT and isinstance(reference, dict):
        reference = json.dumps(reference, ensure_ascii=False)
    if not isinstance(reference, str):
        return None, "reference must be a string (or, for extract, a JSON object)"
    if kind == EXTRACT and parse_json_object(reference) is None:
        return None, "an extract reference must be a JSON object"

    choices = data.get("choices")
    if choices is not None and (kind != CLASSIFY or not isinstance(choices, list)
                                or not all(isinstance(choice, str) for choice in choices)):
        return None, "choices must be a list of strings, and only on classify lines"
    example_id = data.get("id", f"{path.stem}-{number}")
    if not isinstance(example_id, str):
        return None, "id must be a string"
    record = {"id": example_id, "task": f"{path.stem}/{kind}", "kind": kind,
              "messages": [{"role": "user", "content": data["input"]}], "response": reference}
    if choices:
        record["choices"] = choices
    return record, None


def load_extra_set(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Read one evaluation set; return its records grouped by task name, in file order.

    Every invalid line is listed in one ``ExtraSetError`` (the first 20, then a count).
    Blank lines are skipped.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"evaluation set {path} (listed in eval.extra_sets) was not found; "
                                f"fix the path or remove it from the config")
    tasks: dict[str, list[dict[str, Any]]] = {}
    problems: list[str] = []
    seen: dict[str, int] = {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as error:
                problems.append(f"{path}:{number}: invalid JSON ({error.msg} at column {error.colno})")
                continue
            record, problem = _record(path, number, data)
            if problem is None and record["id"] in seen:
                problem = f"id {record['id']!r} repeats line {seen[record['id']]}"
            if problem is not None:
                problems.append(f"{path}:{number}: {problem}")
                continue
            seen[record["id"]] = number
            tasks.setdefault(record["task"], []).append(record)
    if problems:
        shown = problems[:MAX_LISTED_ERRORS]
        more = len(problems) - len(shown)
        raise ExtraSetError(f"{path}: {len(problems)} invalid line(s):\n" + "\n".join(shown)
                            + (f"\n... and {more} more" if more else "")
                            + "\nFix these lines, or remove the file from eval.extra_sets.")
    if not tasks:
        raise ExtraSetError(f"{path}: no examples; add lines or remove the file from eval.extra_sets")
    return tasks


def load_extra_sets(paths: list[str], existing: set[str]
                    ) -> tuple[dict[str, list[dict[str, Any]]], dict[str, str]]:
    """Read every set in ``eval.extra_sets``; return records per task and the file of each task.

    Task names must differ from ``existing`` and from each other.
    """
    tasks: dict[str, list[dict[str, Any]]] = {}
    sources: dict[str, str] = {}
    for value in paths:
        for name, records in load_extra_set(Path(value)).items():
            if name in existing or name in tasks:
                raise ExtraSetError(f"{value}: task {name!r} is already defined by another evaluation set; "
                                    f"rename one of the files")
            tasks[name] = records
            sources[name] = str(value)
    return tasks, sources
