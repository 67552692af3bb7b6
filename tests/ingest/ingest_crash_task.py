"""A worker task that kills its own process, for the ingest process-pool tests.

It lives in its own module because the pool's worker imports it by name: the test module imports
``conftest``, which a worker started from the full test suite resolves to ``tests/conftest.py``.
"""

import os
import signal
from pathlib import Path

from shochu.config import IngestConfig
from shochu.ingest.ingester import FileResult, extract_file


def extract_or_die(path: Path, source: str, config: IngestConfig) -> FileResult:
    """Extract a file, except that the worker process kills itself on a file named crash*."""
    if source.startswith("crash"):
        os.kill(os.getpid(), signal.SIGKILL)
    return extract_file(path, source, config)


def extract_or_hang(path: Path, source: str, config: IngestConfig) -> FileResult:
    """Extract a file, except that a file named hang* blocks its worker, as a reader stuck in native code would."""
    if source.startswith("hang"):
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT, signal.SIGTERM])
        while True:
            signal.pause()
    return extract_file(path, source, config)
