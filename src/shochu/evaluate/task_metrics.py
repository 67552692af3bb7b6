"""Metrics per task kind, as bootstrap-ready statistics over the task's test examples.

| kind | metrics |
|---|---|
| classify | accuracy, macro_f1, first_mention_accuracy, valid_choice_share, confusion matrix |
| qa, summary | rouge_l and exact_match against the reference, teacher_agreement (ROUGE-L against the teacher's answer) |
| extract | field_precision, field_recall, field_f1, json_validity |

Kinds with a reference response (qa, summary, extract) also get token-level fidelity to
the teacher from a teacher-forced pass over that response: kl_to_teacher (nats per
token), top1_agreement, perplexity and percentiles of the probability gap on the
reference token.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from shochu.evaluate.bootstrap import Function, Mean, Ratio, Statistic
from shochu.evaluate.metrics import (
    OTHER_LABEL,
    confusion_matrix,
    exact_match,
    extraction_counts,
    first_mentioned_choice,
    macro_f1,
    normalise_answer,
    rouge_l,
)
from shochu.evaluate.teacher_forcing import TokenStatistics

CLASSIFY = "classify"
EXTRACT = "extract"
KINDS = ("qa", "summary", CLASSIFY, EXTRACT)
# Kinds scored token by token against the teacher on their reference response.
# Kinds scored token by token against the teacher on the reference response. A classification
# label is a short response too, and the teacher's distribution over it is what distillation copies.
TOKEN_KINDS = ("qa", "summary", CLASSIFY, EXTRACT)
# The metric that ranks tasks in the capacity-gap table.
PRIMARY_METRIC = {"qa": "rouge_l", "summary": "rouge_l", CLASSIFY: "macro_f1", EXTRACT: "field_f1"}
GAP_PERCENTILES = (50, 90, 99)
# Build-stage task names that are not kind names themselves.
BUILD_TASK_KINDS = {"extraction": EXTRACT}
EXTRA_KIND_ALIASES = {"extraction": EXTRACT}


def kind_of(task: str) -> str:
    """Return the kind of a build-stage task; tasks of other names (instructions, general) are scored like QA."""
    if task in KINDS:
        return task
    return BUILD_TASK_KINDS.get(task, "qa")


@dataclass
class TaskScores:
    """One model's statistics on one task, and the confusion matrix for classification."""

    statistics: dict[str, Statistic]
    confusion: dict[str, Any] | None = None


def score_task(kind: str, records: Sequence[dict[str, Any]], predictions: Sequence[str],
               teacher_predictions: Sequence[str] | None) -> TaskScores:
    """Score one model's answers on one task of ``kind``; ``teacher_predictions`` feeds teacher agreement."""
    if len(records) != len(predictions):
        raise ValueError(f"{len(records)} records but {len(predictions)} predictions")
    references = [record["response"] for record in records]
    if kind == CLASSIFY:
        return classification_scores(references, predictions, [record.get("choices") for record in records])
    if kind == EXTRACT:
        return TaskScores(extraction_statistics(references, predictions))
    statistics: dict[str, Statistic] = {
        "rouge_l": Mean([rouge_l(reference, prediction) for reference, prediction in zip(references, predictions)]),
        "exact_match": Mean([exact_match(reference, prediction)
                             for reference, prediction in zip(references, predictions)]),
    }
    if teacher_predictions is not None:
        statistics["teacher_agreement"] = Mean([teacher_agreement(teacher, prediction)
                                                for teacher, prediction in zip(teacher_predictions, predictions)])
    return TaskScores(statistics)


def teacher_agreement(teacher: str, prediction: str) -> float:
    """Return the ROUGE-L F1 of an answer against the teacher's, and 1 for an answer equal to it.

    Equal answers count as full agreement even when ROUGE finds no word in
    them (empty or punctuation only), where ROUGE-L would give 0.
    """
    if exact_match(teacher, prediction):
        return 1.0
    return rouge_l(teacher, prediction)


def class_names(labels: Sequence[str], choices: Sequence[Sequence[str] | None]) -> list[str]:
    """Return the sorted normalised class names: every label and every listed choice."""
    names = {normalise_answer(label) for label in labels}
    for options in choices:
        names.update(normalise_answer(option) for option in options or [])
    return sorted(names)


def classification_scores(labels: Sequence[str], predictions: Sequence[str],
                          choices: Sequence[Sequence[str] | None]) -> TaskScores:
    """Score generated labels: accuracy and macro-F1 on the answer's first line, and a confusion matrix.

    Answers are normalised with ``normalise_answer``; one that matches no class
    counts as ``(other)``. ``first_mention_accuracy`` and ``valid_choice_share``
    cover the examples that list choices (see ``metrics.classify_metrics``).
    """
    classes = class_names(labels, choices)
    position = {name: index for index, name in enumerate(classes)}
    truth = [normalise_answer(label) for label in labels]
    answers = [normalise_answer(prediction) for prediction in predictions]
    label_ids = np.array([position[name] for name in truth], dtype=np.int64)
    answer_ids = np.array([position.get(answer, len(classes)) for answer in answers], dtype=np.int64)

    listed = [bool(options) for options in choices]
    valid = [bool(options) and answer in {normalise_answer(option) for option in options}
             for answer, options in zip(answers, choices)]
    mentioned = [bool(options) and first_mentioned_choice(prediction, options) == label
                 for prediction, label, options in zip(predictions, labels, choices)]
    statistics: dict[str, Statistic] = {
        "accuracy": Mean(label_ids == answer_ids),
        "macro_f1": Function(len(labels), lambda rows: macro_f1(label_ids[rows], answer_ids[rows])),
        "first_mention_accuracy": Ratio(mentioned, listed),
        "valid_choice_share": Ratio(valid, listed),
    }
    confusion = {"classes": classes, "columns": [*classes, OTHER_LABEL],
                 "counts": confusion_matrix(truth, [classes[i] if i < len(classes) else OTHER_LABEL
                                                    for i in answer_ids], classes)}
    return TaskScores(statistics, confusion)


def extraction_statistics(references: Sequence[str], predictions: Sequence[str]) -> dict[str, Statistic]:
    """Micro-averaged field precision, recall and F1 over the task, and the share of answers that are JSON objects."""
    counts = [extraction_counts(reference, prediction) for reference, prediction in zip(references, predictions)]
    matched = np.array([count.matched for count in counts], dtype=np.float64)
    predicted = np.array([count.predicted for count in counts], dtype=np.float64)
    expected = np.array([count.expected for count in counts], dtype=np.float64)
    return {
        "field_precision": Ratio(matched, predicted),
        "field_recall": Ratio(matched, expected),
        "field_f1": Ratio(2 * matched, predicted + expected),
        "json_validity": Mean([count.valid_json for count in counts]),
    }


def token_fidelity(statistics: TokenStatistics, positions: Sequence[int | None]) -> dict[str, Statistic]:
    """Turn teacher-forced sums into per-task statistics.

    ``positions[i]`` is the index in ``statistics`` of the task's example ``i``,
    or None when the example was too long to encode; such examples add no tokens.
    """
    size = len(positions)

    def aligned(values: Sequence[float]) -> np.ndarray:
        return np.array([0.0 if index is None else values[index] for index in positions], dtype=np.float64)

    tokens = aligned(statistics.tokens)
    result: dict[str, Statistic] = {
        "kl_to_teacher": Ratio(aligned(statistics.kl_sums), tokens),
        "top1_agreement": Ratio(aligned(statistics.top1_matches), tokens),
        "perplexity": Ratio(aligned(statistics.nll_sums), tokens, transform=np.exp),
    }
    gaps = [statistics.probability_gaps[index] if index is not None else np.zeros(0, dtype=np.float32)
            for index in positions]
    for percentile in GAP_PERCENTILES:
        result[f"probability_gap_p{percentile}"] = Function(size, _weighted_percentile(gaps, percentile))
    return result


def _weighted_percentile(per_example: list[np.ndarray], percentile: float):
    """Return a function of example indices giving the nearest-rank percentile of their pooled token values.

    Values are sorted once; a resample only reweights them by how often it drew each example.
    """
    owners = np.concatenate([np.full(len(values), index) for index, values in enumerate(per_example)]
                            or [np.zeros(0, dtype=np.int64)]).astype(np.int64)
    values = np.concatenate(per_example or [np.zeros(0, dtype=np.float32)]).astype(np.float64)
    order = np.argsort(values, kind="stable")
    sorted_values, sorted_owners = values[order], owners[order]

    def compute(rows: np.ndarray) -> float | None:
        draws = np.bincount(rows, minlength=len(per_example))
        cumulative = np.cumsum(draws[sorted_owners])
        if cumulative.size == 0 or cumulative[-1] == 0:
            return None
        rank = max(1, math.ceil(percentile / 100 * cumulative[-1]))
        return float(sorted_values[np.searchsorted(cumulative, rank)])

    return compute
