"""Wall time of the whole protect stage for two Shochu source trees, side by side.

``bench/protect_compare.py`` times detection on each chunk text alone. The
stage does more: a pass that collects known names, the detection pass over
each chunk with up to 256 characters of its neighbours on each side (see
``protect/windows.py``), the re-identification check, and the write pass.
This script runs ``shochu protect --force`` on existing ingest workspaces
with each tree's ``src/`` in turn, alternating within each round, and reads
the stage's wall time from ``protect/manifest.json`` (imports excluded).

    .venv/bin/python bench/protect_stage.py --base /tmp/base WORKSPACE [WORKSPACE ...] --rounds 3

The workspaces must hold an ingest output; their protect output is replaced.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
RUN = "import sys; from shochu.cli import app; sys.argv = ['shochu', *sys.argv[1:]]; app()"


def stage_seconds(tree: Path, workspace: Path) -> float:
    """Run the protect stage with the sources in ``tree`` and return its wall time in seconds."""
    environment = {**os.environ, "PYTHONPATH": str(tree / "src")}
    result = subprocess.run([sys.executable, "-c", RUN, "protect", "-w", str(workspace), "--force"],
                            env=environment, capture_output=True, text=True, cwd=tree)
    if result.returncode != 0:
        raise SystemExit(f"protect with {tree} on {workspace} failed:\n{result.stderr[-3000:]}")
    manifest = json.loads((workspace / "protect" / "manifest.json").read_text(encoding="utf-8"))
    return float(manifest["wall_time_s"])


def chunk_megabytes(workspace: Path) -> float:
    """Return the UTF-8 size of the workspace's chunk texts in MB."""
    texts = pq.read_table(workspace / "ingest" / "chunks.parquet", columns=["text"]).column("text").to_pylist()
    return sum(len((text or "").encode("utf-8")) for text in texts) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workspaces", nargs="+", type=Path, help="Workspaces with an ingest output.")
    parser.add_argument("--base", required=True, type=Path, help="Baseline source tree (a checkout with src/).")
    parser.add_argument("--rounds", type=int, default=3, help="Rounds; each runs both trees once per workspace.")
    arguments = parser.parse_args()

    trees = {"baseline": arguments.base.resolve(), "this tree": HERE.parent}
    print(f"baseline {trees['baseline']}, this tree {trees['this tree']}, load average {os.getloadavg()[0]:.1f}")
    print("| workspace | chunk MB | baseline: stage s, median | this tree | ratio | this tree: MB per stage second |"
          " rounds (baseline; this tree) |", "|---|---|---|---|---|---|---|", sep="\n")
    for workspace in arguments.workspaces:
        times: dict[str, list[float]] = {name: [] for name in trees}
        for _ in range(arguments.rounds):
            for name, tree in trees.items():
                times[name].append(stage_seconds(tree, workspace))
        base, new = (statistics.median(times[name]) for name in trees)
        megabytes = chunk_megabytes(workspace)
        rounds = "; ".join(", ".join(f"{value:.2f}" for value in times[name]) for name in trees)
        print(f"| {workspace} | {megabytes:.3f} | {base:.2f} | {new:.2f} | {new / base:.2f}x | "
              f"{megabytes / new:.2f} | {rounds} |")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
