"""The privacy report: entity counts, operators, labels, left-out documents and risks; never values."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shochu.protect.labels import LABELS

if TYPE_CHECKING:
    from shochu.protect.policy import CorpusScan


@dataclass
class PrivacyReport:
    """Counts gathered while masking, written as ``privacy_report.json`` by way of ``to_dict``."""

    entity_types: list[str]
    score_threshold: float
    totals: Counter[str] = field(default_factory=Counter)
    documents: dict[str, Counter[str]] = field(default_factory=dict)
    sources: dict[str, Counter[str]] = field(default_factory=dict)
    operators: dict[str, dict[str, int]] = field(default_factory=dict)
    labels: dict[str, dict[str, Any]] = field(default_factory=dict)
    excluded: list[dict[str, Any]] = field(default_factory=list)
    reidentification: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, source: str, doc_id: str, counts: dict[str, int], withheld: bool) -> None:
        """Record one masked record (a chunk or a ticket) of ``source``."""
        self.totals.update(counts)
        self.documents.setdefault(doc_id, Counter()).update(counts)
        tally = self.sources.setdefault(source, Counter())
        tally["records"] += 1
        tally["with_entities"] += int(any(counts.values()))
        tally["withheld"] += int(withheld)

    def add_policy(self, scan: CorpusScan, operators: dict[str, dict[str, int]]) -> None:
        """Record operator counts, labels per document, left-out documents and re-identification flags."""
        self.operators = operators
        self.labels = {doc_id: {"source": labelled.source, "label": labelled.label, "policy": labelled.policy,
                                "rules": list(labelled.rules)}
                       for doc_id, labelled in sorted(scan.labels.items())}
        self.excluded = scan.excluded_documents()
        self.reidentification = {}
        for doc_id, risk in sorted(scan.risks.items()):
            labelled = scan.labels.get(doc_id)
            self.reidentification[doc_id] = {"source": labelled.source if labelled else None,
                                             "excluded": scan.excluded(doc_id), **risk.to_dict()}

    def to_dict(self) -> dict[str, Any]:
        label_counts = Counter(entry["label"] for entry in self.labels.values())
        return {
            "entity_types": self.entity_types,
            "score_threshold": self.score_threshold,
            "totals": dict(sorted(self.totals.items())),
            "sources": {name: dict(tally) for name, tally in sorted(self.sources.items())},
            "documents": {doc_id: dict(sorted(counts.items()))
                          for doc_id, counts in sorted(self.documents.items())},
            "operators": self.operators,
            "labels": {"counts": {label: label_counts[label] for label in LABELS}, "documents": self.labels},
            "excluded": {"count": len(self.excluded), "documents": self.excluded},
            # Flagged documents stay in the output unless their label's policy leaves them out:
            # the flags tell a reviewer where masked text may still single a person out.
            "reidentification": {"flagged_documents": len(self.reidentification),
                                 "flagged_documents_kept": sum(not entry["excluded"]
                                                               for entry in self.reidentification.values()),
                                 "flagged_records": sum(entry["flagged_records"]
                                                        for entry in self.reidentification.values()),
                                 "documents": self.reidentification},
        }
