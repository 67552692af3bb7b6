"""Train/validation/test splits with no leakage across source documents or near-duplicate clusters.

Examples are grouped: two examples share a group when they come from the
same document, or from chunks in the same near-duplicate cluster (the
``cluster`` id that ingest gives chunk records; records without one are
grouped by document only). Connected groups merge, so a cluster spanning two
documents pulls both into one group. Each group goes to exactly one split.

Groups are stratified by their stratum, the most common (task, label) pair
of their examples: within each stratum a ``validation`` and ``test`` share of
the groups is drawn, so every task and every ticket label reaches every split
once it has three or more groups.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from typing import Any

SPLITS = ("train", "validation", "test")


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, item: str) -> str:
        self.parent.setdefault(item, item)
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, first: str, second: str) -> None:
        self.parent[self.find(first)] = self.find(second)


def group_keys(examples: list[dict[str, Any]]) -> list[str]:
    """Return each example's group: the representative of its connected documents and clusters."""
    groups = _UnionFind()
    for example in examples:
        document = f"doc:{example['doc_id']}"
        groups.find(document)
        if example.get("cluster") is not None:
            groups.union(f"cluster:{example['cluster']}", document)
    roots = [groups.find(f"doc:{example['doc_id']}") for example in examples]
    # Name each group by its smallest document key, so the names do not depend on input order.
    names: dict[str, str] = {}
    for root, example in zip(roots, examples, strict=True):
        document = f"doc:{example['doc_id']}"
        names[root] = min(names.get(root, document), document)
    return [names[root] for root in roots]


def stratum(example: dict[str, Any]) -> str:
    label = example.get("response", "") if example["task"] == "classify" else ""
    return f"{example['task']}:{label}"


def split_examples(
    examples: list[dict[str, Any]], validation: float, test: float, seed: int
) -> dict[str, list[dict[str, Any]]]:
    """Assign whole groups to splits, stratified by task and label; deterministic per seed."""
    keys = group_keys(examples)
    strata_per_group: dict[str, Counter[str]] = defaultdict(Counter)
    for key, example in zip(keys, examples, strict=True):
        strata_per_group[key][stratum(example)] += 1

    by_stratum: dict[str, list[str]] = defaultdict(list)
    for key, strata in strata_per_group.items():
        # The most common stratum, ties broken by name so the result does not depend on input order.
        top = max(sorted(strata), key=lambda name: strata[name])
        by_stratum[top].append(key)

    assignment: dict[str, str] = {}
    for name in sorted(by_stratum):
        group_list = sorted(by_stratum[name])
        random.Random(f"{seed}:{name}").shuffle(group_list)
        test_count = _share(len(group_list), test)
        validation_count = _share(len(group_list), validation)
        for position, key in enumerate(group_list):
            if position < test_count:
                assignment[key] = "test"
            elif position < test_count + validation_count:
                assignment[key] = "validation"
            else:
                assignment[key] = "train"

    splits: dict[str, list[dict[str, Any]]] = {split: [] for split in SPLITS}
    for key, example in zip(keys, examples, strict=True):
        splits[assignment[key]].append(example)
    return splits


def _share(total: int, fraction: float) -> int:
    """Round a split's share of groups, keeping at least one when the fraction is non-zero."""
    if fraction <= 0 or total < 3:
        return 0
    return max(1, round(total * fraction))
