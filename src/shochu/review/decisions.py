"""Review decisions: validation, atomic appends to ``review/decisions.jsonl`` and acceptance rates.

One decision is one JSON line::

    {"id": "qa-doc-0001", "decision": "edit", "reason": "too long",
     "response": "the edited response", "stratum": "qa/ja", "decided_at": "2026-12-04T23:40:00+00:00"}

``response`` is present for edits only. The file is append-only and the last
line for an id wins, so a reviewer can change their mind. Each append is one
``write`` on a file opened with ``O_APPEND`` under an exclusive ``flock``,
so concurrent writers never interleave lines. A crash can cut short only the
last line, and readers skip it.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

DECISIONS_FILE = "decisions.jsonl"
DECISIONS = ("accept", "reject", "edit")
MAX_TEXT_CHARS = 20_000

_append_lock = threading.Lock()


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def validate_decision(data: Any, cards: Mapping[str, dict[str, Any]],
                      decided_at: str | None = None) -> tuple[dict[str, Any] | None, list[str]]:
    """Check one incoming decision against the sample; return the record to store, or the problems found.

    Each problem names the field: ``decision: must be one of accept, reject, edit (got 'ok')``.
    """
    if not isinstance(data, dict):
        return None, [f"(record): expected a JSON object, got {type(data).__name__}"]
    problems: list[str] = []

    example_id = data.get("id")
    card = cards.get(example_id) if isinstance(example_id, str) else None
    if not isinstance(example_id, str) or not example_id:
        problems.append(f"id: missing; expected the id of a sampled example (got {example_id!r})")
    elif card is None:
        problems.append(f"id: {example_id!r} is not in the review sample")

    decision = data.get("decision")
    if decision not in DECISIONS:
        problems.append(f"decision: must be one of {', '.join(DECISIONS)} (got {decision!r})")

    reason = data.get("reason") or ""
    if not isinstance(reason, str):
        problems.append(f"reason: must be text (got {type(reason).__name__})")
        reason = ""
    reason = reason.strip()
    if decision == "reject" and not reason:
        problems.append("reason: required when the decision is reject; say what is wrong with the example")
    if len(reason) > MAX_TEXT_CHARS:
        problems.append(f"reason: {len(reason)} characters; at most {MAX_TEXT_CHARS} are allowed")

    response = data.get("response")
    if decision == "edit":
        if not isinstance(response, str) or not response.strip():
            problems.append("response: required when the decision is edit; give the corrected response")
        elif len(response) > MAX_TEXT_CHARS:
            problems.append(f"response: {len(response)} characters; at most {MAX_TEXT_CHARS} are allowed")
        elif card is not None and _same_text(response, card["response"]):
            problems.append("response: the edited response equals the original; use accept instead of edit")

    if problems:
        return None, problems
    record = {"id": example_id, "decision": decision, "reason": reason}
    # NOTE: an edited response is stored as the reviewer typed it; nothing here scans it for personal data.
    if decision == "edit":
        record["response"] = response.replace("\r\n", "\n").strip()
    record["stratum"] = card["stratum"]
    record["decided_at"] = decided_at or now_iso()
    return record, []


def _same_text(left: str, right: str) -> bool:
    return left.replace("\r\n", "\n").strip() == right.replace("\r\n", "\n").strip()


def append_decisions(path: Path, records: Iterable[dict[str, Any]]) -> int:
    """Append decisions to ``path`` in one write; return how many were written."""
    lines = [json.dumps(record, ensure_ascii=False) + "\n" for record in records]
    if not lines:
        return 0
    payload = "".join(lines).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    with _append_lock:
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            written = os.write(descriptor, payload)
            if written != len(payload):
                raise OSError(f"{path}: wrote {written} of {len(payload)} bytes (disk full?); "
                              f"the last decision line is incomplete and will be ignored")
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    return len(lines)


def read_decisions(path: Path) -> dict[str, dict[str, Any]]:
    """Return the latest decision per example id; an empty dict when the file does not exist.

    A malformed line raises ``ValueError`` naming the file and line, except
    an unterminated last line, which is what an interrupted append leaves.
    """
    path = Path(path)
    if not path.exists():
        return {}
    latest: dict[str, dict[str, Any]] = {}
    lines = path.read_text(encoding="utf-8").split("\n")
    for line_number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            if line_number == len(lines):
                break
            raise ValueError(f"{path}:{line_number}: invalid JSON ({error.msg}); "
                             f"remove or fix that line") from error
        if not isinstance(record, dict) or not isinstance(record.get("id"), str) \
                or record.get("decision") not in DECISIONS:
            raise ValueError(f"{path}:{line_number}: expected an object with 'id' and 'decision' "
                             f"({', '.join(DECISIONS)}); remove or fix that line")
        latest[record["id"]] = record
    return latest


# --- acceptance -----------------------------------------------------------


@dataclass
class StratumTally:
    """Decisions on the sampled examples of one stratum (or of all of them)."""

    sampled: int = 0
    accepted: int = 0
    edited: int = 0
    rejected: int = 0

    @property
    def decided(self) -> int:
        return self.accepted + self.edited + self.rejected

    @property
    def acceptance(self) -> float | None:
        """Share of decided examples accepted unchanged; None before the first decision.

        An edit counts against acceptance: the response needed a person's correction.
        """
        return self.accepted / self.decided if self.decided else None

    def add(self, decision: str | None) -> None:
        self.sampled += 1
        if decision == "accept":
            self.accepted += 1
        elif decision == "edit":
            self.edited += 1
        elif decision == "reject":
            self.rejected += 1

    def as_dict(self) -> dict[str, Any]:
        return {"sampled": self.sampled, "decided": self.decided, "accepted": self.accepted,
                "edited": self.edited, "rejected": self.rejected, "acceptance": self.acceptance}


def tally(cards: Iterable[dict[str, Any]],
          decisions: Mapping[str, dict[str, Any]]) -> tuple[dict[str, StratumTally], StratumTally]:
    """Count decisions per stratum over the sampled cards; decisions on other ids are not counted."""
    strata: dict[str, StratumTally] = {}
    overall = StratumTally()
    for card in cards:
        decision = decisions.get(card["id"], {}).get("decision")
        strata.setdefault(card["stratum"], StratumTally()).add(decision)
        overall.add(decision)
    return dict(sorted(strata.items())), overall
