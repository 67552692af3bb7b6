"""Prompts for the example kinds that the build stage creates, and quality filters.

The teacher writes the questions, answers and summaries from each protected
chunk. The same user prompt is what the student sees in training and at
inference, so its wording is part of the task definition.
"""

from __future__ import annotations

import re

QUESTION_PROMPT = (
    "Read this excerpt from an internal company document.\n\n{text}\n\n"
    "Write one specific question that the excerpt answers. Reply with the question only."
)

QA_PROMPT = (
    "Answer the question using only the document excerpt.\n\nExcerpt:\n{text}\n\nQuestion: {question}"
)

SUMMARY_PROMPT = "Summarise this excerpt from an internal company document in two or three sentences.\n\n{text}"

CLASSIFY_PROMPT = (
    "Classify the support ticket into one of these categories: {choices}.\n\n{text}\n\n"
    "Reply with the category only."
)

_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|[。！？]")


def trim_to_sentence(text: str) -> str:
    """Cut an answer that ran out of budget back to its last complete sentence."""
    ends = list(_SENTENCE_END.finditer(text))
    if not ends:
        return text.strip()
    return text[: ends[-1].end()].strip()


def first_question(text: str) -> str:
    """Keep the first line that ends with a question mark, or the first line."""
    lines = [line.strip(" -*\t") for line in text.splitlines() if line.strip()]
    for line in lines:
        if line.endswith(("?", "？")):
            return line
    return lines[0] if lines else ""


def repetition_ratio(text: str, n: int = 3) -> float:
    """Share of repeated word n-grams (0 means none repeated); characters stand in for words in CJK."""
    units = text.split() if len(text.split()) > 3 else list(text)
    grams = [tuple(units[i : i + n]) for i in range(max(0, len(units) - n + 1))]
    if not grams:
        return 0.0
    return 1.0 - len(set(grams)) / len(grams)


def rejection_reason(text: str, min_chars: int = 20, max_repetition: float = 0.3) -> str | None:
    """Return why a generated response is unusable, or None when it passes."""
    if len(text) < min_chars:
        return "too_short"
    if repetition_ratio(text) > max_repetition:
        return "repetitive"
    return None
