"""Incremental, parallel extraction: reuse earlier results, extract the rest in a process pool.

Each input file's ``FileResult`` is stored in ``WORKSPACE/ingest/extracted/``
under a key made of its source, the SHA-256 of its bytes and the settings that
change extraction (OCR, size limits, the cache format). A later run reuses the
stored result of a file whose key is unchanged and extracts only new and
changed files. The key of a ticket export also contains its ``ingest.tickets``
mapping. Results whose file is gone are deleted at the end of the run.

Extraction runs in ``ingest.workers`` processes. Results come back in input
order whatever order the workers finish in, so the stage output does not
depend on the number of workers. A worker that dies (killed, out of memory, a
crash inside a native library) costs only the file it was reading: that file
gets one problem event, and the other files in flight are read again. So does
a file that is still being read ``ingest.file_timeout_s`` seconds after it
reached the head of the queue: the workers are stopped, since a reader stuck
in native code cannot be interrupted from Python, and the pool starts again.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from shochu.config import IngestConfig
from shochu.ingest.files import Problem
from shochu.ingest.ingester import FileResult, error_message, extract_file, problem_event
from shochu.ingest.readers.ticket_export import mapping_for
from shochu.workspace import library_versions, write_text

logger = logging.getLogger("shochu.ingest.stage")

CACHE_FOLDER = "extracted"
# Raise when a change to the readers or to FileResult makes stored results wrong.
# NOTE: stored results are also keyed by the installed shochu version, but an
# edit to a reader in a source checkout keeps that version; raise this number then.
CACHE_VERSION = 5
# Files submitted to the pool ahead of the one being written, per worker.
_JOBS_PER_WORKER = 4
_HASH_BLOCK = 1 << 20

ExtractTask = Callable[[Path, str, IngestConfig], FileResult]


@dataclass(frozen=True)
class Job:
    """One input file to ingest: its path, its source and its cache key (None when it cannot be hashed)."""

    path: Path
    source: str
    key: str | None


def worker_count(config: IngestConfig) -> int:
    """Return ``ingest.workers``, or min(4, CPU count) when it is not set."""
    if config.workers is not None:
        return config.workers
    return min(4, os.cpu_count() or 1)


class ExtractionCache:
    """Extraction results of earlier runs, one JSON file per input file."""

    def __init__(self, folder: Path, config: IngestConfig) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        settings = {"version": CACHE_VERSION, "shochu": library_versions().get("shochu"),
                    "ocr": config.ocr, "ocr_languages": config.ocr_languages,
                    "max_file_mb": config.max_file_mb, "max_archive_mb": config.max_archive_mb}
        self.settings_digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
        self.tickets = config.tickets
        self.used: set[str] = set()

    def job(self, path: Path, source: str) -> Job:
        """Return the job for one input file; hash its bytes for the cache key."""
        digest = hashlib.sha256()
        try:
            with open(path, "rb") as handle:
                while block := handle.read(_HASH_BLOCK):
                    digest.update(block)
        except OSError:
            # Extraction reports the unreadable file; such a result is never stored.
            return Job(path, source, None)
        key_text = f"{self.settings_digest}\0{source}\0{digest.hexdigest()}"
        # A ticket export's result depends on its mapping, and its index, which messages quote.
        mapping = mapping_for(source, self.tickets)
        if mapping is not None:
            index, settings = mapping
            key_text += "\0" + json.dumps([index, settings.model_dump()], sort_keys=True)
        return Job(path, source, hashlib.sha256(key_text.encode("utf-8")).hexdigest())

    def has(self, job: Job) -> bool:
        return job.key is not None and self._path(job.key).exists()

    def load(self, job: Job) -> FileResult | None:
        """Return the stored result of ``job``, or None when there is none or it cannot be read."""
        if job.key is None:
            return None
        path = self._path(job.key)
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
            result = FileResult(events=stored["events"], read_seconds=stored["read_seconds"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        self.used.add(job.key)
        return result

    def store(self, job: Job, result: FileResult) -> None:
        if job.key is None:
            return
        # ASCII escapes keep lone surrogates that a library left in the text; the
        # same default=str as the stage writer makes a reused result write the same bytes.
        text = json.dumps({"events": result.events, "read_seconds": result.read_seconds},
                          ensure_ascii=True, default=str)
        write_text(self._path(job.key), text)
        self.used.add(job.key)

    def prune(self) -> int:
        """Delete the results that this run did not use, such as those of deleted files; return how many."""
        removed = 0
        for path in self.folder.glob("*.json"):
            if path.stem not in self.used:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.json"


def results_in_order(jobs: list[Job], cache: ExtractionCache, config: IngestConfig, workers: int,
                     task: ExtractTask = extract_file) -> Iterator[tuple[FileResult, bool]]:
    """Yield ``(result, reused)`` for every job in order: stored results, or fresh ones from the pool.

    ``task`` is the extraction function run per file; it must be importable by
    name in a worker process.
    """
    stored = {job.key for job in jobs if cache.has(job)}
    to_extract = [job for job in jobs if job.key not in stored]
    # No more workers than files: starting a worker process costs more than reading a small file.
    fresh = extract_in_order(to_extract, config, min(workers, len(to_extract)), task)
    try:
        for job in jobs:
            result = cache.load(job) if job.key in stored else None
            if result is not None:
                yield result, True
                continue
            if job.key in stored:
                # A stored result that cannot be read is extracted again, in this process.
                result = _extract_guarded(task, job.path, job.source, config)
            else:
                result = next(fresh)
            cache.store(job, result)
            yield result, False
    finally:
        fresh.close()


def extract_in_order(jobs: Iterable[Job], config: IngestConfig, workers: int,
                     task: ExtractTask = extract_file) -> Iterator[FileResult]:
    """Yield the extraction result of every job, in job order, using ``workers`` processes.

    One worker reads in this process, unless ``ingest.file_timeout_s`` must be
    enforced: only a worker process can be stopped when a file takes too long.
    With ``ingest.workers`` set to 1 the limit is not enforced.
    """
    enforce_limit = config.file_timeout_s is not None and config.workers != 1
    if workers < 1 or (workers == 1 and not enforce_limit):
        for job in jobs:
            yield _extract_guarded(task, job.path, job.source, config)
        return

    # forkserver: workers start from a clean process that has imported the
    # readers, not from a copy of this one with its threads and open files.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["shochu.ingest.ingester"])
    queue = iter(jobs)
    pending: deque[tuple[Job, Future[FileResult]]] = deque()
    pool = ProcessPoolExecutor(workers, mp_context=context)
    try:
        while True:
            while len(pending) < workers * _JOBS_PER_WORKER and (job := next(queue, None)) is not None:
                pending.append((job, pool.submit(_extract_guarded, task, job.path, job.source, config)))
            if not pending:
                return
            job, future = pending.popleft()
            try:
                # The head job is running by now: the executor starts jobs in submission order.
                yield future.result(timeout=config.file_timeout_s)
                continue
            except FutureTimeout:
                logger.warning("ingest: %s not ingested: still being read after %g s; stopping the workers "
                               "and reading the other %d files in flight again", job.source,
                               config.file_timeout_s, len(pending))
                _stop_workers(pool)
                yield _timeout_result(job, config)
                queue = itertools.chain([waiting for waiting, _ in pending], queue)
                pending.clear()
                pool = ProcessPoolExecutor(workers, mp_context=context)
                continue
            except BrokenProcessPool:
                pass

            # A worker died, and the pool cannot tell which file it was reading. The
            # files in flight are read again one at a time, so a second death
            # points at its file.
            logger.warning("ingest: a worker process died; reading the %d files in flight one at a time",
                           len(pending) + 1)
            pool.shutdown(wait=True, cancel_futures=True)
            in_flight = [job, *(waiting for waiting, _ in pending)]
            pending.clear()
            yield from _extract_one_at_a_time(task, in_flight, config, context)
            pool = ProcessPoolExecutor(workers, mp_context=context)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _extract_one_at_a_time(task: ExtractTask, jobs: list[Job], config: IngestConfig,
                           context: multiprocessing.context.BaseContext) -> Iterator[FileResult]:
    """Extract files in a single worker process, one at a time; a death becomes that file's problem event."""
    pool = ProcessPoolExecutor(1, mp_context=context)
    try:
        for job in jobs:
            try:
                yield pool.submit(_extract_guarded, task, job.path, job.source, config).result(
                    timeout=config.file_timeout_s)
                continue
            except FutureTimeout:
                logger.warning("ingest: %s not ingested: still being read after %g s", job.source,
                               config.file_timeout_s)
                _stop_workers(pool)
                pool = ProcessPoolExecutor(1, mp_context=context)
                yield _timeout_result(job, config)
                continue
            except BrokenProcessPool:
                pool.shutdown(wait=True)
                pool = ProcessPoolExecutor(1, mp_context=context)
            logger.warning("ingest: %s not ingested: the worker process reading it died", job.source)
            message = ("the process reading this file died (killed, out of memory, or a crash in a "
                       "library reading it); check that the file opens in its usual application, "
                       "re-save it or remove it, then re-run")
            yield FileResult(events=[problem_event(Problem(job.source, "worker_died", message))])
    finally:
        pool.shutdown(wait=True)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Kill the pool's worker processes and shut it down; the jobs they held are lost."""
    # The executor has no public way to stop a running job; its process table is the only handle.
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.kill()
    pool.shutdown(wait=True, cancel_futures=True)


def _timeout_result(job: Job, config: IngestConfig) -> FileResult:
    message = (f"reading this file took longer than ingest.file_timeout_s ({config.file_timeout_s:g} s) and was "
               f"stopped; check that it opens in its usual application and re-save it, or raise "
               f"ingest.file_timeout_s if the file is only large, then re-run")
    return FileResult(events=[problem_event(Problem(job.source, "file_timeout", message))])


def _extract_guarded(task: ExtractTask, path: Path, source: str, config: IngestConfig) -> FileResult:
    """Run ``task`` on one file; an exception that escapes it becomes the file's problem event."""
    try:
        return task(path, source, config)
    except Exception as error:  # noqa: BLE001 - one broken file never stops the corpus
        problem = Problem(source, type(error).__name__, error_message("extraction", error))
        return FileResult(events=[problem_event(problem)])

