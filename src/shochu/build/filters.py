"""Quality filters for generated examples, and the report of what each one dropped.

Each check returns the reason it rejects a text, or None when the text passes.
The build stage runs them in the order of ``CHEAP_FILTERS`` on every
candidate, then grounding (which may need the teacher), the second PII scan
and near-duplicate removal. ``FilterReport`` counts drops per task, filter and
reason; it never holds the texts.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from typing import Any

from shochu.build.language import detect_language, languages_match, script_counts
from shochu.build.prompts import repetition_ratio

# Filters that need neither the teacher nor the other examples, cheapest first.
CHEAP_FILTERS = ("length", "repetition", "refusal", "language", "json")

_REFUSALS = [
    r"\bI(?:'m| am) (?:sorry|afraid|unable|not able)\b", r"\bI (?:cannot|can't|can not|could not|won't)\b",
    r"\bas an (?:AI|artificial intelligence)\b", r"\b(?:AI|large) language model\b",
    r"\bI (?:do not|don't) have (?:access|information|enough)\b",
    r"\b(?:excerpt|document|text|passage) does(?: not|n't) (?:say|mention|contain|provide|specify)\b",
    r"\bnot (?:mentioned|specified|provided|stated) in the (?:excerpt|document|text|passage)\b",
    "申し訳(?:ありません|ございません)", "お答えできません", "回答できません", "AIとして", "言語モデル",
    "(?:抜粋|文書|本文)に(?:は)?(?:記載|書かれて|言及)(?:が)?(?:ありません|されていません|いません)",
    "わかりません", "分かりません", "ขออภัย", "ไม่สามารถตอบ",
]
_BOILERPLATE = [
    r"\bI hope (?:this|that) helps\b", r"\blet me know if\b", r"\bfeel free to\b", r"\bI'm here to help\b",
    r"\b(?:great|good) question\b", r"\byou(?:'re| are) (?:right|welcome)\b", r"\bthank you for (?:asking|your)\b",
    r"^\s*(?:sure|certainly|of course|absolutely)\b[!,.]", r"^\s*here(?: is|'s) (?:the|a|an|your)\b",
    r"\bthe above (?:answer|text|summary)\b", r"\bwhat(?:'s| is) your (?:name|question)\b",
    r"\bthe answer to (?:this|your|the) question\b",
    "お役に立て(?:れば|ると)", "ご質問があれば", "お気軽に", "^\\s*(?:もちろん|かしこまりました|承知しました)",
    "หวังว่าจะเป็นประโยชน์",
]
_REFUSAL = re.compile("|".join(f"(?:{p})" for p in _REFUSALS), re.IGNORECASE)
_BOILER = re.compile("|".join(f"(?:{p})" for p in _BOILERPLATE), re.IGNORECASE | re.MULTILINE)


def check_length(text: str, min_chars: int, max_chars: int) -> str | None:
    length = len(text.strip())
    if length < min_chars:
        return "too_short"
    if length > max_chars:
        return "too_long"
    return None


def check_repetition(text: str, max_ratio: float) -> str | None:
    return "repeated_ngrams" if repetition_ratio(text) > max_ratio else None


def check_refusal(text: str) -> str | None:
    """Return ``refusal`` or ``boilerplate`` for a text with such a phrase (English, Japanese, Thai)."""
    if _REFUSAL.search(text):
        return "refusal"
    if _BOILER.search(text):
        return "boilerplate"
    return None


def check_language(text: str, expected: str, source: str | None = None) -> str | None:
    """Return ``<actual>_for_<expected>`` when the text's language does not suit the source's.

    With ``source``, also return ``foreign_script`` for letters of a non-Latin
    script that the source does not use: a small teacher writing Japanese or
    Thai badly drifts into stray Arabic, Cyrillic or Hangul letters.
    """
    actual = detect_language(text)
    if not languages_match(expected, actual):
        return f"{actual}_for_{expected}"
    if source is not None:
        foreign = set(script_counts(text)) - set(script_counts(source)) - {"en"}
        # Kana and kanji are one writing system: a kanji-only source still allows kana.
        if {"kana", "han"} & set(script_counts(source)):
            foreign -= {"kana", "han"}
        if foreign:
            return "foreign_script"
    return None


def normalize_question(text: str) -> str:
    """NFKC, case-folded, with punctuation and spaces removed: the form compared for near-duplicates."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(character for character in folded if character.isalnum())


def shingles(text: str, size: int = 3) -> set[str]:
    normalized = normalize_question(text)
    if len(normalized) <= size:
        return {normalized} if normalized else set()
    return {normalized[i : i + size] for i in range(len(normalized) - size + 1)}


def near_duplicates(texts: list[str], threshold: float) -> list[int | None]:
    """For each text, the index of an earlier kept text it nearly repeats, or None.

    Similarity is the Jaccard index of character 3-gram sets of the normalised
    texts, so it works the same for Japanese and Thai, which have no spaces.
    """
    # NOTE: pairwise comparison is quadratic; fine for the thousands of
    # questions a build makes, too slow for millions (use MinHash there).
    kept: list[tuple[int, set[str]]] = []
    result: list[int | None] = []
    for index, text in enumerate(texts):
        grams = shingles(text)
        match = None
        for other, other_grams in kept:
            union = len(grams | other_grams)
            if union and len(grams & other_grams) / union >= threshold:
                match = other
                break
        result.append(match)
        if match is None:
            kept.append((index, grams))
    return result


class FilterReport:
    """Counts of generated candidates, drops per filter and reason, and PII masks, per task."""

    def __init__(self) -> None:
        self.drops: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
        self.candidate_failures: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
        self.candidates: Counter[str] = Counter()
        self.examples_in: Counter[str] = Counter()
        self.kept: Counter[str] = Counter()
        self.pii_masked: dict[str, Counter[str]] = defaultdict(Counter)
        # Detections the second PII scan kept because the protected chunk contains the same value.
        self.pii_copied_from_chunk: dict[str, Counter[str]] = defaultdict(Counter)

    def drop(self, task: str, filter_name: str, reason: str) -> None:
        self.drops[task][filter_name][reason] += 1

    def dropped(self, task: str) -> int:
        return sum(sum(reasons.values()) for reasons in self.drops[task].values())

    def as_dict(self) -> dict[str, Any]:
        tasks = sorted(set(self.examples_in) | set(self.drops) | set(self.pii_masked)
                       | set(self.pii_copied_from_chunk))
        report: dict[str, Any] = {}
        for task in tasks:
            entry: dict[str, Any] = {
                "examples_in": self.examples_in[task],
                "kept": self.kept[task],
                "dropped": self.dropped(task),
                "drops": {name: dict(sorted(reasons.items())) for name, reasons in sorted(self.drops[task].items())},
            }
            if self.candidates[task]:
                entry["candidates"] = self.candidates[task]
                entry["candidate_failures"] = {name: dict(sorted(reasons.items())) for name, reasons
                                               in sorted(self.candidate_failures[task].items())}
            if self.pii_masked[task]:
                entry["pii_masked"] = dict(sorted(self.pii_masked[task].items()))
            if self.pii_copied_from_chunk[task]:
                entry["pii_copied_from_chunk"] = dict(sorted(self.pii_copied_from_chunk[task].items()))
            report[task] = entry
        return report

    def summary(self) -> dict[str, dict[str, int]]:
        """Drops per filter for each task, for the manifest counts."""
        return {task: {name: sum(reasons.values()) for name, reasons in self.drops[task].items()}
                for task in sorted(self.drops)}
