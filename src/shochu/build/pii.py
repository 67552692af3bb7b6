"""Second PII scan of built examples: the teacher can copy, re-introduce or invent personal data.

Uses the protect stage's ``Masker`` with the run's ``protect`` settings. Only
the generated parts are scanned (the question and the response; the chunk in
the prompt was masked by the protect stage), and both the instruction and the
response of user-provided examples. New placeholders are numbered after those
already in the example, so a new ``[PERSON_n]`` never collides with one from
the chunk. Counts are kept per entity type only.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from shochu.build.filters import FilterReport
from shochu.config import ProtectConfig
from shochu.protect import Masker
from shochu.protect.placeholders import PlaceholderNumbering

_PLACEHOLDER = re.compile(r"\[([A-Z_]+)_(\d+)\]")


def _numbering_after(*texts: str) -> PlaceholderNumbering:
    highest: Counter[str] = Counter()
    for text in texts:
        for entity_type, number in _PLACEHOLDER.findall(text):
            highest[entity_type] = max(highest[entity_type], int(number))
    # PlaceholderNumbering hands out next[type] + 1, so start each type at its highest number.
    return PlaceholderNumbering(_next=highest)


class PiiScan:
    """Mask or drop personal data found in examples; counts go to a ``FilterReport``."""

    def __init__(self, config: ProtectConfig, action: str) -> None:
        self.masker = Masker(config)
        self.action = action

    def scan(self, example: dict[str, Any], generated_question: str | None, report: FilterReport,
             scan_instruction: bool = False) -> dict[str, Any] | None:
        """Return the example with personal data masked, or None when ``action`` is ``drop`` and some was found.

        ``generated_question`` is the teacher's question inside the prompt (QA);
        with ``scan_instruction`` the whole user message is scanned instead.
        """
        content = example["messages"][-1]["content"]
        numbering = _numbering_after(content, example["response"])
        found: Counter[str] = Counter()
        withheld = False

        response = self.masker.mask(example["response"], numbering)
        found.update(response.counts)
        withheld |= bool(response.failed)
        new_content = content
        masked_question = generated_question
        if scan_instruction:
            masked = self.masker.mask(content, numbering)
            found.update(masked.counts)
            withheld |= bool(masked.failed)
            new_content = masked.text
        elif generated_question:
            masked = self.masker.mask(generated_question, numbering)
            found.update(masked.counts)
            withheld |= bool(masked.failed)
            # The question ends the QA prompt; replace its last occurrence only.
            head, _, tail = content.rpartition(generated_question)
            new_content = head + masked.text + tail
            masked_question = masked.text

        task = example["task"]
        if withheld:
            # Detection failed on this text (fail closed): drop rather than keep unscanned text.
            report.drop(task, "pii", "scan_failed")
            return None
        if not found:
            return example
        if self.action == "drop":
            # One drop per example, under the entity types found in it.
            report.drop(task, "pii", "+".join(sorted(found)))
            return None
        report.pii_masked[task].update(found)
        messages = [*example["messages"][:-1], {**example["messages"][-1], "content": new_content}]
        result = {**example, "messages": messages, "response": response.text}
        if masked_question is not None and "question" in example:
            result["question"] = masked_question
        return result
