"""Measure build-stage synthesis with the packaged teacher and the share each quality filter drops.

Usage (from the repository root, after `make install`):

    .venv/bin/python bench/build.py [--chunks 8] [--corpus acme realdocs] [--out bench/out/build]

For each corpus the script runs ingest and protect into a workspace under
--out (reused on later runs), then the build stage on --chunks chunks with
the tasks qa and summary, from an empty generation cache. It times teacher
generation and the likelihood-gain scoring separately. The baseline, in the
same run, is the build without quality filters: every generated candidate
would have become an example, so the filters' drop shares read against it.
Corpora: ``acme`` is examples/acme/docs; ``realdocs`` is the HTML chapters of
../shared/realdocs (read in place, never copied). Results go to
--out/results.json; copy the figures into bench/build.md by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPORA = {
    "acme": ROOT / "examples" / "acme" / "docs",
    "realdocs": ROOT.parent / "shared" / "realdocs" / "html",
}


class Timer:
    """Accumulates wall and CPU seconds of one kind of call."""

    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0
        self.calls = 0

    def wrap(self, function):
        def timed(*args, **kwargs):
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.wall += time.perf_counter() - wall
                self.cpu += time.process_time() - cpu
                self.calls += 1
        return timed


def bench_corpus(name: str, documents: Path, out: Path, chunks: int, max_new_tokens: int) -> dict:
    from shochu.build import teacher as teacher_module
    from shochu.config import RunConfig
    from shochu.pipeline import run_stage
    from shochu.workspace import Workspace, read_json

    config = RunConfig.model_validate({
        "workspace": str(out / name),
        "ingest": {"input": str(documents), "chunk_chars": 1000},
        "build": {"tasks": ["qa", "summary"], "max_chunks": chunks, "max_new_tokens": max_new_tokens,
                  "batch_size": 8},
    })
    workspace = Workspace(Path(config.workspace))
    for stage in ("ingest", "protect"):
        run_stage(stage, config, workspace)
    cache = workspace.root / "cache" / "build-generations.jsonl"
    if cache.exists():
        cache.unlink()

    generation, gains = Timer(), Timer()
    original_generate, original_gains = teacher_module.Teacher.generate, teacher_module.Teacher.gains
    teacher_module.Teacher.generate = generation.wrap(original_generate)
    teacher_module.Teacher.gains = gains.wrap(original_gains)
    started_wall, started_cpu = time.perf_counter(), time.process_time()
    load_before = os.getloadavg()[0]
    try:
        manifest, _ = run_stage("build", config, workspace, force=True)
    finally:
        teacher_module.Teacher.generate, teacher_module.Teacher.gains = original_generate, original_gains
    build_wall, build_cpu = time.perf_counter() - started_wall, time.process_time() - started_cpu

    report = read_json(workspace.stage_dir("build") / "filters.json")
    card = read_json(workspace.stage_dir("build") / "data_card.json")
    tasks = {}
    for task, entry in report.items():
        generated = entry["examples_in"]
        tasks[task] = {
            "generated": generated,
            "kept": entry["kept"],
            "drop_share": round(entry["dropped"] / generated, 3) if generated else 0.0,
            "drop_share_per_filter": {name: round(sum(reasons.values()) / generated, 3)
                                      for name, reasons in entry["drops"].items()} if generated else {},
            "drops": entry["drops"],
        }
    generated = sum(entry["generated"] for entry in tasks.values())
    kept = sum(entry["kept"] for entry in tasks.values())
    minutes = generation.wall / 60
    return {
        "corpus": name,
        "chunks": chunks,
        "chunk_languages": card["splits"],
        "generation_wall_s": round(generation.wall, 1),
        "generation_cpu_s": round(generation.cpu, 1),
        "gain_scoring_wall_s": round(gains.wall, 1),
        "build_wall_s": round(build_wall, 1),
        "build_cpu_s": round(build_cpu, 1),
        "load_average_before": round(load_before, 2),
        # Baseline: without filters every generated example is kept.
        "examples_per_minute_generated": round(generated / minutes, 2) if minutes else None,
        "examples_per_minute_kept": round(kept / (build_wall / 60), 2) if build_wall else None,
        "generated": generated,
        "kept": kept,
        "tasks": tasks,
        "manifest_dropped": manifest["counts"]["dropped"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=8, help="Chunks per corpus for the build stage.")
    parser.add_argument("--max-new-tokens", type=int, default=64, help="Generation budget per response.")
    parser.add_argument("--corpus", nargs="+", choices=sorted(CORPORA), default=sorted(CORPORA))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "build")
    parser.add_argument("--fresh", action="store_true", help="Delete --out first (re-runs ingest and protect).")
    args = parser.parse_args()
    if args.fresh and args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True, exist_ok=True)

    import torch

    results = {
        "command": "python bench/build.py " + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}, "
                   f"Python {platform.python_version()}",
        "corpora": [bench_corpus(name, CORPORA[name], args.out, args.chunks, args.max_new_tokens)
                    for name in args.corpus],
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    (args.out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
