"""Detection throughput of two Shochu source trees, side by side.

Each round times the checked-out tree and a baseline tree, such as an older
commit checked out with ``git worktree add /tmp/base COMMIT``. The two run in
separate processes, one after the other, on the same texts. These are the
protect benchmark's generated texts, and optionally the HTML files of a
folder and the chunks of ingest output folders. Alternating the two within each round
lets both see the same load on a shared machine. The figures are MB of UTF-8
per CPU-second of the timing process (``time.process_time``), the per-core
rate, with the median over rounds and the ratio of the medians.

    .venv/bin/python bench/protect_compare.py --base /tmp/base \\
        --real-html HTML_FOLDER --chunks WORKSPACE/ingest --rounds 3

Each process loads its tree's ``shochu`` from ``TREE/src``; the benchmark's
text generators always come from this tree, so both trees see the same texts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Run in a child process: put one tree's sources first, time it, print JSON.
CHILD = """
import json, sys
tree, bench, real_html, megabytes = sys.argv[1:5]
chunk_folders = sys.argv[5:]
sys.path[:0] = [tree + "/src", bench]
import shochu
assert shochu.__file__.startswith(tree), shochu.__file__
import protect
from protect_cases import generate_cases
texts = {"benchmark texts": protect.benchmark_pieces(generate_cases(20241205, 12), float(megabytes))}
if real_html:
    texts["HTML text"] = protect.html_pieces(real_html)
from pathlib import Path
from shochu.ingest.store import read_chunks
for folder in chunk_folders:
    texts[f"chunks in {folder}"] = [chunk["text"] for chunk in read_chunks(Path(folder))]
detect = protect.shochu_detector()
print(json.dumps({label: protect.throughput(pieces, detect)[0] for label, pieces in texts.items()}))
"""


def time_tree(tree: Path, arguments: argparse.Namespace) -> dict[str, float]:
    """Return MB per CPU-second per set of texts for the sources in ``tree``, timed in a child process."""
    command = [sys.executable, "-c", CHILD, str(tree), str(HERE), arguments.real_html or "", str(arguments.megabytes),
               *arguments.chunks]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tree)
    if result.returncode != 0:
        raise SystemExit(f"timing {tree} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="Baseline source tree (a checkout with a src/ folder).")
    parser.add_argument("--rounds", type=int, default=3, help="Rounds; each times both trees once.")
    parser.add_argument("--megabytes", type=float, default=0.5, help="MB of the generated benchmark texts.")
    parser.add_argument("--real-html", help="Folder of HTML files whose text is also timed.")
    parser.add_argument("--chunks", nargs="+", default=[],
                        help="Ingest output folders (WORKSPACE/ingest) whose chunks are also timed.")
    arguments = parser.parse_args()

    trees = {"baseline": Path(arguments.base).resolve(), "this tree": HERE.parent}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    print(f"baseline {trees['baseline']}, this tree {trees['this tree']}, load average {os.getloadavg()[0]:.1f}")
    for _ in range(arguments.rounds):
        for name, tree in trees.items():
            runs[name].append(time_tree(tree, arguments))

    print("| text | baseline: MB per CPU-second, median | this tree | ratio | rounds (baseline; this tree) |",
          "|---|---|---|---|---|", sep="\n")
    for label in runs["this tree"][0]:
        base = [run[label] for run in runs["baseline"]]
        new = [run[label] for run in runs["this tree"]]
        ratio = statistics.median(new) / statistics.median(base)
        print(f"| {label} | {statistics.median(base):.3f} | {statistics.median(new):.3f} | {ratio:.2f}x | "
              f"{', '.join(f'{value:.3f}' for value in base)}; {', '.join(f'{value:.3f}' for value in new)} |")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
