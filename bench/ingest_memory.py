"""Measure how the ingest stage's peak memory grows with the size of the corpus.

For each size the script writes a folder of Markdown and HTML files made from
the acme sample documents and runs ``shochu ingest`` on it in a child process.
It samples the resident memory (RSS) of that process and its extraction
workers every 50 ms. It prints one row per size: files, chunks, wall seconds, the peak
RSS of the main process (VmHWM, exact), the peak RSS of the whole process tree
(sampled), and the growth of the main process's peak per chunk between
consecutive sizes.

Each file joins ``--parts`` sample documents and replaces ``--replace`` of
their words (of their characters for Japanese and Thai text) with random ones,
so nearly every chunk differs from every other. That is the worst case for the
duplicate indexes: every chunk is new and goes into them.

    .venv/bin/python bench/ingest_memory.py --files 250 500 1000

``--source`` runs another checkout's code (its ``src`` folder goes first on
``sys.path`` of the child), which is how the record compares before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
ACME_DOCS = ROOT / "examples" / "acme" / "docs"
SAMPLE_SECONDS = 0.05
_SPACELESS_START = 0x0E00  # Thai block; CJK ideographs and kana are above 0x3000.


def make_corpus(target: Path, count: int, parts: int, replace: float, seed: int = 0) -> None:
    """Write ``count`` files, each ``parts`` sample documents joined with a share of words replaced."""
    sources = sorted(path for path in ACME_DOCS.rglob("*") if path.suffix in (".md", ".html"))
    texts = [(path.suffix, path.read_text(encoding="utf-8")) for path in sources]
    rng = random.Random(seed)
    for number in range(count):
        suffix = ".md" if number % 2 == 0 else ".html"
        candidates = [text for kind, text in texts if kind == suffix]
        pieces = [_replace_words(rng.choice(candidates), replace, rng) for _ in range(parts)]
        if suffix == ".html":
            body = "\n".join(pieces).replace("</html>", "").replace("<html>", "")
            content = f"<html><body>{body}</body></html>"
        else:
            content = "\n\n".join(pieces)
        path = target / f"{number // 1000:03d}" / f"file-{number:06d}{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")


def _replace_words(text: str, share: float, rng: random.Random) -> str:
    """Replace ``share`` of the words, and of the characters of words in spaceless scripts."""
    words = text.split(" ")
    for position in range(len(words)):
        word = words[position]
        if not word or "<" in word or ">" in word or rng.random() >= share:
            continue
        if any(ord(character) >= _SPACELESS_START for character in word):
            characters = [chr(0x4E00 + rng.randrange(2000)) if ord(character) >= _SPACELESS_START
                          and rng.random() < share else character for character in word]
            words[position] = "".join(characters)
        else:
            words[position] = f"w{rng.randrange(10**7)}"
    return " ".join(words)


def child_script(folder: Path, workspace: Path, workers: int) -> str:
    return (
        "import json, time, sys\n"
        "from pathlib import Path\n"
        "from shochu.config import RunConfig\n"
        "from shochu.ingest import stage\n"
        "from shochu.workspace import Workspace\n"
        f"config = RunConfig.model_validate({{'workspace': {str(workspace)!r}, "
        f"'ingest': {{'input': {str(folder)!r}, 'workers': {workers}}}}})\n"
        "manifest = stage.run(config, Workspace(Path(config.workspace)))\n"
        "peak = [line for line in Path('/proc/self/status').read_text().splitlines() if line.startswith('VmHWM:')]\n"
        "print(json.dumps({'chunks': manifest['counts']['chunks'], 'documents': manifest['counts']['documents'],\n"
        "                  'main_peak_kib': int(peak[0].split()[1]), 'stage': stage.__file__}))\n"
    )


def run_ingest(folder: Path, workspace: Path, workers: int, source: Path | None) -> dict:
    """Run the ingest stage in a child process; return its counts, wall time and peak RSS figures."""
    environment = dict(os.environ)
    if source is not None:
        environment["PYTHONPATH"] = str(source / "src")
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", child_script(folder, workspace, workers)],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=environment)
    watched = psutil.Process(process.pid)
    tree_peak = 0
    while process.poll() is None:
        tree_peak = max(tree_peak, _tree_rss(watched))
        time.sleep(SAMPLE_SECONDS)
    wall = time.perf_counter() - started
    output = process.stdout.read() if process.stdout else ""
    if process.returncode != 0:
        raise RuntimeError(f"ingest child failed with exit status {process.returncode}")
    result = json.loads(output.strip().splitlines()[-1])
    if result["documents"] == 0:
        raise RuntimeError(f"ingest read no document of {folder}; see {workspace}/ingest/errors.jsonl")
    return {**result, "wall_s": wall, "tree_peak_mib": tree_peak / 2**20,
            "main_peak_mib": result["main_peak_kib"] / 1024}


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, nargs="+", default=[250, 500, 1000], help="corpus sizes in files")
    parser.add_argument("--parts", type=int, default=8, help="sample documents joined into each file")
    parser.add_argument("--replace", type=float, default=0.3, help="share of words replaced in each copy")
    parser.add_argument("--workers", type=int, default=2, help="ingest.workers for every run")
    parser.add_argument("--source", type=Path, help="checkout whose src/ the child imports (default: this one)")
    parser.add_argument("--label", default="", help="name printed in the table's first column")
    arguments = parser.parse_args()

    print(f"# {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    print("| code | files | documents | chunks | wall s | main peak MiB | tree peak MiB | KiB per chunk |")
    print("|---|---|---|---|---|---|---|---|", flush=True)
    previous = None
    with tempfile.TemporaryDirectory(prefix="shochu-ingest-memory-") as scratch:
        for files in arguments.files:
            folder = Path(scratch) / f"corpus-{files}"
            make_corpus(folder, files, arguments.parts, arguments.replace)
            result = run_ingest(folder, Path(scratch) / f"workspace-{files}", arguments.workers, arguments.source)
            growth = ""
            if previous is not None and result["chunks"] > previous["chunks"]:
                added_kib = (result["main_peak_mib"] - previous["main_peak_mib"]) * 1024
                growth = f"{added_kib / (result['chunks'] - previous['chunks']):.2f}"
            print(f"| {arguments.label} | {files} | {result['documents']} | {result['chunks']} | "
                  f"{result['wall_s']:.1f} | {result['main_peak_mib']:.0f} | {result['tree_peak_mib']:.0f} | "
                  f"{growth} |", flush=True)
            previous = result
    return 0


if __name__ == "__main__":
    sys.exit(main())
