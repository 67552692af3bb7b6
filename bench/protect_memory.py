"""Measure how the protect stage's peak memory grows with the size of the corpus.

For each size the script writes a folder of Markdown and HTML files made from
the acme sample documents with ``make_corpus`` of ``bench/ingest_memory.py``.
Each file joins ``--parts`` sample documents with ``--replace`` of their words
replaced, so nearly every chunk differs. The script runs ``shochu ingest`` on
the folder once, and then only the protect stage on that ingest output in a
child process, once per checkout given with ``--source``. It prints one row per
checkout and size: files, documents, chunks scanned and wall seconds of the
protect process. It adds the process's peak resident memory (VmHWM, exact) and
the growth of that peak per chunk since the previous size of the same checkout.
The chunks are those of the ingest output, some of which protect then leaves out.

    .venv/bin/python bench/protect_memory.py --files 250 500 1000 \\
        --source /tmp/base --source . --label before --label after

Each ``--source`` runs that checkout's ``src`` folder (it goes first on
``sys.path`` of the child), so one run compares two versions on the same
ingest output. Ingest always runs with this checkout's code. Protect runs with
its default settings: every supported entity type, NER off, no tickets.

Most of the resident memory is native (libraries, their data, allocator
pools), and its peak moves by tens of MiB from run to run. ``--trace-python``
adds the peak of memory allocated for Python objects after the imports
(``tracemalloc``), which shows what the stage itself keeps per chunk, at the
cost of a slower run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest_memory import child_script, make_corpus  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def protect_script(workspace: Path, trace: bool) -> str:
    return (
        "import json, tracemalloc\n"
        "from pathlib import Path\n"
        "from shochu.config import RunConfig\n"
        "from shochu.protect import stage\n"
        "from shochu.workspace import Workspace\n"
        # Tracing starts after the imports, whose transient peak would hide the stage's own.
        + ("tracemalloc.start()\n" if trace else "") +
        f"config = RunConfig.model_validate({{'workspace': {str(workspace)!r}}})\n"
        "manifest = stage.run(config, Workspace(Path(config.workspace)))\n"
        "status = Path('/proc/self/status').read_text().splitlines()\n"
        "peak = [line for line in status if line.startswith('VmHWM:')]\n"
        "print(json.dumps({'chunks': manifest['counts']['chunks'], 'stage': stage.__file__,\n"
        "                  'main_peak_kib': int(peak[0].split()[1]),\n"
        "                  'python_peak_bytes': tracemalloc.get_traced_memory()[1]}))\n"
    )


def run_child(script: str, source: Path | None, name: str) -> tuple[dict, float]:
    """Run ``script`` in a child Python process and return its last output line, parsed as JSON, and
    its wall seconds. ``name`` names the child in the error raised when it fails."""
    environment = dict(os.environ)
    if source is not None:
        environment["PYTHONPATH"] = str(source.resolve() / "src")
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=environment, check=False)
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        tail = "\n".join(completed.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"{name} child failed with exit status {completed.returncode}:\n{tail}")
    return json.loads(completed.stdout.strip().splitlines()[-1]), wall


def _growth(before: dict | None, after: dict, key: str) -> str:
    """Return the growth of ``key`` (MiB) in KiB per added chunk, or "" for the first size."""
    if before is None or after["chunks"] <= before["chunks"]:
        return ""
    return f"{(after[key] - before[key]) * 1024 / (after['chunks'] - before['chunks']):.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, nargs="+", default=[250, 500, 1000],
                        help="corpus sizes in files")
    parser.add_argument("--parts", type=int, default=8, help="sample documents joined into each file")
    parser.add_argument("--replace", type=float, default=0.3, help="share of words replaced in each copy")
    parser.add_argument("--workers", type=int, default=2, help="ingest.workers for the ingest runs")
    parser.add_argument("--source", type=Path, action="append",
                        help="checkout whose src/ the protect child imports; repeat to compare "
                             "(default: this checkout)")
    parser.add_argument("--label", action="append", help="name of each --source in the table, in order")
    parser.add_argument("--trace-python", action="store_true",
                        help="also report the peak of memory allocated for Python objects (tracemalloc), "
                             "which makes protect several times slower")
    arguments = parser.parse_args()
    sources = arguments.source or [ROOT]
    labels = arguments.label or [source.resolve().name for source in sources]
    if len(labels) != len(sources):
        parser.error(f"got {len(labels)} --label for {len(sources)} --source; give one label per source")

    print(f"# {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    python_column = " Python peak MiB | Python KiB per chunk |" if arguments.trace_python else ""
    print(f"| code | files | documents | chunks | wall s | main peak MiB | KiB per chunk |{python_column}")
    print("|---|---|---|---|---|---|---|" + ("---|---|" if arguments.trace_python else ""), flush=True)
    previous: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="shochu-protect-memory-") as scratch:
        for files in arguments.files:
            folder = Path(scratch) / f"corpus-{files}"
            workspace = Path(scratch) / f"workspace-{files}"
            make_corpus(folder, files, arguments.parts, arguments.replace)
            ingested, _ = run_child(child_script(folder, workspace, arguments.workers), None, "ingest")
            if ingested["documents"] == 0:
                raise RuntimeError(f"ingest read no document of {folder}; "
                                   f"see {workspace}/ingest/errors.jsonl")

            for label, source in zip(labels, sources):
                script = protect_script(workspace, arguments.trace_python)
                result, wall = run_child(script, source, f"protect ({label})")
                if label not in previous:
                    print(f"# {label} ran {result['stage']}", flush=True)
                current = {"chunks": ingested["chunks"], "peak_mib": result["main_peak_kib"] / 1024,
                           "python_mib": result["python_peak_bytes"] / 2**20}
                row = (f"| {label} | {files} | {ingested['documents']} | {current['chunks']} | {wall:.1f} | "
                       f"{current['peak_mib']:.0f} | {_growth(previous.get(label), current, 'peak_mib')} |")
                if arguments.trace_python:
                    row += (f" {current['python_mib']:.1f} | "
                            f"{_growth(previous.get(label), current, 'python_mib')} |")
                print(row, flush=True)
                previous[label] = current

            # Each size's corpus and workspace are deleted once every checkout has run on them.
            shutil.rmtree(folder)
            shutil.rmtree(workspace)
    print(f"# load average after the run {os.getloadavg()[0]:.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
