"""Actions of `shochu review`: draw or load the sample, then serve, export, import or report status."""

from __future__ import annotations

import logging
from pathlib import Path

from rich.console import Console

from shochu.config import RunConfig
from shochu.review.decisions import DECISIONS_FILE, append_decisions, read_decisions
from shochu.review.exchange import export_sample, import_decisions
from shochu.review.gate import GateResult, check_gate
from shochu.review.render import print_summary
from shochu.review.sample import ensure_sample, review_dir
from shochu.review.server import ReviewServer, is_loopback
from shochu.workspace import Workspace

logger = logging.getLogger(__name__)


def status(config: RunConfig, console: Console) -> GateResult:
    result = check_gate(Path(config.workspace), config.review)
    print_summary(result, console)
    return result


def export(config: RunConfig, path: Path, resample: bool, console: Console) -> None:
    workspace = Workspace(Path(config.workspace))
    sample = ensure_sample(workspace, config.review, config.seed, resample)
    decisions = read_decisions(review_dir(workspace.root) / DECISIONS_FILE)
    for written in export_sample(sample, decisions, path):
        console.print(f"wrote {written}")
    decided = sum(card["id"] in decisions for card in sample)
    console.print(f"{len(sample)} sampled examples, {decided} with a decision")


def import_file(config: RunConfig, path: Path, console: Console) -> GateResult:
    workspace = Workspace(Path(config.workspace))
    sample = ensure_sample(workspace, config.review, config.seed)
    records = import_decisions(path, sample)
    appended = append_decisions(review_dir(workspace.root) / DECISIONS_FILE, records)
    console.print(f"imported {appended} decision(s) from {path}")
    return status(config, console)


def serve(config: RunConfig, host: str | None, port: int | None, resample: bool,
          console: Console) -> GateResult:
    """Serve the review page until Ctrl+C, then print the summary."""
    workspace = Workspace(Path(config.workspace))
    sample = ensure_sample(workspace, config.review, config.seed, resample)
    if host is not None and not is_loopback(host):
        logger.warning("review page on %s: anyone who can reach this address and has the printed link can "
                       "read the sampled examples and record decisions", host)

    server = ReviewServer(workspace.root, sample, config.review, host=host, port=port).start()
    try:
        # soft_wrap keeps the address on one line, so that terminals can open it with a click.
        console.print(f"review page: [bold]{server.url}[/]", soft_wrap=True)
        console.print(f"{len(sample)} sampled examples; decisions go to {server.decisions_path}. "
                      "Press Ctrl+C to stop.")
        server.wait()
    except KeyboardInterrupt:
        console.print("stopping the review page")
    finally:
        server.stop()
    return status(config, console)
