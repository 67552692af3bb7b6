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
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "examples" / "acme" / "shochu.yaml"
STAGES = ("ingest", "protect", "build", "label", "train", "eval", "export", "report")


def run_demo(workspace: Path) -> float:
    if workspace.exists():
        shutil.rmtree(workspace)
    command = [sys.executable, "-m", "shochu", "run", "--config", str(CONFIG), "--workspace", str(workspace)]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - started


def collect(workspace: Path, wall_time: float) -> dict:
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
        "stage_wall_time_s": stages,
        "examples": build["examples"],
        "summary": results["summary"],
        "models": results.get("models", {}),
    }


def markdown(record: dict) -> str:
    lines = [
        f"### {record['date']}: `{record['command']}`",
        "",
        f"Machine: {record['machine']}. Total wall time {record['wall_time_s']:.0f} s "
        f"(includes importing the GGUF teacher and pruning the student).",
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
    return "n/a" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, default=ROOT / "bench" / "out" / "demo")
    parser.add_argument("--record", type=Path, help="Markdown file to append the result table to.")
    args = parser.parse_args()

    wall_time = run_demo(args.workspace)
    record = collect(args.workspace, wall_time)
    (args.workspace.parent / "demo-result.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    table = markdown(record)
    print(table)
    if args.record:
        with open(args.record, "a", encoding="utf-8") as handle:
            handle.write("\n" + table)


if __name__ == "__main__":
    main()
