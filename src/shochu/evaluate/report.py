"""Report stage: one self-contained HTML page and its data as JSON.

``report/report.html`` shows the preflight check (licences, memory and disk
plan, cost break-even), the training curves, the eval comparison, stage
timings, ingest and protect counts, and a few test examples with the
teacher's and the student's answers. ``report/report.json`` contains the same
data. Only numbers are taken from the ingest and protect manifests, so no
detected entity value can reach the report.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from shochu.config import RunConfig
from shochu.evaluate import plots
from shochu.evaluate.preflight_view import preflight_section, stable_fingerprint
from shochu.evaluate.report_html import render_report
from shochu.preflight.stage import read_report as read_check_report
from shochu.tune.report_data import progressive_section, results_fingerprints, tuning_section
from shochu.workspace import (
    STAGES,
    Workspace,
    fingerprint_file,
    read_json,
    read_jsonl,
    write_json,
    write_text,
)

logger = logging.getLogger(__name__)

NAME = "report"
HTML_FILE = "report.html"
JSON_FILE = "report.json"
COUNT_STAGES = ("ingest", "protect")
SAMPLE_MODELS = ["teacher", "student"]
SAMPLES_PER_TASK = 2
MAX_SAMPLE_CHARS = 400


def settings(config: RunConfig) -> dict[str, Any]:
    return {"samples_per_task": SAMPLES_PER_TASK, "max_sample_chars": MAX_SAMPLE_CHARS}


def inputs(config: RunConfig, workspace: Workspace) -> dict[str, str]:
    # Every finished earlier stage appears in the report, if only by its timing.
    earlier = STAGES[:STAGES.index(NAME)]
    found = {stage: workspace.output_fingerprint(stage) for stage in earlier if workspace.is_complete(stage)}
    check = stable_fingerprint(read_check_report(workspace))
    if check is not None:
        found["check"] = check
    # The results of `shochu tune` and of the optional progressive stage join when present.
    found.update(results_fingerprints(workspace.root))
    return found


def numeric_counts(counts: dict[str, Any], prefix: str = "") -> dict[str, int | float]:
    """Flatten nested counts to ``a.b`` keys, keeping numbers only (strings could carry document text)."""
    flat: dict[str, int | float] = {}
    for key, value in counts.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(numeric_counts(value, f"{name}."))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            flat[name] = value
    return flat


def training_data(workspace: Workspace) -> dict[str, Any]:
    """Return the train and validation records of ``train/metrics.jsonl`` and the train manifest's outcome."""
    counts = workspace.manifest("train")["counts"]
    path = workspace.stage_dir("train") / "metrics.jsonl"
    records = read_jsonl(path) if path.is_file() else []
    keys = ("step", "loss", "kd_loss", "ce_loss")
    return {
        **{key: counts.get(key) for key in ("best_step", "best_val_loss", "steps_run", "stopped_early")},
        "train": [{key: r.get(key) for key in keys} for r in records if r.get("split") == "train"],
        "validation": [{key: r.get(key) for key in keys} for r in records if r.get("split") == "validation"],
    }


def timings(workspace: Workspace) -> list[dict[str, Any]]:
    rows = []
    for stage in STAGES[:STAGES.index(NAME)]:
        manifest = workspace.manifest(stage)
        if manifest is not None:
            rows.append({"stage": stage, "wall_time_s": manifest.get("wall_time_s"),
                         "finished_at": manifest.get("finished_at")})
    return rows


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_SAMPLE_CHARS else text[:MAX_SAMPLE_CHARS - 1] + "…"


def samples(workspace: Workspace) -> list[dict[str, Any]]:
    """Return the first test examples of each task, by id, with the teacher's and student's predictions."""
    predictions_path = workspace.stage_dir("eval") / "predictions.jsonl"
    if not workspace.is_complete("eval") or not predictions_path.is_file():
        return []
    by_id: dict[str, dict[str, str]] = {}
    for record in read_jsonl(predictions_path):
        if record["model"] in SAMPLE_MODELS:
            by_id.setdefault(record["id"], {})[record["model"]] = _shorten(record["prediction"])

    chosen: list[dict[str, Any]] = []
    per_task: dict[str, int] = {}
    test_records = read_jsonl(workspace.stage_dir("build") / "test.jsonl")
    for record in sorted(test_records, key=lambda r: (r["task"], r["id"])):
        if record["id"] not in by_id or per_task.get(record["task"], 0) >= SAMPLES_PER_TASK:
            continue
        per_task[record["task"]] = per_task.get(record["task"], 0) + 1
        prompt = "\n".join(m["content"] for m in record["messages"] if m["role"] == "user")
        chosen.append({"id": record["id"], "task": record["task"], "input": _shorten(prompt),
                       "reference": _shorten(record["response"]), "predictions": by_id[record["id"]]})
    return chosen


def data_card(workspace: Workspace) -> dict[str, Any] | None:
    """Return the build stage's data card (counts, filter drops, review acceptance), None before build ran."""
    path = workspace.stage_dir("build") / "data_card.json"
    if not workspace.is_complete("build") or not path.is_file():
        return None
    card = read_json(path)
    return {key: card.get(key) for key in ("splits", "examples", "filters", "review", "general_mixing")}


def collect(workspace: Workspace) -> dict[str, Any]:
    """Gather everything the report shows, as plain data (the content of ``report.json``)."""
    results_path = workspace.stage_dir("eval") / "results.json"
    has_eval = workspace.is_complete("eval") and results_path.is_file()
    return {
        "workspace": workspace.root.name,
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "training": training_data(workspace),
        "eval": read_json(results_path) if has_eval else None,
        "timings": timings(workspace),
        "counts": {stage: numeric_counts(workspace.manifest(stage)["counts"])
                   for stage in COUNT_STAGES if workspace.is_complete(stage)},
        "samples": samples(workspace),
        "dataset": data_card(workspace),
        "preflight": preflight_section(read_check_report(workspace)),
        "tuning": tuning_section(workspace.root),
        "progressive": progressive_section(workspace.root),
    }


def figures(data: dict[str, Any]) -> dict[str, str | None]:
    """Return the base64 PNGs of the report, None where there is nothing to plot."""
    images: dict[str, str | None] = {"training": None, "eval": None, "tasks": None}
    training = data["training"]
    if training["train"] or training["validation"]:
        images["training"] = plots.training_curves(training["train"], training["validation"],
                                                   training["best_step"])
    if data["eval"]:
        images["eval"] = plots.eval_summary(data["eval"]["summary"])
        images["tasks"] = plots.task_bars(data["eval"]["tasks"], list(data["eval"]["summary"]))
    return images


def run(config: RunConfig, workspace: Workspace) -> dict[str, Any]:
    """Write ``report.html`` and ``report.json``, then the manifest."""
    started = time.time()
    workspace.require("train", NAME)
    if not workspace.is_complete("eval"):
        logger.warning("the eval stage has not finished; the report will have no eval results or samples")
    output: Path = workspace.reset(NAME)

    data = collect(workspace)
    write_text(output / HTML_FILE, render_report(data, figures(data), SAMPLE_MODELS))
    write_json(output / JSON_FILE, data)

    counts = {
        "samples": len(data["samples"]),
        "stages": len(data["timings"]),
        "train_records": len(data["training"]["train"]),
        "validation_records": len(data["training"]["validation"]),
    }
    produced = {name: fingerprint_file(output / name) for name in (HTML_FILE, JSON_FILE)}
    return workspace.finish(NAME, settings(config), inputs(config, workspace), counts, started, produced)
