"""Names known before masking, masked wherever they appear in the corpus.

A person named once with a strong cue ("**Chair:** Takeshi Kuroda", an e-mail
``From:`` header, 石塚 直樹様) is often mentioned elsewhere without one
("Takeshi explained", "石塚より"). The protect stage therefore reads the
whole corpus once and collects the names that PERSON cues find with a score
of at least ``CUE_SCORE``, plus the names in e-mail headers and author
metadata. A second pass masks every mention of them. The list lives in
memory only and is never written or logged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from presidio_analyzer import AnalysisExplanation, LocalRecognizer, RecognizerResult

from shochu.protect.cues import CUE_SCORE
from shochu.protect.normalize import normalize
from shochu.protect.person import PersonRecognizer, name_variants, names_pattern
from shochu.protect.recognizers import FailClosed

KNOWN_NAME_SCORE = 0.85

# Ingest metadata keys whose values name people, with the label that makes
# the PERSON recognizer read them as a header or field.
METADATA_LABELS = {"from": "From", "to": "To", "cc": "Cc", "bcc": "Bcc", "reply_to": "Reply-To",
                   "sender": "Sender", "author": "Author"}


def names_in_text(recognizer: PersonRecognizer, text: str) -> set[str]:
    """Return the names, and their parts, that strong cues find in ``text`` (NFKC form)."""
    normalized = normalize(text).text
    names: set[str] = set()
    for item in recognizer.find(normalized):
        if item.score >= CUE_SCORE:
            names.update(name_variants(normalized[item.start:item.end]))
    return names


def names_in_metadata(recognizer: PersonRecognizer, metadata: dict[str, Any]) -> set[str]:
    """Return the names in a document's e-mail header and author metadata."""
    lines = [f"{label}: {metadata[key]}" for key, label in METADATA_LABELS.items()
             if isinstance(metadata.get(key), str)]
    return names_in_text(recognizer, "\n".join(lines)) if lines else set()


def collect_known_names(texts: Iterable[str], metadata: Iterable[dict[str, Any]]) -> set[str]:
    """Collect known names from texts and document metadata."""
    recognizer = PersonRecognizer()
    names: set[str] = set()
    for text in texts:
        names.update(names_in_text(recognizer, text))
    for record in metadata:
        names.update(names_in_metadata(recognizer, record))
    return names


class KnownNamesRecognizer(FailClosed, LocalRecognizer):
    """Every mention of a known name, with the boundaries of ``names_pattern``."""

    def __init__(self, names: Iterable[str]) -> None:
        self._known = list(names)
        super().__init__(supported_entities=["PERSON"], name="ShochuKnownNamesRecognizer")

    def load(self) -> None:
        self._pattern = names_pattern(self._known)

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        if self._pattern is None:
            return []
        return [self._result(match.start(), match.end()) for match in self._pattern.finditer(text)]

    def _result(self, start: int, end: int) -> RecognizerResult:
        explanation = AnalysisExplanation(recognizer=self.name, original_score=KNOWN_NAME_SCORE,
                                          textual_explanation="name known from elsewhere in the corpus")
        return RecognizerResult(
            entity_type="PERSON", start=start, end=end, score=KNOWN_NAME_SCORE,
            analysis_explanation=explanation,
            recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                                  RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id},
        )
