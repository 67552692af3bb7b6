"""The content of ``eval/results.json``: metric values with bootstrap intervals, summary and capacity gap.

Every metric of a task is estimated on the same bootstrap index sets for every
model (``bootstrap.Resampling``), so the capacity gap (teacher minus student on
the task's primary metric) has a paired interval.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shochu.evaluate.bootstrap import Estimate, Resampling, difference, estimate
from shochu.evaluate.task_metrics import CLASSIFY, EXTRACT, PRIMARY_METRIC, TOKEN_KINDS

if TYPE_CHECKING:
    from shochu.config import RunConfig
    from shochu.evaluate.stage import EvalTasks, Evaluation


def _task_entry(task: str, tasks: EvalTasks, evaluation: Evaluation,
                estimates: dict[str, dict[str, Estimate]]) -> dict[str, Any]:
    entry: dict[str, Any] = {"kind": tasks.kinds[task], "source": tasks.sources[task],
                             "examples": len(tasks.records[task])}
    if task in evaluation.kl_examples:
        entry["kl_examples"] = evaluation.kl_examples[task]
    entry["metrics"] = {name: {metric: found.value for metric, found in values.items()}
                        for name, values in estimates.items()}
    entry["intervals"] = {name: {metric: found.interval for metric, found in values.items()}
                          for name, values in estimates.items()}
    confusion = {name: outcome.scores[task].confusion for name, outcome in evaluation.outcomes.items()
                 if outcome.scores[task].confusion is not None}
    if confusion:
        entry["confusion"] = confusion
    return entry


def _gap_row(task: str, kind: str, estimates: dict[str, dict[str, Estimate]],
             resampling: Resampling) -> dict[str, Any] | None:
    """Return teacher minus student on the task's primary metric, with its paired interval."""
    metric = PRIMARY_METRIC[kind]
    teacher, student = estimates.get("teacher", {}).get(metric), estimates.get("student", {}).get(metric)
    if teacher is None or student is None:
        return None
    gap, interval = difference(teacher, student, resampling)
    row = {"task": task, "kind": kind, "metric": metric, "teacher": teacher.value, "student": student.value,
           "gap": gap, "interval": interval, "gap_closed": None}
    baseline = estimates.get("baseline", {}).get(metric)
    if baseline is not None:
        # What the soft labels added over training on the same data with CE alone.
        row["baseline"] = baseline.value
        row["gain_over_baseline"], row["gain_interval"] = difference(student, baseline, resampling)
    initial = estimates.get("student_init", {}).get(metric)
    if initial is not None and None not in (initial.value, teacher.value, student.value) \
            and teacher.value != initial.value:
        # Share of the initial student's shortfall that distillation recovered.
        row["gap_closed"] = (student.value - initial.value) / (teacher.value - initial.value)
    return row


def capacity_gap_order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sort gap rows largest gap first; rows without a gap go last, in task order."""
    return sorted(rows, key=lambda row: (row["gap"] is None, -(row["gap"] or 0.0), row["task"]))


def _mean(values: list[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return sum(present) / len(present) if present else None


def summarise(tasks: dict[str, dict[str, Any]], models: list[str]) -> dict[str, dict[str, float | None]]:
    """Return per model each headline metric averaged over the tasks that have it."""
    def average(name: str, metric: str, kinds: tuple[str, ...]) -> float | None:
        return _mean([entry["metrics"][name].get(metric) for entry in tasks.values() if entry["kind"] in kinds])

    return {name: {
        "kl_to_teacher": average(name, "kl_to_teacher", TOKEN_KINDS),
        "rouge_l": average(name, "rouge_l", ("qa", "summary")),
        "accuracy": average(name, "accuracy", (CLASSIFY,)),
        "macro_f1": average(name, "macro_f1", (CLASSIFY,)),
        "first_mention_accuracy": average(name, "first_mention_accuracy", (CLASSIFY,)),
        "field_f1": average(name, "field_f1", (EXTRACT,)),
    } for name in models}


def build_results(evaluation: Evaluation, tasks: EvalTasks, config: RunConfig) -> dict[str, Any]:
    """Return the content of ``results.json``."""
    task_results, gaps = {}, []
    for task, records in tasks.records.items():
        resampling = Resampling.draw(len(records), config.eval.bootstrap_resamples, config.seed, task,
                                     config.eval.confidence)
        estimates = {name: {metric: estimate(statistic, resampling)
                            for metric, statistic in outcome.scores[task].statistics.items()}
                     for name, outcome in evaluation.outcomes.items()}
        task_results[task] = _task_entry(task, tasks, evaluation, estimates)
        row = _gap_row(task, tasks.kinds[task], estimates, resampling)
        if row is not None:
            gaps.append(row)
    return {
        "models": evaluation.facts,
        "tasks": task_results,
        "summary": summarise(task_results, list(evaluation.outcomes)),
        "capacity_gap": capacity_gap_order(gaps),
        "bootstrap": {"resamples": config.eval.bootstrap_resamples, "confidence": config.eval.confidence,
                      "seed": config.seed, "method": "percentile bootstrap over test examples"},
    }
