"""Hard-label baseline: the initial student trained with cross-entropy only, for comparison.

With ``eval.baseline`` the eval stage trains the initial student again with
``train.kd_ratio`` set to 0 and every other train setting unchanged (data,
steps, learning rate, batch size, seed), into ``eval/baseline``. Its best
checkpoint is evaluated beside the distilled student, so the difference between
the two is what the teacher's soft labels added.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from shochu.config import RunConfig
from shochu.distill.checkpoints import BEST_DIR
from shochu.distill.train import Trainer
from shochu.workspace import Workspace, fingerprint_json

logger = logging.getLogger(__name__)

FOLDER = "baseline"


def baseline_config(config: RunConfig) -> RunConfig:
    """Return a copy of ``config`` whose train section gives the KD term no weight.

    A checkpoint metric of ``val_kd_loss`` would rank by a term the baseline does
    not train, so the baseline ranks by ``val_loss``, which then equals the CE loss.
    """
    copy = config.model_copy(deep=True)
    copy.train.kd_ratio = 0.0
    if copy.train.metric == "val_kd_loss":
        copy.train.metric = "val_loss"
        copy.train.metric_mode = "min"
    return copy


def train_baseline(config: RunConfig, workspace: Workspace, output: Path) -> Path:
    """Train the hard-label baseline into ``output/baseline`` and return its best checkpoint folder.

    Only ``best`` and ``metrics.jsonl`` are kept; the resume state in ``last`` is deleted
    after training, because a new eval run starts from an empty eval folder anyway.
    """
    settings = baseline_config(config)
    folder = output / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    logger.info("training the hard-label baseline (kd_ratio 0, %d steps at most) into %s",
                settings.train.max_steps, folder)
    trainer = Trainer(settings, workspace.models_dir / "student-init", workspace.stage_dir("build"),
                      workspace.stage_dir("label"), folder,
                      run_fingerprint=fingerprint_json({"baseline": settings.section("train")}))
    trainer.fit()
    shutil.rmtree(folder / "last", ignore_errors=True)
    best = folder / BEST_DIR
    if not (best / "config.json").is_file():
        raise FileNotFoundError(f"the baseline training finished without a checkpoint in {best}")
    logger.info("baseline: %d steps, best step %d", trainer.state.step, trainer.state.best_step)
    return best
