"""The acceptance gate: does the reviewed sample meet ``review.min_acceptance``?

The gate fails when any task and language pair (stratum) with at least one
decision has an acceptance below ``review.min_acceptance``, or when
``review.required`` is true and some sampled example has no decision yet.
Without a sample, or without decisions, it passes unless ``review.required``.
The build stage or the pipeline calls ``check_gate``; ``shochu review --status``
prints the same result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shochu.config import ReviewConfig
from shochu.review.decisions import DECISIONS_FILE, StratumTally, read_decisions, tally
from shochu.review.sample import read_sample, review_dir


@dataclass
class GateResult:
    """Whether the review gate passes, why, and the acceptance rates behind it."""

    passed: bool
    min_acceptance: float
    required: bool
    strata: dict[str, StratumTally] = field(default_factory=dict)
    overall: StratumTally = field(default_factory=StratumTally)
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "min_acceptance": self.min_acceptance,
            "required": self.required,
            "overall": self.overall.as_dict(),
            "strata": {name: counts.as_dict() for name, counts in self.strata.items()},
            "reasons": list(self.reasons),
        }


def check_gate(workspace_root: Path, review: ReviewConfig) -> GateResult:
    """Read the stored sample and decisions of a workspace and apply the gate."""
    sample = read_sample(workspace_root)
    if sample is None:
        reason = "no review sample; run `shochu review` to draw one and review it"
        return GateResult(passed=not review.required, min_acceptance=review.min_acceptance,
                          required=review.required, reasons=[reason])
    decisions = read_decisions(review_dir(workspace_root) / DECISIONS_FILE)
    return evaluate_gate(sample, decisions, review)


def evaluate_gate(sample: list[dict[str, Any]], decisions: Mapping[str, dict[str, Any]],
                  review: ReviewConfig) -> GateResult:
    """Apply the gate to a sample and its latest decisions per id."""
    strata, overall = tally(sample, decisions)
    result = GateResult(passed=True, min_acceptance=review.min_acceptance, required=review.required,
                        strata=strata, overall=overall)

    for name, counts in strata.items():
        if counts.acceptance is not None and counts.acceptance < review.min_acceptance:
            result.passed = False
            result.reasons.append(f"{name}: {counts.accepted} of {counts.decided} reviewed examples accepted "
                                  f"({counts.acceptance:.0%}), below review.min_acceptance "
                                  f"{review.min_acceptance:.0%}")

    undecided = overall.sampled - overall.decided
    if review.required and undecided:
        result.passed = False
        result.reasons.append(f"{undecided} of {overall.sampled} sampled examples have no decision and "
                              f"review.required is true; finish the review with `shochu review`")
    elif overall.decided == 0:
        result.reasons.append("no decisions yet; the gate passes because review.required is false")
    return result
