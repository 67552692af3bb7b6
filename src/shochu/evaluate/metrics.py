"""Scores for the eval stage: classification accuracy, ROUGE-L and token-level KL.

The functions here take plain strings or logits and hold no model, so they can
be tested without one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

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
