"""Benchmark the ingest stage against markitdown, and near-duplicate detection at 100,000 chunks.

Usage (from the repository root):

    .venv/bin/python bench/ingest.py [--files 2000] [--markitdown-python /tmp/mdvenv/bin/python]
                                     [--chunks 100000] [--baseline-chunks 20000]

Part 1 copies the documents of examples/acme/docs, with small mutations, into
``--files`` files in a temporary folder, runs the ingest stage over them and,
when ``--markitdown-python`` names a Python that has markitdown installed,
converts the same files with markitdown in the same run. It reports pages per
second for PDFs and documents per second for the other formats, from the time
each tool spent in each format.

Part 2 makes ``--chunks`` chunk texts by mutating the ingested acme chunks (a
few words or characters changed per copy), then clusters them with Shochu's
MinHash LSH index in a child process that reports its wall time and peak
memory. The baseline is the usual datasketch recipe (a MinHash object per
chunk fed string shingles with ``update_batch``) on the same n-grams, run on
``--baseline-chunks`` of the same texts.

Results print as Markdown tables; bench/ingest.md records them.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ACME_DOCS = ROOT / "examples" / "acme" / "docs"
MARKITDOWN_SCRIPT = Path(__file__).with_name("ingest_markitdown.py")
FORMATS = {".pdf": "pdf", ".docx": "docx", ".pptx": "pptx", ".xlsx": "xlsx", ".html": "html",
           ".eml": "eml", ".md": "markdown"}
# Main XML part of each OOXML format and the element whose first text gets the mutation.
_OOXML_TEXT = {".docx": ("word/document.xml", rb"(<w:t(?: [^>]*)?>)"),
               ".pptx": ("ppt/slides/slide1.xml", rb"(<a:t>)"),
               ".xlsx": ("xl/sharedStrings.xml", rb"(<t(?: [^>]*)?>)")}


# --- part 1: documents per second -----------------------------------------------------


def make_corpus(target: Path, count: int, seed: int = 0) -> list[Path]:
    """Write ``count`` mutated copies of the acme documents under ``target``; return their paths."""
    sources = sorted(path for path in ACME_DOCS.rglob("*") if path.suffix in FORMATS)
    rng = random.Random(seed)
    paths = []
    for number in range(count):
        source = sources[number % len(sources)]
        relative = source.relative_to(ACME_DOCS)
        path = target / relative.parent / f"{source.stem}-{number:04d}{source.suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(mutate(source.read_bytes(), source.suffix, number, rng))
        paths.append(path)
    return paths


def mutate(data: bytes, suffix: str, number: int, rng: random.Random) -> bytes:
    """Return a copy of a document with a small change: a revision word in its text where possible."""
    mark = f"Rev{number} ".encode()
    if suffix in _OOXML_TEXT:
        return _mutate_ooxml(data, *_OOXML_TEXT[suffix], mark)
    if suffix == ".pdf":
        return data + b"\n% copy " + str(number).encode() + b"\n"  # text stays, bytes differ
    if suffix == ".eml":
        # Bodies may be base64 or ISO-2022-JP, so the change goes into a header line.
        return f"X-Bench-Copy: {number}\n".encode() + data
    text = data.decode("utf-8")
    lines = text.split("\n")
    lines.insert(rng.randrange(1, max(2, len(lines))), f"Revision {number} of this document.")
    return "\n".join(lines).encode("utf-8")


def _mutate_ooxml(data: bytes, part: str, pattern: bytes, mark: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == part:
                content = re.sub(pattern, lambda match: match.group(1) + mark, content, count=1)
            target.writestr(item, content)
    return buffer.getvalue()


def pdf_pages(paths: list[Path]) -> int:
    import pypdfium2 as pdfium

    total = 0
    for path in paths:
        if path.suffix == ".pdf":
            document = pdfium.PdfDocument(path.read_bytes())
            total += len(document)
            document.close()
    return total


def run_shochu(folder: Path, workspace_root: Path) -> dict:
    """Run the ingest stage; return wall time and the manifest's per-format read seconds and counts."""
    from shochu.config import RunConfig
    from shochu.ingest import stage
    from shochu.workspace import Workspace

    config = RunConfig.model_validate({"workspace": str(workspace_root), "ingest": {"input": str(folder)}})
    started = time.perf_counter()
    manifest = stage.run(config, Workspace(workspace_root))
    wall = time.perf_counter() - started
    counts = manifest["counts"]
    return {"wall_s": wall, "read_seconds": counts["read_seconds"], "errors": counts["errors"],
            "documents": counts["documents"], "duplicates_dropped": counts["duplicates_dropped"]}


def run_markitdown(python: str, folder: Path) -> dict:
    output = subprocess.run([python, str(MARKITDOWN_SCRIPT), str(folder)], check=True, capture_output=True,
                            text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def documents_table(paths: list[Path], shochu: dict, markitdown: dict | None) -> list[str]:
    files = Counter(FORMATS[path.suffix] for path in paths)
    pages = pdf_pages(paths)
    lines = ["| format | files | Shochu s | Shochu rate | markitdown s | markitdown rate | markitdown failed |",
             "|---|---|---|---|---|---|---|"]
    for name in sorted(files):
        ours = shochu["read_seconds"].get(name, 0.0)
        unit, amount = ("pages/s", pages) if name == "pdf" else ("docs/s", files[name])
        row = f"| {name} | {files[name]} | {ours:.1f} | {amount / ours:.1f} {unit} |" if ours else \
              f"| {name} | {files[name]} | - | - |"
        if markitdown and name in markitdown["formats"]:
            theirs = markitdown["formats"][name]
            row += (f" {theirs['seconds']:.1f} | {amount / theirs['seconds']:.1f} {unit} | "
                    f"{theirs['failed']} |")
        else:
            row += " - | - | - |"
        lines.append(row)
    total = len(paths)
    row = f"| all | {total} | {shochu['wall_s']:.1f} (wall) | {total / shochu['wall_s']:.1f} docs/s |"
    if markitdown:
        row += f" {markitdown['wall_s']:.1f} (wall) | {total / markitdown['wall_s']:.1f} docs/s | " \
               f"{sum(entry['failed'] for entry in markitdown['formats'].values())} |"
    else:
        row += " - | - | - |"
    lines.append(row)
    lines.append(f"\nPDF pages: {pages}. Shochu: {shochu['documents']} documents kept, "
                 f"{shochu['duplicates_dropped']} dropped as exact duplicates (after extraction), "
                 f"{shochu['errors']} errors.")
    return lines


# --- part 2: near-duplicate detection ---------------------------------------------------


def base_chunks(workspace_root: Path) -> list[tuple[str, str]]:
    """Ingest the acme documents once and return (text, language) of every chunk."""
    from shochu.config import RunConfig
    from shochu.ingest import stage
    from shochu.ingest.store import read_chunks
    from shochu.workspace import Workspace

    config = RunConfig.model_validate({"workspace": str(workspace_root), "ingest": {"input": str(ACME_DOCS)}})
    stage.run(config, Workspace(workspace_root))
    chunks = read_chunks(workspace_root / "ingest")
    return [(chunk["text"], chunk["language"]) for chunk in chunks]


def mutated_chunks(bases: list[tuple[str, str]], count: int, seed: int = 0) -> list[tuple[str, str]]:
    """Return ``count`` chunks: each base chunk copied with about 1% of its words or characters changed."""
    rng = random.Random(seed)
    chunks = []
    for number in range(count):
        text, language = bases[number % len(bases)]
        if language in ("ja", "th", "lo"):
            characters = list(text)
            for _ in range(max(1, len(characters) // 100)):
                characters[rng.randrange(len(characters))] = chr(0x4E00 + rng.randrange(2000))
            text = "".join(characters)
        else:
            words = text.split(" ")
            for _ in range(max(1, len(words) // 100)):
                words[rng.randrange(len(words))] = f"w{rng.randrange(10**6)}"
            text = " ".join(words)
        chunks.append((text, language))
    return chunks


def dedup_child(chunks_file: Path, method: str, threshold: float) -> dict:
    """Cluster the chunks in ``chunks_file`` with ``method``; return seconds, clusters and peak RSS."""
    from datasketch import MinHashLSH  # noqa: F401 - imported before the clock starts

    from shochu.ingest.dedup import DuplicateClusters

    chunks = [json.loads(line) for line in chunks_file.read_text(encoding="utf-8").splitlines()]
    rss_before = _peak_rss_mib()
    started = time.perf_counter()
    if method == "shochu":
        clusters = DuplicateClusters(threshold)
        assigned = [clusters.assign(str(number), text, language) for number, (text, language) in enumerate(chunks)]
    else:
        assigned = _datasketch_baseline(chunks, threshold)
    seconds = time.perf_counter() - started
    return {"method": method, "chunks": len(chunks), "seconds": seconds, "clusters": len(set(assigned)),
            "peak_rss_mib": _peak_rss_mib(), "rss_before_mib": rss_before}


def _peak_rss_mib() -> float:
    """Return this process's peak resident memory in MiB (VmHWM).

    ``getrusage`` would not do: on Linux a child reports its parent's peak
    from before the fork when that is higher.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _datasketch_baseline(chunks: list[list[str]], threshold: float) -> list[str]:
    """Cluster as a typical datasketch user would: string shingles, one MinHash object per chunk."""
    from datasketch import MinHash, MinHashLSH

    from shochu.ingest.dedup import CHARACTER_NGRAM, MAX_INDEXED_PER_CLUSTER, WORD_NGRAM, matching_key

    lsh = MinHashLSH(threshold=threshold, num_perm=128)
    indexed: dict[str, MinHash] = {}
    clusters: dict[str, str] = {}
    sizes: Counter[str] = Counter()
    for number, (text, language) in enumerate(chunks):
        key = matching_key(text)
        if language in ("ja", "th", "lo"):
            key = key.replace(" ", "")
            shingles = {key[start:start + CHARACTER_NGRAM] for start in range(max(1, len(key) - CHARACTER_NGRAM + 1))}
        else:
            words = key.split(" ")
            shingles = {" ".join(words[start:start + WORD_NGRAM])
                        for start in range(max(1, len(words) - WORD_NGRAM + 1))}
        minhash = MinHash(num_perm=128)
        minhash.update_batch([shingle.encode("utf-8") for shingle in shingles])
        item = str(number)

        # The same clustering as Shochu's index, which indexes a bounded number of chunks per cluster.
        best = max(lsh.query(minhash), key=lambda other: minhash.jaccard(indexed[other]), default=None)
        match = best is not None and minhash.jaccard(indexed[best]) >= threshold
        clusters[item] = clusters[best] if match else item
        if sizes[clusters[item]] < MAX_INDEXED_PER_CLUSTER:
            lsh.insert(item, minhash)
            indexed[item] = minhash
            sizes[clusters[item]] += 1
    return [clusters[str(number)] for number in range(len(chunks))]


def run_dedup(chunks: list[tuple[str, str]], method: str, threshold: float, scratch: Path) -> dict:
    chunks_file = scratch / f"chunks-{len(chunks)}.jsonl"
    chunks_file.write_text("\n".join(json.dumps(chunk, ensure_ascii=False) for chunk in chunks), encoding="utf-8")
    command = [sys.executable, __file__, "--dedup-child", str(chunks_file), "--method", method,
               "--threshold", str(threshold)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def dedup_table(results: list[dict]) -> list[str]:
    lines = ["| method | chunks | seconds | chunks/s | seconds per 100,000 | clusters | peak RSS MiB |",
             "|---|---|---|---|---|---|---|"]
    for result in results:
        rate = result["chunks"] / result["seconds"]
        lines.append(f"| {result['method']} | {result['chunks']} | {result['seconds']:.1f} | {rate:.0f} | "
                     f"{100_000 / rate:.0f} | {result['clusters']} | {result['peak_rss_mib']:.0f} |")
    return lines


# --- main -----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000, help="documents generated for part 1")
    parser.add_argument("--markitdown-python", help="Python interpreter with markitdown installed")
    parser.add_argument("--chunks", type=int, default=100_000, help="chunks clustered in part 2")
    parser.add_argument("--baseline-chunks", type=int, default=20_000,
                        help="chunks clustered by the datasketch baseline in part 2")
    parser.add_argument("--threshold", type=float, default=0.8, help="near-duplicate Jaccard threshold")
    parser.add_argument("--skip-documents", action="store_true", help="run part 2 only")
    parser.add_argument("--dedup-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--method", default="shochu", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.dedup_child:
        print(json.dumps(dedup_child(args.dedup_child, args.method, args.threshold)))
        return 0

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="shochu-bench-ingest-") as scratch_name:
        scratch = Path(scratch_name)
        if not args.skip_documents:
            paths = make_corpus(scratch / "docs", args.files)
            shochu = run_shochu(scratch / "docs", scratch / "ws")
            markitdown = run_markitdown(args.markitdown_python, scratch / "docs") if args.markitdown_python else None
            print("\n".join(documents_table(paths, shochu, markitdown)))

        bases = base_chunks(scratch / "ws-acme")
        results = [run_dedup(mutated_chunks(bases, args.chunks), "shochu", args.threshold, scratch)]
        if args.baseline_chunks:
            # Both methods on the same smaller set, so that their cluster counts compare too.
            same = mutated_chunks(bases, args.baseline_chunks)
            results.append(run_dedup(same, "shochu", args.threshold, scratch))
            results.append(run_dedup(same, "datasketch update_batch", args.threshold, scratch))
        print(f"\nbase chunks: {len(bases)}; load average after: {os.getloadavg()[0]:.2f}")
        print("\n".join(dedup_table(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
