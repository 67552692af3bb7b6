"""Reviewer decisions from ``WORKSPACE/review/decisions.jsonl``, applied when the splits are written.

One JSON object per line: ``{"id": example id, "decision": "accept" | "reject" |
"edit", "reason": str, "response": str}``; ``response`` is required for an
edit. When an id appears on several lines, the last line wins, so a reviewer
can change their mind by appending. Rejected examples are removed, edited ones
get the new response, and accepted ones are kept as they are. A malformed
line is counted and skipped, never fatal.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shochu.workspace import fingerprint_file

logger = logging.getLogger(__name__)

DECISIONS = ("accept", "reject", "edit")


def decisions_path(workspace_root: Path) -> Path:
    return Path(workspace_root) / "review" / "decisions.jsonl"


def decisions_fingerprint(workspace_root: Path) -> str:
    """Fingerprint of the decisions file, or ``none`` when there is none; part of the build's inputs."""
    path = decisions_path(workspace_root)
    return fingerprint_file(path) if path.is_file() else "none"


@dataclass
class Decisions:
    by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    invalid_lines: list[dict[str, Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.by_id)


def read_decisions(path: Path) -> Decisions:
    """Read the decisions file; a missing file gives no decisions."""
    decisions = Decisions()
    if not path.is_file():
        return decisions
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            problem = None
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                record, problem = None, f"invalid JSON ({error.msg})"
            if problem is None:
                problem = _problem(record)
            if problem is not None:
                decisions.invalid_lines.append({"file": str(path), "line": number, "error": problem})
                continue
            decisions.by_id[str(record["id"])] = record
    if decisions.invalid_lines:
        logger.warning("%s: %d invalid line(s) skipped; see build/errors.jsonl", path, len(decisions.invalid_lines))
    return decisions


def _problem(record: Any) -> str | None:
    if not isinstance(record, dict):
        return "expected a JSON object"
    if not isinstance(record.get("id"), str) or not record["id"]:
        return "missing field 'id'"
    if record.get("decision") not in DECISIONS:
        return f"field 'decision' must be one of {', '.join(DECISIONS)}, got {record.get('decision')!r}"
    if record["decision"] == "edit" and (not isinstance(record.get("response"), str)
                                         or not record["response"].strip()):
        return "an edit needs a non-empty string 'response'"
    return None


def apply_decisions(splits: dict[str, list[dict[str, Any]]],
                    decisions: Decisions) -> tuple[dict[str, list[dict[str, Any]]], dict[str, Any]]:
    """Remove rejected examples and replace edited responses in every split; return them and the counts.

    Counts: examples per decision, decisions whose id matches no example
    (``unmatched``: an example dropped since the review, or a typo), invalid
    lines, and the acceptance rate: accepted or edited examples of all reviewed ones.
    """
    counts: Counter[str] = Counter()
    matched: set[str] = set()
    result: dict[str, list[dict[str, Any]]] = {}
    for split, examples in splits.items():
        kept = []
        for example in examples:
            decision = decisions.by_id.get(example["id"])
            if decision is None:
                kept.append(example)
                continue
            matched.add(example["id"])
            counts[decision["decision"]] += 1
            if decision["decision"] == "reject":
                continue
            if decision["decision"] == "edit":
                example = {**example, "response": decision["response"].strip(), "edited": True}
            kept.append(example)
        result[split] = kept

    reviewed = sum(counts.values())
    summary: dict[str, Any] = {decision: counts[decision] for decision in DECISIONS}
    summary["unmatched"] = len(set(decisions.by_id) - matched)
    summary["invalid_lines"] = len(decisions.invalid_lines)
    summary["acceptance_rate"] = round((counts["accept"] + counts["edit"]) / reviewed, 4) if reviewed else None
    return result, summary
