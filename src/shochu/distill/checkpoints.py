"""The best k checkpoints by a validation metric whose direction the config states.

``train/best`` always contains the best checkpoint. The runners-up, when
``train.keep_best`` is above 1, sit in ``train/checkpoints/step-N``. A new
result enters when it beats the worst kept one (or fewer than k are kept); a
tie keeps the earlier checkpoint. ``BestCheckpoints`` only decides; the trainer
moves the folders as each ``Decision`` says.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

CHECKPOINTS_DIR = "checkpoints"
BEST_DIR = "best"


@dataclass(frozen=True)
class Decision:
    """Folder changes for the checkpoint of one validation."""

    keep: bool  # save this step's weights at all
    best: bool  # it becomes train/best
    demoted: int | None  # step whose weights move from best/ to checkpoints/step-N
    evicted: list[int]  # steps whose checkpoints/step-N folders are deleted


@dataclass
class BestCheckpoints:
    """Ranked (step, value) pairs of the kept checkpoints, best first."""

    keep: int
    mode: str  # "min" or "max"
    entries: list[tuple[int, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.mode not in ("min", "max"):
            raise ValueError(f"metric_mode={self.mode!r} must be 'min' or 'max'")
        if self.keep < 1:
            raise ValueError(f"keep_best={self.keep} must be at least 1")
        self.entries = [(int(step), float(value)) for step, value in self.entries]

    def better(self, value: float, than: float) -> bool:
        return value < than if self.mode == "min" else value > than

    @property
    def best_value(self) -> float | None:
        return self.entries[0][1] if self.entries else None

    def consider(self, step: int, value: float) -> Decision:
        """Insert ``(step, value)`` if it ranks among the best k and return what changes on disk."""
        rank = len(self.entries)
        for position, (_, kept) in enumerate(self.entries):
            if self.better(value, kept):
                rank = position
                break
        if rank >= self.keep:
            return Decision(keep=False, best=False, demoted=None, evicted=[])

        previous_best = self.entries[0][0] if self.entries else None
        self.entries.insert(rank, (step, value))
        evicted = [kept_step for kept_step, _ in self.entries[self.keep :]]
        self.entries = self.entries[: self.keep]
        demoted = previous_best if rank == 0 else None
        if demoted is not None and demoted in evicted:
            # The old best drops out of the k (keep_best=1): the new best/ simply replaces it.
            evicted.remove(demoted)
            demoted = None
        return Decision(keep=True, best=rank == 0, demoted=demoted, evicted=evicted)


def step_folder(root: Path, step: int) -> Path:
    return root / CHECKPOINTS_DIR / f"step-{step}"


def apply_moves(root: Path, decision: Decision) -> None:
    """Delete evicted runner-ups and move a demoted best/ to checkpoints/step-N."""
    for step in decision.evicted:
        folder = step_folder(root, step)
        if folder.exists():
            shutil.rmtree(folder)
    if decision.demoted is not None and (root / BEST_DIR).exists():
        destination = step_folder(root, decision.demoted)
        destination.parent.mkdir(parents=True, exist_ok=True)
        if destination.exists():
            shutil.rmtree(destination)
        os.replace(root / BEST_DIR, destination)
