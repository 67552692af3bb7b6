"""The protect stage's detection pass and its policy: what happens to each document.

``scan_corpus`` detects entities once in every chunk and ticket, then decides
per document:

- its confidentiality label and the label's policy (``labels.py``);
- whether it is left out: policy ``exclude``, or an entity whose operator is
  ``drop_document``;
- which records combine quasi-identifiers (``reidentify.py``).

``Protector`` then replaces the stored spans of the documents that are kept,
with the operator of each entity type, or with placeholders only where the
document's policy is ``mask``. Nothing here logs or stores a detected value,
except the reversible mapping, which is encrypted (``vault.py``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from shochu.config import ProtectConfig
from shochu.protect.labels import DocumentFacts, Labelled, Labeller, markings_of
from shochu.protect.masker import Masker, MaskResult
from shochu.protect.operators import Operators
from shochu.protect.placeholders import REDACTED_TEXT, PlaceholderNumbering, Span
from shochu.protect.reidentify import DocumentRisk, QuasiIdentifiers
from shochu.protect.vault import MappingVault

# Metadata keys whose value is a title, searched for confidentiality keywords.
_TITLE_KEYS = ("title", "subject")


@dataclass(frozen=True)
class Detection:
    """Non-overlapping spans of one text and the recognizers that failed on it."""

    spans: tuple[Span, ...]
    failed: tuple[str, ...] = ()


@dataclass
class _Document:
    """Facts gathered for one document before it is labelled."""

    source: str | None = None
    markings: tuple[str, ...] = ()
    texts: list[str] = field(default_factory=list)
    chars: int = 0
    entities: Counter[str] = field(default_factory=Counter)
    risk: DocumentRisk = field(default_factory=DocumentRisk)


@dataclass
class CorpusScan:
    """The detection pass over a corpus: detections per text and decisions per document."""

    detections: dict[tuple[str, int, str], Detection]
    labels: dict[str, Labelled]
    dropped: dict[str, tuple[str, ...]]
    risks: dict[str, DocumentRisk]

    def excluded(self, doc_id: str) -> bool:
        """Return True when the document is left out of the output."""
        labelled = self.labels.get(doc_id)
        return doc_id in self.dropped or (labelled is not None and labelled.policy == "exclude")

    def excluded_documents(self) -> list[dict[str, Any]]:
        """List left-out documents by id and relative path with the rules that fired, never their content."""
        listed = []
        for doc_id, labelled in sorted(self.labels.items()):
            if not self.excluded(doc_id):
                continue
            reasons = []
            if labelled.policy == "exclude":
                reasons.append({"kind": "label", "label": labelled.label, "rules": list(labelled.rules)})
            if doc_id in self.dropped:
                reasons.append({"kind": "operator", "operator": "drop_document",
                                "entity_types": list(self.dropped[doc_id])})
            listed.append({"doc_id": doc_id, "source": labelled.source, "reasons": reasons})
        return listed


def scan_corpus(masker: Masker, operators: Operators, config: ProtectConfig, chunks: list[dict[str, Any]],
                documents: list[dict[str, Any]] | None, tickets: Iterable[Any],
                tickets_source: str | None = None) -> CorpusScan:
    """Detect entities in every chunk and ticket once, and decide what happens to each document."""
    quasi = QuasiIdentifiers(config.reidentification.combinations, config.reidentification.job_titles)
    gathered: dict[str, _Document] = {}
    detections: dict[tuple[str, int, str], Detection] = {}

    # Document records: source path, sensitivity markings and the title.
    for document in documents or []:
        entry = gathered.setdefault(document["doc_id"], _Document())
        entry.source = document.get("source")
        entry.markings = markings_of(document)
        metadata = document.get("metadata") or {}
        entry.texts.extend(str(metadata[key]) for key in _TITLE_KEYS if isinstance(metadata.get(key), str))
        for value in metadata.values():
            for text in _strings(value):
                entry.entities.update(span.entity_type for span in _detect(masker, text).spans)

    # Chunks: heading and text; re-identification flags come from the text.
    for index, chunk in enumerate(chunks):
        entry = gathered.setdefault(chunk["doc_id"], _Document())
        entry.source = entry.source or chunk.get("source")
        for name in ("heading", "text"):
            text = chunk.get(name) or ""
            detection = _detect(masker, text)
            detections[("chunk", index, name)] = detection
            entry.texts.append(text)
            entry.chars += len(text)
            entry.entities.update(span.entity_type for span in detection.spans)
        entry.risk.add(quasi.flags(chunk.get("text") or "", detections[("chunk", index, "text")].spans))

    # Tickets: each one is a document and a single record.
    for index, ticket in enumerate(tickets):
        entry = gathered.setdefault(f"ticket-{ticket.id}", _Document(source=tickets_source))
        detection = _detect(masker, ticket.text)
        detections[("ticket", index, "text")] = detection
        entry.texts.append(ticket.text)
        entry.chars += len(ticket.text)
        entry.entities.update(span.entity_type for span in detection.spans)
        entry.risk.add(quasi.flags(ticket.text, detection.spans, whole=True))

    labeller = Labeller(config.confidentiality)
    dropping = operators.dropping_types()
    labels = {doc_id: labeller.label(DocumentFacts(doc_id, entry.source, entry.markings, tuple(entry.texts),
                                                   entry.chars, sum(entry.entities.values())))
              for doc_id, entry in gathered.items()}
    dropped = {doc_id: tuple(sorted(dropping & set(entry.entities)))
               for doc_id, entry in gathered.items() if dropping & set(entry.entities)}
    risks = {doc_id: entry.risk for doc_id, entry in gathered.items() if entry.risk.records}
    return CorpusScan(detections, labels, dropped, risks)


class Protector:
    """Replace the spans found by ``scan_corpus``, counting operators and recording the mapping."""

    def __init__(self, masker: Masker, operators: Operators, scan: CorpusScan,
                 vault: MappingVault | None = None) -> None:
        self.masker = masker
        self.operators = operators
        self.scan = scan
        self.vault = vault
        self.operator_counts: Counter[tuple[str, str]] = Counter()

    def protect(self, text: str, doc_id: str, record_id: str, numbering: PlaceholderNumbering,
                key: tuple[str, int, str] | None = None) -> MaskResult:
        """Replace the entities of one text of document ``doc_id``.

        ``key`` names a text that ``scan_corpus`` already scanned. Other texts
        (metadata values) are scanned now.
        """
        detection = self.scan.detections.get(key) if key else None
        if detection is None:
            detection = _detect(self.masker, text)
        if detection.failed:
            return MaskResult(REDACTED_TEXT, {}, detection.failed)
        if not detection.spans:
            return MaskResult(text, {})
        labelled = self.scan.labels.get(doc_id)
        placeholders_only = labelled is not None and labelled.policy == "mask"
        record = self.vault.recorder(record_id) if self.vault is not None else None
        replaced = self.operators.replace(text, list(detection.spans), numbering,
                                          placeholders_only=placeholders_only, record=record)
        self.operator_counts.update(replaced.operators)
        return MaskResult(replaced.text, replaced.counts)

    def operators_used(self) -> dict[str, dict[str, int]]:
        """Return the number of replacements per entity type and operator."""
        used: dict[str, dict[str, int]] = {}
        for (entity_type, operator), count in sorted(self.operator_counts.items()):
            used.setdefault(entity_type, {})[operator] = count
        return used


def _detect(masker: Masker, text: str) -> Detection:
    spans, failed = masker.detect(text)
    return Detection(tuple(spans), failed)


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
