"""Report figures, returned as base64 PNG strings for ``data:`` URIs.

Figures are built with ``matplotlib.figure.Figure`` and never through
``pyplot``, so no GUI backend or global figure state is involved.
"""

from __future__ import annotations

import base64
import io
from typing import Any

from matplotlib.figure import Figure

from shochu.evaluate.task_metrics import PRIMARY_METRIC

SUMMARY_METRICS = ("rouge_l", "accuracy", "macro_f1", "field_f1")


def _height(value: float | None) -> float:
    return float("nan") if value is None else value


def _encode(figure: Figure) -> str:
    buffer = io.BytesIO()
    # Dropping the "Software" text chunk keeps the PNG bytes free of version strings and links.
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def training_curves(train: list[dict[str, Any]], validation: list[dict[str, Any]],
                    best_step: int | None) -> str:
    """Plot the train KD and CE terms and the validation loss per step, with the best step marked."""
    figure = Figure(figsize=(8, 4.2))
    axes = figure.add_subplot()
    steps = [record["step"] for record in train]
    axes.plot(steps, [record.get("kd_loss") for record in train], label="train kd_loss", linewidth=1.2)
    axes.plot(steps, [record.get("ce_loss") for record in train], label="train ce_loss", linewidth=1.2)
    axes.plot([record["step"] for record in validation], [record["loss"] for record in validation],
              label="validation loss", marker="o", linewidth=1.6)
    if best_step is not None:
        axes.axvline(best_step, color="black", linestyle="--", linewidth=1, label=f"best step {best_step}")
    axes.set_xlabel("optimizer step")
    axes.set_ylabel("loss")
    axes.grid(alpha=0.3)
    axes.legend()
    return _encode(figure)


def eval_summary(summary: dict[str, dict[str, float | None]]) -> str:
    """Plot per model the summary ROUGE-L and accuracy (left) and the KL to the teacher (right)."""
    models = list(summary)
    metrics = [metric for metric in SUMMARY_METRICS
               if any(summary[name].get(metric) is not None for name in models)]
    figure = Figure(figsize=(9, 3.6), layout="constrained")
    scores, divergence = figure.subplots(1, 2)

    # Bars are grouped by model. A missing value (None) is drawn as no bar, not as a zero bar.
    width = 0.8 / max(len(metrics), 1)
    for offset, metric in enumerate(metrics):
        positions = [index + offset * width for index in range(len(models))]
        scores.bar(positions, [_height(summary[name].get(metric)) for name in models], width, label=metric)
    scores.set_xticks([index + width * (len(metrics) - 1) / 2 for index in range(len(models))], models)
    scores.set_ylim(0, 1)
    scores.set_title("higher is better")
    if metrics:
        scores.legend()

    divergence.bar(models, [_height(summary[name].get("kl_to_teacher")) for name in models], color="tab:red")
    divergence.set_title("kl_to_teacher (nats/token), lower is better")
    return _encode(figure)


def task_bars(tasks: dict[str, dict[str, Any]], models: list[str]) -> str | None:
    """Plot each task's primary metric per model, with the bootstrap interval as an error bar.

    Returns None when no task has its primary metric.
    """
    rows = [(task, PRIMARY_METRIC[entry["kind"]], entry) for task, entry in tasks.items()
            if entry.get("kind") in PRIMARY_METRIC]
    rows = [(task, metric, entry) for task, metric, entry in rows
            if any(entry["metrics"][name].get(metric) is not None for name in models)]
    if not rows:
        return None
    figure = Figure(figsize=(max(6.0, 1.6 * len(rows) + 2), 3.8), layout="constrained")
    axes = figure.add_subplot()
    width = 0.8 / max(len(models), 1)
    for offset, name in enumerate(models):
        heights, low_errors, high_errors = [], [], []
        for _, metric, entry in rows:
            value = entry["metrics"][name].get(metric)
            bounds = entry.get("intervals", {}).get(name, {}).get(metric)
            heights.append(_height(value))
            # Error bars extend from the value to each end of the interval; none without one.
            low_errors.append(value - bounds[0] if bounds and value is not None else 0.0)
            high_errors.append(bounds[1] - value if bounds and value is not None else 0.0)
        positions = [index + offset * width for index in range(len(rows))]
        axes.bar(positions, heights, width, yerr=[low_errors, high_errors], capsize=3, label=name)
    axes.set_xticks([index + width * (len(models) - 1) / 2 for index in range(len(rows))],
                    [f"{task}\n{metric}" for task, metric, _ in rows])
    axes.set_ylim(0, 1.05)
    axes.set_title("primary metric per task, higher is better")
    axes.legend()
    return _encode(figure)
