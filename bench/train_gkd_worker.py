"""One side of the TRL GKD comparison in bench/train_step.py, run in its own process for its peak RSS.

Modes (the first argument): ``label`` writes top-k labels with the teacher; ``shochu``
trains the student from them; ``trl`` trains the same student with TRL's GKD trainer
(off-policy: lmbda=0, beta=0), which runs the teacher at every step. Each training mode
prints one JSON line: tokens, seconds, tokens/s and peak RSS.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

import torch  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

TOP_K = 32


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def examples(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "data.jsonl").read_text(encoding="utf-8").splitlines()]


def encoded(folder: Path, tokenizer):
    from shochu.distill.data import encode_example

    return [encode_example(tokenizer, str(number), row["messages"][:1], row["messages"][1]["content"], 4096)
            for number, row in enumerate(examples(folder))]


def label(folder: Path, batch_size: int) -> None:
    from safetensors.torch import save_file

    from shochu.distill.labels import teacher_topk

    tokenizer = AutoTokenizer.from_pretrained(folder / "student", local_files_only=True)
    teacher = AutoModelForCausalLM.from_pretrained(folder / "teacher", local_files_only=True).eval()
    rows = encoded(folder, tokenizer)
    parts = []
    started = time.perf_counter()
    for first in range(0, len(rows), batch_size):
        values, ids, rest, _ = teacher_topk(teacher, rows[first : first + batch_size], tokenizer.pad_token_id,
                                            1.0, TOP_K)
        parts.append((values.half(), ids.int(), rest.float()))
    save_file({"logprobs": torch.cat([p[0] for p in parts]), "ids": torch.cat([p[1] for p in parts]),
               "rest": torch.cat([p[2] for p in parts])}, str(folder / "labels.safetensors"))
    print(json.dumps({"mode": "label", "seconds": time.perf_counter() - started, "peak_rss_mib": peak_rss_mib()}))


def train_shochu(folder: Path, batch_size: int, steps: int) -> None:
    from safetensors.torch import load_file

    from shochu.distill.data import collate
    from shochu.distill.losses import LossSettings
    from shochu.distill.train import StudentLoss

    tokenizer = AutoTokenizer.from_pretrained(folder / "student", local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(folder / "student", local_files_only=True).train()
    rows = encoded(folder, tokenizer)
    labels = load_file(str(folder / "labels.safetensors"))
    offsets = [0]
    for row in rows:
        offsets.append(offsets[-1] + row.response_tokens)
    from shochu.config import TrainConfig

    # The trainer's default chunk size bounds the (chunk, vocab) logits held at once.
    settings = LossSettings(kd_ratio=1.0, temperature=1.0, chunk_size=TrainConfig().loss_chunk_size)
    student = StudentLoss(model, settings, torch.float32)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    tokens = 0
    started = time.perf_counter()
    for step in range(steps):
        first = (step * batch_size) % len(rows)
        chosen = list(range(first, first + batch_size))
        batch = collate([rows[i] for i in chosen], tokenizer.pad_token_id)
        parts = {name: torch.cat([labels[name][offsets[i] : offsets[i + 1]] for i in chosen])
                 for name in ("logprobs", "ids", "rest")}
        loss, _, _ = student(batch.input_ids, batch.attention_mask, batch.targets, batch.target_mask, **parts)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        tokens += int(batch.attention_mask.sum())
    seconds = time.perf_counter() - started
    print(json.dumps({"mode": "shochu", "tokens": tokens, "seconds": seconds, "tokens_per_s": tokens / seconds,
                      "peak_rss_mib": peak_rss_mib()}))


def train_trl(folder: Path, batch_size: int, steps: int) -> None:
    from datasets import Dataset
    from trl.experimental.gkd import GKDConfig, GKDTrainer

    tokenizer = AutoTokenizer.from_pretrained(folder / "student", local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(folder / "student", local_files_only=True)
    teacher = AutoModelForCausalLM.from_pretrained(folder / "teacher", local_files_only=True)
    dataset = Dataset.from_list([{"messages": row["messages"]} for row in examples(folder)])
    config = GKDConfig(output_dir=str(folder / "trl-out"), lmbda=0.0, beta=0.0, temperature=1.0, max_length=4096,
                       per_device_train_batch_size=batch_size, max_steps=steps, learning_rate=1e-4,
                       logging_steps=1, save_strategy="no", report_to="none", use_cpu=True,
                       dataloader_num_workers=0, seq_kd=False, disable_tqdm=True)

    trainer = GKDTrainer(model=model, teacher_model=teacher, args=config, train_dataset=dataset,
                         processing_class=tokenizer)
    original = trainer.training_step
    counted = {"tokens": 0}

    # Count the real tokens of every batch that the trainer steps on.
    def counted_step(model, inputs, *args, **kwargs):
        counted["tokens"] += int(inputs["attention_mask"].sum())
        return original(model, inputs, *args, **kwargs)

    trainer.training_step = counted_step
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    print(json.dumps({"mode": "trl", "tokens": counted["tokens"], "seconds": seconds,
                      "tokens_per_s": counted["tokens"] / seconds, "peak_rss_mib": peak_rss_mib()}))


if __name__ == "__main__":
    mode, folder = sys.argv[1], Path(sys.argv[2])
    batch_size, steps = int(sys.argv[3]), int(sys.argv[4])
    if mode == "label":
        label(folder, batch_size)
    elif mode == "shochu":
        train_shochu(folder, batch_size, steps)
    else:
        train_trl(folder, batch_size, steps)
