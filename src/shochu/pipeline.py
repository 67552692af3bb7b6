"""The stage table and ``shochu run``: every stage in order, skipping finished ones."""

from __future__ import annotations

import importlib
import logging
import os
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from shochu.config import RunConfig
from shochu.workspace import Workspace, read_json, write_json

logger = logging.getLogger(__name__)

# Stage name -> module implementing settings(config), inputs(config, workspace)
# and run(config, workspace). Modules are imported on first use, so that
# `shochu --help` does not pay for importing torch.
STAGE_MODULES: dict[str, str] = {
    "ingest": "shochu.ingest.stage",
    "protect": "shochu.protect.stage",
    "build": "shochu.build.stage",
    "label": "shochu.distill.labels",
    "train": "shochu.distill.train",
    "eval": "shochu.evaluate.stage",
    "export": "shochu.export.stage",
    # Runs only when progressive.chain is set (see stage_enabled).
    "progressive": "shochu.tune.progressive",
    "report": "shochu.evaluate.report",
}

CONFIG_NAME = "config.json"

# Stages that consume the built dataset only after it passed the review gate (see shochu.review.gate).
GATED_STAGES = ("label",)
# The first stage to show the built dataset to the teacher when training runs the teacher online.
ONLINE_GATED_STAGES = ("train",)


class ReviewGateError(ValueError):
    """The reviewed sample of the built dataset is below the configured acceptance."""


def skipped_stages(config: RunConfig) -> dict[str, str]:
    """Stages that ``shochu run`` leaves out for this config, each with the reason the summary gives."""
    if config.train.teacher == "online":
        return {"label": "train.teacher is 'online': the trainer runs the teacher on every batch and reads "
                         "no stored soft labels"}
    return {}


def gated_stages(config: RunConfig) -> tuple[str, ...]:
    """Stages that run only after the review gate: the first one that shows the dataset to the teacher."""
    return ONLINE_GATED_STAGES if config.train.teacher == "online" else GATED_STAGES


def stage_module(name: str) -> ModuleType:
    module = importlib.import_module(STAGE_MODULES[name])
    assert module.NAME == name, f"{STAGE_MODULES[name]} declares stage {module.NAME!r}, expected {name!r}"
    return module


def save_resolved_config(config: RunConfig, workspace: Workspace) -> None:
    """Keep the resolved config in the workspace so later stage commands can run without one."""
    write_json(workspace.root / CONFIG_NAME, config.model_dump(mode="json"))


def load_workspace_config(workspace_root: Path) -> RunConfig | None:
    path = Path(workspace_root) / CONFIG_NAME
    if not path.is_file():
        return None
    return RunConfig.model_validate(read_json(path))


def stage_enabled(name: str, config: RunConfig) -> bool:
    """Return whether ``shochu run`` runs the stage, as an optional stage's ``enabled(config)`` decides."""
    enabled = getattr(stage_module(name), "enabled", None)
    return enabled is None or enabled(config)


def downstream_stages(name: str) -> set[str]:
    """Return the later stages that must run again after ``name`` ran.

    A stage module may list the stages it reads in ``UPSTREAM``, and then it
    runs again only after one of those. A stage without the list runs again after
    any earlier stage.
    """
    later = list(STAGE_MODULES)[list(STAGE_MODULES).index(name) + 1:]
    return {stage for stage in later if name in getattr(stage_module(stage), "UPSTREAM", (name,))}


def run_stage(name: str, config: RunConfig, workspace: Workspace, force: bool = False,
              reason: str | None = None) -> tuple[dict, bool]:
    """Run one stage unless its manifest matches; return the manifest and whether it ran.

    ``reason`` is the cause of a forced run, logged in the start line ("forced" when not given).
    """
    module = stage_module(name)
    settings = module.settings(config)
    inputs = module.inputs(config, workspace)
    if not force and workspace.is_fresh(name, settings, inputs):
        logger.info("stage %s is up to date; skipped", name)
        return workspace.manifest(name), False
    if name in gated_stages(config):
        enforce_review_gate(config, workspace, name)
    # Names of settings and inputs only, never their values.
    reasons = [reason or "forced"] if force else workspace.stale_reasons(name, settings, inputs)
    logger.info("stage %s: starting (%s)", name, "; ".join(reasons))
    return module.run(config, workspace), True


def enforce_review_gate(config: RunConfig, workspace: Workspace, stage: str) -> None:
    """Stop before the teacher labels a dataset that the human spot-check did not accept."""
    from shochu.review.gate import check_gate

    result = check_gate(workspace.root, config.review)
    if result.passed:
        if result.overall.decided:
            logger.info("review gate passed: %d of %d reviewed examples accepted", result.overall.accepted,
                        result.overall.decided)
        return
    raise ReviewGateError(f"the review gate stops the {stage} stage:\n"
                          + "\n".join(f"- {reason}" for reason in result.reasons)
                          + "\nFix the build settings and re-run `shochu build`, review again with "
                            "`shochu review`, or lower review.min_acceptance.")


def launched_processes() -> int:
    """Return how many processes a launcher (accelerate launch, torchrun) started for this job; 1 without one."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    """Return whether this is the launcher's main process, or the only process."""
    return os.environ.get("RANK", "0") == "0"


def run_all(config: RunConfig, force: set[str] | None = None, until: str | None = None) -> dict[str, Any]:
    """Run every stage in order and write ``summary.json`` at the workspace root."""
    if launched_processes() > 1:
        # Every process would run ingest, protect and build and write the same files. Eval, tune and
        # progressive train models on one process, so the others would wait for them forever.
        raise ValueError(
            f"shochu run was started as {launched_processes()} processes; only `shochu label` and `shochu "
            f"train` split their work over processes. Run `shochu run --config FILE --until build` as one "
            f"process, then `accelerate launch ... -m shochu label --workspace WS` and the same for `train`, "
            f"then `shochu run --config FILE` as one process for the remaining stages")
    started = time.time()
    workspace = Workspace(Path(config.workspace))
    check_model_locations(config)
    workspace.root.mkdir(parents=True, exist_ok=True)
    save_resolved_config(config, workspace)
    run_preflight(config, workspace)

    timings: dict[str, float] = {}
    ran: list[str] = []
    skipped = skipped_stages(config)
    # Why each stage is forced: the user's --force, or an earlier stage that ran.
    forced = {stage: "forced" for stage in force or ()}
    for name in STAGE_MODULES:
        if name in skipped:
            logger.info("stage %s skipped: %s", name, skipped[name])
        elif stage_enabled(name, config):
            manifest, did_run = run_stage(name, config, workspace, force=name in forced, reason=forced.get(name))
            timings[name] = manifest.get("wall_time_s", 0.0)
            if did_run:
                ran.append(name)
                # The stages downstream of a stage that ran must run again.
                for stage in downstream_stages(name):
                    forced.setdefault(stage, f"stage {name} ran")
        if name == until:
            break

    summary = build_summary(workspace, timings, ran, time.time() - started, skipped)
    write_json(workspace.root / "summary.json", summary)
    return summary


def run_preflight(config: RunConfig, workspace: Workspace) -> None:
    """Run the check stage (licences, memory, disk) and stop before any work when it finds a problem."""
    from shochu.preflight import stage as preflight

    preflight.enforce(preflight.run(config, workspace))


def check_model_locations(config: RunConfig) -> None:
    """Fail before any work when the teacher or student cannot be loaded offline."""
    from shochu.models import resolve_source

    resolve_source(config.teacher.path)
    if config.student.path:
        resolve_source(config.student.path)


def build_summary(workspace: Workspace, timings: dict[str, float], ran: list[str], wall_time: float,
                  skipped: dict[str, str] | None = None) -> dict:
    """Describe the run; an output is None when its stage has not finished (for example after ``--until``).

    ``skipped`` maps each stage that the config leaves out to the reason.
    """
    root = workspace.root
    outputs = {"model": ("export", root / "export" / "model"),
               "report": ("report", root / "report" / "report.html"),
               "eval_results": ("eval", root / "eval" / "results.json")}
    summary: dict[str, Any] = {
        "workspace": str(root),
        **{key: str(path) if workspace.is_complete(stage) and path.exists() else None
           for key, (stage, path) in outputs.items()},
        "stages_run": ran,
        "stages_skipped": skipped or {},
        "stage_wall_time_s": timings,
        "wall_time_s": round(wall_time, 1),
    }
    progressive_path = root / "progressive" / "results.json"
    if workspace.is_complete("progressive") and progressive_path.is_file():
        summary["progressive"] = {"results": str(progressive_path),
                                  "verdict": read_json(progressive_path)["verdict"]}
    results_path = root / "eval" / "results.json"
    if results_path.exists():
        summary["eval_summary"] = read_json(results_path).get("summary", {})
    return summary
