"""The data card: what the built dataset contains and how it was made, as ``build/data_card.json``."""

from __future__ import annotations

from collections import Counter
from typing import Any

from shochu.build.filters import FilterReport
from shochu.workspace import fingerprint_json


def data_card(splits: dict[str, list[dict[str, Any]]], report: FilterReport, review: dict[str, Any] | None,
              mixing: dict[str, Any], warnings: dict[str, int], inputs: dict[str, str],
              settings: dict[str, Any]) -> dict[str, Any]:
    """Counts per task, language and split; drops per filter and reason; review acceptance; fingerprints."""
    by_split: dict[str, Any] = {}
    for split, records in splits.items():
        by_split[split] = {
            "examples": len(records),
            "tasks": dict(sorted(Counter(r["task"] for r in records).items())),
            "languages": dict(sorted(Counter(r.get("language", "unknown") for r in records).items())),
            "task_language": dict(sorted(Counter(f"{r['task']}/{r.get('language', 'unknown')}"
                                                 for r in records).items())),
            "documents": len({r["doc_id"] for r in records}),
        }
    filters = report.as_dict()
    return {
        "splits": by_split,
        "examples": sum(len(records) for records in splits.values()),
        "filters": {task: {"examples_in": entry["examples_in"], "kept": entry["kept"], "dropped": entry["dropped"],
                           "drop_share": round(entry["dropped"] / entry["examples_in"], 4)
                           if entry["examples_in"] else 0.0, "drops": entry["drops"],
                           **({"pii_masked": entry["pii_masked"]} if "pii_masked" in entry else {}),
                           **({"pii_copied_from_chunk": entry["pii_copied_from_chunk"]}
                              if "pii_copied_from_chunk" in entry else {})}
                    for task, entry in filters.items()},
        "review": review if review is not None else {"decisions": 0},
        "general_mixing": mixing,
        "warnings": warnings,
        "fingerprints": {"inputs": inputs, "config": fingerprint_json(settings)},
    }
