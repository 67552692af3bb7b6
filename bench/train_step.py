"""Time one KD training step from stored top-k labels against a plain CE (SFT) step.

Both steps train the same randomly initialised student (SmolLM2-135M's widths and
vocabulary, fewer layers) on the same token ids: forward, backward and an AdamW
update. The steps alternate, after warm-up, and the median of each is reported.

- ``kd``: Shochu's trainer step (``StudentLoss``): the decoder, then the chunked
  loss over the supervised positions, KD against stored top-k labels plus CE
  (kd_ratio 0.5).
- ``sft``: the usual transformers SFT step, ``model(input_ids, labels=...)``, with
  prompt and padding positions set to -100.
- ``ce_chunked``: Shochu's loss with kd_ratio 0 (CE only), which isolates the cost
  of the KD term from the cost of the chunked projection.

Run: .venv/bin/python bench/train_step.py [--layers 4 --batch 4 --seq 256 --steps 7]
     .venv/bin/python bench/train_step.py --trl-python PYTHON [--layers 8 --teacher-layers 30]

With ``--trl-python PYTHON`` it instead compares training throughput and peak RSS
with TRL's GKD trainer (off-policy: lmbda=0, beta=0), each trainer in its own process
(``bench/train_gkd_worker.py``): Shochu trains from top-k labels stored beforehand,
TRL runs the teacher at every step. PYTHON is an interpreter with TRL installed, kept
out of Shochu's environment (see bench/train_step.md).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from transformers import LlamaConfig, LlamaForCausalLM  # noqa: E402

from shochu.distill.losses import LossSettings  # noqa: E402
from shochu.distill.train import StudentLoss  # noqa: E402

VOCAB = 49152
TOP_K = 32


def make_student(layers: int) -> LlamaForCausalLM:
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=VOCAB, hidden_size=576, intermediate_size=1536, num_hidden_layers=layers,
                         num_attention_heads=9, num_key_value_heads=3, max_position_embeddings=2048,
                         tie_word_embeddings=True)
    return LlamaForCausalLM(config)


def make_batch(batch: int, seq: int) -> dict[str, torch.Tensor]:
    """Right-padded sequences whose second half (up to the length) is the supervised response."""
    generator = torch.Generator().manual_seed(1)
    input_ids = torch.randint(0, VOCAB, (batch, seq), generator=generator)
    lengths = [seq - (row * seq) // (4 * batch) for row in range(batch)]
    attention_mask = torch.zeros((batch, seq), dtype=torch.long)
    target_mask = torch.zeros((batch, seq), dtype=torch.bool)
    targets = torch.zeros((batch, seq), dtype=torch.long)
    sft_labels = torch.full((batch, seq), -100, dtype=torch.long)
    for row, length in enumerate(lengths):
        attention_mask[row, :length] = 1
        targets[row, : length - 1] = input_ids[row, 1:length]
        target_mask[row, length // 2 - 1 : length - 1] = True
        # transformers shifts labels itself: label t is predicted at position t - 1.
        sft_labels[row, length // 2 : length] = input_ids[row, length // 2 : length]
    return {"input_ids": input_ids, "attention_mask": attention_mask, "targets": targets,
            "target_mask": target_mask, "sft_labels": sft_labels}


def stored_labels(rows: int) -> dict[str, torch.Tensor]:
    """Top-k teacher labels as the label stage stores them: float16 log-probs, int32 ids, rest mass."""
    generator = torch.Generator().manual_seed(2)
    logits = torch.randn((rows, VOCAB), generator=generator) * 3
    logprobs = logits.log_softmax(-1)
    values, ids = logprobs.topk(TOP_K, dim=-1)
    rest = (1 - values.exp().sum(-1)).clamp(min=0)
    return {"logprobs": values.half(), "ids": ids.int(), "rest": rest.float()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--seq", type=int, default=256)
    parser.add_argument("--steps", type=int, default=7, help="Timed steps per variant, after 2 warm-up steps.")
    parser.add_argument("--chunk", type=int, default=1024, help="Loss chunk size in tokens.")
    parser.add_argument("--trl-python", help="Interpreter with TRL installed; runs the GKD comparison instead.")
    parser.add_argument("--teacher-layers", type=int,
                        help="Teacher layers in the GKD comparison (SmolLM2-135M has 30); default twice --layers.")
    args = parser.parse_args()
    if args.trl_python:
        compare_with_trl(args)
        return

    batch = make_batch(args.batch, args.seq)
    supervised = int(batch["target_mask"].sum())
    labels = stored_labels(supervised)
    tokens = int(batch["attention_mask"].sum())

    models = {name: make_student(args.layers) for name in ("kd", "ce_chunked", "sft")}
    steps = {
        "kd": kd_step(models["kd"], batch, labels, LossSettings(kd_ratio=0.5, temperature=1.0, chunk_size=args.chunk)),
        "ce_chunked": kd_step(models["ce_chunked"], batch, labels,
                              LossSettings(kd_ratio=0.0, temperature=1.0, chunk_size=args.chunk)),
        "sft": sft_step(models["sft"], batch),
    }
    times: dict[str, list[float]] = {name: [] for name in steps}
    for round_number in range(args.steps + 2):
        for name, step in steps.items():
            started = time.perf_counter()
            step()
            if round_number >= 2:
                times[name].append(time.perf_counter() - started)

    print(f"student: {args.layers} layers, hidden 576, vocab {VOCAB}; batch {args.batch} x {args.seq} "
          f"({tokens} tokens, {supervised} supervised); top-k {TOP_K}; threads {torch.get_num_threads()}")
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, median in medians.items():
        print(f"{name:11s} median {median * 1000:8.1f} ms/step  {tokens / median:8.0f} tokens/s  "
              f"(min {min(times[name]) * 1000:.1f}, max {max(times[name]) * 1000:.1f})")
    print(f"KD / SFT step time: {medians['kd'] / medians['sft']:.3f}  (target <= 1.15)")
    print(f"KD / chunked CE step time: {medians['kd'] / medians['ce_chunked']:.3f}")
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


def kd_step(model: LlamaForCausalLM, batch: dict, labels: dict, settings: LossSettings):
    student = StudentLoss(model, settings, torch.float32)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    inputs = {name: batch[name] for name in ("input_ids", "attention_mask", "targets", "target_mask")}

    def step() -> None:
        loss, _, _ = student(**inputs, **labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return step


def sft_step(model: LlamaForCausalLM, batch: dict):
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step() -> None:
        output = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                       labels=batch["sft_labels"])
        output.loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return step


def compare_with_trl(args: argparse.Namespace) -> None:
    """Train the same student on the same chats with Shochu (stored labels) and TRL GKD; print both."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from tiny_models import build_tiny_model

    folder = Path(tempfile.mkdtemp(prefix="shochu-gkd-"))
    # The tiny test tokenizer (with a chat template); the models use the full 49,152-column vocabulary.
    tokenizer_dir = build_tiny_model(folder / "tokenizer")
    teacher_layers = args.teacher_layers or args.layers * 2
    for name, layers in (("student", args.layers), ("teacher", teacher_layers)):
        make_student(layers).save_pretrained(folder / name)
        for file in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
            (folder / name / file).write_bytes((tokenizer_dir / file).read_bytes())
    sentence = "Calibration of the AP-200 sensor takes 15 minutes at 25 degrees. "
    rows = [{"messages": [{"role": "user", "content": f"Question {n}: " + sentence * (2 + n % 3)},
                          {"role": "assistant", "content": sentence * (3 + n % 2)}]}
            for n in range(args.batch * args.steps)]
    (folder / "data.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")

    worker = str(Path(__file__).with_name("train_gkd_worker.py"))
    results = {}
    for mode, python in (("label", sys.executable), ("shochu", sys.executable), ("trl", args.trl_python)):
        output = subprocess.run([python, worker, mode, str(folder), str(args.batch), str(args.steps)],
                                capture_output=True, text=True, check=False)
        if output.returncode != 0:
            raise SystemExit(f"{mode} worker failed:\n{output.stderr[-3000:]}")
        results[mode] = json.loads(output.stdout.strip().splitlines()[-1])

    print(f"student {args.layers} layers, teacher {teacher_layers} layers, hidden 576, vocab {VOCAB}; "
          f"batch {args.batch}, {args.steps} steps; top-k {TOP_K}; threads {torch.get_num_threads()}")
    print(f"labelling (once, before training): {results['label']['seconds']:.1f} s, "
          f"peak RSS {results['label']['peak_rss_mib']:.0f} MiB")
    for mode in ("shochu", "trl"):
        result = results[mode]
        print(f"{mode:7s} {result['tokens']:6d} tokens  {result['seconds']:8.1f} s  "
              f"{result['tokens_per_s']:8.1f} tokens/s  peak RSS {result['peak_rss_mib']:6.0f} MiB")
    print(f"tokens/s Shochu / TRL: {results['shochu']['tokens_per_s'] / results['trl']['tokens_per_s']:.2f} "
          f"(target >= 2); peak RSS Shochu / TRL: "
          f"{results['shochu']['peak_rss_mib'] / results['trl']['peak_rss_mib']:.2f} (target <= 0.6)")


if __name__ == "__main__":
    main()
