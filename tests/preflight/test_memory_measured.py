"""The memory plan against the peak resident memory of real stages: packaged teacher, default 8-layer student.

Each stage runs as its own process under a small wrapper process that reports
``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``, the peak resident set of its only child.
The examples all have the same length, close to ``label.max_seq_len``, so that every batch is as
large as the plan assumes. Takes about five minutes on 2 CPU cores.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shochu.config import RunConfig
from shochu.distill.data import encode_records
from shochu.models import load_tokenizer, packaged_teacher
from shochu.pipeline import save_resolved_config
from shochu.preflight import plan
from shochu.preflight.shapes import read_shape
from shochu.workspace import Workspace, write_jsonl

pytestmark = pytest.mark.integration

TOLERANCE = 0.25
LABEL_BATCH = 8
TRAIN_BATCH = 4
MAX_SEQ_LEN = 640
WRAPPER = ("import json, resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
           "print(json.dumps({'code': code, 'maxrss_kib': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))")

# 635 tokens, 76 of them the response, with the SmolLM2 tokenizer and chat template.
PROMPT = "Summarise the maintenance procedure. " + " ".join(
    f"Step {number}: check valve {number} and record its pressure in the log." for number in range(1, 31))
RESPONSE = " ".join(f"Valve {number} checked." for number in range(1, 13))


def peak_rss(*command: str, cwd: Path) -> int:
    """Run ``command`` in a child process; return its peak resident memory in bytes."""
    result = subprocess.run([sys.executable, "-c", WRAPPER, *command], capture_output=True, text=True, cwd=cwd,
                            timeout=1200)
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["code"] == 0, result.stderr[-4000:]
    return outcome["maxrss_kib"] * 1024


def records(split: str, count: int) -> list[dict]:
    return [{"id": f"{split}-{number}", "task": "summary", "doc_id": f"{split}-doc{number}",
             "messages": [{"role": "user", "content": PROMPT}], "response": RESPONSE} for number in range(count)]


def finish_build(workspace: Workspace) -> None:
    """Write build outputs by hand: one full label batch for train, half a batch for validation."""
    started = time.time()
    workspace.stage_dir("protect").mkdir(parents=True, exist_ok=True)
    workspace.finish("protect", {"test": True}, {}, {}, started)
    folder = workspace.stage_dir("build")
    write_jsonl(folder / "train.jsonl", records("train", LABEL_BATCH))
    write_jsonl(folder / "validation.jsonl", records("validation", TRAIN_BATCH))
    write_jsonl(folder / "test.jsonl", [])
    workspace.finish("build", {"test": True}, {}, {"examples": {"train": LABEL_BATCH, "validation": TRAIN_BATCH}},
                     started)


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("memory")
    config = RunConfig.model_validate({
        "workspace": str(root / "ws"),
        "label": {"batch_size": LABEL_BATCH, "max_seq_len": MAX_SEQ_LEN, "top_k": 32, "shard_size": 256},
        "train": {"batch_size": TRAIN_BATCH, "max_steps": 2, "eval_every": 2, "warmup_steps": 1},
    })
    workspace = Workspace(root / "ws")
    save_resolved_config(config, workspace)

    prepare = ("from pathlib import Path; from shochu.models import prepare_models; "
               f"prepare_models('packaged:smollm2', None, 8, Path({str(workspace.models_dir)!r}))")
    peaks = {"import": peak_rss(sys.executable, "-c", prepare, cwd=root)}
    finish_build(workspace)
    for stage in ("label", "train"):
        peaks[stage] = peak_rss(sys.executable, "-m", "shochu", stage, "--workspace", str(workspace.root), cwd=root)

    tokenizer = load_tokenizer(workspace.models_dir / "teacher", padding_side="right")
    examples, dropped = encode_records(tokenizer, records("train", 1), MAX_SEQ_LEN)
    assert dropped == []
    student = read_shape(workspace.models_dir / "student-init")

    # The models and checkpoints take about 1.6 GB; only the figures above are needed from here on.
    shutil.rmtree(root, ignore_errors=True)
    return {"peaks": peaks, "seq_len": examples[0].length, "response_tokens": examples[0].response_tokens,
            "student": student}


def estimates(measured: dict) -> dict[str, int]:
    source = packaged_teacher()
    teacher = read_shape(source.folder, source.gguf_file)
    seq_len, response = measured["seq_len"], measured["response_tokens"]
    return {
        "import": plan.import_phase(teacher).total,
        "label": plan.label_phase(teacher, LABEL_BATCH, seq_len, response).total,
        "train": plan.train_phase(measured["student"], TRAIN_BATCH, seq_len, response).total,
    }


def test_examples_fill_the_batch(measured: dict) -> None:
    assert MAX_SEQ_LEN - 100 < measured["seq_len"] <= MAX_SEQ_LEN


def test_student_has_eight_layers(measured: dict) -> None:
    assert measured["student"].layers == 8


@pytest.mark.parametrize("phase", ["import", "label", "train"])
def test_estimate_within_tolerance(measured: dict, phase: str) -> None:
    estimate, peak = estimates(measured)[phase], measured["peaks"][phase]
    print(f"{phase}: estimate {estimate / plan.MIB:.0f} MiB, measured peak {peak / plan.MIB:.0f} MiB, "
          f"error {(estimate - peak) / peak:+.1%} (seq_len {measured['seq_len']}, "
          f"response tokens {measured['response_tokens']})")
    assert abs(estimate - peak) <= TOLERANCE * peak
