"""Eval stage: the teacher, the initial student and the distilled student, side by side on the test split.

With ``eval.baseline`` a hard-label baseline joins them (``baseline.py``).

For every model the stage generates greedy answers to each task's test examples
and to the user's extra evaluation sets (``eval.extra_sets``), scores them with
the metrics of the task's kind (``task_metrics``) and the user's metrics
(``eval.metrics``), and compares the model with the teacher token by token on
the reference responses. ``results.py`` turns the scores into values with
bootstrap confidence intervals and a capacity-gap table. Each model's peak
memory, time to first token and decode speed are measured on this machine. The
stage writes ``eval/results.json`` and ``eval/predictions.jsonl``.

Answers are generated with the build stage's repetition penalty, the setting
under which the teacher wrote the references, so the teacher's own ROUGE-L is
the ceiling a student can reach.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import Any

import torch
from rich.progress import Progress
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from shochu.config import RunConfig
from shochu.distill.data import EncodedExample, encode_records
from shochu.evaluate.baseline import train_baseline
from shochu.evaluate.bootstrap import Statistic
from shochu.evaluate.extra_sets import load_extra_sets
from shochu.evaluate.latency import PeakMemory, measure_latency
from shochu.evaluate.results import build_results
from shochu.evaluate.task_metrics import TOKEN_KINDS, TaskScores, kind_of, score_task, token_fidelity
from shochu.evaluate.teacher_forcing import token_statistics
from shochu.evaluate.user_metrics import UserMetric, load_metrics, metric_source, metric_statistics
from shochu.generation import generate, resolve_dtype
from shochu.models import load_model, load_tokenizer, parameter_count
from shochu.workspace import Workspace, fingerprint_file, read_jsonl, write_json, write_jsonl

logger = logging.getLogger(__name__)

NAME = "eval"
MODEL_NAMES = ("teacher", "student_init", "student")
RESULTS_FILE = "results.json"
PREDICTIONS_FILE = "predictions.jsonl"
TEST_SOURCE = "build/test.jsonl"
# General instruction data that the build stage kept out of training; scoring it shows forgetting.
GENERAL_FILE = "general_heldout.jsonl"
GENERAL_TASK = "general_heldout"


def settings(config: RunConfig) -> dict[str, Any]:
    # The KL pass encodes examples as the label stage did, so it uses label.max_seq_len.
    return {**config.section("eval"), "max_seq_len": config.label.max_seq_len, "seed": config.seed,
            "repetition_penalty": config.build.repetition_penalty, "inference_dtype": config.inference_dtype}


def _user_files(config: RunConfig) -> list[Path]:
    """Return the extra sets and the metric files named in the config, which the stage's results depend on."""
    # NOTE: only the file that defines a metric is fingerprinted. Editing another module that it
    # imports does not make the stage run again, but `shochu eval --force` does.
    files = [Path(value) for value in config.eval.extra_sets]
    for entry in config.eval.metrics:
        source = metric_source(entry)
        if source is not None:
            files.append(source)
    return files


def inputs(config: RunConfig, workspace: Workspace) -> dict[str, str]:
    # train's fingerprint covers label's, which covers the teacher and the initial student.
    found = {stage: workspace.output_fingerprint(stage) for stage in ("build", "train")}
    for path in _user_files(config):
        found[str(path)] = fingerprint_file(path) if path.is_file() else "missing"
    return found


@dataclass
class LoadedModel:
    """A model ready for inference, with its tokenizer and how long loading took."""

    name: str
    folder: Path
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    load_seconds: float


@dataclass
class EvalTasks:
    """Test records per task, each task's kind (qa, summary, classify, extract) and the file it came from."""

    records: dict[str, list[dict[str, Any]]]
    kinds: dict[str, str]
    sources: dict[str, str]


@dataclass
class ModelOutcome:
    """One model's answers and scores per task, its generation totals, latency and peak memory."""

    predictions: dict[str, list[str]] = field(default_factory=dict)
    scores: dict[str, TaskScores] = field(default_factory=dict)
    generated_tokens: int = 0
    generation_seconds: float = 0.0
    latency: dict[str, Any] | None = None
    peak_memory: dict[str, Any] = field(default_factory=dict)


@dataclass
class ReferenceEncoding:
    """A task's reference responses encoded for the teacher-forced pass.

    ``positions[i]`` is the index in ``examples`` of the task's record ``i``, or
    None when that record does not fit in ``max_seq_len``.
    """

    examples: list[EncodedExample]
    positions: list[int | None]


def model_folders(workspace: Workspace) -> dict[str, Path]:
    return {
        "teacher": workspace.models_dir / "teacher",
        "student_init": workspace.models_dir / "student-init",
        "student": workspace.stage_dir("train") / "best",
    }


def select_examples(records: list[dict[str, Any]],
                    max_examples: int | None) -> dict[str, list[dict[str, Any]]]:
    """Group test records by task, each sorted by id and cut to the first ``max_examples``."""
    by_task: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_task.setdefault(record["task"], []).append(record)
    return {task: sorted(group, key=lambda r: r["id"])[:max_examples]
            for task, group in sorted(by_task.items())}


def collect_tasks(test_records: list[dict[str, Any]], config: RunConfig,
                  general_records: list[dict[str, Any]] | None = None) -> EvalTasks:
    """Group the test split by task and add the extra evaluation sets, each cut to ``eval.max_examples``.

    ``general_records`` (the build stage's held-out general instructions) become the task
    ``general_heldout``: its perplexity and agreement with the teacher show whether distillation on
    in-house data cost the student its general ability.
    """
    records = select_examples(test_records, config.eval.max_examples)
    kinds = {task: kind_of(task) for task in records}
    sources = dict.fromkeys(records, TEST_SOURCE)
    if general_records:
        records[GENERAL_TASK] = sorted(general_records, key=lambda r: r["id"])[:config.eval.max_examples]
        kinds[GENERAL_TASK] = "qa"
        sources[GENERAL_TASK] = f"build/{GENERAL_FILE}"
    extra, extra_sources = load_extra_sets(config.eval.extra_sets, set(records))
    for task, task_records in extra.items():
        records[task] = task_records[:config.eval.max_examples]
        kinds[task] = task_records[0]["kind"]
    sources.update(extra_sources)
    return EvalTasks(records, kinds, sources)


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


def _latency_conversations(tasks: EvalTasks, count: int) -> list[list[dict[str, str]]]:
    """Return the first ``count`` prompts, taking one task after the other so that short and long prompts mix."""
    interleaved = [record for group in zip_longest(*tasks.records.values()) for record in group
                   if record is not None]
    return [record["messages"] for record in interleaved[:count]]


def _generate_answers(loaded: LoadedModel, tasks: EvalTasks, config: RunConfig) -> ModelOutcome:
    """Generate greedy answers to every task, then time single prompts for latency."""
    outcome = ModelOutcome()
    dtype = resolve_dtype(config.inference_dtype, loaded.model.device)
    for task, records in tasks.records.items():
        # The seconds include tokenising and decoding each batch.
        generations, seconds = generate(loaded.model, loaded.tokenizer, [r["messages"] for r in records],
                                        config.eval.max_new_tokens, config.eval.batch_size,
                                        repetition_penalty=config.build.repetition_penalty,
                                        description=f"{loaded.name} answers {task}", dtype=dtype)
        generated_tokens = sum(generation.new_tokens for generation in generations)
        outcome.predictions[task] = [generation.text for generation in generations]
        outcome.generated_tokens += generated_tokens
        outcome.generation_seconds += seconds
        logger.info("model %s task %s: %d examples, %d generated tokens in %.1f s", loaded.name, task,
                    len(records), generated_tokens, seconds)

    conversations = _latency_conversations(tasks, config.eval.latency_prompts)
    outcome.latency = measure_latency(loaded.model, loaded.tokenizer, conversations,
                                      config.eval.latency_new_tokens, dtype)
    return outcome


def _load_and_generate(load: Callable[[], LoadedModel], tasks: EvalTasks,
                       config: RunConfig) -> tuple[LoadedModel, ModelOutcome]:
    """Load a model and answer every task, measuring the peak memory of both steps together."""
    with PeakMemory(_device()) as memory:
        loaded = load()
        outcome = _generate_answers(loaded, tasks, config)
    outcome.peak_memory = memory.result
    return loaded, outcome


def _encode_references(teacher: LoadedModel, tasks: EvalTasks, max_seq_len: int) -> dict[str, ReferenceEncoding]:
    """Encode the reference responses of every token-scored task with the teacher's tokenizer."""
    encoded = {}
    for task, records in tasks.records.items():
        if tasks.kinds[task] not in TOKEN_KINDS:
            continue
        examples, dropped = encode_records(teacher.tokenizer, records, max_seq_len)
        if dropped:
            logger.warning("task %s: %d of %d examples exceed max_seq_len=%d and get no token-level scores",
                           task, len(dropped), len(records), max_seq_len)
        index = {example.example_id: position for position, example in enumerate(examples)}
        encoded[task] = ReferenceEncoding(examples, [index.get(record["id"]) for record in records])
    return encoded


def _same_vocabulary(model: LoadedModel, teacher: LoadedModel) -> bool:
    return model.tokenizer.get_vocab() == teacher.tokenizer.get_vocab()


def _token_scores(loaded: LoadedModel, teacher: LoadedModel, task: str, encoding: ReferenceEncoding,
                  batch_size: int) -> dict[str, Statistic]:
    """Return the model's token-level fidelity to the teacher on one task, or nothing when it cannot be computed."""
    if not _same_vocabulary(loaded, teacher):
        logger.warning("model %s: its tokenizer differs from the teacher's, so it gets no token-level scores",
                       loaded.name)
        return {}
    with Progress(transient=True) as progress:
        bar = progress.add_task(f"{loaded.name} against the teacher on {task}", total=len(encoding.examples))
        statistics = token_statistics(teacher.model, loaded.model, encoding.examples,
                                      teacher.tokenizer.pad_token_id, batch_size,
                                      on_batch=lambda count: progress.advance(bar, count))
    return token_fidelity(statistics, encoding.positions)


def _score_model(loaded: LoadedModel, teacher: LoadedModel, outcome: ModelOutcome, tasks: EvalTasks,
                 encoded: dict[str, ReferenceEncoding], teacher_predictions: dict[str, list[str]],
                 config: RunConfig, user_metrics: list[UserMetric]) -> None:
    """Score every task of one model: kind metrics, token-level fidelity and the user's metrics."""
    for task, records in tasks.records.items():
        kind = tasks.kinds[task]
        predictions = outcome.predictions[task]
        scores = score_task(kind, records, predictions, teacher_predictions.get(task))
        if task in encoded:
            scores.statistics.update(_token_scores(loaded, teacher, task, encoded[task], config.eval.batch_size))
        references = [record["response"] for record in records]
        for metric in user_metrics:
            for name, statistic in metric_statistics(metric, task, predictions, references).items():
                if name in scores.statistics:
                    raise ValueError(f"eval.metrics entry {metric.entry!r} returns {name!r}, which is a "
                                     f"built-in metric of task {task!r}; rename the function or the key")
                scores.statistics[name] = statistic
        outcome.scores[task] = scores


@dataclass
class Evaluation:
    """Facts (size, load time, throughput, latency, memory) and outcomes per model, and encoded counts per task."""

    facts: dict[str, dict[str, Any]] = field(default_factory=dict)
    outcomes: dict[str, ModelOutcome] = field(default_factory=dict)
    kl_examples: dict[str, int] = field(default_factory=dict)


def evaluate_models(folders: dict[str, Path], tasks: EvalTasks, config: RunConfig,
                    user_metrics: list[UserMetric] | None = None) -> Evaluation:
    """Run every model in ``folders`` (the teacher first) on every task.

    The teacher stays loaded throughout because the token-level comparison
    needs it. Each student is loaded in turn and freed before the next. Peak
    memory covers loading and answering, not the comparison, where the
    teacher runs beside the student.
    """
    teacher, teacher_outcome = _load_and_generate(lambda: _load("teacher", folders["teacher"]), tasks, config)
    encoded = _encode_references(teacher, tasks, config.label.max_seq_len)
    evaluation = Evaluation(kl_examples={task: len(encoding.examples) for task, encoding in encoded.items()})
    for name in folders:
        if name == "teacher":
            loaded, outcome = teacher, teacher_outcome
        else:
            loaded, outcome = _load_and_generate(lambda name=name: _load(name, folders[name]), tasks, config)
        _score_model(loaded, teacher, outcome, tasks, encoded, teacher_outcome.predictions, config,
                     user_metrics or [])
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
        # Batched answers end to end: prompt processing, decoding and tokenising together.
        "tokens_per_second": round(outcome.generated_tokens / seconds, 2) if seconds > 0 else None,
        "latency": outcome.latency,
        "peak_memory": outcome.peak_memory,
    }


def prediction_records(outcomes: dict[str, ModelOutcome], tasks: EvalTasks) -> Iterator[dict[str, str]]:
    for task, records in tasks.records.items():
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
    """Evaluate the models on the test split and the extra sets; write results, predictions and the manifest.

    The models are the teacher, the initial and the distilled student, and with
    ``eval.baseline`` a hard-label baseline that this stage trains first.
    """
    started = time.time()
    folders = model_folders(workspace)
    build_dir = _check_inputs(workspace, folders)
    user_metrics = load_metrics(config.eval.metrics)
    general_path = build_dir / GENERAL_FILE
    general = read_jsonl(general_path) if general_path.is_file() else None
    tasks = collect_tasks(read_jsonl(build_dir / "test.jsonl"), config, general)
    if not tasks.records:
        raise ValueError(f"{build_dir / 'test.jsonl'} has no examples; "
                         f"raise build.split.test and re-run `shochu build`")
    output = workspace.reset(NAME)
    if config.eval.baseline:
        if config.train.teacher != "online":
            workspace.require("label", NAME)
        folders["baseline"] = train_baseline(config, workspace)

    evaluation = evaluate_models(folders, tasks, config, user_metrics)
    for name, folder in folders.items():
        relative = folder.relative_to(workspace.root).as_posix()
        evaluation.facts[name] = {"path": relative, **evaluation.facts[name]}
    results = build_results(evaluation, tasks, config)

    write_jsonl(output / PREDICTIONS_FILE, prediction_records(evaluation.outcomes, tasks))
    write_json(output / RESULTS_FILE, results)
    counts = {
        "examples": {task: len(records) for task, records in tasks.records.items()},
        "kl_to_teacher": {name: values["kl_to_teacher"] for name, values in results["summary"].items()},
    }
    produced = {name: fingerprint_file(output / name) for name in (RESULTS_FILE, PREDICTIONS_FILE)}
    return workspace.finish(NAME, settings(config), inputs(config, workspace), counts, started, produced)
