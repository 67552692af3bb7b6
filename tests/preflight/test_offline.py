"""Offline guarantee: Shochu sets the offline switches itself, and a whole run works with the network blocked.

Two layers block the network for the pipeline run: ``unshare -rn`` (a new user and network
namespace whose only interface is a loopback that is down), where the kernel allows it, and
always the socket guard in ``socket_guard/sitecustomize.py``, which fails and logs any connection,
datagram or name lookup for a non-loopback address. Without ``unshare`` (no user namespaces, as in
some containers) the guard alone decides the test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

GUARD = Path(__file__).resolve().parent / "socket_guard"
OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY")

DOCUMENTS = {
    "vpn.md": "# VPN\n\nStaff must use the VPN whenever they connect from outside the office. The client "
              "starts with the laptop and asks for a one-time code from the token app. Contact the help "
              "desk at helpdesk@example.com when the code is refused three times in a row.\n",
    "passwords.md": "# Passwords\n\nPasswords rotate every 90 days and must have at least 12 characters. "
                    "The self-service portal resets a forgotten password after a check of the employee "
                    "number and the registered phone. Shared accounts are not allowed on any system.\n",
    "expenses.md": "# Expenses\n\nExpense claims are filed within 30 days with receipts attached. Claims "
                   "above 500 dollars need the approval of a department head. Travel booked outside the "
                   "corporate portal is refunded only with a written reason from the traveller.\n",
    "sensors.md": "# Sensors\n\nCalibration of the AP-200 sensor takes 15 minutes at 25 degrees. The "
                  "technician records the offset in the maintenance log and seals the housing. A sensor "
                  "that drifts by more than two percent within a week is replaced, not recalibrated.\n",
}


def unshare_available() -> bool:
    """True when this kernel lets an unprivileged process create user and network namespaces."""
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0


def guarded_environment(tmp_path: Path) -> dict[str, str]:
    """The environment of a guarded child: the guard on PYTHONPATH, no offline switch set by the test."""
    environment = {key: value for key, value in os.environ.items() if key not in OFFLINE_VARIABLES}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(GUARD), os.environ.get("PYTHONPATH")]))
    environment["SHOCHU_SOCKET_GUARD_LOG"] = str(tmp_path / "blocked.log")
    environment["SHOCHU_SOCKET_GUARD_READY"] = str(tmp_path / "guarded.pids")
    return environment


def blocked_attempts(tmp_path: Path) -> list[str]:
    log = tmp_path / "blocked.log"
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


# --- the offline switches -------------------------------------------------------------

# shochu.export.stage imports transformers at its top. transformers 5 takes its offline state from huggingface_hub.
PROBE = ("import shochu.export.stage, huggingface_hub.constants as hub; "
         "from transformers.utils.hub import is_offline_mode; print(hub.HF_HUB_OFFLINE, is_offline_mode())")


def test_import_sets_offline_switches(tmp_path: Path) -> None:
    environment = {key: value for key, value in os.environ.items() if key not in OFFLINE_VARIABLES}
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=environment,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["True", "True"]


def test_user_offline_setting_kept(tmp_path: Path) -> None:
    environment = {**os.environ, "HF_HUB_OFFLINE": "0"}
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=environment,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[0] == "False"


@pytest.mark.skipif(not unshare_available(), reason="unshare -rn is not permitted here")
def test_guard_blocks_and_logs(tmp_path: Path) -> None:
    # Inside an empty network namespace, so nothing leaves the machine even if the guard failed.
    code = "import socket; socket.create_connection(('192.0.2.1', 80), timeout=1)"
    result = subprocess.run(["unshare", "-rn", sys.executable, "-c", code], capture_output=True, text=True,
                            env=guarded_environment(tmp_path), timeout=120)
    assert "blocked by the test socket guard" in result.stderr
    assert len(blocked_attempts(tmp_path)) == 1


# --- a whole run ------------------------------------------------------------------------


def write_run(root: Path, teacher: Path, student: Path) -> Path:
    """Write the corpus and a config for the tiny models, sized to run every stage in about a minute."""
    docs = root / "docs"
    docs.mkdir()
    for name, text in DOCUMENTS.items():
        (docs / name).write_text(text, encoding="utf-8")
    config = {
        "workspace": "ws",
        "teacher": {"path": str(teacher)},
        "student": {"path": str(student)},
        "ingest": {"input": "docs", "chunk_tokens": 64, "min_chunk_tokens": 16},
        "build": {"tasks": ["qa", "summary"], "max_new_tokens": 16, "batch_size": 4, "repetition_penalty": 10.0,
                  "min_response_chars": 1, "max_repetition": 1.0, "filters": {"enabled": []},
                  "split": {"validation": 0.25, "test": 0.25}},
        "label": {"top_k": 8, "shard_size": 10, "max_seq_len": 256},
        "train": {"max_steps": 4, "eval_every": 2, "batch_size": 4, "warmup_steps": 1, "patience": 10},
        "eval": {"max_new_tokens": 8, "batch_size": 4},
    }
    path = root / "shochu.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_run_with_network_blocked(tmp_path: Path, tiny_model_dir: Path, tiny_student_dir: Path) -> None:
    config = write_run(tmp_path, tiny_model_dir, tiny_student_dir)
    command = [sys.executable, "-m", "shochu", "run", "--config", str(config), "--accept-licence", "unknown"]
    if unshare_available():
        command = ["unshare", "-rn", *command]

    result = subprocess.run(command, capture_output=True, text=True, env=guarded_environment(tmp_path),
                            cwd=tmp_path, timeout=900)

    assert result.returncode == 0, result.stderr[-4000:]
    assert blocked_attempts(tmp_path) == []
    assert (tmp_path / "guarded.pids").is_file()
    summary = json.loads((tmp_path / "ws" / "summary.json").read_text(encoding="utf-8"))
    assert summary["stages_run"] == ["ingest", "protect", "build", "label", "train", "eval", "export", "report"]
    assert (tmp_path / "ws" / "report" / "report.html").is_file()
