"""Build stage: protected chunks and labelled tickets become instruction/response examples.

Task kinds:

- ``qa``: the teacher writes a question about a chunk, then answers it from the chunk.
- ``summary``: the teacher summarises a chunk.
- ``classify``: a ticket's text with the category list; the response is the true category.

Examples are split into train, validation and test by source document, so no
document feeds two splits. Teacher generations are cached in the workspace as
they finish, so a killed build resumes without generating them again.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import torch

from shochu.build import prompts
from shochu.config import RunConfig
from shochu.generation import Generation, generate, resolve_dtype
from shochu.models import load_model, load_tokenizer, model_fingerprint, prepare_models
from shochu.workspace import Workspace, fingerprint_json, read_jsonl, write_json, write_jsonl

logger = logging.getLogger(__name__)

NAME = "build"
SPLITS = ("train", "validation", "test")
_SPOT_CHECK_SIZE = 20
# Generation budget for a question, in tokens; questions are one sentence.
_QUESTION_TOKENS = 40


def settings(config: RunConfig) -> dict[str, Any]:
    return {**config.section("build"), "seed": config.seed, "teacher": config.teacher.path,
            "inference_dtype": config.inference_dtype}


def inputs(config: RunConfig, workspace: Workspace) -> dict[str, str]:
    return {"protect": workspace.output_fingerprint("protect")}


def run(config: RunConfig, workspace: Workspace) -> dict[str, Any]:
    started = time.time()
    protect_dir = workspace.require("protect", NAME)
    teacher_dir, _ = prepare_models(config.teacher.path, config.student.path, config.student.layers,
                                    workspace.models_dir, config.teacher.licence)
    build = config.build
    chunks = read_jsonl(protect_dir / "chunks.jsonl")
    tickets_path = protect_dir / "tickets.jsonl"
    tickets = read_jsonl(tickets_path) if tickets_path.exists() else []

    examples: list[dict[str, Any]] = []
    rejected: Counter[str] = Counter()
    generated_tasks = [task for task in build.tasks if task in ("qa", "summary")]
    if generated_tasks and chunks:
        selected = select_chunks(chunks, build.max_chunks, config.seed)
        cache = GenerationCache(workspace.root / "cache" / "build-generations.jsonl",
                                model_fingerprint(teacher_dir), build, config.inference_dtype)
        examples += teacher_examples(selected, generated_tasks, teacher_dir, cache, build, rejected,
                                     config.inference_dtype)
    if "classify" in build.tasks:
        if not tickets and build.tickets is not None:
            logger.warning("classify task requested but protect/tickets.jsonl holds no tickets")
        examples += ticket_examples(tickets, build.max_tickets, config.seed)
    if not examples:
        raise ValueError("the build stage produced no examples: check that ingest found documents "
                         "and that build.tasks and build.tickets are set")

    splits = split_by_document(examples, build.split.validation, build.split.test, config.seed)
    folder = workspace.reset(NAME)
    for split in SPLITS:
        write_jsonl(folder / f"{split}.jsonl", splits[split])
    spot_check = random.Random(config.seed).sample(examples, min(_SPOT_CHECK_SIZE, len(examples)))
    write_jsonl(folder / "spot_check.jsonl", spot_check)

    counts = {
        "examples": {split: len(records) for split, records in splits.items()},
        "tasks": {split: dict(Counter(r["task"] for r in records)) for split, records in splits.items()},
        "documents": {split: len({r["doc_id"] for r in records}) for split, records in splits.items()},
        "rejected": dict(rejected),
    }
    write_json(folder / "stats.json", counts)
    return workspace.finish(NAME, settings(config), inputs(config, workspace), counts, started)


# --- selection and splits -------------------------------------------------


def select_chunks(chunks: list[dict[str, Any]], limit: int | None, seed: int) -> list[dict[str, Any]]:
    """Pick up to ``limit`` chunks, taking them round-robin across documents."""
    if limit is None or limit >= len(chunks):
        return chunks
    by_document: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for chunk in chunks:
        by_document[chunk["doc_id"]].append(chunk)
    documents = sorted(by_document)
    random.Random(seed).shuffle(documents)

    selected: list[dict[str, Any]] = []
    depth = 0
    while len(selected) < limit:
        for doc_id in documents:
            if depth < len(by_document[doc_id]) and len(selected) < limit:
                selected.append(by_document[doc_id][depth])
        depth += 1
    return selected


def split_by_document(
    examples: list[dict[str, Any]], validation: float, test: float, seed: int
) -> dict[str, list[dict[str, Any]]]:
    """Assign whole documents to splits, separately for each task kind's document pool.

    Tickets and corpus documents form separate pools so that every task kind
    reaches every split; within a pool each document goes to exactly one split.
    """
    pools: dict[str, set[str]] = defaultdict(set)
    for example in examples:
        pools["tickets" if example["task"] == "classify" else "documents"].add(example["doc_id"])

    assignment: dict[str, str] = {}
    for pool in sorted(pools):
        doc_ids = sorted(pools[pool])
        random.Random(f"{seed}:{pool}").shuffle(doc_ids)
        test_count = _share(len(doc_ids), test)
        validation_count = _share(len(doc_ids), validation)
        for position, doc_id in enumerate(doc_ids):
            if position < test_count:
                assignment[doc_id] = "test"
            elif position < test_count + validation_count:
                assignment[doc_id] = "validation"
            else:
                assignment[doc_id] = "train"

    splits: dict[str, list[dict[str, Any]]] = {split: [] for split in SPLITS}
    for example in examples:
        splits[assignment[example["doc_id"]]].append(example)
    return splits


def _share(total: int, fraction: float) -> int:
    """Round a split's share of documents, keeping at least one when the fraction is non-zero."""
    if fraction <= 0 or total < 3:
        return 0
    return max(1, round(total * fraction))


# --- examples -------------------------------------------------------------


def ticket_examples(tickets: list[dict[str, Any]], limit: int | None, seed: int) -> list[dict[str, Any]]:
    """Turn labelled tickets into classification examples whose response is the category."""
    choices = sorted({ticket["label"] for ticket in tickets})
    chosen = list(tickets)
    if limit is not None and limit < len(chosen):
        chosen = random.Random(seed).sample(chosen, limit)
    examples = []
    for ticket in chosen:
        content = prompts.CLASSIFY_PROMPT.format(choices=", ".join(choices), text=ticket["text"])
        examples.append({
            "id": f"classify-{ticket['id']}",
            "task": "classify",
            "doc_id": ticket["doc_id"],
            "messages": [{"role": "user", "content": content}],
            "response": ticket["label"],
            "choices": choices,
        })
    return examples


class GenerationCache:
    """Append-only JSONL of finished teacher generations, keyed by prompt and settings."""

    def __init__(self, path: Path, teacher_fingerprint: str, build: Any, inference_dtype: str) -> None:
        self.path = path
        self.salt = fingerprint_json({"teacher": teacher_fingerprint, "max_new_tokens": build.max_new_tokens,
                                      "repetition_penalty": build.repetition_penalty,
                                      "penalty_scope": "generated tokens", "dtype": inference_dtype})
        self.entries: dict[str, str] = {}
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    # A line cut short by a killed run: everything before it is intact.
                    break
                self.entries[record["key"]] = record["text"]

    def key(self, content: str) -> str:
        return fingerprint_json({"salt": self.salt, "content": content})

    def add(self, items: list[tuple[str, str]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            for key, text in items:
                self.entries[key] = text
                handle.write(json.dumps({"key": key, "text": text}, ensure_ascii=False) + "\n")


def _generate_cached(contents: list[str], model, tokenizer, cache: GenerationCache, max_new_tokens: int,
                     build: Any, description: str, dtype: torch.dtype) -> list[str]:
    """Generate an answer for each user message, reusing cached ones."""
    keys = [cache.key(content) for content in contents]
    missing = [index for index, key in enumerate(keys) if key not in cache.entries]
    if missing:
        def persist(indices: list[int], batch: list[Generation]) -> None:
            cache.add([(keys[missing[i]], generation.text if generation.finished
                        else prompts.trim_to_sentence(generation.text))
                       for i, generation in zip(indices, batch, strict=True)])

        generate(model, tokenizer, [[{"role": "user", "content": contents[i]}] for i in missing],
                 max_new_tokens=max_new_tokens, batch_size=build.batch_size,
                 repetition_penalty=build.repetition_penalty, description=description, on_batch=persist,
                 dtype=dtype)
    return [cache.entries[key] for key in keys]


def teacher_examples(chunks: list[dict[str, Any]], tasks: list[str], teacher_dir: Path,
                     cache: GenerationCache, build: Any, rejected: Counter[str],
                     inference_dtype: str = "float32") -> list[dict[str, Any]]:
    """Ask the teacher for questions, answers and summaries of each chunk; keep those that pass the filters."""
    model = load_model(teacher_dir)
    tokenizer = load_tokenizer(teacher_dir)
    dtype = resolve_dtype(inference_dtype, model.device)
    examples: list[dict[str, Any]] = []

    if "qa" in tasks:
        question_prompts = [prompts.QUESTION_PROMPT.format(text=chunk["text"]) for chunk in chunks]
        raw_questions = _generate_cached(question_prompts, model, tokenizer, cache,
                                         min(_QUESTION_TOKENS, build.max_new_tokens), build,
                                         "teacher: questions", dtype)
        questions = [prompts.first_question(text) for text in raw_questions]
        shortest = min(8, build.min_response_chars)
        kept = [(chunk, q) for chunk, q in zip(chunks, questions, strict=True) if len(q) >= shortest]
        rejected["question_unusable"] += len(chunks) - len(kept)
        answer_prompts = [prompts.QA_PROMPT.format(text=chunk["text"], question=q) for chunk, q in kept]
        answers = _generate_cached(answer_prompts, model, tokenizer, cache, build.max_new_tokens, build,
                                   "teacher: answers", dtype)
        for (chunk, _), content, answer in zip(kept, answer_prompts, answers, strict=True):
            examples += _keep(chunk, "qa", content, answer, build, rejected)

    if "summary" in tasks:
        summary_prompts = [prompts.SUMMARY_PROMPT.format(text=chunk["text"]) for chunk in chunks]
        summaries = _generate_cached(summary_prompts, model, tokenizer, cache, build.max_new_tokens, build,
                                     "teacher: summaries", dtype)
        for chunk, content, summary in zip(chunks, summary_prompts, summaries, strict=True):
            examples += _keep(chunk, "summary", content, summary, build, rejected)
    return examples


def _keep(chunk: dict[str, Any], task: str, content: str, response: str, build: Any,
          rejected: Counter[str]) -> list[dict[str, Any]]:
    reason = prompts.rejection_reason(response, build.min_response_chars, build.max_repetition)
    if reason is not None:
        rejected[f"{task}_{reason}"] += 1
        return []
    return [{
        "id": f"{task}-{chunk['chunk_id']}",
        "task": task,
        "doc_id": chunk["doc_id"],
        "messages": [{"role": "user", "content": content}],
        "response": response,
    }]
