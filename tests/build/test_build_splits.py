"""Splits by document and near-duplicate cluster, stratified by task and label."""

from collections import Counter

from shochu.build.splits import SPLITS, group_keys, split_examples


def _chunk_examples(documents, per_document, clusters=None):
    """QA and summary examples from chunks; ``clusters`` maps (document, chunk) to a cluster id."""
    examples = []
    for d in range(documents):
        for i in range(per_document):
            for task in ("qa", "summary"):
                example = {"id": f"{task}-doc{d}-{i}", "task": task, "doc_id": f"doc{d}", "response": "text"}
                if clusters and (d, i) in clusters:
                    example["cluster"] = clusters[(d, i)]
                examples.append(example)
    return examples


def _tickets(count, labels):
    return [{"id": f"classify-{n}", "task": "classify", "doc_id": f"ticket-{n}", "response": labels[n % len(labels)]}
            for n in range(count)]


def _owners(splits, key):
    owners = {}
    for split, records in splits.items():
        for record in records:
            value = record.get(key)
            if value is not None:
                owners.setdefault(value, set()).add(split)
    return owners


def test_no_document_or_cluster_in_two_splits():
    # Clusters link chunks of different documents: 0-1 with 5-0, 2-2 with 7-1 with 9-0.
    clusters = {(0, 1): "c1", (5, 0): "c1", (2, 2): "c2", (7, 1): "c2", (9, 0): "c2", (3, 0): "c3"}
    examples = _chunk_examples(20, 3, clusters) + _tickets(40, ["hardware", "billing", "network"])
    for seed in range(10):
        splits = split_examples(examples, 0.2, 0.2, seed)
        assert sum(len(records) for records in splits.values()) == len(examples)
        for key in ("doc_id", "cluster"):
            leaking = {value: owners for value, owners in _owners(splits, key).items() if len(owners) > 1}
            assert leaking == {}, (seed, key)


def test_cluster_pulls_documents_together():
    examples = _chunk_examples(4, 2, {(0, 0): "c", (3, 1): "c"})
    keys = dict(zip((e["id"] for e in examples), group_keys(examples), strict=True))
    assert keys["qa-doc0-1"] == keys["qa-doc3-0"]
    assert keys["qa-doc0-0"] != keys["qa-doc1-0"]


def test_without_cluster_falls_back_to_document():
    examples = _chunk_examples(6, 2)
    assert len(set(group_keys(examples))) == 6


def test_every_label_reaches_every_split():
    examples = _chunk_examples(30, 2) + _tickets(60, ["hardware", "billing", "network"])
    splits = split_examples(examples, 0.2, 0.2, seed=1)
    for split in SPLITS:
        labels = Counter(r["response"] for r in splits[split] if r["task"] == "classify")
        assert set(labels) == {"hardware", "billing", "network"}, split
        assert {r["task"] for r in splits[split]} >= {"qa", "classify"}, split


def test_label_shares_follow_the_fractions():
    examples = _tickets(100, ["a", "b", "c", "d"])
    splits = split_examples(examples, 0.1, 0.2, seed=0)
    test_labels = Counter(r["response"] for r in splits["test"])
    assert test_labels == {"a": 5, "b": 5, "c": 5, "d": 5}


def test_split_is_deterministic_per_seed_and_order():
    examples = _chunk_examples(12, 2, {(1, 0): "x", (4, 1): "x"}) + _tickets(30, ["a", "b"])
    first = split_examples(examples, 0.2, 0.2, seed=3)
    second = split_examples(list(reversed(examples)), 0.2, 0.2, seed=3)
    for split in SPLITS:
        assert sorted(r["id"] for r in first[split]) == sorted(r["id"] for r in second[split])
