"""Second PII scan of built examples: the teacher can copy, re-introduce or invent personal data.

Uses the protect stage's ``Masker`` with the run's ``protect`` settings. Only
the generated parts are scanned (the question and the response; the chunk in
the prompt was masked by the protect stage), and both the instruction and the
response of user-provided examples. New placeholders are numbered after those
already in the example, so a new ``[PERSON_n]`` never collides with one from
the chunk. Counts are kept per entity type only.

A detection in a generated part whose value also occurs in the protected
prompt (the prompt without the generated question) is kept as it is. The
protect stage either judged that value not personal or wrote it there as a
pseudonym, so masking the copy would only make the answer disagree with its
prompt, and the prompt is part of the training example anyway. Values are
compared after NFKC and collapsing whitespace, and the text keeps its original
characters. A value counts as copied when the prompt contains the same string
outside a longer word (the characters on either side are not letters, marks or
digits), or when the ``Masker`` run on the prompt detects exactly that value
there. So "Ken" is not copied from "Kenji", while 田中太郎 before a particle
(田中太郎さん) is matched by the detection on the prompt. Kept copies are
counted per entity type in ``FilterReport.pii_copied_from_chunk``.
User-provided examples have no protected prompt, so every detection in them
is masked.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Any

from shochu.build.filters import FilterReport
from shochu.config import ProtectConfig
from shochu.protect import Masker
from shochu.protect.placeholders import PlaceholderNumbering, replace_spans

_PLACEHOLDER = re.compile(r"\[([A-Z_]+)_(\d+)\]")
_WHITESPACE = re.compile(r"\s+")


def _numbering_after(*texts: str) -> PlaceholderNumbering:
    highest: Counter[str] = Counter()
    for text in texts:
        for entity_type, number in _PLACEHOLDER.findall(text):
            highest[entity_type] = max(highest[entity_type], int(number))
    # PlaceholderNumbering hands out next[type] + 1, so start each type at its highest number.
    return PlaceholderNumbering(_next=highest)


def _comparable(text: str) -> str:
    """Return the form in which a generated value and the prompt are compared."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def _is_word_character(character: str) -> bool:
    # Marks count too: a Thai vowel sign or tone mark is part of the word it sits in.
    return unicodedata.category(character)[0] in "LMN"


def _occurs_as_word(value: str, text: str) -> bool:
    """Return whether ``value`` occurs in ``text`` with no letter, mark or digit joining it on either side."""
    start = text.find(value)
    while start != -1:
        end = start + len(value)
        joined_before = start > 0 and _is_word_character(value[0]) and _is_word_character(text[start - 1])
        joined_after = end < len(text) and _is_word_character(value[-1]) and _is_word_character(text[end])
        if not joined_before and not joined_after:
            return True
        start = text.find(value, start + 1)
    return False


class _ProtectedPrompt:
    """The protected part of one example's prompt, which generated text may repeat unmasked."""

    def __init__(self, masker: Masker, text: str) -> None:
        self._masker = masker
        self._text = text
        self._comparable = _comparable(text)
        self._detected: frozenset[str] | None = None

    def contains(self, value: str) -> bool:
        """Return whether ``value`` counts as copied from the prompt (see the module docstring)."""
        key = _comparable(value)
        if not key:
            return False
        if _occurs_as_word(key, self._comparable):
            return True
        return key in self._detected_values()

    def _detected_values(self) -> frozenset[str]:
        # Detection on the prompt runs only for values not found as words, at most once per example.
        if self._detected is None:
            spans, failed = self._masker.detect(self._text)
            # A failed scan of the prompt confirms no copy, so those detections are masked.
            self._detected = frozenset() if failed else frozenset(
                _comparable(self._text[span.start:span.end]) for span in spans)
        return self._detected


@dataclass
class _Scanned:
    """One generated text after the scan, and its counts per entity type."""

    text: str
    masked: Counter[str]
    copied: Counter[str]
    failed: bool = False


class PiiScan:
    """Mask or drop personal data found in examples; counts go to a ``FilterReport``."""

    def __init__(self, config: ProtectConfig, action: str) -> None:
        self.masker = Masker(config)
        self.action = action

    def scan(self, example: dict[str, Any], generated_question: str | None, report: FilterReport,
             scan_instruction: bool = False) -> dict[str, Any] | None:
        """Return the example with personal data masked, or None when ``action`` is ``drop`` and some was found.

        ``generated_question`` is the teacher's question inside the prompt (QA);
        with ``scan_instruction`` the whole user message is scanned instead,
        and nothing counts as copied from the prompt.
        """
        content = example["messages"][-1]["content"]
        numbering = _numbering_after(content, example["response"])
        head, question_found, tail = ("", "", "")
        if generated_question:
            head, question_found, tail = content.rpartition(generated_question)
        if scan_instruction:
            protected = None
        elif question_found:
            protected = _ProtectedPrompt(self.masker, head + "\n" + tail)
        else:
            protected = _ProtectedPrompt(self.masker, content)

        response = self._scan_text(example["response"], numbering, protected)
        parts = [response]
        new_content = content
        masked_question = generated_question
        if scan_instruction:
            instruction = self._scan_text(content, numbering, None)
            parts.append(instruction)
            new_content = instruction.text
        elif generated_question:
            question = self._scan_text(generated_question, numbering, protected)
            parts.append(question)
            # The question ends the QA prompt; replace its last occurrence only.
            if question_found:
                new_content = head + question.text + tail
            masked_question = question.text

        task = example["task"]
        if any(part.failed for part in parts):
            # Detection failed on this text (fail closed): drop rather than keep unscanned text.
            report.drop(task, "pii", "scan_failed")
            return None
        masked = sum((part.masked for part in parts), Counter())
        copied = sum((part.copied for part in parts), Counter())
        if masked and self.action == "drop":
            # One drop per example, under the entity types found in it.
            report.drop(task, "pii", "+".join(sorted(masked)))
            return None
        report.pii_copied_from_chunk[task].update(copied)
        if not masked:
            return example
        report.pii_masked[task].update(masked)
        messages = [*example["messages"][:-1], {**example["messages"][-1], "content": new_content}]
        result = {**example, "messages": messages, "response": response.text}
        if masked_question is not None and "question" in example:
            result["question"] = masked_question
        return result

    def _scan_text(self, text: str, numbering: PlaceholderNumbering,
                   protected: _ProtectedPrompt | None) -> _Scanned:
        """Mask the detections in ``text`` that are not copies from ``protected``."""
        spans, failed = self.masker.detect(text)
        if failed:
            return _Scanned(text, Counter(), Counter(), failed=True)

        new_spans = []
        copied: Counter[str] = Counter()
        for span in spans:
            if protected is not None and protected.contains(text[span.start:span.end]):
                copied[span.entity_type] += 1
            else:
                new_spans.append(span)

        masked, counts = replace_spans(text, new_spans, numbering)
        return _Scanned(masked, Counter(counts), copied)
