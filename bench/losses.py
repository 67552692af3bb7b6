"""Benchmark the chunked distillation loss against a plain full-logits implementation.

Both compute the same loss, forward and backward, for 4,096 supervised tokens, a
49,152-token vocabulary and hidden size 576 (SmolLM2's shapes): kd_ratio 0.5, T = 2,
forward KL plus CE, with the teacher given either as top-k labels (k = 32, rest
bucket, as Shochu trains from stored labels) or as teacher hidden states and output
weight (full teacher distribution).

Each variant runs in its own subprocess, so that its peak resident memory
(``ru_maxrss``) is its own. The loss memory is that peak minus the resident memory
just before the first loss call. Time is the median wall time of one forward and
backward pass over every timed repetition, with one untimed warm-up per process.
Processes of the two implementations alternate, so that a change in machine load
hits both alike.

Usage: python bench/losses.py [--tokens 4096] [--vocab 49152] [--hidden 576]
       [--processes 3] [--repeats 2] [--chunk-size 512] [--threads N] [--teachers topk full]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

TOP_K = 32
TEMPERATURE = 2.0
KD_RATIO = 0.5
VARIANTS = ("plain", "chunked")
TEACHERS = ("topk", "full")


def _current_rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as handle:
        pages = int(handle.read().split()[1])
    return pages * resource.getpagesize()


def _peak_rss_bytes() -> int:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _inputs(tokens: int, vocab: int, hidden_size: int, teacher: str):
    """Random inputs, built without a (tokens, vocab) tensor so that set-up stays below the loss's peak."""
    import torch

    generator = torch.Generator().manual_seed(0)
    hidden = (torch.randn(tokens, hidden_size, generator=generator) * 0.5).requires_grad_()
    weight = (torch.randn(vocab, hidden_size, generator=generator) * 0.05).requires_grad_()
    targets = torch.randint(0, vocab, (tokens,), generator=generator)
    if teacher == "full":
        teacher_hidden = torch.randn(tokens, hidden_size, generator=generator) * 0.5
        teacher_weight = torch.randn(vocab, hidden_size, generator=generator) * 0.05
        return hidden, weight, targets, (teacher_hidden, teacher_weight)

    # Distinct ids per row: 32 steps of 1,531 stay below 49,152 before wrapping.
    ids = (torch.arange(tokens).unsqueeze(1) * 97 + torch.arange(TOP_K) * 1531) % vocab
    scores = torch.randn(tokens, TOP_K + 1, generator=generator).sort(dim=-1, descending=True).values
    logprobs = scores.log_softmax(-1)
    return hidden, weight, targets, (logprobs[:, :TOP_K].half(), ids.int(), logprobs[:, TOP_K].exp())


def plain_loss(hidden, weight, targets, teacher, kind: str):
    """The loss as a plain implementation writes it: full logits, then autograd."""
    import torch
    import torch.nn.functional as F

    logits = (hidden @ weight.t()).float()  # (tokens, vocab)
    student = F.log_softmax(logits / TEMPERATURE, dim=-1)
    if kind == "full":
        teacher_hidden, teacher_weight = teacher
        with torch.no_grad():
            teacher_logprobs = F.log_softmax((teacher_hidden @ teacher_weight.t()).float() / TEMPERATURE, dim=-1)
        kd = (teacher_logprobs.exp() * (teacher_logprobs - student)).sum()
    else:
        logprobs, ids, rest = teacher
        student_topk = student.gather(-1, ids.long())
        student_rest = torch.log1p(-student_topk.exp().sum(-1).clamp(max=1 - 1e-6))
        teacher_outcomes = torch.cat([logprobs.float(), rest.clamp(min=1e-12).log().unsqueeze(-1)], dim=-1)
        student_outcomes = torch.cat([student_topk, student_rest.unsqueeze(-1)], dim=-1)
        kd = (teacher_outcomes.exp() * (teacher_outcomes - student_outcomes)).sum()
    ce = F.cross_entropy(logits, targets, reduction="sum")
    return (KD_RATIO * TEMPERATURE**2 * kd + (1 - KD_RATIO) * ce) / targets.shape[0]


def chunked_loss(hidden, weight, targets, teacher, kind: str, chunk_size: int):
    from shochu.distill.losses import LossSettings, TeacherHidden, TopKLabels, distillation_loss

    settings = LossSettings(kd_ratio=KD_RATIO, temperature=TEMPERATURE, chunk_size=chunk_size)
    labels = TeacherHidden(*teacher) if kind == "full" else TopKLabels(*teacher)
    return distillation_loss(hidden, labels, settings, weight=weight, labels=targets).loss


def run_worker(arguments) -> None:
    """Measure one variant in this process and print one JSON line."""
    import torch

    if arguments.threads:
        torch.set_num_threads(arguments.threads)
    hidden, weight, targets, teacher = _inputs(arguments.tokens, arguments.vocab, arguments.hidden,
                                               arguments.teacher)

    def step() -> float:
        hidden.grad = None
        weight.grad = None
        started = time.perf_counter()
        if arguments.variant == "plain":
            loss = plain_loss(hidden, weight, targets, teacher, arguments.teacher)
        else:
            loss = chunked_loss(hidden, weight, targets, teacher, arguments.teacher, arguments.chunk_size)
        loss.backward()
        elapsed = time.perf_counter() - started
        step.loss = float(loss.detach())
        return elapsed

    before = _current_rss_bytes()
    setup_peak = _peak_rss_bytes()
    step()
    peak = _peak_rss_bytes()
    seconds = [step() for _ in range(arguments.repeats)]
    print(json.dumps({"variant": arguments.variant, "teacher": arguments.teacher, "rss_before": before,
                      "setup_peak": setup_peak, "peak": peak, "loss_bytes": peak - before, "seconds": seconds,
                      "loss": step.loss, "threads": torch.get_num_threads()}))


def run_all(arguments) -> None:
    results: dict[tuple[str, str], list[dict]] = {}
    for teacher in arguments.teachers:
        for _ in range(arguments.processes):
            for variant in VARIANTS:
                command = [sys.executable, __file__, "--worker", "--variant", variant, "--teacher", teacher,
                           "--tokens", str(arguments.tokens), "--vocab", str(arguments.vocab),
                           "--hidden", str(arguments.hidden), "--repeats", str(arguments.repeats),
                           "--chunk-size", str(arguments.chunk_size), "--threads", str(arguments.threads)]
                output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
                results.setdefault((teacher, variant), []).append(json.loads(output.strip().splitlines()[-1]))

    mib = 1 << 20
    print(f"{arguments.tokens} tokens x {arguments.vocab} vocabulary, hidden {arguments.hidden}, "
          f"chunk {arguments.chunk_size} tokens, {results[(arguments.teachers[0], 'plain')][0]['threads']} threads, "
          f"{arguments.processes} processes x {arguments.repeats} timed repeats per variant")
    print(f"{'teacher':8} {'variant':8} {'loss MiB':>9} {'peak RSS MiB':>13} {'median s':>9} {'loss value':>11}")
    for teacher in arguments.teachers:
        summary = {}
        for variant in VARIANTS:
            runs = results[(teacher, variant)]
            loss_bytes = statistics.median(run["loss_bytes"] for run in runs)
            peak = statistics.median(run["peak"] for run in runs)
            seconds = statistics.median(second for run in runs for second in run["seconds"])
            summary[variant] = (loss_bytes, peak, seconds)
            print(f"{teacher:8} {variant:8} {loss_bytes / mib:9.0f} {peak / mib:13.0f} {seconds:9.3f} "
                  f"{runs[0]['loss']:11.6f}")
        plain, chunked = summary["plain"], summary["chunked"]
        print(f"{teacher:8} ratio    loss memory {chunked[0] / plain[0]:.3f}x, peak RSS {chunked[1] / plain[1]:.3f}x, "
              f"time {chunked[2] / plain[2]:.3f}x (chunked / plain)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=4096)
    parser.add_argument("--vocab", type=int, default=49_152)
    parser.add_argument("--hidden", type=int, default=576)
    parser.add_argument("--processes", type=int, default=3, help="Subprocesses per variant and teacher form.")
    parser.add_argument("--repeats", type=int, default=2, help="Timed forward and backward passes per process.")
    parser.add_argument("--chunk-size", type=int, default=512, help="Tokens per chunk of the chunked loss.")
    parser.add_argument("--teachers", nargs="+", choices=TEACHERS, default=list(TEACHERS),
                        help="Teacher forms to measure.")
    parser.add_argument("--threads", type=int, default=0, help="torch threads; 0 keeps torch's default.")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--teacher", choices=TEACHERS, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
        run_worker(arguments)
    else:
        run_all(arguments)


if __name__ == "__main__":
    main()
