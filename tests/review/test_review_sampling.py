"""Review sample: cards from the build output, stratification, spread over documents, seed stability."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from shochu.config import ReviewConfig
from shochu.review.sample import (SAMPLE_FILE, SAMPLE_INFO_FILE, allocate, draw_sample, ensure_sample, load_cards,
                                  review_dir)
from shochu.workspace import Workspace


def test_cards_show_masked_source(review_workspace: Path) -> None:
    cards = {card["id"]: card for card in load_cards(Workspace(review_workspace))}

    # An example that names its chunk, and one that carries the chunk only in its id.
    named = cards["qa-doc-ja-1-0000"]
    assert named["source_ids"] == ["doc-ja-1-0000"]
    assert "[PERSON_1]" in named["source"]
    assert named["heading"] == "Section 1"
    derived = cards["summary-doc-en-2-0001"]
    assert derived["source_ids"] == ["doc-en-2-0001"]
    assert derived["source"].endswith("(doc-en-2-0001)")
    assert derived["split"] == "validation"

    ticket = cards["classify-T7"]
    assert ticket["source"] == "[PERSON_1]様の請求書が届きません。"
    assert ticket["response"] == "billing"


def test_card_languages(review_workspace: Path, fixture_strata: dict[str, int]) -> None:
    cards = load_cards(Workspace(review_workspace))

    assert Counter(card["stratum"] for card in cards) == fixture_strata
    by_id = {card["id"]: card for card in cards}
    # From the example, from protect/documents.jsonl, and detected from the masked text.
    assert by_id["qa-doc-ja-2-0000"]["language"] == "ja"
    assert by_id["qa-doc-ja-2-0001"]["language"] == "ja"
    assert by_id["summary-doc-th-1-0001"]["language"] == "th"
    assert by_id["classify-T8"]["language"] == "ja"
    assert by_id["classify-T1"]["language"] == "en"


def test_allocate_minimum_then_proportional() -> None:
    quotas = allocate({"large": 100, "medium": 10, "tiny": 1}, total=20, minimum=2)

    assert quotas["tiny"] == 1
    assert sum(quotas.values()) == 20
    assert quotas["medium"] >= 2
    assert quotas["large"] > quotas["medium"]
    # 15 draws beyond the floors of 2, 2 and 1, shared 98 : 8 by free room: 13.9 and 1.1,
    # so 13 and 1, and the one left over goes to the larger fraction.
    assert quotas == {"large": 16, "medium": 3, "tiny": 1}


def test_allocate_never_exceeds_stratum() -> None:
    assert allocate({"a": 3, "b": 2}, total=50, minimum=2) == {"a": 3, "b": 2}
    assert allocate({"a": 30, "b": 30}, total=10, minimum=1) == {"a": 5, "b": 5}


def test_allocate_keeps_minimum_over_total() -> None:
    quotas = allocate({name: 10 for name in "abcdef"}, total=4, minimum=2)

    assert quotas == {name: 2 for name in "abcdef"}


def test_sample_covers_every_stratum(review_workspace: Path, fixture_strata: dict[str, int]) -> None:
    cards = load_cards(Workspace(review_workspace))

    sample = draw_sample(cards, size=20, min_per_stratum=2, seed=3)

    counts = Counter(card["stratum"] for card in sample)
    assert len(sample) == 20
    assert set(counts) == set(fixture_strata)
    assert all(counts[name] >= 2 for name in fixture_strata)
    assert len({card["id"] for card in sample}) == 20


def test_sample_spreads_over_documents(review_workspace: Path) -> None:
    cards = load_cards(Workspace(review_workspace))

    sample = draw_sample(cards, size=28, min_per_stratum=2, seed=5)

    # qa/en has 4 documents of 3 chunks; up to 4 draws come from 4 different documents.
    english_qa = [card["doc_id"] for card in sample if card["stratum"] == "qa/en"]
    assert 2 <= len(english_qa) <= 8
    expected_documents = min(len(english_qa), 4)
    assert len(set(english_qa)) == expected_documents
    assert max(Counter(english_qa).values()) - min(Counter(english_qa).values()) <= 1


def test_sample_stable_for_seed(review_workspace: Path) -> None:
    cards = load_cards(Workspace(review_workspace))
    shuffled = list(cards)
    random.Random(11).shuffle(shuffled)

    first = [card["id"] for card in draw_sample(cards, 15, 1, seed=7)]
    again = [card["id"] for card in draw_sample(shuffled, 15, 1, seed=7)]
    other = [card["id"] for card in draw_sample(cards, 15, 1, seed=8)]

    assert first == again
    assert first != other


def test_sample_kept_across_restarts(review_workspace: Path) -> None:
    workspace = Workspace(review_workspace)
    review = ReviewConfig(sample_size=12, min_per_stratum=1)
    first = ensure_sample(workspace, review, run_seed=0)
    stored = (review_dir(review_workspace) / SAMPLE_FILE).read_text(encoding="utf-8")

    # The build drops examples (as applying rejections does); the stored sample stays.
    train = review_workspace / "build" / "train.jsonl"
    kept = [line for line in train.read_text(encoding="utf-8").splitlines() if "qa-" not in line]
    train.write_text("\n".join(kept) + "\n", encoding="utf-8")
    again = ensure_sample(workspace, review, run_seed=0)

    assert again == first
    assert (review_dir(review_workspace) / SAMPLE_FILE).read_text(encoding="utf-8") == stored
    info = json.loads((review_dir(review_workspace) / SAMPLE_INFO_FILE).read_text(encoding="utf-8"))
    assert info["seed"] == 0
    assert sum(stratum["sampled"] for stratum in info["strata"].values()) == len(first)

    redrawn = ensure_sample(workspace, review, run_seed=0, resample=True)
    train_qa = {card["id"] for card in redrawn if card["split"] == "train" and card["task"] == "qa"}
    assert train_qa == set()


def test_review_seed_overrides_run_seed(review_workspace: Path) -> None:
    workspace = Workspace(review_workspace)
    by_run_seed = ensure_sample(workspace, ReviewConfig(sample_size=15), run_seed=4, resample=True)
    by_review_seed = ensure_sample(workspace, ReviewConfig(sample_size=15, seed=4), run_seed=99, resample=True)

    assert [card["id"] for card in by_review_seed] == [card["id"] for card in by_run_seed]


def test_sample_needs_finished_build(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="shochu build"):
        ensure_sample(Workspace(tmp_path), ReviewConfig(), run_seed=0)
