"""`shochu review`: status, export and import from the command line, and serving until Ctrl+C."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from typer.testing import CliRunner

from shochu.cli import app
from shochu.review.exchange import COLUMNS
from shochu.review.server import TOKEN_HEADER


def _invoke(*arguments: str):
    return CliRunner().invoke(app, list(arguments))


def _flat(output: str) -> str:
    """Join the lines that rich wrapped, whose breaks replace spaces."""
    return " ".join(output.split())


def test_status_before_review(review_workspace: Path) -> None:
    result = _invoke("review", "-w", str(review_workspace), "--status")

    assert result.exit_code == 0, result.output
    assert "no review sample" in result.output
    assert "gate passes" in result.output


def test_export_import_status(review_workspace: Path, tmp_path: Path) -> None:
    exported = tmp_path / "review.csv"
    result = _invoke("review", "-w", str(review_workspace), "--export", str(exported), "--size", "20")
    assert result.exit_code == 0, result.output
    assert f"wrote {exported}" in result.output.replace("\n", "")

    with open(exported, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 20
    rows[0]["decision"] = "accept"
    rows[1].update(decision="reject", reason="not grounded")
    rows[2].update(decision="reject", reason="wrong language")
    with open(exported, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)

    imported = _invoke("review", "-w", str(review_workspace), "--import", str(exported))
    assert imported.exit_code == 0, imported.output
    assert "imported 3 decision(s)" in imported.output
    decisions = (review_workspace / "review" / "decisions.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["decision"] for line in decisions] == ["accept", "reject", "reject"]

    config = tmp_path / "shochu.yaml"
    config.write_text(f"workspace: {review_workspace}\nreview:\n  min_acceptance: 0.5\n", encoding="utf-8")
    status = _invoke("review", "-w", str(review_workspace), "-c", str(config), "--status")
    assert status.exit_code == 1, status.output
    assert "gate fails" in status.output


def test_import_error_names_file(review_workspace: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "qa-unknown", "decision": "accept"}\n', encoding="utf-8")

    result = _invoke("review", "-w", str(review_workspace), "--import", str(bad))

    assert result.exit_code == 2
    assert "bad.jsonl:line 1, id qa-unknown: id: 'qa-unknown' is not in the review sample" in _flat(result.output)
    assert not (review_workspace / "review" / "decisions.jsonl").exists()


def test_config_rejects_open_host(review_workspace: Path, tmp_path: Path) -> None:
    config = tmp_path / "shochu.yaml"
    config.write_text(f"workspace: {review_workspace}\nreview:\n  host: 0.0.0.0\n", encoding="utf-8")

    result = _invoke("review", "-w", str(review_workspace), "-c", str(config), "--status")

    assert result.exit_code == 2
    assert "review.host" in result.output
    assert "shochu review --host 0.0.0.0" in _flat(result.output)


def test_serve_until_interrupted(review_workspace: Path) -> None:
    command = [sys.executable, "-m", "shochu", "review", "-w", str(review_workspace), "--port", "0", "--size", "16"]
    # A shell that starts a job in the background ignores Ctrl+C in it, and the child would inherit
    # that, so the child gets the default handling back, as in a terminal.
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "COLUMNS": "80"},
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            found = re.search(r"review page: (http://127\.0\.0\.1:\d+/\?token=\S+)", line)
            url = found.group(1) if found else None
        assert url is not None, "shochu review printed no address"

        port = re.search(r":(\d+)/", url).group(1)
        token = url.split("token=")[1]
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/state", headers={TOKEN_HEADER: token})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert len(json.loads(response.read())["cards"]) == 16
    finally:
        process.send_signal(signal.SIGINT)
        # Read to the end before waiting, so that a full pipe cannot stall the process, and kill it
        # if it has not stopped within a minute. Read through the same buffered stream as readline
        # above; communicate() would skip its buffer.
        killer = threading.Timer(60, process.kill)
        killer.start()
        try:
            remaining = process.stderr.read()
            process.stdout.read()
            process.wait()
        finally:
            killer.cancel()
            process.stdout.close()
            process.stderr.close()

    assert process.returncode == 0, f"exit status {process.returncode} after Ctrl+C; stderr:\n{remaining}"
    assert "stopping the review page" in remaining
    assert "gate passes" in remaining
