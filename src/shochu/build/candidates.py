"""Choosing the best of several teacher candidates per chunk and task, by the quality filters.

Every candidate runs through the cheap filters and the overlap check, then,
when ``build.filters.min_likelihood_gain`` is set, through the teacher's
likelihood gain. Of the candidates that pass, the one best grounded in its
chunk is kept. When none passes, the example is dropped and counted under
the failure of the candidate that got furthest through the filters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from shochu.build import filters as checks
from shochu.build.extraction import extracted_values, extraction_text, parse_extraction
from shochu.build.grounding import new_units, overlap
from shochu.config import BuildConfig

# (grounded prompts, ungrounded prompts, responses) -> gain in nats per token, None when not measurable.
GainScorer = Callable[[Sequence[str], Sequence[str], Sequence[str]], list[float | None]]


@dataclass
class Slot:
    """One chunk and task: the prompt the student learns, and the teacher's candidate responses."""

    task: str
    chunk: dict[str, Any]
    language: str
    content: str
    # The same prompt without the chunk, for the likelihood gain.
    ungrounded: str
    responses: list[str]
    question: str | None = None


@dataclass
class _Scored:
    response: str
    passed: int = 0
    failure: tuple[str, str] | None = None
    overlap: float = 0.0
    # New content units of the response found in the chunk: ranks equally grounded candidates.
    grounded_units: int = 0
    gain: float | None = None
    grounding_text: str = ""


@dataclass
class Chosen:
    slot: Slot
    response: str
    scores: dict[str, float] = field(default_factory=dict)


def _score(slot: Slot, response: str, build: BuildConfig) -> _Scored:
    enabled = set(build.filters.enabled)
    scored = _Scored(response=response.strip(), grounding_text=response)
    for name in checks.CHEAP_FILTERS:
        reason = None
        if name == "json" and slot.task == "extraction" and build.extraction is not None:
            value, reason = parse_extraction(response, build.extraction)
            if value is not None:
                scored.response = extraction_text(value)
                scored.grounding_text = extracted_values(value)
            if name not in enabled:
                reason = None
        elif name not in enabled:
            continue
        elif name == "length":
            reason = checks.check_length(response, build.min_response_chars, build.filters.max_response_chars)
        elif name == "repetition":
            reason = checks.check_repetition(response, build.max_repetition)
        elif name == "refusal":
            reason = checks.check_refusal(response)
        elif name == "language" and slot.task != "extraction":
            reason = checks.check_language(response, slot.language, slot.chunk["text"])
        if reason is not None:
            scored.failure = (name, reason)
            return scored
        scored.passed += 1

    # NOTE: overlap and likelihood gain catch off-topic text, not a wrong answer assembled from the
    # chunk's own words (a date given for an amount); only the human spot-check catches those.
    question = slot.question or ""
    scored.overlap = overlap(scored.grounding_text, slot.chunk["text"], question)
    scored.grounded_units = round(scored.overlap * len(new_units(scored.grounding_text, question)))
    minimum = build.filters.min_summary_overlap if slot.task == "summary" else build.filters.min_overlap
    if "grounding" in enabled and not new_units(scored.grounding_text, question):
        scored.failure = ("grounding", "restates_question")
    elif "grounding" in enabled and scored.overlap < minimum:
        scored.failure = ("grounding", "low_overlap")
    return scored


def choose(slots: list[Slot], build: BuildConfig, report: checks.FilterReport,
           gain_scorer: GainScorer | None = None) -> list[Chosen]:
    """Keep the best passing candidate of each slot; count the failures in ``report``."""
    scored = [[_score(slot, response, build) for response in slot.responses] for slot in slots]

    minimum_gain = build.filters.min_likelihood_gain
    if gain_scorer is not None and minimum_gain is not None and "grounding" in build.filters.enabled:
        _apply_gains(slots, scored, gain_scorer, minimum_gain)

    chosen: list[Chosen] = []
    for slot, candidates in zip(slots, scored, strict=True):
        report.examples_in[slot.task] += 1
        report.candidates[slot.task] += len(candidates)
        for candidate in candidates:
            if candidate.failure is not None:
                report.candidate_failures[slot.task][candidate.failure[0]][candidate.failure[1]] += 1
        passing = [candidate for candidate in candidates if candidate.failure is None]
        if not passing:
            furthest = max(candidates, key=lambda candidate: candidate.passed)
            report.drop(slot.task, *furthest.failure)
            continue
        best = max(passing, key=lambda c: (c.gain if c.gain is not None else float("-inf"), c.overlap,
                                            c.grounded_units))
        scores = {"overlap": round(best.overlap, 4)}
        if best.gain is not None:
            scores["likelihood_gain"] = round(best.gain, 4)
        chosen.append(Chosen(slot, best.response, scores))
    return chosen


def _apply_gains(slots: list[Slot], scored: list[list[_Scored]], gain_scorer: GainScorer,
                 minimum_gain: float) -> None:
    pending = [(slot, candidate) for slot, candidates in zip(slots, scored, strict=True)
               for candidate in candidates if candidate.failure is None]
    if not pending:
        return
    gains = gain_scorer([slot.content for slot, _ in pending], [slot.ungrounded for slot, _ in pending],
                        [candidate.response for _, candidate in pending])
    for (_, candidate), gain in zip(pending, gains, strict=True):
        candidate.gain = gain
        candidate.passed += 1
        if gain is not None and gain < minimum_gain:
            candidate.failure = ("grounding", "low_likelihood_gain")
