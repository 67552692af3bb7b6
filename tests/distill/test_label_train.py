import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from tiny_models import tiny_run_config, write_protected_corpus
from shochu.distill.data import encode_records
from shochu.distill.labels import LabelMismatch, SoftLabels
from shochu.models import load_tokenizer
from shochu.pipeline import run_stage, save_resolved_config
from shochu.workspace import Workspace, read_jsonl

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture()
def labelled(tmp_path, tiny_model_dir, tiny_student_dir):
    """A workspace whose build and label stages have finished on the tiny models."""
    config = tiny_run_config(tmp_path / "ws", tiny_model_dir, tiny_student_dir)
    write_protected_corpus(Path(config.workspace))
    workspace = Workspace(Path(config.workspace))
    run_stage("build", config, workspace)
    run_stage("label", config, workspace)
    return config, workspace


def test_label_rows_match_response_tokens(labelled):
    config, workspace = labelled
    tokenizer = load_tokenizer(workspace.models_dir / "teacher", padding_side="right")
    records = read_jsonl(workspace.stage_dir("build") / "train.jsonl")
    examples, _ = encode_records(tokenizer, records, config.label.max_seq_len)
    labels = SoftLabels(workspace.stage_dir("label"), "train")
    for example in examples:
        assert labels.get(example.example_id)[0].shape[0] == example.response_tokens


def test_label_shard_records_fingerprint_and_ids(labelled):
    _, workspace = labelled
    shard = workspace.stage_dir("label") / "train-00000.safetensors"
    with safe_open(shard, framework="pt") as handle:
        metadata = handle.metadata()
        ids = handle.get_tensor("ids")
        logprobs = handle.get_tensor("logprobs")
    assert metadata["top_k"] == "8"
    assert len(json.loads(metadata["example_ids"])) == 10
    assert ids.dtype == torch.int32
    assert logprobs.dtype == torch.float16
    assert logprobs.shape[1] == 8


def test_label_probabilities_sum_to_one(labelled):
    _, workspace = labelled
    labels = SoftLabels(workspace.stage_dir("label"), "train")
    example_id = next(iter(labels._rows))
    logprobs, _, rest = labels.get(example_id)
    total = logprobs.float().exp().sum(-1) + rest
    assert torch.allclose(total, torch.ones_like(total), atol=1e-2)


def test_label_resume_reuses_complete_shards(labelled):
    config, workspace = labelled
    shards = sorted(workspace.stage_dir("label").glob("*.safetensors"))
    workspace.invalidate("label")
    shards[1].unlink()
    manifest, _ = run_stage("label", config, workspace)
    assert manifest["counts"]["shards_reused"] == len(shards) - 1
    assert shards[1].is_file()


def test_train_writes_best_and_metrics(labelled):
    config, workspace = labelled
    manifest, _ = run_stage("train", config, workspace)
    folder = workspace.stage_dir("train")
    records = read_jsonl(folder / "metrics.jsonl")
    train_steps = [r["step"] for r in records if r["split"] == "train"]

    assert train_steps == list(range(1, 13))
    assert (folder / "best" / "model.safetensors").is_file()
    assert manifest["counts"]["best_step"] in (4, 8, 12)


def test_train_rejects_other_tokenizer(labelled, tmp_path):
    config, workspace = labelled
    tokenizer_config = workspace.models_dir / "student-init" / "tokenizer_config.json"
    data = json.loads(tokenizer_config.read_text())
    data["chat_template"] = "{{ messages }}"
    tokenizer_config.write_text(json.dumps(data))
    (workspace.models_dir / "student-init" / "chat_template.jinja").unlink(missing_ok=True)
    with pytest.raises(LabelMismatch, match="chat_template differs"):
        run_stage("train", config, workspace)


def test_train_resume_matches_uninterrupted_run(labelled, tmp_path):
    from shochu.distill import train

    config, workspace = labelled
    train.run(config, workspace)
    uninterrupted = [r for r in read_jsonl(workspace.stage_dir("train") / "metrics.jsonl") if r["split"] == "train"]

    workspace.reset("train")
    partial = train.run(config, workspace, stop_after_steps=6)
    assert partial == {}
    saved = json.loads((workspace.stage_dir("train") / "last" / "trainer_state.json").read_text())
    assert saved["step"] == 4

    train.run(config, workspace)
    resumed = [r for r in read_jsonl(workspace.stage_dir("train") / "metrics.jsonl") if r["split"] == "train"]
    assert [r["step"] for r in resumed] == list(range(1, 13))
    for before, after in zip(uninterrupted, resumed, strict=True):
        assert after["loss"] == pytest.approx(before["loss"], rel=1e-4, abs=1e-6)


def test_killed_training_resumes_at_checkpoint(labelled):
    config, workspace = labelled
    data = config.model_dump(mode="json")
    data["train"].update({"max_steps": 120, "eval_every": 5, "patience": 1000})
    config = config.model_validate(data)
    save_resolved_config(config, workspace)
    command = [sys.executable, "-m", "shochu", "train", "--workspace", str(workspace.root)]
    state_file = workspace.stage_dir("train") / "last" / "trainer_state.json"

    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    # Generous limits: a loaded CI machine can be ten times slower than an idle one.
    deadline = time.time() + 600
    while time.time() < deadline and not (state_file.exists() and json.loads(state_file.read_text())["step"] >= 10):
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    killed_at = json.loads(state_file.read_text())["step"]
    assert not workspace.is_complete("train")

    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"resumed training at step {killed_at}" in result.stderr
    steps = [r["step"] for r in read_jsonl(workspace.stage_dir("train") / "metrics.jsonl") if r["split"] == "train"]
    assert steps == list(range(1, 121))


def test_changed_settings_restart_training(labelled):
    from shochu.distill import train

    config, workspace = labelled
    train.run(config, workspace, stop_after_steps=4)
    changed = config.model_validate({**config.model_dump(mode="json"),
                                     "train": {**config.train.model_dump(), "kd_ratio": 0.9}})
    train.run(changed, workspace)
    records = read_jsonl(workspace.stage_dir("train") / "metrics.jsonl")
    first = next(r for r in records if r["split"] == "train")
    temperature = config.label.temperature
    assert first["step"] == 1
    assert first["loss"] == pytest.approx(0.9 * temperature**2 * first["kd_loss"] + 0.1 * first["ce_loss"])
    assert workspace.manifest("train")["config"]["kd_ratio"] == 0.9
