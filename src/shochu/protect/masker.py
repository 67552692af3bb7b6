"""``Masker``: detect personal data in a text and replace it with typed placeholders."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from presidio_analyzer import RecognizerResult

from shochu.config import ProtectConfig
from shochu.protect.analyzer import LANGUAGE, SUPPORTED_ENTITIES, build_analyzer
from shochu.protect.normalize import normalize
from shochu.protect.placeholders import (
    REDACTED_TEXT,
    PlaceholderNumbering,
    Span,
    replace_spans,
    resolve_overlaps,
)
from shochu.protect.recognizers import FAILED_KEY, presidio_timeout_watch

logger = logging.getLogger(__name__)

# The highest score of a detection that no checksum or validator confirms: a
# cue-confirmed name, a labelled account number or address. Confirmed values score 1.0.
HIGHEST_UNVALIDATED_SCORE = 0.85


def threshold_warning(threshold: float) -> str | None:
    """Return a warning when ``threshold`` leaves every detection that no validator confirms unmasked."""
    if threshold <= HIGHEST_UNVALIDATED_SCORE:
        return None
    return (f"protect.score_threshold {threshold:g} is above {HIGHEST_UNVALIDATED_SCORE:g}, the highest score of a "
            f"detection that no checksum or validator confirms, so person names, addresses, postal codes, dates "
            f"of birth and bank account numbers are never masked; only cards, ids, IBANs, phone numbers, e-mail "
            f"and IP addresses and prefixed secrets are. Use 0.4 (the default) to {HIGHEST_UNVALIDATED_SCORE:g}")


@dataclass(frozen=True)
class MaskResult:
    """A masked text and the number of spans masked per entity type.

    ``failed`` names the recognizers that raised on the text. The text is then
    withheld entirely (``[REDACTED]``) and ``counts`` is empty.
    """

    text: str
    counts: dict[str, int]
    failed: tuple[str, ...] = field(default=())


class Masker:
    """Replace PERSON, EMAIL_ADDRESS, PHONE_NUMBER and other entities with ``[TYPE_n]`` placeholders.

    Detection runs on an NFKC-normalised copy of the text, and spans are
    mapped back to the original offsets, so full-width digits are found and
    the rest of the text is returned byte for byte. Overlapping detections
    keep the higher score, then the longer span.
    """

    def __init__(self, config: ProtectConfig, known_names: Iterable[str] = ()) -> None:
        """Build the analyzer. ``known_names`` are masked wherever they appear (see ``known_names.py``)."""
        unknown = sorted(set(config.entities) - set(SUPPORTED_ENTITIES))
        if unknown:
            raise ValueError(f"protect.entities: unsupported entity type(s) {', '.join(unknown)}. "
                             f"Use only these: {', '.join(SUPPORTED_ENTITIES)}")
        self.entities = tuple(dict.fromkeys(config.entities))
        self.score_threshold = config.score_threshold
        warning = threshold_warning(config.score_threshold)
        if warning:
            logger.warning(warning)
        self._analyzer = build_analyzer(self.entities, (normalize(name).text for name in known_names),
                                        config.phone_regions, config.score_threshold, config.ner)

    def mask(self, text: str, numbering: PlaceholderNumbering | None = None) -> MaskResult:
        """Mask one text. Pass one ``numbering`` to several texts to share placeholder numbers."""
        spans, failed = self.detect(text)
        if failed:
            return MaskResult(REDACTED_TEXT, {}, failed)
        if not spans:
            return MaskResult(text, {})
        masked, counts = replace_spans(text, spans, numbering or PlaceholderNumbering())
        return MaskResult(masked, counts)

    def detect(self, text: str) -> tuple[list[Span], tuple[str, ...]]:
        """Return the non-overlapping spans to mask in ``text`` and the names of recognizers that failed.

        Spans are offsets into ``text`` itself, sorted by start. When a
        recognizer failed, the spans are empty and the text must be withheld.
        """
        if not text or not self.entities:
            return [], ()

        normalized = normalize(text)
        try:
            with presidio_timeout_watch():
                results = self._analyzer.analyze(normalized.text, language=LANGUAGE,
                                                 entities=list(self.entities), score_threshold=self.score_threshold)
        except Exception as error:  # noqa: BLE001 - any failure must withhold the text
            logger.warning("analyzer raised %s on a text of %d characters; the text is withheld",
                           type(error).__name__, len(text))
            return [], ("AnalyzerEngine",)

        failed = _failed_recognizers(results)
        if failed:
            return [], failed
        spans = [Span(*normalized.to_original(result.start, result.end), result.entity_type, result.score)
                 for result in results]
        return resolve_overlaps(spans), ()


def _failed_recognizers(results: list[RecognizerResult]) -> tuple[str, ...]:
    names = set()
    for result in results:
        metadata = result.recognition_metadata or {}
        if metadata.get(FAILED_KEY):
            names.add(metadata.get(RecognizerResult.RECOGNIZER_NAME_KEY, "unknown"))
    return tuple(sorted(names))
