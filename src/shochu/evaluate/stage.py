"""Eval stage: the teacher, the initial student and the distilled student, side by side on the test split.

For every model and task the stage generates greedy answers and scores them:
classify answers by accuracy against the true label, every other task by
ROUGE-L F1 against the teacher's reference response plus the teacher-forced
token-level KL to the teacher. It writes ``eval/results.json`` and
``eval/predictions.jsonl``.

Answers are generated with the build stage's repetition penalty, the setting
under which the teacher wrote the references, so the teacher's own ROUGE-L is
the ceiling a student can reach.
"""

from __future__ import annotations

import gc
import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from rich.progress import Progress
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from shochu.config import RunConfig
from shochu.distill.data import EncodedExample, encode_records
from shochu.evaluate.metrics import classify_metrics, mean_rouge_l
from shochu.evaluate.teacher_forcing import teacher_forced_kl
from shochu.generation import generate, resolve_dtype
from shochu.models import load_model, load_tokenizer, parameter_count
from shochu.workspace import Workspace, fingerprint_file, read_jsonl, write_json, write_jsonl

logger = logging.getLogger(__name__)

NAME = "eval"
MODEL_NAMES = ("teacher", "student_init", "student")
CLASSIFY = "classify"
RESULTS_FILE = "results.json"
PREDICTIONS_FILE = "predictions.jsonl"


def settings(config: RunConfig) -> dict[str, Any]:
    # The KL pass encodes examples as the label stage did, so it uses label.max_seq_len.
    return {**config.section("eval"), "max_seq_len": config.label.max_seq_len,
            "repetition_penalty": config.build.repetition_penalty, "inference_dtype": config.inference_dtype}


def inputs(config: RunConfig, workspace: Workspace) -> dict[str, str]:
    # train's fingerprint covers label's, which covers the teacher and the initial student.
    return {stage: workspace.output_fingerprint(stage) for stage in ("build", "train")}


@dataclass
class LoadedModel:
    """A model ready for inference, with its tokenizer and how long loading took."""

    name: str
    folder: Path
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    load_seconds: float


@dataclass
class ModelOutcome:
    """One model's answers and scores per task, and its generation totals."""

    predictions: dict[str, list[str]] = field(default_factory=dict)
    metrics: dict[str, dict[str, float | None]] = field(default_factory=dict)
    generated_tokens: int = 0
    generation_seconds: float = 0.0


def model_folders(workspace: Workspace) -> dict[str, Path]:
    return {
        "teacher": workspace.models_dir / "teacher",
        "student_init": workspace.models_dir / "student-init",
        "student": workspace.stage_dir("train") / "best",
    }


def select_examples(records: list[dict[str, Any]],
                    max_examples: int | None) -> dict[str, list[dict[str, Any]]]:
    """Group test records by task, each sorted by id and cut to the first ``max_examples``."""
    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_task[record["task"]].append(record)
    return {task: sorted(group, key=lambda r: r["id"])[:max_examples]
            for task, group in sorted(by_task.items())}


def _device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _load(name: str, folder: Path) -> LoadedModel:
    # NOTE: models load in fp32 on CUDA too, so a 7B teacher needs about 28 GiB of GPU memory.
    started = time.perf_counter()
    model = load_model(folder).to(_device())
    tokenizer = load_tokenizer(folder, padding_side="left")
    loaded = LoadedModel(name, folder, model, tokenizer, time.perf_counter() - started)
    logger.info("model %s: %d parameters, loaded in %.1f s", name, parameter_count(model),
                loaded.load_seconds)
    return loaded


def _free_memory() -> None:
    """Collect a released student before the next one loads."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _encode_for_kl(teacher: LoadedModel, tasks: dict[str, list[dict[str, Any]]],
                   max_seq_len: int) -> dict[str, list[EncodedExample]]:
    """Encode each generated task's reference responses with the teacher's tokenizer."""
    encoded = {}
    for task, records in tasks.items():
        if task == CLASSIFY:
            continue
        encoded[task], dropped = encode_records(teacher.tokenizer, records, max_seq_len)
        if dropped:
            logger.warning("task %s: %d of %d examples exceed max_seq_len=%d and get no KL score",
                           task, len(dropped), len(records), max_seq_len)
    return encoded


def _same_vocabulary(model: LoadedModel, teacher: LoadedModel) -> bool:
    return model.tokenizer.get_vocab() == teacher.tokenizer.get_vocab()


def _task_kl(loaded: LoadedModel, teacher: LoadedModel, task: str, examples: list[EncodedExample],
             batch_size: int) -> float | None:
    """Return the model's mean token KL to the teacher on ``examples``, or None when it cannot be computed.

    The teacher itself gets 0 without a forward pass.
    """
    if loaded is teacher:
        return 0.0
    if not examples:
        return None
    if not _same_vocabulary(loaded, teacher):
        logger.warning("model %s: its tokenizer differs from the teacher's, so it gets no kl_to_teacher",
                       loaded.name)
        return None
    with Progress(transient=True) as progress:
        bar = progress.add_task(f"KL of {loaded.name} on {task}", total=len(examples))
        total = teacher_forced_kl(teacher.model, loaded.model, examples, teacher.tokenizer.pad_token_id,
                                  batch_size, on_batch=lambda count: progress.advance(bar, count))
    return total.mean


def _score_task(task: str, records: list[dict[str, Any]], predictions: list[str]) -> dict[str, float | None]:
    if task == CLASSIFY:
        return classify_metrics([r["response"] for r in records], predictions,
                                [r.get("choices") for r in records])
    return {"rouge_l": mean_rouge_l([r["response"] for r in records], predictions)}


def _evaluate_model(loaded: LoadedModel, teacher: LoadedModel, tasks: dict[str, list[dict[str, Any]]],
                    kl_examples: dict[str, list[EncodedExample]], config: RunConfig) -> ModelOutcome:
    """Generate and score every task for one model."""
    outcome = ModelOutcome()
    for task, records in tasks.items():

        # Greedy answers. The seconds include tokenising and decoding each batch.
        generations, seconds = generate(loaded.model, loaded.tokenizer, [r["messages"] for r in records],
                                        config.eval.max_new_tokens, config.eval.batch_size,
                                        repetition_penalty=config.build.repetition_penalty,
                                        description=f"{loaded.name} answers {task}",
                                        dtype=resolve_dtype(config.inference_dtype, loaded.model.device))
        predictions = [generation.text for generation in generations]
        generated_tokens = sum(generation.new_tokens for generation in generations)
        outcome.predictions[task] = predictions
        outcome.generated_tokens += generated_tokens
        outcome.generation_seconds += seconds

        # Scores against the references, then KL to the teacher on generated tasks.
        outcome.metrics[task] = _score_task(task, records, predictions)
        if task != CLASSIFY:
            outcome.metrics[task]["kl_to_teacher"] = _task_kl(loaded, teacher, task, kl_examples[task],
                                                              config.eval.batch_size)
        logger.info("model %s task %s: %d examples, %d generated tokens in %.1f s", loaded.name, task,
                    len(records), generated_tokens, seconds)
    return outcome


@dataclass
class Evaluation:
    """Facts (size, load time, throughput) and outcomes per model, and KL example counts per task."""

    facts: dict[str, dict[str, Any]] = field(default_factory=dict)
    outcomes: dict[str, ModelOutcome] = field(default_factory=dict)
    kl_examples: dict[str, int] = field(default_factory=dict)


def evaluate_models(folders: dict[str, Path], tasks: dict[str, list[dict[str, Any]]],
                    config: RunConfig) -> Evaluation:
    """Run every model on every task.

    The teacher stays loaded throughout because the KL needs it. Each student
    is loaded in turn and freed before the next.
    """
    teacher = _load("teacher", folders["teacher"])
    kl_examples = _encode_for_kl(teacher, tasks, config.label.max_seq_len)
    evaluation = Evaluation(kl_examples={task: len(examples) for task, examples in kl_examples.items()})
    for name in MODEL_NAMES:
        loaded = teacher if name == "teacher" else _load(name, folders[name])
        outcome = _evaluate_model(loaded, teacher, tasks, kl_examples, config)
        evaluation.outcomes[name] = outcome
        evaluation.facts[name] = _model_facts(loaded, outcome)
        if loaded is not teacher:
            del loaded
            _free_memory()
    return evaluation


def _model_facts(loaded: LoadedModel, outcome: ModelOutcome) -> dict[str, Any]:
    seconds = outcome.generation_seconds
    return {
        "parameters": parameter_count(loaded.model),
        "load_seconds": round(loaded.load_seconds, 3),
        "generated_tokens": outcome.generated_tokens,
        "generation_seconds": round(seconds, 3),
        "tokens_per_second": round(outcome.generated_tokens / seconds, 2) if seconds > 0 else None,
    }


def _mean(values: list[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return sum(present) / len(present) if present else None


def summarise(outcomes: dict[str, ModelOutcome]) -> dict[str, dict[str, float | None]]:
    """Return per model the mean KL and ROUGE-L over generated tasks and the classify accuracy."""
    summary = {}
    for name, outcome in outcomes.items():
        generated = [metrics for task, metrics in outcome.metrics.items() if task != CLASSIFY]
        summary[name] = {
            "kl_to_teacher": _mean([metrics["kl_to_teacher"] for metrics in generated]),
            "rouge_l": _mean([metrics["rouge_l"] for metrics in generated]),
            "accuracy": outcome.metrics.get(CLASSIFY, {}).get("accuracy"),
            "first_mention_accuracy": outcome.metrics.get(CLASSIFY, {}).get("first_mention_accuracy"),
        }
    return summary


def build_results(evaluation: Evaluation, tasks: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Return the content of ``results.json``: models, per-task metrics and the summary."""
    task_results = {}
    for task, records in tasks.items():
        entry: dict[str, Any] = {"examples": len(records)}
        if task in evaluation.kl_examples:
            entry["kl_examples"] = evaluation.kl_examples[task]
        entry["metrics"] = {name: outcome.metrics[task] for name, outcome in evaluation.outcomes.items()}
        task_results[task] = entry
    return {"models": evaluation.facts, "tasks": task_results, "summary": summarise(evaluation.outcomes)}


def prediction_records(outcomes: dict[str, ModelOutcome],
                       tasks: dict[str, list[dict[str, Any]]]) -> Iterator[dict[str, str]]:
    for task, records in tasks.items():
        for name, outcome in outcomes.items():
            for record, prediction in zip(records, outcome.predictions[task], strict=True):
                yield {"id": record["id"], "task": task, "model": name, "prediction": prediction}


def _check_inputs(workspace: Workspace, folders: dict[str, Path]) -> Path:
    build_dir = workspace.require("build", NAME)
    workspace.require("train", NAME)
    for name, folder in folders.items():
        if (folder / "config.json").is_file():
            continue
        remedy = ("re-run `shochu train --force`" if name == "student"
                  else "delete the folder and re-run `shochu build`, which imports the models again")
        raise FileNotFoundError(f"{folder} has no config.json, so the {name} model cannot be loaded. "
                                f"To fix it, {remedy}")
    if not (build_dir / "test.jsonl").is_file():
        raise FileNotFoundError(f"{build_dir / 'test.jsonl'} is missing; re-run `shochu build`")
    return build_dir


def run(config: RunConfig, workspace: Workspace) -> dict[str, Any]:
    """Evaluate the three models on the test split and write results, predictions and the manifest."""
    started = time.time()
    folders = model_folders(workspace)
    build_dir = _check_inputs(workspace, folders)
    tasks = select_examples(read_jsonl(build_dir / "test.jsonl"), config.eval.max_examples)
    if not tasks:
        raise ValueError(f"{build_dir / 'test.jsonl'} has no examples; "
                         f"raise build.split.test and re-run `shochu build`")
    output = workspace.reset(NAME)

    evaluation = evaluate_models(folders, tasks, config)
    for name, folder in folders.items():
        relative = folder.relative_to(workspace.root).as_posix()
        evaluation.facts[name] = {"path": relative, **evaluation.facts[name]}
    results = build_results(evaluation, tasks)

    write_jsonl(output / PREDICTIONS_FILE, prediction_records(evaluation.outcomes, tasks))
    write_json(output / RESULTS_FILE, results)
    counts = {
        "examples": {task: len(records) for task, records in tasks.items()},
        "kl_to_teacher": {name: values["kl_to_teacher"] for name, values in results["summary"].items()},
    }
    produced = {name: fingerprint_file(output / name) for name in (RESULTS_FILE, PREDICTIONS_FILE)}
    return workspace.finish(NAME, settings(config), inputs(config, workspace), counts, started, produced)
