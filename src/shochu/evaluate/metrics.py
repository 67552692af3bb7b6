"""Scores for the eval stage: classification, ROUGE-L, exact match, extraction fields and KL.

The functions here take plain strings or logits and hold no model, so they can
be tested without one.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from rouge_score import rouge_scorer

# Scripts written without spaces between words: Thai, Lao, Myanmar, Khmer,
# Japanese kana, CJK ideographs (with extensions) and Hangul syllables.
# ROUGE compares these character by character.
_CHARACTER_SCRIPTS = (
    "\u0e00-\u0eff"  # Thai, Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3400-\u4dbf"  # CJK Extension A
    "\u4e00-\u9fff"  # CJK Unified Ideographs
    "\uac00-\ud7af"  # Hangul syllables
    "\uf900-\ufaff"  # CJK Compatibility Ideographs
    "\U00020000-\U0003134f"  # CJK Extensions B to G
)
_ROUGE_TOKEN = re.compile(f"[{_CHARACTER_SCRIPTS}]|(?:(?![{_CHARACTER_SCRIPTS}])[^\\W_])+")


class MultilingualTokenizer:
    """ROUGE tokenizer: one token per CJK, kana, Hangul or Thai character, one per Latin word.

    rouge-score's default tokenizer keeps only ``[a-z0-9]`` and so scores every
    Japanese or Thai text as empty. Text is NFKC-normalised (full-width Latin
    becomes ASCII) and lower-cased; punctuation and whitespace separate tokens
    and are dropped.
    """

    def tokenize(self, text: str) -> list[str]:
        normalised = unicodedata.normalize("NFKC", text).lower()
        return _ROUGE_TOKEN.findall(normalised)


_SCORER = rouge_scorer.RougeScorer(["rougeL"], tokenizer=MultilingualTokenizer())


def rouge_l(reference: str, prediction: str) -> float:
    """Return the ROUGE-L F1 of ``prediction`` against ``reference``, in [0, 1]."""
    return _SCORER.score(reference, prediction)["rougeL"].fmeasure


def mean_rouge_l(references: Sequence[str], predictions: Sequence[str]) -> float:
    """Return the mean ROUGE-L F1 over aligned reference and prediction lists."""
    if len(references) != len(predictions):
        raise ValueError(f"{len(references)} references but {len(predictions)} predictions")
    if not references:
        raise ValueError("no examples to score")
    return sum(rouge_l(r, p) for r, p in zip(references, predictions, strict=True)) / len(references)


def normalise_answer(text: str) -> str:
    """Reduce a generated label to its first non-empty line, lower-cased, without edge punctuation.

    Punctuation inside the answer stays, so a label such as ``account-access``
    still matches itself.
    """
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    first = unicodedata.normalize("NFKC", lines[0]).lower() if lines else ""
    start, end = 0, len(first)
    while start < end and _is_edge_character(first[start]):
        start += 1
    while end > start and _is_edge_character(first[end - 1]):
        end -= 1
    return first[start:end]


def _is_edge_character(character: str) -> bool:
    category = unicodedata.category(character)
    return category.startswith("P") or category.startswith("Z") or character.isspace()


def first_mentioned_choice(answer: str, options: Sequence[str]) -> str | None:
    """Return the option that appears first in ``answer`` (case-insensitive), or None.

    A model that writes "The correct answer is billing." has still chosen
    ``billing``; on equal positions the longer option wins.
    """
    text = unicodedata.normalize("NFKC", answer).lower()
    found = []
    for option in options:
        position = text.find(normalise_answer(option))
        if position >= 0 and normalise_answer(option):
            found.append((position, -len(option), option))
    return min(found)[2] if found else None


def classify_metrics(labels: Sequence[str], predictions: Sequence[str],
                     choices: Sequence[Sequence[str] | None]) -> dict[str, float]:
    """Return ``accuracy``, ``first_mention_accuracy`` and ``valid_choice_share`` of generated labels.

    Both sides are normalised with ``normalise_answer``. ``accuracy`` needs the
    answer's first line to be exactly the label. ``first_mention_accuracy``
    credits the choice named first anywhere in the answer. ``valid_choice_share``
    is the share of answers equal to one of their example's choices. The last
    two are counted over the examples that list choices.
    """
    if not len(labels) == len(predictions) == len(choices):
        raise ValueError(f"lengths differ: {len(labels)} labels, {len(predictions)} predictions, "
                         f"{len(choices)} choice lists")
    if not labels:
        raise ValueError("no examples to score")
    answers = [normalise_answer(prediction) for prediction in predictions]
    correct = sum(answer == normalise_answer(label) for answer, label in zip(answers, labels, strict=True))

    listed = [(answer, options) for answer, options in zip(answers, choices, strict=True) if options]
    valid = sum(answer in {normalise_answer(option) for option in options} for answer, options in listed)
    mentioned = sum(
        first_mentioned_choice(prediction, options) == label
        for prediction, label, options in zip(predictions, labels, choices, strict=True) if options
    )
    return {
        "accuracy": correct / len(labels),
        "first_mention_accuracy": mentioned / len(listed) if listed else None,
        "valid_choice_share": valid / len(listed) if listed else None,
    }


def kl_divergence(teacher_logits: torch.Tensor, model_logits: torch.Tensor) -> torch.Tensor:
    """Return KL(p_teacher || p_model) per token at temperature 1, in nats, shape ``(tokens,)``.

    Both inputs have shape ``(tokens, vocab)`` and are upcast to fp32 before
    ``log_softmax``. When the vocabulary sizes differ, both are cut to the
    shorter one. That is right only when the extra rows are padding of a shared
    tokenizer, so callers check that the tokenizers match.
    """
    vocab = min(teacher_logits.shape[-1], model_logits.shape[-1])
    teacher_log_probs = torch.log_softmax(teacher_logits[..., :vocab].float(), dim=-1)
    model_log_probs = torch.log_softmax(model_logits[..., :vocab].float(), dim=-1)
    return (teacher_log_probs.exp() * (teacher_log_probs - model_log_probs)).sum(dim=-1)


def normalise_text(text: str) -> str:
    """Normalise an answer for exact match: NFKC, lower case, single spaces, no edge punctuation."""
    collapsed = " ".join(unicodedata.normalize("NFKC", text).lower().split())
    start, end = 0, len(collapsed)
    while start < end and _is_edge_character(collapsed[start]):
        start += 1
    while end > start and _is_edge_character(collapsed[end - 1]):
        end -= 1
    return collapsed[start:end]


def exact_match(reference: str, prediction: str) -> bool:
    return normalise_text(reference) == normalise_text(prediction)


OTHER_LABEL = "(other)"


def confusion_matrix(labels: Sequence[str], predicted: Sequence[str],
                     classes: Sequence[str]) -> list[list[int]]:
    """Count examples per (true class, predicted class); rows follow ``classes``, columns add ``(other)``.

    A prediction that is none of ``classes`` is counted in the last column, ``(other)``.
    """
    position = {name: index for index, name in enumerate(classes)}
    counts = [[0] * (len(classes) + 1) for _ in classes]
    for label, prediction in zip(labels, predicted, strict=True):
        counts[position[label]][position.get(prediction, len(classes))] += 1
    return counts


def macro_f1(labels: Sequence[int] | np.ndarray, predicted: Sequence[int] | np.ndarray) -> float | None:
    """Return the F1 averaged over the classes present in ``labels`` (class ids, non-negative integers).

    A class that is only predicted, never true, is left out of the average, so
    answers outside the label set lower recall but add no zero-F1 class.
    """
    labels, predicted = np.asarray(labels, dtype=np.int64), np.asarray(predicted, dtype=np.int64)
    if labels.size == 0:
        return None
    size = int(max(labels.max(), predicted.max())) + 1
    true_counts = np.bincount(labels, minlength=size)
    predicted_counts = np.bincount(predicted, minlength=size)
    true_positives = np.bincount(labels[labels == predicted], minlength=size)
    present = true_counts > 0
    f1 = 2 * true_positives[present] / (true_counts[present] + predicted_counts[present])
    return float(f1.mean())


_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")


def parse_json_object(text: str) -> dict[str, Any] | None:
    """Return the JSON object in a model answer, or None when there is none.

    The whole answer is tried first (a Markdown code fence around it is
    allowed), then the span from the first ``{`` to the last ``}``.
    """
    stripped = _FENCE.sub("", text.strip())
    candidates = [stripped]
    start, end = stripped.find("{"), stripped.rfind("}")
    if 0 <= start < end:
        candidates.append(stripped[start:end + 1])
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None


def field_pairs(record: dict[str, Any], prefix: str = "") -> set[tuple[str, str]]:
    """Flatten a JSON object to (dotted field, normalised value) pairs; a list gives one pair per item."""
    pairs: set[tuple[str, str]] = set()
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            pairs |= field_pairs(value, f"{name}.")
        elif isinstance(value, list):
            pairs |= {(name, _field_value(item)) for item in value}
        else:
            pairs.add((name, _field_value(value)))
    return pairs


def _field_value(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return normalise_text(str(value))


@dataclass(frozen=True)
class FieldCounts:
    """Field-level counts of one extraction answer against its reference."""

    matched: int
    predicted: int
    expected: int
    valid_json: bool


def extraction_counts(reference: str, prediction: str) -> FieldCounts:
    """Compare the fields of a predicted JSON object with the reference object's.

    A field counts as matched when the same dotted field has the same normalised
    value on both sides. An answer that is not a JSON object predicts no field.
    """
    expected_object = parse_json_object(reference)
    if expected_object is None:
        raise ValueError("the reference of an extract example is not a JSON object")
    expected = field_pairs(expected_object)
    predicted_object = parse_json_object(prediction)
    predicted = field_pairs(predicted_object) if predicted_object is not None else set()
    return FieldCounts(len(expected & predicted), len(predicted), len(expected), predicted_object is not None)
