"""Hard-label baseline: the initial student trained with cross-entropy only, for comparison.

With ``eval.baseline`` the eval stage trains the initial student again with
``train.kd_ratio`` set to 0 and every other train setting unchanged (data,
steps, learning rate, batch size, seed), into ``WORKSPACE/baseline``. Its best
checkpoint is evaluated beside the distilled student, so the difference between
the two is what the teacher's soft labels added.

The folder lives outside ``eval/``, which every eval run empties, so that an
interrupted baseline resumes from its last checkpoint, and a finished one is
reused while the train settings and the train stage's inputs are unchanged.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from shochu.config import RunConfig
from shochu.distill import train
from shochu.distill.checkpoints import BEST_DIR
from shochu.distill.train import Trainer
from shochu.workspace import Workspace, fingerprint_json, read_json, write_json

logger = logging.getLogger(__name__)

FOLDER = "baseline"
# Written when the baseline finished. It contains the fingerprint of the inputs it was trained from.
FINISHED_FILE = "finished.json"


def baseline_config(config: RunConfig) -> RunConfig:
    """Return a copy of ``config`` whose train section gives the teacher no weight.

    The KD term gets weight 0 and hidden-state alignment, the other signal from
    the teacher, is switched off. A checkpoint metric of ``val_kd_loss`` would
    rank by a term the baseline does not train, so the baseline ranks by
    ``val_loss``, which then equals the CE loss.
    """
    copy = config.model_copy(deep=True)
    copy.train.kd_ratio = 0.0
    copy.train.hidden_alignment = None
    if copy.train.metric == "val_kd_loss":
        copy.train.metric = "val_loss"
        copy.train.metric_mode = "min"
    return copy


def train_baseline(config: RunConfig, workspace: Workspace) -> Path:
    """Train the hard-label baseline into ``WORKSPACE/baseline`` and return its best checkpoint folder.

    A finished baseline with the same fingerprint is returned as it is. Otherwise
    training resumes from ``last`` when that state has the same fingerprint, and
    starts afresh when it has not. Only ``best`` and ``metrics.jsonl`` are kept
    once training ends.
    """
    settings = baseline_config(config)
    folder = workspace.root / FOLDER
    best = folder / BEST_DIR
    fingerprint = fingerprint_json({"baseline": settings.section("train"),
                                    "inputs": train.inputs(settings, workspace)})
    finished = folder / FINISHED_FILE
    if finished.is_file():
        if read_json(finished).get("fingerprint") == fingerprint and (best / "config.json").is_file():
            logger.info("baseline: reusing the finished hard-label baseline in %s", folder)
            return best
        logger.info("baseline: the train settings or data changed; training the baseline again")
        shutil.rmtree(folder)

    folder.mkdir(parents=True, exist_ok=True)
    logger.info("training the hard-label baseline (kd_ratio 0, %d steps at most) into %s",
                settings.train.max_steps, folder)
    trainer = Trainer(settings, workspace.models_dir / "student-init", workspace.stage_dir("build"),
                      workspace.stage_dir("label"), folder, run_fingerprint=fingerprint)
    trainer.fit()
    if not (best / "config.json").is_file():
        raise FileNotFoundError(f"the baseline training finished without a checkpoint in {best}")
    shutil.rmtree(folder / "last", ignore_errors=True)
    write_json(finished, {"fingerprint": fingerprint, "steps": trainer.state.step,
                          "best_step": trainer.state.best_step})
    logger.info("baseline: %d steps, best step %d", trainer.state.step, trainer.state.best_step)
    return best
