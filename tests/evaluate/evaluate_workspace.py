"""Build a workspace finished up to train, with tiny models, for the eval and report tests.

This is a plain module, not a conftest.py, because a second conftest.py outside
a package would replace the root one in ``sys.modules["conftest"]``.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from shochu.config import EvalConfig, LabelConfig, RunConfig
from shochu.workspace import Workspace, write_json, write_jsonl

PLANTED_SCRIPT = "<script>alert('x')</script>"


def _user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


TEST_RECORDS = [
    {"id": "qa-002", "task": "qa", "doc_id": "d1", "messages": _user("How often do passwords rotate?"),
     "response": "Passwords rotate every 90 days."},
    {"id": "qa-001", "task": "qa", "doc_id": "d2",
     "messages": _user(f"When must staff use the VPN? {PLANTED_SCRIPT}"),
     "response": "The VPN must be used outside the office."},
    {"id": "qa-003", "task": "qa", "doc_id": "d3",
     "messages": _user("社外秘の文書はどこに保存しますか？"),
     "response": "共有フォルダに保存しないでください。"},
    {"id": "summary-001", "task": "summary", "doc_id": "d4",
     "messages": _user("Summarise: Expense claims are filed within 30 days with receipts attached."),
     "response": "Claims within 30 days, with receipts."},
    {"id": "classify-001", "task": "classify", "doc_id": "t1",
     "messages": _user("Category of: VPN fails"),
     "response": "network", "choices": ["hardware", "software", "network"]},
    {"id": "classify-002", "task": "classify", "doc_id": "t2",
     "messages": _user("Category of: invoice wrong"),
     "response": "billing", "choices": ["billing", "account"]},
]

TRAIN_METRICS = [
    *({"split": "train", "step": step, "loss": 3.0 - step * 0.1, "kd_loss": 2.0 - step * 0.1,
       "ce_loss": 4.0 - step * 0.1, "lr": 1e-4, "tokens": 64 * step} for step in range(1, 11)),
    {"split": "validation", "step": 5, "loss": 2.6, "kd_loss": 1.7, "ce_loss": 3.5},
    {"split": "validation", "step": 10, "loss": 2.7, "kd_loss": 1.6, "ce_loss": 3.8},
]

UPSTREAM_COUNTS = {
    "ingest": {"documents": 4, "chunks": 9, "errors": 0},
    "protect": {"chunks": 9, "entities": {"PERSON": 3, "EMAIL_ADDRESS": 2}, "note": "not a count"},
    "build": {"train": 10, "validation": 2, "test": len(TEST_RECORDS)},
    "label": {"examples": 12},
    "train": {"best_step": 5, "best_val_loss": 2.6, "steps_run": 10, "stopped_early": False},
}


def make_config(root: Path) -> RunConfig:
    # A short latency probe and 200 resamples keep the eval tests fast; both still run for real.
    return RunConfig(workspace=str(root), eval=EvalConfig(max_new_tokens=6, batch_size=2, latency_prompts=2,
                                                          latency_new_tokens=4, bootstrap_resamples=200),
                     label=LabelConfig(max_seq_len=256))


def perturbed_copy(source: Path, destination: Path, seed: int) -> Path:
    """Copy a model folder and add small noise to its weights, so that it differs from the source."""
    shutil.copytree(source, destination)
    weights = load_file(destination / "model.safetensors")
    generator = torch.Generator().manual_seed(seed)
    noisy = {name: tensor + 0.05 * torch.randn(tensor.shape, generator=generator)
             for name, tensor in weights.items()}
    save_file(noisy, destination / "model.safetensors", metadata={"format": "pt"})
    return destination


def finish_upstream(workspace: Workspace) -> None:
    for stage, counts in UPSTREAM_COUNTS.items():
        workspace.stage_dir(stage).mkdir(parents=True, exist_ok=True)
        workspace.finish(stage, {"setting": stage}, {}, counts, time.time())


def make_workspace(root: Path, teacher_dir: Path, student_dir: Path) -> Workspace:
    """Write fake but valid build, train and models outputs under ``root``."""
    workspace = Workspace(root)
    shutil.copytree(teacher_dir, workspace.models_dir / "teacher")
    shutil.copytree(student_dir, workspace.models_dir / "student-init")
    perturbed_copy(student_dir, workspace.stage_dir("train") / "best", seed=2)
    write_json(workspace.models_dir / "teacher" / "shochu_model.json",
               {"licence": "Apache-2.0", "source": "/models/tiny-teacher", "kind": "teacher"})
    write_json(workspace.models_dir / "student-init" / "shochu_model.json",
               {"kind": "student", "init": "layer-pruned teacher", "kept_layers": [0, 3]})

    write_jsonl(workspace.stage_dir("build") / "test.jsonl", TEST_RECORDS)
    write_jsonl(workspace.stage_dir("train") / "metrics.jsonl", TRAIN_METRICS)
    finish_upstream(workspace)
    return workspace
