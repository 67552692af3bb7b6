"""Compare training from stored labels, from an online teacher, and online with hidden alignment.

Runs the train stage three times on the same built examples, student and steps:

- ``labels``: stored top-k soft labels (the label stage runs once first, timed on its own);
- ``online``: ``train.teacher: online``, the teacher run on every micro-batch;
- ``online+align``: online with ``train.hidden_alignment`` (auto pairs, cosine, weight 1).

For each it prints optimizer steps per second (from the training loop's own
per-step times in metrics.jsonl) and the held-out KL: the full-vocabulary forward
KL(teacher || student) at temperature 1, in nats per response token, over the
validation split, computed the same way for all three final students. A stored
top-k KD loss is not comparable with a full-vocabulary one, hence this separate figure.

The data and teacher come from a finished demo workspace (``make demo`` or
``bench/demo.py``): its build stage and imported teacher are copied, never changed.

Run: .venv/bin/python bench/train_online.py --source WORKSPACE [--steps 30 --layers 2 --batch 4
         --train-examples 48 --validation-examples 12]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from shochu.config import RunConfig
from shochu.distill import train
from shochu.distill.data import collate, encode_records
from shochu.models import load_model, load_tokenizer
from shochu.pipeline import run_stage
from shochu.workspace import Workspace, read_jsonl, write_jsonl

MODES = {
    "labels": {"teacher": "labels"},
    "online": {"teacher": "online"},
    "online+align": {"teacher": "online", "hidden_alignment": {"layers": "auto", "loss": "cosine", "weight": 1.0}},
}


def make_workspace(source: Path, root: Path, train_examples: int, validation_examples: int) -> Workspace:
    """Copy the first examples of the source workspace's build stage and its imported teacher into ``root``."""
    if root.exists():
        shutil.rmtree(root)
    (root / "models").mkdir(parents=True)
    shutil.copytree(source / "build", root / "build")
    for split, count in (("train", train_examples), ("validation", validation_examples)):
        path = root / "build" / f"{split}.jsonl"
        write_jsonl(path, read_jsonl(path)[:count])
    shutil.copytree(source / "models" / "teacher", root / "models" / "teacher")
    return Workspace(root)


def config_for(source: Path, root: Path, args: argparse.Namespace, train_settings: dict) -> RunConfig:
    saved = json.loads((source / "config.json").read_text(encoding="utf-8"))
    # Only the sections that labelling and training read; the rest keep their defaults.
    data = {"workspace": str(root), "teacher": saved["teacher"], "label": saved["label"], "train": saved["train"],
            "student": {"path": None, "layers": args.layers}}
    data["label"].update({"top_k": args.top_k})
    data["train"].update({"max_steps": args.steps, "eval_every": args.steps, "batch_size": args.batch,
                          "warmup_steps": min(5, args.steps), "log_every": 1, "lora": None, **train_settings})
    return RunConfig.model_validate(data)


@torch.no_grad()
def held_out_kl(workspace: Workspace, student_dir: Path, config: RunConfig) -> float:
    """Full-vocabulary KL(teacher || student) at T = 1, nats per validation response token."""
    tokenizer = load_tokenizer(workspace.models_dir / "teacher", padding_side="right")
    teacher = load_model(workspace.models_dir / "teacher")
    student = load_model(student_dir)
    examples, _ = encode_records(tokenizer, read_jsonl(workspace.stage_dir("build") / "validation.jsonl"),
                                 config.label.max_seq_len)
    vocab = len(tokenizer)
    total, tokens = 0.0, 0
    for first in range(0, len(examples), 4):
        batch = collate(examples[first : first + 4], tokenizer.pad_token_id)
        mask = batch.target_mask.bool()
        teacher_logits = teacher(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits[mask]
        student_logits = student(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits[mask]
        teacher_logprobs = F.log_softmax(teacher_logits[:, :vocab].double(), dim=-1)
        student_logprobs = F.log_softmax(student_logits[:, :vocab].double(), dim=-1)
        total += float((teacher_logprobs.exp() * (teacher_logprobs - student_logprobs)).sum())
        tokens += int(mask.sum())
    return total / max(tokens, 1)


def steps_per_second(metrics: Path) -> float:
    records = [r for r in read_jsonl(metrics) if r["split"] == "train"]
    seconds = sum(r["ms_per_step"] * r["steps"] / 1000 for r in records)
    return sum(r["steps"] for r in records) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="A demo workspace with build/ and models/teacher.")
    parser.add_argument("--out", type=Path, default=Path("/tmp/shochu-train-online"), help="Scratch folder.")
    parser.add_argument("--steps", type=int, default=30, help="Optimizer steps per mode.")
    parser.add_argument("--layers", type=int, default=2, help="Teacher layers kept in the pruned student.")
    parser.add_argument("--batch", type=int, default=4, help="Examples per micro-batch.")
    parser.add_argument("--top-k", type=int, default=32, help="Stored top-k of the labels mode.")
    parser.add_argument("--train-examples", type=int, default=48, help="First training examples used.")
    parser.add_argument("--validation-examples", type=int, default=12, help="First validation examples used.")
    parser.add_argument("--reuse", action="store_true", help="Keep the scratch workspace of an earlier run with "
                        "the same data settings, so its finished label stage is not run again.")
    args = parser.parse_args()

    root = args.out / "ws"
    if args.reuse and (root / "label" / "manifest.json").is_file():
        workspace = Workspace(root)
    else:
        workspace = make_workspace(args.source, root, args.train_examples, args.validation_examples)
    results = {}
    label_config = config_for(args.source, workspace.root, args, MODES["labels"])
    started = time.perf_counter()
    run_stage("label", label_config, workspace)
    label_seconds = time.perf_counter() - started
    print(f"label stage: {label_seconds:.1f} s (top-{args.top_k}, T {label_config.label.temperature}; "
          f"near 0 when reused)", flush=True)

    for mode, settings in MODES.items():
        config = config_for(args.source, workspace.root, args, settings)
        workspace.reset("train")
        started = time.perf_counter()
        train.run(config, workspace)
        seconds = time.perf_counter() - started
        folder = workspace.stage_dir("train")
        results[mode] = {"steps_per_s": steps_per_second(folder / "metrics.jsonl"), "train_stage_s": seconds,
                         "held_out_kl": held_out_kl(workspace, folder / "best", config)}
        shutil.copytree(folder, args.out / f"train-{mode}", dirs_exist_ok=True)
        print(f"{mode:13s} {results[mode]['steps_per_s']:.3f} steps/s  train stage {seconds:.1f} s  "
              f"held-out KL {results[mode]['held_out_kl']:.4f} nats/token", flush=True)

    initial = held_out_kl(workspace, workspace.models_dir / "student-init", label_config)
    print(f"initial pruned student: held-out KL {initial:.4f} nats/token")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
