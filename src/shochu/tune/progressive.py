"""`shochu progressive`: distil through assistants (teacher -> assistant -> student) and compare with direct.

With ``progressive.chain: [16, 8]`` the command

1. distils a 16-layer assistant, pruned from the teacher, from the teacher's soft labels;
2. lets the assistant label the train and validation examples (its own soft labels,
   written and fingerprinted by the label stage in ``progressive/assistant-16/workspace/label``);
3. distils an 8-layer student, pruned from the teacher, from the assistant's labels;
4. distils the same 8-layer initial student directly from the teacher's labels, with
   the same steps and settings;
5. evaluates the teacher and every trained model on the test split with the eval
   stage's functions, and compares the progressive student with the direct one.

Every student starts from evenly spaced teacher layers, so the direct and the
progressive student start from the same weights. Each training resumes after a
kill, and a finished step is skipped when run again with the same settings.
The progressive student costs more compute than the direct one, because the
assistants train too; ``results.json`` records every step's steps and wall time.

The module is also the ``progressive`` stage of ``shochu run``, between export
and report, which runs only when ``progressive.chain`` is set. Its manifest
records the chain, the training, labelling and eval settings and the build and
label fingerprints, so the stage is skipped while those are unchanged. It reads
neither the train nor the eval stage, so a new training of the main student
does not make it run again.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

from shochu.config import RunConfig
from shochu.distill import labels as label_stage
from shochu.distill.checkpoints import BEST_DIR
from shochu.distill.train import Trainer
from shochu.evaluate.bootstrap import Resampling, difference, estimate
from shochu.evaluate.results import build_results
from shochu.evaluate.stage import collect_tasks, evaluate_models
from shochu.evaluate.task_metrics import PRIMARY_METRIC
from shochu.models import prepare_models, prune_layers
from shochu.workspace import Workspace, fingerprint_file, fingerprint_json, read_json, read_jsonl, write_json

logger = logging.getLogger(__name__)

NAME = "progressive"
RESULTS_FILE = "results.json"
DONE_FILE = "done.json"
# The stages whose outputs this stage reads; `shochu run` re-runs it after one of them ran.
UPSTREAM = ("build", "label")


def enabled(config: RunConfig) -> bool:
    """Return whether ``shochu run`` runs this stage: only when a chain is configured."""
    return bool(config.progressive.chain)


def settings(config: RunConfig) -> dict[str, Any]:
    from shochu.evaluate import stage as eval_stage

    return {"chain": config.progressive.chain, "train": step_config(config).section("train"),
            "label": label_stage.settings(config), "eval": eval_stage.settings(config)}


def inputs(config: RunConfig, workspace: Workspace) -> dict[str, str]:
    # The label stage's fingerprint covers the teacher and the build stage it read.
    return {stage: workspace.output_fingerprint(stage) for stage in UPSTREAM}


def run(config: RunConfig, workspace: Workspace) -> dict[str, Any]:
    """Run the chain as a pipeline stage and write its manifest, reusing finished trainings."""
    started = time.time()
    # A killed run must not leave the previous manifest behind, which would mark the stage fresh.
    workspace.invalidate(NAME)
    results = run_progressive(config, workspace)
    helped = [row["helped"] for row in results["comparison"]]
    counts = {"models": len(results["steps"]) + 1, "comparison_rows": len(helped),
              "better": helped.count(True), "worse": helped.count(False), "unclear": helped.count(None)}
    outputs = {RESULTS_FILE: fingerprint_file(workspace.stage_dir(NAME) / RESULTS_FILE)}
    return workspace.finish(NAME, settings(config), inputs(config, workspace), counts, started, outputs)


def step_config(config: RunConfig) -> RunConfig:
    """Return the config every training of the comparison uses: train settings with the chain's step budget."""
    copy = config.model_copy(deep=True)
    if config.progressive.max_steps is not None:
        copy.train.max_steps = config.progressive.max_steps
    return copy


def _teacher_layers(teacher_dir: Path) -> int:
    return int(read_json(teacher_dir / "config.json")["num_hidden_layers"])


def _check_chain(chain: list[int], teacher_layers: int) -> None:
    if len(chain) < 2:
        raise ValueError(f"progressive.chain needs at least two layer counts, an assistant and the student, "
                         f"for example [16, 8]; got {chain}")
    if chain[0] >= teacher_layers:
        raise ValueError(f"progressive.chain starts at {chain[0]} layers, but the teacher has {teacher_layers}; "
                         f"every entry must be below {teacher_layers}")


def run_progressive(config: RunConfig, workspace: Workspace) -> dict[str, Any]:
    """Train the chain and the direct student, evaluate them, and write ``progressive/results.json``."""
    started = time.time()
    build_dir = workspace.require("build", NAME)
    teacher_labels = workspace.require("label", NAME)
    test_records = read_jsonl(build_dir / "test.jsonl") if (build_dir / "test.jsonl").is_file() else []
    if not test_records:
        raise ValueError(f"{build_dir / 'test.jsonl'} has no examples to compare the students on; "
                         f"raise build.split.test and re-run `shochu build`")
    teacher_dir, _ = prepare_models(config.teacher.path, config.student.path, config.student.layers,
                                    workspace.models_dir, config.teacher.licence)
    chain = config.progressive.chain
    _check_chain(chain, _teacher_layers(teacher_dir))
    folder = workspace.stage_dir(NAME)
    folder.mkdir(parents=True, exist_ok=True)
    settings = step_config(config)
    build_fingerprint = workspace.output_fingerprint("build")

    # The chain: each model learns from the labels of the one before it.
    steps: list[dict[str, Any]] = []
    checkpoints: dict[str, Path] = {}
    labels, source = teacher_labels, "teacher"
    for position, layers in enumerate(chain):
        last = position == len(chain) - 1
        name = f"progressive-{layers}" if last else f"assistant-{layers}"
        init = prune_layers(teacher_dir, layers, folder / "init" / f"layers-{layers}")
        summary = train_step(settings, init, build_dir, labels, folder / name, build_fingerprint)
        checkpoints[name] = folder / name / BEST_DIR
        step = {"name": name, "layers": layers, "learns_from": source,
                "labels": labels.relative_to(workspace.root).as_posix(), "train": summary}
        if not last:
            labels, step["labelling"] = label_with(checkpoints[name], summary["fingerprint"], config,
                                                   folder / name / "workspace", build_dir)
        steps.append(step)
        source = name

    # The baseline of the comparison: the same initial student, distilled from the teacher.
    direct = f"direct-{chain[-1]}"
    init = prune_layers(teacher_dir, chain[-1], folder / "init" / f"layers-{chain[-1]}")
    direct_summary = train_step(settings, init, build_dir, teacher_labels, folder / direct, build_fingerprint)
    checkpoints[direct] = folder / direct / BEST_DIR

    results = evaluate_chain(config, teacher_dir, checkpoints, test_records, steps, direct, direct_summary)
    results["wall_time_s"] = round(time.time() - started, 1)
    write_json(folder / RESULTS_FILE, results)
    return results


def train_step(settings: RunConfig, init: Path, build_dir: Path, labels: Path, folder: Path,
               build_fingerprint: str) -> dict[str, Any]:
    """Distil ``init`` from ``labels`` into ``folder``; skip when a finished run with the same inputs is there."""
    fingerprint = fingerprint_json({"train": settings.section("train"), "init": read_json(init / "shochu_model.json"),
                                    "labels": read_json(labels / "index.json")["fingerprint"],
                                    "build": build_fingerprint})
    done = folder / DONE_FILE
    if done.is_file() and read_json(done).get("fingerprint") == fingerprint and (folder / BEST_DIR).is_dir():
        logger.info("%s is up to date; skipped", folder.name)
        return read_json(done)
    done.unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True)

    started = time.time()
    logger.info("progressive: training %s from %s", folder.name, labels)
    trainer = Trainer(settings, init, build_dir, labels, folder, run_fingerprint=fingerprint)
    trainer.fit()
    state = trainer.state
    summary = {"fingerprint": fingerprint, "steps_run": state.step, "best_step": state.best_step,
               "metric": settings.train.metric, "best_metric": state.best_metric,
               "stopped_early": state.stopped_early, "wall_time_s": round(time.time() - started, 1)}
    # The resume state contains the optimizer moments (twice the weights), which a finished step no longer needs.
    shutil.rmtree(folder / "last", ignore_errors=True)
    write_json(done, summary)
    return summary


def label_with(checkpoint: Path, checkpoint_fingerprint: str, config: RunConfig, root: Path,
               build_dir: Path) -> tuple[Path, dict[str, Any]]:
    """Run the label stage with ``checkpoint`` as the teacher, in a workspace of its own; return its label folder.

    The workspace under ``root`` gets a copy of the build stage, so the labels'
    manifest records the same build fingerprint as the teacher's labels.
    """
    workspace = Workspace(root)
    data = config.model_dump(mode="json")
    data["workspace"] = str(root)
    data["teacher"] = {"path": str(checkpoint), "licence": config.teacher.licence}
    # The label stage also prepares an initial student; one layer is the cheapest.
    data["student"] = {"path": None, "layers": 1}
    assistant_config = RunConfig.model_validate(data)

    marker = root / "labelled_from.json"
    current = marker.is_file() and read_json(marker).get("fingerprint") == checkpoint_fingerprint
    if not current:
        # Another assistant checkpoint: the imported copy and the labels are stale.
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(build_dir, workspace.stage_dir("build"))
    settings = label_stage.settings(assistant_config)
    inputs = label_stage.inputs(assistant_config, workspace)
    if current and workspace.is_fresh(label_stage.NAME, settings, inputs):
        manifest = workspace.manifest(label_stage.NAME)
    else:
        manifest = label_stage.run(assistant_config, workspace)
        write_json(marker, {"fingerprint": checkpoint_fingerprint})
    label_dir = workspace.stage_dir(label_stage.NAME)
    return label_dir, {"fingerprint": read_json(label_dir / "index.json")["fingerprint"],
                       "tokens": manifest["counts"]["tokens"], "wall_time_s": manifest["wall_time_s"]}


def evaluate_chain(config: RunConfig, teacher_dir: Path, checkpoints: dict[str, Path],
                   test_records: list[dict[str, Any]], steps: list[dict[str, Any]], direct: str,
                   direct_summary: dict[str, Any]) -> dict[str, Any]:
    """Evaluate the teacher and every trained model on the test split; compare the progressive and direct students."""
    # Latency is not part of this comparison, and probing it would time every model again.
    eval_config = config.model_copy(deep=True)
    eval_config.eval.latency_prompts = 0
    tasks = collect_tasks(test_records, eval_config)
    folders = {"teacher": teacher_dir, **checkpoints}
    evaluation = evaluate_models(folders, tasks, eval_config)
    results = build_results(evaluation, tasks, eval_config)
    for step in steps:
        step["metrics"] = results["summary"][step["name"]]
    progressive = steps[-1]["name"]
    comparison = compare(evaluation, tasks, eval_config, progressive, direct)
    return {
        "chain": config.progressive.chain,
        "teacher_layers": _teacher_layers(teacher_dir),
        "max_steps": step_config(config).train.max_steps,
        "steps": steps,
        "direct": {"name": direct, "layers": config.progressive.chain[-1], "learns_from": "teacher",
                   "train": direct_summary, "metrics": results["summary"][direct]},
        "comparison": comparison,
        "verdict": verdict(comparison, progressive, direct),
        "eval": results,
    }


def compare(evaluation, tasks, config: RunConfig, progressive: str, direct: str) -> list[dict[str, Any]]:
    """Return, per task and metric, progressive minus direct with a paired bootstrap interval.

    Metrics: the task's primary metric (higher is better) and the KL to the
    teacher where the task has one (lower is better). ``helped`` is True or False
    only when the interval excludes 0, and None when it does not.
    """
    rows = []
    for task, records in tasks.records.items():
        resampling = Resampling.draw(len(records), config.eval.bootstrap_resamples, config.seed, task,
                                     config.eval.confidence)
        metrics = [(PRIMARY_METRIC[tasks.kinds[task]], True), ("kl_to_teacher", False)]
        for metric, higher_is_better in metrics:
            statistics = [evaluation.outcomes[name].scores[task].statistics.get(metric)
                          for name in (progressive, direct)]
            if None in statistics:
                continue
            first, second = (estimate(statistic, resampling) for statistic in statistics)
            gap, interval = difference(first, second, resampling)
            helped = None
            if gap is not None and interval is not None and not interval[0] <= 0 <= interval[1]:
                helped = (gap > 0) == higher_is_better
            rows.append({"task": task, "metric": metric, "higher_is_better": higher_is_better,
                         "progressive": first.value, "direct": second.value, "difference": gap,
                         "interval": interval, "helped": helped})
    return rows


def verdict(rows: list[dict[str, Any]], progressive: str, direct: str) -> str:
    """Summarise the comparison in one sentence that claims only what the intervals support."""
    better = [f"{row['task']} {row['metric']}" for row in rows if row["helped"] is True]
    worse = [f"{row['task']} {row['metric']}" for row in rows if row["helped"] is False]
    undecided = [row for row in rows if row["helped"] is None]
    # A row without a value or an interval (eval.bootstrap_resamples 0) cannot show whether 0 is inside.
    unclear = sum(1 for row in undecided if row["difference"] is not None and row["interval"] is not None)
    unmeasured = len(undecided) - unclear
    parts = [f"{progressive} against {direct}:"]
    parts.append(f"better on {', '.join(better)};" if better else "better on no metric;")
    parts.append(f"worse on {', '.join(worse)};" if worse else "worse on no metric;")
    parts.append(f"no clear difference (interval includes 0) on {unclear} of {len(rows)}"
                 + (f"; no interval or no value on {unmeasured}." if unmeasured else "."))
    return " ".join(parts)


def read_results(workspace_root: Path) -> dict[str, Any] | None:
    path = Path(workspace_root) / NAME / RESULTS_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
