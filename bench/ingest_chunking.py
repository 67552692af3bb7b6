"""Benchmark ingest with token-budget chunking against the character-budget chunking it replaced.

Usage (from the repository root):

    .venv/bin/python bench/ingest_chunking.py --baseline-ref 70d8bc5 [--realdocs ../shared/realdocs]

The baseline is the source tree at ``--baseline-ref`` (``git archive`` into a
temporary folder, never checked out here), which packs chunks by characters
(``ingest.chunk_chars``). Each corpus is ingested by both versions in the same
run, each in a child process that imports its own ``src`` folder and starts
from an empty workspace:

- "cold": the first run, which extracts every file (and, for the current
  version, loads the packaged SmolLM2 tokenizer from its GGUF file);
- "re-chunk": a second run, in a new process, after the chunk setting changed.
  It reuses every stored extraction (and the stored tokenizer), so its time is
  mostly chunking, de-duplication and writing.

Both versions' chunks are then counted with the SmolLM2 tokenizer, so the
token sizes of the two chunkings can be compared. Results print as a Markdown
table; bench/ingest.md records them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Runs in the child process, with the version's src folder first on sys.path.
CHILD = textwrap.dedent("""
    import json, statistics, sys, time
    import pyarrow.parquet as pq
    from shochu.config import RunConfig
    from shochu.ingest import stage
    from shochu.workspace import Workspace

    def main():
        folder, workspace_root, chunking = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
        workspace = Workspace(workspace_root)
        config = RunConfig.model_validate({"workspace": workspace_root,
                                           "ingest": {"input": folder, "workers": 2, **chunking}})
        started = time.perf_counter()
        manifest = stage.run(config, workspace)
        seconds = time.perf_counter() - started
        texts = pq.read_table(workspace.stage_dir("ingest") / "chunks.parquet", columns=["text"]).column("text").to_pylist()

        from shochu.models import _load_tokenizer, resolve_source
        backend = _load_tokenizer(resolve_source("packaged:smollm2")).backend_tokenizer
        tokens = [len(encoding.ids) for encoding in backend.encode_batch(texts, add_special_tokens=False)]
        print(json.dumps({"seconds": seconds, "chunks": len(texts), "documents": manifest["counts"]["documents"],
                          "mean_tokens": statistics.mean(tokens), "median_tokens": statistics.median(tokens),
                          "max_tokens": max(tokens), "mean_chars": statistics.mean(len(text) for text in texts),
                          "max_chars": max(len(text) for text in texts)}))

    if __name__ == "__main__":
        main()
""")


def export_source(ref: str, target: Path) -> Path:
    """Write the ``src`` folder of git revision ``ref`` under ``target``; return that src folder."""
    archive = subprocess.run(["git", "archive", ref, "src"], cwd=ROOT, check=True, capture_output=True).stdout
    archive_path = target / "src.tar"
    archive_path.write_bytes(archive)
    with tarfile.open(archive_path) as bundle:
        bundle.extractall(target, filter="data")
    return target / "src"


def run_version(src: Path, folder: Path, workspace: Path, first: dict, second: dict) -> dict:
    """Ingest with ``first`` into an empty workspace, then with ``second`` into the same one, each in a new process."""
    script = workspace.parent / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    environment = {**os.environ, "PYTHONPATH": str(src)}
    results = []
    for chunking in (first, second):
        completed = subprocess.run([sys.executable, str(script), str(folder), str(workspace), json.dumps(chunking)],
                                   env=environment, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            raise RuntimeError(f"ingest with {src} failed:\n{completed.stderr[-3000:]}")
        results.append(json.loads(completed.stdout.strip().splitlines()[-1]))
    return {**results[0], "timings": {"cold": results[0]["seconds"], "re-chunk": results[1]["seconds"]}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline-ref", required=True, help="git revision with the character-budget chunking")
    parser.add_argument("--realdocs", type=Path, default=ROOT.parent / "shared" / "realdocs",
                        help="second corpus, read in place; skipped when missing")
    args = parser.parse_args()

    # (corpus, folder, baseline chunk settings, current chunk settings); the re-chunk run lowers each budget.
    cases = [("acme (default budget)", ROOT / "examples" / "acme" / "docs",
              {"chunk_chars": 1500, "min_chunk_chars": 200}, {"chunk_tokens": 640, "min_chunk_tokens": 90}),
             ("acme (demo budget)", ROOT / "examples" / "acme" / "docs",
              {"chunk_chars": 1000, "min_chunk_chars": 200}, {"chunk_tokens": 448, "min_chunk_tokens": 90})]
    if args.realdocs.is_dir():
        cases.append(("realdocs (default budget)", args.realdocs,
                      {"chunk_chars": 1500, "min_chunk_chars": 200}, {"chunk_tokens": 640, "min_chunk_tokens": 90}))

    with tempfile.TemporaryDirectory(prefix="shochu-bench-chunking-") as temporary:
        temporary_root = Path(temporary)
        (temporary_root / "baseline").mkdir()
        versions = {"baseline (characters)": export_source(args.baseline_ref, temporary_root / "baseline"),
                    "current (tokens)": ROOT / "src"}
        rows = []
        for number, (corpus, folder, baseline_settings, current_settings) in enumerate(cases):
            for version, src in versions.items():
                settings = baseline_settings if src != ROOT / "src" else current_settings
                rechunk = {key: value - 100 if key.startswith("chunk_") else value for key, value in settings.items()}
                run_folder = temporary_root / f"run-{number}-{len(rows)}"
                run_folder.mkdir()
                result = run_version(src, folder, run_folder / "workspace", settings, rechunk)
                rows.append((corpus, version, settings, result))
                print(f"{corpus} {version}: {json.dumps(result)}", file=sys.stderr, flush=True)

    load = os.getloadavg()[0]
    print(f"\n{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {load:.1f} at the end\n")
    print("| corpus | version | setting | cold s | re-chunk s | documents | chunks | mean / median / max "
          "SmolLM2 tokens | mean / max chars |")
    print("|---|---|---|---|---|---|---|---|---|")
    for corpus, version, settings, result in rows:
        setting = ", ".join(f"{key} {value}" for key, value in settings.items() if key.startswith("chunk_"))
        print(f"| {corpus} | {version} | {setting} | {result['timings']['cold']:.1f} | "
              f"{result['timings']['re-chunk']:.1f} | {result['documents']} | {result['chunks']} | "
              f"{result['mean_tokens']:.0f} / {result['median_tokens']:.0f} / {result['max_tokens']} | "
              f"{result['mean_chars']:.0f} / {result['max_chars']} |")


if __name__ == "__main__":
    main()
