"""The ingest stage: a folder of documents in, normalised and chunked text out.

Outputs in the workspace's ``ingest/`` folder:

- ``documents.parquet``: one row per document read (id, source, format, language,
  size, file hash, and metadata such as title or e-mail headers as JSON text).
- ``chunks.parquet``: the documents' text split for the later stages, with each
  chunk's ``tokens`` (its length in tokens of the teacher's tokenizer), language,
  duplicate ``cluster`` id (the chunk id of the cluster's first chunk; exact
  and near-duplicate chunks share one) and ``joint``, the document text between
  the previous chunk of the document and this one. Both tables are
  written in row groups of bounded size while the stage runs, and read back
  batch by batch with ``shochu.ingest.store`` (``iter_chunks``, ``StoredTable``).
- ``errors.jsonl``: one record per file, folder or archive member that could not be
  read (``severity`` "error"), or that was read despite a problem such as a name
  that lies about the content (``severity`` "warning"): ``source``, an ``error``
  reason code and a ``message`` that tells the user what to do.
- ``duplicates.jsonl``: documents dropped because an earlier one has the same text
  after NFKC, case folding and white-space normalisation.
- ``manifest.json``: written last, by ``Workspace.finish``. Its counts say how
  many files were ``extracted`` in this run and how many ``reused`` the stored
  extraction of an earlier run, and the chunks' total ``tokens`` and
  ``max_chunk_tokens``.
- ``extracted/``: one stored extraction result per input file, keyed by its
  source, content hash and the extraction settings (``incremental.py``). A
  re-run extracts only new and changed files; de-duplication and chunking then
  run over every file again, so the output equals that of a run from scratch.
  Chunk sizes are in tokens of the teacher's tokenizer, so the stage's inputs
  include a fingerprint of that tokenizer and a new teacher makes the stage
  stale. Extraction does not depend on the tokenizer, so its stored results
  stay valid.

Metadata can contain personal data (names in e-mail headers, authors); it stays
in these files. Logs carry only counts, relative paths, formats and error classes,
never document text.
"""

from __future__ import annotations

import logging
import shutil
import time
from contextlib import closing
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import track

from shochu.config import RunConfig
from shochu.ingest.files import fingerprint_input, list_input_files, relative_source
from shochu.ingest.incremental import (
    CACHE_FOLDER,
    CACHE_VERSION,
    ExtractionCache,
    results_in_order,
    worker_count,
)
from shochu.ingest.records import RecordWriter, Tally
from shochu.ingest.store import CHUNKS_FORMAT
from shochu.ingest.tokens import load_token_counter, tokenizer_fingerprint
from shochu.ingest.writer import OUTPUT_FILES, StageWriter
from shochu.workspace import Workspace, fingerprint_file

logger = logging.getLogger(__name__)

NAME = "ingest"


def settings(config: RunConfig) -> dict[str, Any]:
    """Return the config section that decides this stage's output; ``workers`` does not."""
    section = config.section(NAME)
    section.pop("workers", None)
    return section


def inputs(config: RunConfig, workspace: Workspace) -> dict[str, str]:
    """Return fingerprints of the stage's inputs: the whole input folder and the teacher's tokenizer.

    ``chunks_format`` makes the output of an older chunker stale. The stored
    extractions do not depend on it, so such a re-run only chunks and writes again.
    ``extraction`` makes the output of older readers stale; their stored results
    are keyed by it too, so such a re-run reads every file again.
    """
    return {"documents": fingerprint_input(input_folder(config)),
            "tokenizer": tokenizer_fingerprint(config.teacher.path),
            "chunks_format": str(CHUNKS_FORMAT),
            "extraction": str(CACHE_VERSION)}


def run(config: RunConfig, workspace: Workspace) -> dict[str, Any]:
    """Read every file of the input folder and write the stage outputs; return the manifest."""
    started = time.time()
    root = input_folder(config)
    _check_workspace_outside(root, workspace)
    files, problems = list_input_files(root)
    if not files and not problems:
        raise FileNotFoundError(f"ingest.input folder {root} contains no files (hidden files are "
                                f"skipped); put the documents to ingest there and re-run")

    # Fingerprinted before reading, so that a file changed during the run makes the next run stale.
    input_fingerprints = inputs(config, workspace)
    counter = load_token_counter(config.teacher.path, workspace.models_dir)
    folder = _prepare_folder(workspace)
    cache = ExtractionCache(folder / CACHE_FOLDER, config.ingest)
    jobs = [cache.job(path, relative_source(path, root)) for path in files]
    workers = worker_count(config.ingest)
    logger.info("ingest: reading %d files with %d worker processes", len(files), workers)

    tally = Tally()
    with StageWriter(folder) as writer:
        records = RecordWriter(config.ingest, writer, tally, counter)
        with closing(records.clusters):
            for problem in problems:
                records.record_problem(problem)
            # Progress goes to stderr, so that stdout stays clean for the CLI's JSON summary.
            progress = track(results_in_order(jobs, cache, config.ingest, workers), total=len(jobs),
                             description="Ingesting documents", console=Console(stderr=True))
            for job, (result, reused) in zip(jobs, progress, strict=True):
                records.add(job.source, result, reused)
            cluster_counts = records.clusters.counts()
    removed = cache.prune()

    logger.info("ingest: %d files extracted, %d reused from the previous run, %d stored results of "
                "removed or changed files deleted", tally.extracted, tally.reused, removed)
    counts = {**tally.counts(), **cluster_counts}
    logger.info("ingest: %d documents, %d chunks, %d duplicates dropped",
                counts["documents"], counts["chunks"], counts["duplicates_dropped"])
    _log_errors_summary(counts, folder / OUTPUT_FILES["errors"])
    outputs = {name: fingerprint_file(folder / name) for name in OUTPUT_FILES.values()}
    return workspace.finish(NAME, config=settings(config), inputs=input_fingerprints,
                            counts=counts, started=started, outputs=outputs)


def _log_errors_summary(counts: dict[str, Any], errors_path: Path) -> None:
    """Point the user at errors.jsonl when some files were not ingested or raised warnings."""
    if not counts["errors"] and not counts["warnings"]:
        logger.info("ingest: every file was read without errors")
        return
    logger.warning("ingest: %d files or folders not ingested, %d read with warnings; reasons and what to "
                   "do are in %s", counts["errors"], counts["warnings"], errors_path)


def input_folder(config: RunConfig) -> Path:
    """Return the configured input folder; raise ``FileNotFoundError`` naming it when it is missing."""
    if not config.ingest.input:
        raise FileNotFoundError("ingest.input is not set; set it to the folder of documents to ingest")
    root = Path(config.ingest.input)
    if not root.is_dir():
        # The folder comes from the config or from the FOLDER argument of `shochu ingest`.
        raise FileNotFoundError(f"ingest.input folder not found: {root}; create it, or fix the folder "
                                f"given to `shochu ingest` or set as ingest.input in the config")
    return root


def _prepare_folder(workspace: Workspace) -> Path:
    """Mark the stage as not run and empty its folder, keeping the stored extraction results."""
    workspace.invalidate(NAME)
    folder = workspace.stage_dir(NAME)
    folder.mkdir(parents=True, exist_ok=True)
    for entry in folder.iterdir():
        if entry.name == CACHE_FOLDER and entry.is_dir():
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    return folder


def _check_workspace_outside(root: Path, workspace: Workspace) -> None:
    if workspace.root.is_relative_to(root.resolve()):
        raise ValueError(f"workspace {workspace.root} is inside ingest.input {root}, so every run "
                         f"would ingest its own outputs; move the workspace outside the input folder")
