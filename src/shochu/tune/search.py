"""`shochu tune`: search T, kd_ratio and learning rate with Optuna over short training runs.

Each trial trains the initial student for ``tune.steps_per_trial`` steps from the
stored soft labels into ``tune/trial-N/`` (``train/`` is never touched) and is
scored by its best validation CE loss (``val_ce_loss``, lower is better). The CE
loss against the reference responses does not depend on T or kd_ratio, so trials
with different values compare fairly. The validation loss that ``train`` ranks
checkpoints by weights its KD term by kd_ratio and T^2, and would not.

The labels are stored at one temperature. A trial at another T trains on labels
derived from the stored ones (``tempered.derive_labels``): exact over the top-k ids,
with the mass outside them left out, so every trial uses
``train.topk_convention: renormalised``.

The study lives in ``tune/study.db`` (SQLite). Optuna's TPE sampler proposes the
values, and a median pruner stops a trial whose intermediate validation CE
loss is worse than the median of earlier trials at the same step. A killed run
resumes the study: its unfinished trial is marked failed and new trials run
until the study contains ``tune.trials`` complete or pruned trials.
"""

from __future__ import annotations

import fcntl
import logging
import math
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from shochu.config import RunConfig, TuneConfig
from shochu.distill.labels import SoftLabels
from shochu.distill.train import Trainer
from shochu.models import prepare_models
from shochu.tune.tempered import derive_labels
from shochu.workspace import Workspace, fingerprint_json, read_jsonl, write_json

logger = logging.getLogger(__name__)

NAME = "tune"
STUDY_FILE = "study.db"
STUDY_NAME = "shochu-tune"
RESULTS_FILE = "results.json"
METRIC = "val_ce_loss"
DIRECTION = "minimize"
SEARCHED = ("temperature", "kd_ratio", "learning_rate")


class TuneSettingsChanged(ValueError):
    """The study in the workspace was run with other settings or inputs."""


def trial_config(config: RunConfig, params: dict[str, float]) -> RunConfig:
    """Return the run config of one trial: the searched values and the short training budget."""
    tune = config.tune
    steps = tune.steps_per_trial
    eval_every = min(tune.eval_every, steps)
    data = config.model_dump(mode="json")
    data["label"]["temperature"] = params["temperature"]
    data["train"].update({
        "kd_ratio": params["kd_ratio"], "learning_rate": params["learning_rate"], "max_steps": steps,
        "eval_every": eval_every, "warmup_steps": min(config.train.warmup_steps, steps // 4),
        "metric": METRIC, "metric_mode": "min", "keep_best": 1, "topk_convention": "renormalised",
        # The pruner stops poor trials; early stopping would end trials at different lengths.
        "patience": steps // eval_every + 1,
    })
    return RunConfig.model_validate(data)


def study_fingerprint(config: RunConfig, workspace: Workspace) -> str:
    """Fingerprint of what makes two trials comparable; the trial count and time limit may change."""
    tune = config.section("tune")
    for budget in ("trials", "timeout_min"):
        tune.pop(budget)
    train = {key: value for key, value in config.section("train").items() if key not in SEARCHED}
    return fingerprint_json({"tune": tune, "train": train, "student": config.section("student"),
                             "label": workspace.output_fingerprint("label"),
                             "build": workspace.output_fingerprint("build")})


def suggest(trial: optuna.Trial, tune: TuneConfig) -> dict[str, float]:
    return {name: trial.suggest_float(name, getattr(tune, name).low, getattr(tune, name).high,
                                      log=getattr(tune, name).log)
            for name in SEARCHED}


@contextmanager
def _exclusive(folder: Path) -> Iterator[None]:
    """Hold a lock on ``folder`` so that a RUNNING trial found in the study is known to be stale."""
    with open(folder / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(f"another `shochu tune` is running on {folder.parent}; wait for it to finish") from None
        yield


def run_tune(config: RunConfig, workspace: Workspace, restart: bool = False) -> dict[str, Any]:
    """Run trials until the study contains ``tune.trials`` finished ones or the time limit passes; return the results."""
    if config.train.teacher == "online":
        raise ValueError("shochu tune scores trials trained from stored soft labels, which train.teacher "
                         "'online' does not write; tune with train.teacher 'labels' (run `shochu label` "
                         "first), then keep the best T and kd_ratio for the online run")
    build_dir = workspace.require("build", NAME)
    label_dir = workspace.require("label", NAME)
    if not SoftLabels(label_dir, "validation").example_ids:
        raise ValueError(f"{label_dir} has no validation labels, and trials are scored on the validation split; "
                         f"raise build.split.validation and re-run `shochu build` and `shochu label`")
    _, student_dir = prepare_models(config.teacher.path, config.student.path, config.student.layers,
                                    workspace.models_dir, config.teacher.licence)
    folder = workspace.root / NAME
    fingerprint = study_fingerprint(config, workspace)
    if restart and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)

    with _exclusive(folder):
        # Shochu logs each trial itself; Optuna's own INFO lines would repeat them.
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        storage = optuna.storages.RDBStorage(f"sqlite:///{folder / STUDY_FILE}")
        study = _open_study(storage, config, fingerprint, folder)
        finished = _finished(study)
        remaining = max(0, config.tune.trials - len(finished))
        logger.info("tune: %d finished trials in the study, %d to run (metric %s, %s)", len(finished), remaining,
                    METRIC, DIRECTION)
        objective = TrialObjective(config, workspace, student_dir, build_dir, label_dir, folder)
        timeout = config.tune.timeout_min * 60 if config.tune.timeout_min else None
        if remaining:
            study.optimize(objective, n_trials=remaining, timeout=timeout, catch=(),
                           callbacks=[lambda study, trial: _after_trial(study, trial, folder, config)])
        results = build_results(study, config)
        write_json(folder / RESULTS_FILE, results)
    return results


def _open_study(storage: optuna.storages.BaseStorage, config: RunConfig, fingerprint: str,
                folder: Path) -> optuna.Study:
    """Create or continue the study; mark trials left RUNNING by a killed process as failed."""
    seed = config.tune.seed if config.tune.seed is not None else config.seed
    names = {summary.study_name for summary in optuna.get_all_study_summaries(storage)}
    existing = 0
    if STUDY_NAME in names:
        study = optuna.load_study(study_name=STUDY_NAME, storage=storage)
        if study.user_attrs.get("fingerprint") != fingerprint:
            raise TuneSettingsChanged(
                f"{folder / STUDY_FILE} contains a study run with other tune, train or student settings or other "
                f"labels; its trials would not compare with new ones. Run `shochu tune --restart` to delete "
                f"{folder} and start a new study")
        existing = len(study.trials)
    # Reseeding by the trial count keeps a resumed run from proposing the first run's values again.
    sampler = optuna.samplers.TPESampler(seed=seed + existing, n_startup_trials=config.tune.startup_trials)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=config.tune.startup_trials)
    study = optuna.create_study(study_name=STUDY_NAME, storage=storage, sampler=sampler, pruner=pruner,
                                direction=DIRECTION, load_if_exists=True)
    if not existing:
        study.set_user_attr("fingerprint", fingerprint)
        study.set_user_attr("metric", METRIC)
    study_id = storage.get_study_id_from_name(STUDY_NAME)
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        logger.warning("trial %d was interrupted; it is marked failed and its folder removed", trial.number)
        storage.set_trial_state_values(storage.get_trial_id_from_study_id_trial_number(study_id, trial.number),
                                       TrialState.FAIL)
        shutil.rmtree(folder / f"trial-{trial.number}", ignore_errors=True)
    return study


def _finished(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))


class TrialObjective:
    """Train one trial in ``tune/trial-N`` and return its best validation CE loss."""

    def __init__(self, config: RunConfig, workspace: Workspace, student_dir: Path, build_dir: Path,
                 label_dir: Path, folder: Path) -> None:
        self.config = config
        self.workspace = workspace
        self.student_dir = student_dir
        self.build_dir = build_dir
        self.label_dir = label_dir
        self.folder = folder

    def __call__(self, trial: optuna.Trial) -> float:
        params = suggest(trial, self.config.tune)
        folder = self.folder / f"trial-{trial.number}"
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        started = time.perf_counter()
        logger.info("trial %d: T %.3g, kd_ratio %.3g, learning rate %.3g", trial.number, params["temperature"],
                    params["kd_ratio"], params["learning_rate"])

        labels = derive_labels(self.label_dir, folder / "labels", params["temperature"])
        settings = trial_config(self.config, params)
        trainer = Trainer(settings, self.student_dir, self.build_dir, labels, folder,
                          run_fingerprint=fingerprint_json({"tune_trial": trial.number, "params": params}))
        try:
            self._train(trial, trainer, folder)
        finally:
            trial.set_user_attr("steps", trainer.state.step)
            trial.set_user_attr("wall_time_s", round(time.perf_counter() - started, 1))
            _remove_weights(folder)
        if trainer.state.best_metric is None or not math.isfinite(trainer.state.best_metric):
            raise ValueError(f"trial {trial.number} ended without a finite {METRIC}")
        return trainer.state.best_metric

    def _train(self, trial: optuna.Trial, trainer: Trainer, folder: Path) -> None:
        """Train in slices of ``eval_every`` steps, report each validation and stop when the pruner decides to prune."""
        reported = 0
        while True:
            finished = trainer.fit(stop_after_steps=trainer.args.eval_every)
            for record in _validations(folder):
                if record["step"] > reported:
                    trial.report(record["ce_loss"], record["step"])
                    reported = record["step"]
            if finished:
                return
            if trial.should_prune():
                logger.info("trial %d pruned at step %d", trial.number, trainer.state.step)
                raise optuna.TrialPruned()


def _validations(folder: Path) -> list[dict[str, Any]]:
    path = folder / "metrics.jsonl"
    if not path.exists():
        return []
    return [record for record in read_jsonl(path) if record["split"] == "validation" and record["loss"] is not None]


def _remove_weights(folder: Path) -> None:
    """Keep a trial's metrics.jsonl; its checkpoints and derived labels take disk space and are not reused."""
    for name in ("best", "last", "checkpoints", "labels"):
        shutil.rmtree(folder / name, ignore_errors=True)


def _after_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial, folder: Path, config: RunConfig) -> None:
    """Log the finished trial and rewrite results.json, so a killed run leaves the trials it finished."""
    row = trial_row(trial)
    logger.info("trial %d %s: %s %s after %d steps in %.0f s", trial.number, row["state"], METRIC,
                f"{row['score']:.4f}" if row["score"] is not None else "none", row["steps"] or 0,
                row["wall_time_s"] or 0.0)
    write_json(folder / RESULTS_FILE, build_results(study, config))


def trial_row(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """Return one row of the results table; a pruned trial's score is its best intermediate value."""
    score = trial.value
    if trial.state == TrialState.PRUNED and trial.intermediate_values:
        score = min(trial.intermediate_values.values())
    return {"number": trial.number, "state": trial.state.name.lower(), "params": trial.params, "score": score,
            "steps": trial.user_attrs.get("steps"), "wall_time_s": trial.user_attrs.get("wall_time_s"),
            "intermediate": {str(step): value for step, value in sorted(trial.intermediate_values.items())}}


def build_results(study: optuna.Study, config: RunConfig) -> dict[str, Any]:
    """Return the content of ``tune/results.json``: every trial, the best one and the config lines to paste."""
    rows = [trial_row(trial) for trial in study.get_trials(deepcopy=False)]
    complete = [row for row in rows if row["state"] == "complete" and row["score"] is not None]
    best = min(complete, key=lambda row: row["score"]) if complete else None
    tune = config.tune
    return {
        "metric": METRIC, "direction": DIRECTION,
        "search_space": {name: getattr(tune, name).model_dump() for name in SEARCHED},
        "steps_per_trial": tune.steps_per_trial, "eval_every": min(tune.eval_every, tune.steps_per_trial),
        "stored_temperature": config.label.temperature,
        "labels": "derived from the stored labels: exact over the top-k ids, mass outside them left out "
                  "(train.topk_convention: renormalised)",
        "trials": rows,
        "counts": {state: sum(row["state"] == state for row in rows) for state in ("complete", "pruned", "fail")},
        "best": best,
        "config_lines": config_lines(best["params"]) if best else None,
    }


def config_lines(params: dict[str, float]) -> str:
    """Return the YAML lines that apply the best trial's values to a run config."""
    return (f"label:\n  temperature: {params['temperature']:.3g}\n"
            f"train:\n  kd_ratio: {params['kd_ratio']:.3g}\n  learning_rate: {params['learning_rate']:.3g}\n"
            f"  topk_convention: renormalised   # as in the trials\n")
