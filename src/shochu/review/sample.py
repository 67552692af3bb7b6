"""Draw the review sample from the built examples and keep it in the workspace.

A card is one built example ready to show a reviewer: the instruction, the
response and the masked source text it came from. Source text comes from
``protect/chunks.jsonl`` or ``protect/tickets.jsonl`` only, so PII placeholders
such as ``[PERSON_1]`` stay visible and no unmasked text is read. Cards are grouped into strata by
task and language (``qa/ja``); the sample gives every stratum at least
``review.min_per_stratum`` cards, shares the rest in proportion to stratum
size, and spreads each stratum's cards over as many source documents as it can.

The sample is written to ``review/sample.jsonl`` and reused until
``shochu review --resample``, so that restarting the page, or the build stage
dropping rejected examples, leaves the reviewed sample as it was.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shochu.config import ReviewConfig
from shochu.ingest.normalize import detect_language
from shochu.workspace import Workspace, iter_jsonl, read_json, read_jsonl, write_json, write_jsonl

logger = logging.getLogger(__name__)

REVIEW_DIR = "review"
SAMPLE_FILE = "sample.jsonl"
SAMPLE_INFO_FILE = "sample.json"
BUILD_SPLITS = ("train", "validation", "test")

# A card: one example as the review page shows it (see make_card).
Card = dict[str, Any]

# Example fields that may name the source records of an example, in the order they are tried.
_SOURCE_ID_FIELDS = ("chunk_ids", "chunk_id", "source_chunk_ids", "source_chunk_id", "ticket_id")


def review_dir(workspace_root: Path) -> Path:
    return Path(workspace_root) / REVIEW_DIR


@dataclass
class Sources:
    """Masked source texts by id, read from the protect stage's output."""

    chunks: dict[str, dict[str, Any]] = field(default_factory=dict)
    tickets: dict[str, dict[str, Any]] = field(default_factory=dict)
    languages: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, protect_dir: Path, examples: Iterable[dict[str, Any]]) -> Sources:
        """Read the source records that ``examples`` may name, streaming the protect outputs line by line.

        Only those records, and the languages of their documents, are kept, so
        memory follows the number of examples, not the size of the corpus.
        """
        needed_ids: set[str] = set()
        needed_documents: set[str] = set()
        for example in examples:
            needed_ids.update(candidate_source_ids(example))
            if example.get("doc_id"):
                needed_documents.add(str(example["doc_id"]))

        sources = cls()
        chunks = protect_dir / "chunks.jsonl"
        tickets = protect_dir / "tickets.jsonl"
        documents = protect_dir / "documents.jsonl"
        if chunks.exists():
            sources.chunks = {record["chunk_id"]: record for record in iter_jsonl(chunks)
                              if str(record.get("chunk_id")) in needed_ids}
        if tickets.exists():
            sources.tickets = {str(record["id"]): record for record in iter_jsonl(tickets)
                               if str(record.get("id")) in needed_ids}
        needed_documents.update(str(record.get("doc_id")) for record in sources.chunks.values())
        if documents.exists():
            sources.languages = {record["doc_id"]: record["language"] for record in iter_jsonl(documents)
                                 if record.get("language") and record["doc_id"] in needed_documents}
        return sources

    def find(self, example: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
        """Return the ids and records of an example's source chunks or ticket (empty when none is found)."""
        for name in _SOURCE_ID_FIELDS:
            value = example.get(name)
            if isinstance(value, list):
                ids = [str(item) for item in value]
            else:
                ids = [str(value)] if value else []
            records = [record for record in map(self._lookup, ids) if record is not None]
            if records:
                return ids, records

        # Build examples made before the source fields existed carry it in their id: "<task>-<source id>".
        prefix = f"{example.get('task')}-"
        example_id = str(example.get("id", ""))
        if example_id.startswith(prefix):
            record = self._lookup(example_id[len(prefix):])
            if record is not None:
                return [example_id[len(prefix):]], [record]
        return [], []

    def _lookup(self, source_id: str) -> dict[str, Any] | None:
        return self.chunks.get(source_id) or self.tickets.get(source_id)


def candidate_source_ids(example: dict[str, Any]) -> set[str]:
    """Return every id that ``Sources.find`` may look up for an example."""
    ids: set[str] = set()
    for name in _SOURCE_ID_FIELDS:
        value = example.get(name)
        if isinstance(value, list):
            ids.update(str(item) for item in value)
        elif value:
            ids.add(str(value))
    prefix = f"{example.get('task')}-"
    example_id = str(example.get("id", ""))
    if example_id.startswith(prefix):
        ids.add(example_id[len(prefix):])
    return ids


def load_cards(workspace: Workspace) -> list[dict[str, Any]]:
    """Return one card per example in ``build/{train,validation,test}.jsonl``, sorted by id."""
    build_dir = workspace.require("build", "review")
    protect_dir = workspace.root / "protect"

    examples: list[tuple[str, dict[str, Any]]] = []
    for split in BUILD_SPLITS:
        path = build_dir / f"{split}.jsonl"
        if not path.exists():
            continue
        for line_number, example in enumerate(read_jsonl(path), start=1):
            for required in ("id", "task", "response"):
                if required not in example:
                    raise ValueError(f"{path}: example {line_number} has no {required!r} field; "
                                     f"re-run `shochu build --workspace {workspace.root} --force`")
            examples.append((split, example))
    sources = Sources.load(protect_dir, (example for _, example in examples))

    cards: list[dict[str, Any]] = []
    unsourced = 0
    for split, example in examples:
        card = make_card(example, split, sources)
        unsourced += card["source"] is None
        cards.append(card)
    if unsourced:
        logger.warning("review: %d of %d examples have no source text in %s", unsourced, len(cards),
                       protect_dir)
    return sorted(cards, key=lambda card: card["id"])


def make_card(example: dict[str, Any], split: str, sources: Sources) -> dict[str, Any]:
    """Turn one built example into a card: the fields the page shows, plus its stratum."""
    source_ids, records = sources.find(example)
    source = "\n\n".join(record.get("text") or "" for record in records) if records else None
    heading = records[0].get("heading") if records else None

    messages = example.get("messages") or []
    system = "\n\n".join(m.get("content", "") for m in messages if m.get("role") == "system")
    user_turns = [m.get("content", "") for m in messages if m.get("role") == "user"]
    instruction = user_turns[-1] if user_turns else str(example.get("instruction", ""))

    doc_id = str(example.get("doc_id") or (records[0].get("doc_id") if records else "") or "")
    language = (example.get("language") or sources.languages.get(doc_id)
                or detect_language(source or instruction + "\n" + str(example["response"])))
    task = str(example["task"])
    return {
        "id": str(example["id"]),
        "stratum": f"{task}/{language}",
        "task": task,
        "language": language,
        "split": split,
        "doc_id": doc_id,
        "source_ids": source_ids,
        "heading": heading,
        "source": source,
        "system": system or None,
        "instruction": instruction,
        "response": str(example["response"]),
    }


# --- sampling -------------------------------------------------------------


def draw_sample(cards: list[Card], size: int, min_per_stratum: int, seed: int) -> list[Card]:
    """Draw a stratified sample; the same cards and seed give the same sample in the same order."""
    rng = random.Random(f"review:{seed}")
    strata: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for card in sorted(cards, key=lambda card: card["id"]):
        strata[card["stratum"]].append(card)

    quotas = allocate({name: len(members) for name, members in strata.items()}, size, min_per_stratum)
    sample: list[dict[str, Any]] = []
    for name in sorted(strata):
        sample += spread_over_documents(strata[name], quotas[name], rng)
    rng.shuffle(sample)
    return sample


def allocate(stratum_sizes: dict[str, int], total: int, minimum: int) -> dict[str, int]:
    """Share ``total`` draws among strata: ``minimum`` each first, the rest in proportion to size.

    No stratum gets more than it has. The minimum is kept even when the strata
    together need more than ``total``, so that no task or language goes unreviewed.
    """
    quotas = {name: min(count, minimum) for name, count in stratum_sizes.items()}
    remaining = total - sum(quotas.values())
    while remaining > 0:
        room = {name: stratum_sizes[name] - quotas[name]
                for name in quotas if stratum_sizes[name] > quotas[name]}
        if not room:
            break

        # Largest remainder: whole shares first, then one more each for the largest fractions.
        capacity = sum(room.values())
        shares = {name: remaining * free / capacity for name, free in room.items()}
        granted = {name: min(int(share), room[name]) for name, share in shares.items()}
        leftover = remaining - sum(granted.values())
        by_fraction = sorted(room, key=lambda name: (-(shares[name] - int(shares[name])), name))
        for name in by_fraction:
            if leftover == 0:
                break
            if granted[name] < room[name]:
                granted[name] += 1
                leftover -= 1

        for name, extra in granted.items():
            quotas[name] += extra
        given = sum(granted.values())
        if given == 0:
            break
        remaining -= given
    return quotas


def spread_over_documents(cards: list[Card], count: int, rng: random.Random) -> list[Card]:
    """Pick ``count`` cards, one per source document in turn, so that no document dominates."""
    by_document: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for card in cards:
        by_document[card["doc_id"]].append(card)
    documents = sorted(by_document)
    rng.shuffle(documents)
    for document in documents:
        rng.shuffle(by_document[document])

    picked: list[dict[str, Any]] = []
    depth = 0
    while len(picked) < min(count, len(cards)):
        for document in documents:
            if depth < len(by_document[document]) and len(picked) < count:
                picked.append(by_document[document][depth])
        depth += 1
    return picked


# --- the stored sample ----------------------------------------------------


def sample_seed(review: ReviewConfig, run_seed: int) -> int:
    return review.seed if review.seed is not None else run_seed


def read_sample(workspace_root: Path) -> list[dict[str, Any]] | None:
    """Return the stored sample, or None when ``shochu review`` has not drawn one."""
    path = review_dir(workspace_root) / SAMPLE_FILE
    return read_jsonl(path) if path.exists() else None


def ensure_sample(workspace: Workspace, review: ReviewConfig, run_seed: int,
                  resample: bool = False) -> list[dict[str, Any]]:
    """Return the stored sample, drawing and storing a new one when there is none or ``resample`` is set."""
    stored = None if resample else read_sample(workspace.root)
    if stored is not None:
        _warn_if_stale(workspace, review, run_seed, stored)
        return stored

    cards = load_cards(workspace)
    if not cards:
        raise ValueError(f"{workspace.root / 'build'} contains no examples to review; "
                         f"run `shochu build` first")
    seed = sample_seed(review, run_seed)
    sample = draw_sample(cards, review.sample_size, review.min_per_stratum, seed)
    folder = review_dir(workspace.root)
    write_jsonl(folder / SAMPLE_FILE, sample)

    pool = Counter(card["stratum"] for card in cards)
    drawn = Counter(card["stratum"] for card in sample)
    write_json(folder / SAMPLE_INFO_FILE, {
        "seed": seed,
        "sample_size": review.sample_size,
        "min_per_stratum": review.min_per_stratum,
        "build": workspace.output_fingerprint("build"),
        "strata": {name: {"examples": pool[name], "sampled": drawn[name]} for name in sorted(pool)},
        "drawn_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    })
    logger.info("review: drew %d of %d examples over %d strata", len(sample), len(cards), len(pool))
    return sample


def _warn_if_stale(workspace: Workspace, review: ReviewConfig, run_seed: int, sample: list[Card]) -> None:
    info_path = review_dir(workspace.root) / SAMPLE_INFO_FILE
    if not info_path.exists():
        return
    info = read_json(info_path)
    expected = {"seed": sample_seed(review, run_seed), "sample_size": review.sample_size,
              "min_per_stratum": review.min_per_stratum}
    changed = sorted(key for key, value in expected.items() if info.get(key) != value)
    if changed:
        logger.warning("review: the stored sample was drawn with other settings (%s); it is kept. "
                       "Run `shochu review --resample` to draw a new one", ", ".join(changed))
    if workspace.is_complete("build") and info.get("build") != workspace.output_fingerprint("build"):
        current = {card["id"] for card in load_cards(workspace)}
        missing = sum(card["id"] not in current for card in sample)
        logger.info("review: the build stage ran since the sample was drawn; %d of %d sampled examples are "
                    "no longer built (rejected ones among them)", missing, len(sample))
