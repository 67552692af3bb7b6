"""Clean-up of teacher output (sentence trimming, question picking) and the repeated n-gram ratio.

The prompt templates themselves are settings (``build.prompts``), with their
defaults in ``templates.py``.
"""

from __future__ import annotations

import re

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
