"""Build stage: protected chunks, labelled tickets and user data become instruction/response examples.

Task kinds:

- ``qa``: the teacher writes a question about a chunk, then answers it from the chunk.
- ``summary``: the teacher summarises a chunk.
- ``extraction``: the teacher fills the JSON schema of ``build.extraction`` from a chunk.
- ``classify``: a ticket's text with the category list; the response is the true category.
- ``instructions``: user-written pairs from ``build.instructions.path``, taken as ground truth.

Prompts are in the language of the source chunk or ticket. Generated examples
pass the quality filters (``candidates.py``, ``filters.py``), a second PII
scan and near-duplicate removal; every drop is counted with its reason in
``filters.json``. Examples are split by source document and near-duplicate
cluster (``splits.py``); general instruction data from ``build.general`` is
mixed into the training split only. Reviewer decisions from
``review/decisions.jsonl`` are applied last. ``data_card.json`` describes the result.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from shochu.build import prompts
from shochu.build.candidates import Slot, choose
from shochu.build.datacard import data_card
from shochu.build.decisions import apply_decisions, decisions_fingerprint, decisions_path, read_decisions
from shochu.build.extraction import describe_fields
from shochu.build.filters import FilterReport, check_language, check_refusal, near_duplicates
from shochu.build.language import detect_language
from shochu.build.records import read_instruction_file
from shochu.build.splits import SPLITS, split_examples
from shochu.build.templates import render
from shochu.config import RunConfig
from shochu.workspace import Workspace, fingerprint_file, read_jsonl, write_json, write_jsonl

logger = logging.getLogger(__name__)

NAME = "build"
GENERATED_TASKS = ("qa", "summary", "extraction")
_SPOT_CHECK_SIZE = 20
# Generation budget for a question, in tokens; questions are one sentence.
_QUESTION_TOKENS = 40
# Questions shorter than this many characters (or than build.min_response_chars) are not usable.
_MIN_QUESTION_CHARS = 8

# The split function keeps its former name for callers of the single-pool version.
split_by_document = split_examples


def settings(config: RunConfig) -> dict[str, Any]:
    return {**config.section("build"), "seed": config.seed, "teacher": config.teacher.path,
            "inference_dtype": config.inference_dtype,
            "pii_scan": {"entities": config.protect.entities, "score_threshold": config.protect.score_threshold}}


def inputs(config: RunConfig, workspace: Workspace) -> dict[str, str]:
    """Fingerprints of the protect output, the review decisions and the user data files."""
    found = {"protect": workspace.output_fingerprint("protect"), "review": decisions_fingerprint(workspace.root)}
    for name, data in (("instructions", config.build.instructions), ("general", config.build.general)):
        if data is not None:
            path = Path(data.path)
            found[name] = fingerprint_file(path) if path.is_file() else "missing"
    return found


def run(config: RunConfig, workspace: Workspace) -> dict[str, Any]:
    started = time.time()
    protect_dir = workspace.require("protect", NAME)
    # Taken before reading the inputs: a file changed during the run then makes the next run rebuild.
    stage_inputs = inputs(config, workspace)
    build = config.build
    chunks = read_jsonl(protect_dir / "chunks.jsonl")
    tickets_path = protect_dir / "tickets.jsonl"
    tickets = read_jsonl(tickets_path) if tickets_path.exists() else []
    report = FilterReport()
    errors: list[dict[str, Any]] = []
    warnings: dict[str, int] = {}

    # 1. Examples of every task kind.
    examples: list[dict[str, Any]] = []
    generated_tasks = [task for task in build.tasks if task in GENERATED_TASKS]
    if generated_tasks and chunks:
        examples += teacher_examples(config, workspace, select_chunks(chunks, build.max_chunks, config.seed),
                                     generated_tasks, report)
    if "classify" in build.tasks:
        if not tickets and build.tickets is not None:
            logger.warning("classify task requested but protect/tickets.jsonl holds no tickets")
        examples += ticket_examples(tickets, build.max_tickets, config.seed, build.prompts.classify, warnings)
        report.examples_in["classify"] = sum(example["task"] == "classify" for example in examples)
    if "instructions" in build.tasks and build.instructions is not None:
        records, bad_lines = read_instruction_file(Path(build.instructions.path), "instructions")
        errors += [error.as_dict() for error in bad_lines]
        examples += records
        report.examples_in["instructions"] = len(records)

    # 2. Second PII scan of every pair, then near-duplicate questions.
    examples = scan_personal_data(examples, config, report)
    examples = drop_near_duplicates(examples, build, report)
    report.kept.update(example["task"] for example in examples)
    if not examples:
        raise ValueError("the build stage produced no examples: check that ingest found documents, that "
                         "build.tasks and build.tickets are set, and build/filters.json for what the "
                         "quality filters dropped")

    # 3. Splits, general data, then the reviewer's decisions.
    splits = split_examples(examples, build.split.validation, build.split.test, config.seed)
    general_heldout: list[dict[str, Any]] = []
    mixing = {"general_examples": 0}
    if build.general is not None:
        general, bad_lines = read_instruction_file(Path(build.general.path), "general")
        errors += [error.as_dict() for error in bad_lines]
        report.examples_in["general"] = len(general)
        general = scan_personal_data(general, config, report, scan_instruction=True)
        report.kept["general"] = len(general)
        splits["train"], general_heldout, mixing = mix_general(splits["train"], general, build.general.ratio,
                                                               config.seed)
    decisions = read_decisions(decisions_path(workspace.root))
    errors += decisions.invalid_lines
    review: dict[str, Any] | None = None
    if decisions:
        splits, review = apply_decisions(splits, decisions)

    # Splits take whole documents (with their near-duplicate clusters), so few documents leave some empty.
    documents = len({example.get("doc_id") for split in SPLITS for example in splits[split]})
    for split in ("validation", "test"):
        if not splits[split]:
            logger.warning("the %s split is empty, so %s. The examples come from %d document(s), and a split "
                           "takes whole documents: add documents or tickets (each ticket counts as a document), "
                           "raise build.split.%s, or review the rejections in review/decisions.jsonl", split,
                           "training cannot validate or stop early" if split == "validation"
                           else "the eval stage has nothing to compare", documents, split)

    # 4. Outputs.
    folder = workspace.reset(NAME)
    for split in SPLITS:
        write_jsonl(folder / f"{split}.jsonl", splits[split])
    if general_heldout:
        write_jsonl(folder / "general_heldout.jsonl", general_heldout)
    kept = [example for split in SPLITS for example in splits[split]]
    spot_check = random.Random(config.seed).sample(kept, min(_SPOT_CHECK_SIZE, len(kept)))
    write_jsonl(folder / "spot_check.jsonl", spot_check)
    write_jsonl(folder / "errors.jsonl", errors)
    write_json(folder / "filters.json", report.as_dict())

    counts = _counts(splits, report, warnings, mixing, errors, review)
    write_json(folder / "stats.json", counts)
    write_json(folder / "data_card.json", data_card(splits, report, review, mixing, warnings, stage_inputs,
                                                    settings(config)))
    return workspace.finish(NAME, settings(config), stage_inputs, counts, started)


def _counts(splits: dict[str, list[dict[str, Any]]], report: FilterReport, warnings: dict[str, int],
            mixing: dict[str, Any], errors: list[dict[str, Any]], review: dict[str, Any] | None) -> dict[str, Any]:
    counts = {
        "examples": {split: len(records) for split, records in splits.items()},
        "tasks": {split: dict(Counter(r["task"] for r in records)) for split, records in splits.items()},
        "documents": {split: len({r["doc_id"] for r in records}) for split, records in splits.items()},
        "dropped": report.summary(),
        "pii_masked": {task: dict(types) for task, types in sorted(report.pii_masked.items()) if types},
        "pii_copied_from_chunk": {task: dict(types) for task, types
                                  in sorted(report.pii_copied_from_chunk.items()) if types},
        "mixing": mixing,
        "invalid_input_lines": len(errors),
        "warnings": warnings,
    }
    if review is not None:
        counts["review"] = review
    return counts


# --- selection and tickets ------------------------------------------------


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


def ticket_examples(tickets: list[dict[str, Any]], limit: int | None, seed: int,
                    templates: dict[str, str], warnings: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """Turn labelled tickets into classification examples whose response is the category.

    Warns (with counts only) about ticket ids that appear more than once,
    which get a numbered suffix, and about labels with a single ticket, which
    cannot reach both training and test.
    """
    warnings = warnings if warnings is not None else {}
    ids = Counter(str(ticket["id"]) for ticket in tickets)
    labels = Counter(ticket["label"] for ticket in tickets)
    warnings["duplicate_ticket_ids"] = sum(1 for count in ids.values() if count > 1)
    warnings["single_ticket_labels"] = sum(1 for count in labels.values() if count == 1)
    if warnings["duplicate_ticket_ids"]:
        logger.warning("%d ticket id(s) appear more than once; their examples get a numbered suffix",
                       warnings["duplicate_ticket_ids"])
    if warnings["single_ticket_labels"]:
        logger.warning("%d label(s) have a single ticket, too few to appear in both training and test",
                       warnings["single_ticket_labels"])

    choices = sorted(labels)
    chosen = list(tickets)
    if limit is not None and limit < len(chosen):
        chosen = random.Random(seed).sample(chosen, limit)
    seen: Counter[str] = Counter()
    examples = []
    for ticket in chosen:
        ticket_id = str(ticket["id"])
        seen[ticket_id] += 1
        suffix = f"-{seen[ticket_id]}" if seen[ticket_id] > 1 else ""
        language = detect_language(ticket["text"])
        content = render(templates, language, choices=", ".join(choices), text=ticket["text"])
        examples.append({
            "id": f"classify-{ticket_id}{suffix}",
            "task": "classify",
            "doc_id": ticket["doc_id"],
            "ticket_id": ticket_id,
            "language": language,
            "messages": [{"role": "user", "content": content}],
            "response": ticket["label"],
            "choices": choices,
        })
    return examples


# --- teacher synthesis ----------------------------------------------------


def teacher_examples(config: RunConfig, workspace: Workspace, chunks: list[dict[str, Any]], tasks: list[str],
                     report: FilterReport) -> list[dict[str, Any]]:
    """Ask the teacher for questions, answers, summaries and extractions; keep the best that pass the filters."""
    from shochu.build.teacher import Teacher

    build = config.build
    teacher = Teacher(config, workspace)
    languages = [detect_language(chunk["text"]) for chunk in chunks]
    slots: list[Slot] = []

    if "qa" in tasks:
        slots += _qa_slots(teacher, chunks, languages, build, report)
    if "summary" in tasks:
        slots += _slots(teacher, chunks, languages, "summary", build, {})
    if "extraction" in tasks and build.extraction is not None:
        slots += _slots(teacher, chunks, languages, "extraction", build,
                        {"fields": describe_fields(build.extraction)})

    chosen = choose(slots, build, report, teacher.gains)
    return [_example(item.slot, item.response, item.scores) for item in chosen]


def _qa_slots(teacher: Any, chunks: list[dict[str, Any]], languages: list[str], build: Any,
              report: FilterReport) -> list[Slot]:
    question_prompts = [render(build.prompts.question, language, text=chunk["text"])
                        for chunk, language in zip(chunks, languages, strict=True)]
    raw = teacher.generate(question_prompts, min(_QUESTION_TOKENS, build.max_new_tokens), "teacher: questions", 1)
    enabled = set(build.filters.enabled)
    kept = []
    for chunk, language, texts in zip(chunks, languages, raw, strict=True):
        question = prompts.first_question(texts[0])
        reason = None
        if len(question) < min(_MIN_QUESTION_CHARS, build.min_response_chars):
            reason = ("length", "question_too_short")
        elif "refusal" in enabled and (refusal := check_refusal(question)):
            reason = ("refusal", f"question_{refusal}")
        elif "language" in enabled and (mismatch := check_language(question, language)):
            reason = ("language", f"question_{mismatch}")
        if reason is not None:
            report.examples_in["qa"] += 1
            report.drop("qa", *reason)
            continue
        kept.append((chunk, language, question))

    contents = [render(build.prompts.answer, language, text=chunk["text"], question=question)
                for chunk, language, question in kept]
    ungrounded = [render(build.prompts.answer, language, text="", question=question)
                  for _, language, question in kept]
    answers = teacher.generate(contents, build.max_new_tokens, "teacher: answers", build.n_candidates)
    return [Slot("qa", chunk, language, content, bare, responses, question)
            for (chunk, language, question), content, bare, responses
            in zip(kept, contents, ungrounded, answers, strict=True)]


def _slots(teacher: Any, chunks: list[dict[str, Any]], languages: list[str], task: str, build: Any,
           values: dict[str, str]) -> list[Slot]:
    templates = getattr(build.prompts, task)
    contents = [render(templates, language, text=chunk["text"], **values)
                for chunk, language in zip(chunks, languages, strict=True)]
    ungrounded = [render(templates, language, text="", **values) for language in languages]
    responses = teacher.generate(contents, build.max_new_tokens, f"teacher: {task}", build.n_candidates)
    return [Slot(task, chunk, language, content, bare, candidates)
            for chunk, language, content, bare, candidates
            in zip(chunks, languages, contents, ungrounded, responses, strict=True)]


def _example(slot: Slot, response: str, scores: dict[str, float]) -> dict[str, Any]:
    example = {
        "id": f"{slot.task}-{slot.chunk['chunk_id']}",
        "task": slot.task,
        "doc_id": slot.chunk["doc_id"],
        "chunk_id": slot.chunk["chunk_id"],
        "language": slot.language,
        "messages": [{"role": "user", "content": slot.content}],
        "response": response,
        "scores": scores,
    }
    if slot.chunk.get("cluster") is not None:
        example["cluster"] = slot.chunk["cluster"]
    if slot.question is not None:
        example["question"] = slot.question
    return example


# --- PII, near-duplicates, general data -------------------------------------


def scan_personal_data(examples: list[dict[str, Any]], config: RunConfig, report: FilterReport,
                       scan_instruction: bool = False) -> list[dict[str, Any]]:
    """Run the second PII scan on every example unless the ``pii`` filter is off."""
    if "pii" not in config.build.filters.enabled or not examples:
        return examples
    from shochu.build.pii import PiiScan

    scanner = PiiScan(config.protect, config.build.filters.pii_action)
    kept = []
    for example in examples:
        whole_instruction = scan_instruction or example["task"] == "instructions"
        result = scanner.scan(example, example.get("question"), report, whole_instruction)
        if result is not None:
            kept.append(result)
    return kept


def drop_near_duplicates(examples: list[dict[str, Any]], build: Any, report: FilterReport) -> list[dict[str, Any]]:
    """Drop QA examples whose question nearly repeats an earlier kept question."""
    if "near_duplicate" not in build.filters.enabled:
        return examples
    qa = [index for index, example in enumerate(examples) if example["task"] == "qa"]
    matches = near_duplicates([examples[index]["question"] for index in qa], build.filters.near_duplicate_threshold)
    dropped = {index for index, match in zip(qa, matches, strict=True) if match is not None}
    for _ in dropped:
        report.drop("qa", "near_duplicate", "similar_question")
    return [example for index, example in enumerate(examples) if index not in dropped]


def mix_general(train: list[dict[str, Any]], general: list[dict[str, Any]], ratio: float,
                seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """Add general examples so that they make up ``ratio`` of the training split.

    Returns the new training split, the general examples left over (held out,
    for measuring forgetting), and the counts.
    """
    wanted = round(ratio * len(train) / (1.0 - ratio)) if ratio > 0 else 0
    pool = list(general)
    random.Random(f"{seed}:general").shuffle(pool)
    used, heldout = pool[:wanted], pool[wanted:]
    if len(used) < wanted:
        logger.warning("build.general: %d general examples wanted for ratio %.2f, only %d available",
                       wanted, ratio, len(used))
    mixed = train + used
    random.Random(f"{seed}:mix").shuffle(mixed)
    total = len(mixed)
    counts = {"general_examples": len(used), "general_wanted": wanted, "general_heldout": len(heldout),
              "general_share": round(len(used) / total, 4) if total else 0.0, "ratio": ratio}
    return mixed, heldout, counts
