"""The privacy report: entity counts per type, per source and per document, never values."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class PrivacyReport:
    """Counts gathered while masking, written as ``privacy_report.json`` by way of ``to_dict``."""

    entity_types: list[str]
    score_threshold: float
    totals: Counter[str] = field(default_factory=Counter)
    documents: dict[str, Counter[str]] = field(default_factory=dict)
    sources: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, source: str, doc_id: str, counts: dict[str, int], withheld: bool) -> None:
        """Record one masked record (a chunk or a ticket) of ``source``."""
        self.totals.update(counts)
        self.documents.setdefault(doc_id, Counter()).update(counts)
        tally = self.sources.setdefault(source, Counter())
        tally["records"] += 1
        tally["with_entities"] += int(any(counts.values()))
        tally["withheld"] += int(withheld)

    def to_dict(self) -> dict[str, Any]:
        return {
            "entity_types": self.entity_types,
            "score_threshold": self.score_threshold,
            "totals": dict(sorted(self.totals.items())),
            "sources": {name: dict(tally) for name, tally in sorted(self.sources.items())},
            "documents": {doc_id: dict(sorted(counts.items()))
                          for doc_id, counts in sorted(self.documents.items())},
        }
