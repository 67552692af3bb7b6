"""Run the demo from an empty workspace and record its stage timings and eval table.

Usage (from the repository root, after `make install`):

    .venv/bin/python bench/demo.py [--workspace bench/out/demo] [--record bench/demo.md]

The baseline is the undistilled student (the layer-pruned teacher), evaluated
in the same run on the same test split; the ratio column compares each
student's KL to the teacher with that baseline. Results go to a JSON file
beside the workspace and, with --record, into a table in bench/demo.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "examples" / "acme" / "shochu.yaml"
STAGES = ("ingest", "protect", "build", "label", "train", "eval", "export", "report")


def run_demo(workspace: Path) -> tuple[float, float, list[float]]:
    """Run the demo; return wall seconds, CPU seconds of the run and the load averages before and after."""
    if workspace.exists():
        shutil.rmtree(workspace)
    command = [sys.executable, "-m", "shochu", "run", "--config", str(CONFIG), "--workspace", str(workspace)]
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    wall_time = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall_time, usage.ru_utime + usage.ru_stime, [load_before, os.getloadavg()[0]]


def collect(workspace: Path, wall_time: float, cpu_time: float, load: list[float]) -> dict:
    stages = {}
    for stage in STAGES:
        manifest = json.loads((workspace / stage / "manifest.json").read_text(encoding="utf-8"))
        stages[stage] = manifest["wall_time_s"]
    results = json.loads((workspace / "eval" / "results.json").read_text(encoding="utf-8"))
    build = json.loads((workspace / "build" / "manifest.json").read_text(encoding="utf-8"))["counts"]
    return {
        "command": "python bench/demo.py",
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "wall_time_s": round(wall_time, 1),
        "cpu_time_s": round(cpu_time, 1),
        # One-minute load average before and after; above the core count means other work shared the CPU.
        "load_average": [round(value, 2) for value in load],
        "stage_wall_time_s": stages,
        "examples": build["examples"],
        "summary": results["summary"],
        "models": results.get("models", {}),
    }


def markdown(record: dict) -> str:
    lines = [
        f"### {record['date']}: `{record['command']}`",
        "",
        f"Machine: {record['machine']}. Total wall time {record['wall_time_s']:.0f} s, CPU time "
        f"{record['cpu_time_s']:.0f} s (includes importing the GGUF teacher and pruning the student). "
        f"One-minute load average before/after: {record['load_average'][0]}/{record['load_average'][1]}.",
        f"Examples (train/validation/test): {record['examples']['train']}/"
        f"{record['examples']['validation']}/{record['examples']['test']}.",
        "",
        "| stage | wall time (s) |",
        "|---|---|",
        *[f"| {stage} | {seconds:.1f} |" for stage, seconds in record["stage_wall_time_s"].items()],
        "",
    ]
    baseline = record["summary"].get("student_init", {}).get("kl_to_teacher")
    metrics = sorted({name for values in record["summary"].values() for name in values})
    lines += ["| model | " + " | ".join(metrics) + " | KL ratio to undistilled |",
              "|---|" + "---|" * (len(metrics) + 1)]
    for model, values in record["summary"].items():
        cells = [_format(values.get(name)) for name in metrics]
        kl = values.get("kl_to_teacher")
        ratio = f"{kl / baseline:.3f}" if kl is not None and baseline else "n/a"
        lines.append(f"| {model} | " + " | ".join(cells) + f" | {ratio} |")
    return "\n".join(lines) + "\n"


def _format(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, default=ROOT / "bench" / "out" / "demo")
    parser.add_argument("--record", type=Path, help="Markdown file to append the result table to.")
    args = parser.parse_args()

    wall_time, cpu_time, load = run_demo(args.workspace)
    record = collect(args.workspace, wall_time, cpu_time, load)
    (args.workspace.parent / "demo-result.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    table = markdown(record)
    print(table)
    if args.record:
        with open(args.record, "a", encoding="utf-8") as handle:
            handle.write("\n" + table)


if __name__ == "__main__":
    main()
