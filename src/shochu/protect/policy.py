"""The protect stage's detection pass and its policy: what happens to each document.

``scan_corpus`` detects entities once in every chunk and ticket. A chunk's
text is detected inside its window, with the text around it in its document
(``windows.py``), so that a value cut by a chunk boundary is still found; the
spans that overlap the chunk are kept, clipped to it. It appends
the spans of each text to a scratch file (``detections.py``) and keeps, per
document, only what the decisions below need: the source path, markings,
matched keyword rules, character and entity counts, and re-identification
tallies. Memory therefore grows with the number of documents, not with their
text. At the end it decides per document:

- its confidentiality label and the label's policy (``labels.py``);
- whether it is left out: policy ``exclude``, or an entity whose operator is
  ``drop_document``;
- which records combine quasi-identifiers (``reidentify.py``).

``Protector`` then reads the spans back from the scratch file, in scan order,
and replaces them in the documents that are kept, with the operator of each
entity type, or with placeholders only where the document's policy is
``mask``. A clipped span always gets a placeholder: a pseudonym or hash of a
piece of a value would stand for a value that does not exist, and the two
chunks that share the value would show two unrelated replacements where the
document had one. Each chunk that contains a piece counts the entity once.

Nothing here logs or stores a detected value, except the reversible mapping,
which is encrypted (``vault.py``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from shochu.config import ProtectConfig
from shochu.protect.detections import Detection, DetectionReader, DetectionWriter, TextKey
from shochu.protect.labels import DocumentFacts, Labelled, Labeller, markings_of
from shochu.protect.masker import Masker, MaskResult
from shochu.protect.operators import Operators
from shochu.protect.placeholders import REDACTED_TEXT, PlaceholderNumbering
from shochu.protect.reidentify import DocumentRisk, QuasiIdentifiers
from shochu.protect.vault import MappingVault
from shochu.protect.windows import ChunkWindow, chunk_windows, clip_spans

# Metadata keys whose value is a title, searched for confidentiality keywords.
_TITLE_KEYS = ("title", "subject")


@dataclass
class _Document:
    """Facts gathered for one document before it is labelled, without its text."""

    source: str | None = None
    markings: tuple[str, ...] = ()
    keyword_matches: set[tuple[str, str]] = field(default_factory=set)
    chars: int = 0
    entities: Counter[str] = field(default_factory=Counter)
    risk: DocumentRisk = field(default_factory=DocumentRisk)


@dataclass
class CorpusScan:
    """Decisions per document from the detection pass; the spans themselves are in the scratch file."""

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


def scan_corpus(masker: Masker, operators: Operators, config: ProtectConfig, chunks: Iterable[dict[str, Any]],
                documents: Iterable[dict[str, Any]] | None, tickets: Iterable[Any],
                detections: DetectionWriter, tickets_source: str | None = None) -> CorpusScan:
    """Detect entities in every chunk and ticket once, write their spans to ``detections``, and decide
    what happens to each document."""
    scanner = _Scanner(masker, config, detections)
    scanner.add_documents(documents or [])
    scanner.add_chunks(chunks)
    scanner.add_tickets(tickets, tickets_source)
    return scanner.decide(operators)


class _Scanner:
    """The detection pass: per-document facts in memory, spans in the scratch file."""

    def __init__(self, masker: Masker, config: ProtectConfig, detections: DetectionWriter) -> None:
        self.masker = masker
        self.labeller = Labeller(config.confidentiality)
        reidentification = config.reidentification
        self.quasi = QuasiIdentifiers(reidentification.combinations, reidentification.job_titles)
        self.detections = detections
        self.gathered: dict[str, _Document] = {}

    def add_documents(self, documents: Iterable[dict[str, Any]]) -> None:
        """Record each document's source path, sensitivity markings, title keywords and metadata entities."""
        for document in documents:
            entry = self.gathered.setdefault(document["doc_id"], _Document())
            entry.source = document.get("source")
            entry.markings = markings_of(document)
            metadata = document.get("metadata") or {}
            for key in _TITLE_KEYS:
                if isinstance(metadata.get(key), str):
                    entry.keyword_matches.update(self.labeller.keyword_matches(metadata[key]))
            for value in metadata.values():
                for text in _strings(value):
                    entry.entities.update(span.entity_type for span in _detect(self.masker, text).spans)

    def add_chunks(self, chunks: Iterable[dict[str, Any]]) -> None:
        """Scan each chunk's heading and text, and flag records of the text that combine quasi-identifiers.

        The text is detected in its window; the heading alone.
        """
        for index, window in enumerate(chunk_windows(chunks)):
            chunk = window.chunk
            entry = self.gathered.setdefault(chunk["doc_id"], _Document())
            entry.source = entry.source or chunk.get("source")
            self._scan(entry, ("chunk", index, "heading"), chunk.get("heading") or "")
            text = chunk.get("text") or ""
            detection = self._scan(entry, ("chunk", index, "text"), text, window)
            entry.risk.add(self.quasi.flags(text, detection.spans))

    def add_tickets(self, tickets: Iterable[Any], source: str | None) -> None:
        """Scan each ticket, which is a document and a single record."""
        for index, ticket in enumerate(tickets):
            entry = self.gathered.setdefault(f"ticket-{ticket.id}", _Document(source=source))
            detection = self._scan(entry, ("ticket", index, "text"), ticket.text)
            entry.risk.add(self.quasi.flags(ticket.text, detection.spans, whole=True))

    def decide(self, operators: Operators) -> CorpusScan:
        """Label every document and list those that an operator drops or that combine quasi-identifiers."""
        dropping = operators.dropping_types()
        labels = {doc_id: self.labeller.label(DocumentFacts(doc_id, entry.source, entry.markings,
                                                            tuple(sorted(entry.keyword_matches)), entry.chars,
                                                            sum(entry.entities.values())))
                  for doc_id, entry in self.gathered.items()}
        dropped = {doc_id: tuple(sorted(dropping & set(entry.entities)))
                   for doc_id, entry in self.gathered.items() if dropping & set(entry.entities)}
        risks = {doc_id: entry.risk for doc_id, entry in self.gathered.items() if entry.risk.records}
        return CorpusScan(labels, dropped, risks)

    def _scan(self, entry: _Document, key: TextKey, text: str,
              window: ChunkWindow | None = None) -> Detection:
        detection = _detect(self.masker, text) if window is None else _detect_window(self.masker, window)
        self.detections.write(key, detection)
        entry.keyword_matches.update(self.labeller.keyword_matches(text))
        entry.chars += len(text)
        entry.entities.update(span.entity_type for span in detection.spans)
        return detection


class Protector:
    """Replace the spans found by ``scan_corpus``, counting operators and recording the mapping."""

    def __init__(self, masker: Masker, operators: Operators, scan: CorpusScan, detections: DetectionReader,
                 vault: MappingVault | None = None) -> None:
        self.masker = masker
        self.operators = operators
        self.scan = scan
        self.detections = detections
        self.vault = vault
        self.operator_counts: Counter[tuple[str, str]] = Counter()

    def protect(self, text: str, doc_id: str, record_id: str, numbering: PlaceholderNumbering,
                key: TextKey | None = None) -> MaskResult:
        """Replace the entities of one text of document ``doc_id``.

        ``key`` names a text that ``scan_corpus`` already scanned, whose spans
        are read from the scratch file. Keyed texts must come in scan order.
        Other texts (metadata values) are scanned now.
        """
        detection = self.detections.get(key) if key else _detect(self.masker, text)
        if detection.failed:
            return MaskResult(REDACTED_TEXT, {}, detection.failed)
        if not detection.spans:
            return MaskResult(text, {})
        labelled = self.scan.labels.get(doc_id)
        placeholders_only = labelled is not None and labelled.policy == "mask"
        record = self.vault.recorder(record_id) if self.vault is not None else None
        replaced = self.operators.replace(text, list(detection.spans), numbering,
                                          placeholders_only=placeholders_only,
                                          placeholder_spans=detection.clipped_spans(), record=record)
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


def _detect_window(masker: Masker, window: ChunkWindow) -> Detection:
    """Detect in a chunk's window; return the spans in chunk offsets. A failure withholds the chunk."""
    spans, failed = masker.detect(window.text)
    if failed:
        return Detection((), failed)
    clipped_spans, clipped = clip_spans(spans, window)
    return Detection(tuple(clipped_spans), (), clipped)


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
