"""Measure what the eval stage's speed figures report, on the packaged teacher and the pruned student.

Usage (from the repository root):

    .venv/bin/python bench/eval_latency.py [--models bench/out/eval-latency/models] [--prompts 8]

For each model it prints, side by side:

- batched tokens/s of short answers (a classify-like budget of 4 new tokens, batch size 8),
  the figure the eval stage reported alone before it had a latency probe;
- batched tokens/s of long answers (64 new tokens);
- the latency probe: time to first token and decode tokens/s, one prompt at a time;
- peak memory of loading and answering, measured as the eval stage does.

It also times the bootstrap intervals of one task of 500 examples with 1,000 resamples, per
kind of statistic. The models are imported once into ``--models`` and reused.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from shochu.evaluate.bootstrap import Function, Mean, Ratio, Resampling, estimate
from shochu.evaluate.latency import PeakMemory, measure_latency
from shochu.evaluate.metrics import macro_f1
from shochu.generation import generate
from shochu.models import PACKAGED_TEACHER, load_model, load_tokenizer, prepare_models

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = [
    "What is the capital of Japan?",
    "Summarise: expense claims are filed within 30 days with receipts attached.",
    "Which category fits this ticket: 'VPN drops every hour'? Answer network, billing or hardware.",
    "社外秘の文書はどこに保存しますか？",
    "How often must passwords be changed, and how long must they be?",
    "รหัสผ่านต้องเปลี่ยนบ่อยแค่ไหน",
    "List three steps to report a lost laptop.",
    "Who approves overtime requests?",
]


def speed(folder: Path, prompts: int) -> dict:
    conversations = [[{"role": "user", "content": text}] for text in QUESTIONS[:prompts]]
    with PeakMemory(torch.device("cpu")) as memory:
        model = load_model(folder)
        tokenizer = load_tokenizer(folder, padding_side="left")
        figures = {}
        for label, budget in (("short", 4), ("long", 64)):
            answers, seconds = generate(model, tokenizer, conversations, max_new_tokens=budget, batch_size=8)
            figures[f"batched_{label}_tokens_per_second"] = sum(a.new_tokens for a in answers) / seconds
        latency = measure_latency(model, tokenizer, conversations, new_tokens=32)
    return {**figures, **latency, "peak_memory_mib": (memory.result["bytes"] or 0) / 2**20}


def bootstrap_seconds() -> dict:
    generator = np.random.default_rng(0)
    size = 500
    labels, predicted = generator.integers(0, 6, size), generator.integers(0, 7, size)
    statistics = {
        "Mean (accuracy, ROUGE-L)": Mean(generator.random(size)),
        "Ratio (token KL, field P/R/F1)": Ratio(generator.random(size) * 40, generator.integers(1, 80, size)),
        "Function (macro-F1)": Function(size, lambda rows: macro_f1(labels[rows], predicted[rows])),
    }
    resampling = Resampling.draw(size, 1000, seed=0, task="bench")
    timings = {}
    for name, statistic in statistics.items():
        started = time.perf_counter()
        estimate(statistic, resampling)
        timings[name] = time.perf_counter() - started
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=ROOT / "bench" / "out" / "eval-latency" / "models")
    parser.add_argument("--prompts", type=int, default=8)
    args = parser.parse_args()

    teacher, student = prepare_models(PACKAGED_TEACHER, None, 8, args.models)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.2f}")
    rows = {"teacher (30 layers)": speed(teacher, args.prompts), "student (8 layers)": speed(student, args.prompts)}
    names = list(next(iter(rows.values())))
    print(f"{'figure':45s}" + "".join(f"{name:>22s}" for name in rows))
    for figure in names:
        values = [rows[name][figure] for name in rows]
        cells = "".join(f"{value:>22.2f}" if isinstance(value, float | int) else f"{value!s:>22s}"
                        for value in values)
        print(f"{figure:45s}{cells}")
    print("bootstrap, 500 examples, 1000 resamples:")
    for name, seconds in bootstrap_seconds().items():
        print(f"  {name:40s}{seconds * 1000:10.1f} ms")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
