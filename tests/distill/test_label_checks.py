"""Training checks the stored labels against its own tokenisation and the student's vocabulary."""

import shutil
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from test_vocab import _other_tokenizer
from tiny_models import tiny_run_config, write_protected_corpus
from shochu.distill import train
from shochu.distill.data import encode_records
from shochu.distill.labels import LabelMismatch, SoftLabels
from shochu.distill.vocab import VocabularyMismatch
from shochu.models import load_model, load_tokenizer
from shochu.pipeline import run_stage
from shochu.workspace import Workspace, read_jsonl, write_jsonl

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SHORT_TRAINING = {"max_steps": 1, "eval_every": 1, "warmup_steps": 0}


@pytest.fixture(scope="module")
def labelled_root(tmp_path_factory, tiny_model_dir, tiny_student_dir):
    """A workspace whose build and label stages finished once for the whole module."""
    root = tmp_path_factory.mktemp("labelled") / "ws"
    config = tiny_run_config(root, tiny_model_dir, tiny_student_dir, train=SHORT_TRAINING)
    write_protected_corpus(root)
    workspace = Workspace(root)
    run_stage("build", config, workspace)
    run_stage("label", config, workspace)
    return root


@pytest.fixture()
def labelled(labelled_root, tmp_path, tiny_model_dir, tiny_student_dir):
    """A private copy of the labelled workspace and its config."""
    root = tmp_path / "ws"
    shutil.copytree(labelled_root, root)
    return tiny_run_config(root, tiny_model_dir, tiny_student_dir, train=SHORT_TRAINING), Workspace(root)


def _with(config, section: str, **values):
    data = config.model_dump(mode="json")
    data[section].update(values)
    return config.model_validate(data)


def _first_train_record(workspace: Workspace) -> dict:
    return next(r for r in read_jsonl(workspace.stage_dir("train") / "metrics.jsonl") if r["split"] == "train")


# --- fingerprints --------------------------------------------------------------------------------


def test_shard_records_each_fingerprint_field(labelled):
    _, workspace = labelled
    with safe_open(workspace.stage_dir("label") / "train-00000.safetensors", framework="pt") as handle:
        metadata = handle.metadata()
    for field in ("tokenizer", "chat_template", "temperature", "top_k", "example_ids", "token_fingerprints"):
        assert metadata.get(field), field
    assert metadata["temperature"] == "2.0"
    assert metadata["top_k"] == "8"


def test_other_temperature_is_rejected(labelled):
    config, workspace = labelled
    with pytest.raises(LabelMismatch, match=r"temperature differs \(labels 2.0, training 1.5\)"):
        train.run(_with(config, "label", temperature=1.5), workspace)


def test_other_top_k_is_rejected(labelled):
    config, workspace = labelled
    with pytest.raises(LabelMismatch, match=r"top_k differs \(labels 8, training 4\)"):
        train.run(_with(config, "label", top_k=4), workspace)


def test_other_chat_template_is_rejected(labelled):
    config, workspace = labelled
    student = workspace.models_dir / "student-init"
    tokenizer = load_tokenizer(student, padding_side="right")
    assert "'<|im_end|>' + '\n'" in tokenizer.chat_template
    tokenizer.chat_template = tokenizer.chat_template.replace("'<|im_end|>' + '\n'", "'<|im_end|>' + '\n\n'")
    tokenizer.save_pretrained(student)
    with pytest.raises(LabelMismatch) as raised:
        train.run(config, workspace)
    message = str(raised.value)
    assert "chat_template differs" in message
    assert "tokenizer differs" not in message


def test_missing_example_is_rejected(labelled):
    config, workspace = labelled
    path = workspace.stage_dir("build") / "train.jsonl"
    records = read_jsonl(path)
    write_jsonl(path, records[1:])
    with pytest.raises(LabelMismatch, match=rf"example_ids differ \(0 training examples have no labels, first \[\]; "
                                            rf"1 labelled examples are not in the training data, first \['{records[0]['id']}'\]"):
        train.run(config, workspace)


def test_changed_response_is_rejected(labelled):
    config, workspace = labelled
    path = workspace.stage_dir("build") / "train.jsonl"
    records = read_jsonl(path)
    records[2]["response"] = records[2]["response"] + " (edited)"
    write_jsonl(path, records)
    with pytest.raises(LabelMismatch, match=rf"token_ids differ for 1 examples, first '{records[2]['id']}'"):
        train.run(config, workspace)


# --- vocabularies --------------------------------------------------------------------------------


def test_other_student_tokenizer_is_rejected(labelled):
    config, workspace = labelled
    student = workspace.models_dir / "student-init"
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja"):
        (student / name).unlink(missing_ok=True)
    other = _other_tokenizer()
    other.chat_template = SoftLabels(workspace.stage_dir("label"), "train").load_tokenizer().chat_template
    other.save_pretrained(student)
    with pytest.raises(VocabularyMismatch) as raised:
        train.run(config, workspace)
    message = str(raised.value)
    assert str(config.teacher.path) in message
    assert str(student) in message
    assert "differ at token id" in message


def test_padded_student_trains_like_unpadded(labelled, tmp_path):
    config, workspace = labelled
    padded_root = tmp_path / "padded"
    shutil.copytree(workspace.root, padded_root)
    padded_config = config.model_validate({**config.model_dump(mode="json"), "workspace": str(padded_root)})
    padded = Workspace(padded_root)
    student_dir = padded.models_dir / "student-init"
    model = load_model(student_dir)
    tokens = model.get_output_embeddings().weight.shape[0]
    model.resize_token_embeddings(tokens + 64)
    model.save_pretrained(student_dir, safe_serialization=True)
    assert load_model(student_dir).get_output_embeddings().weight.shape[0] == tokens + 64

    train.run(config, workspace)
    train.run(padded_config, padded)

    # The padding columns take no part in the loss, so the first step's terms are the same.
    expected, found = _first_train_record(workspace), _first_train_record(padded)
    assert found["kd_loss"] == pytest.approx(expected["kd_loss"], rel=1e-5)
    assert found["ce_loss"] == pytest.approx(expected["ce_loss"], rel=1e-5)


# --- truncation ----------------------------------------------------------------------------------


def test_truncated_examples_are_dropped_and_counted(labelled):
    config, workspace = labelled
    records = read_jsonl(workspace.stage_dir("build") / "train.jsonl")
    tokenizer = SoftLabels(workspace.stage_dir("label"), "train").load_tokenizer()
    everything, _ = encode_records(tokenizer, records, 100_000)
    # A limit at the median length cuts the longer half of the examples.
    limit = sorted(example.length for example in everything)[len(everything) // 2]
    short = _with(config, "label", max_seq_len=limit)

    kept, dropped = encode_records(tokenizer, records, limit)
    assert dropped
    assert kept
    assert len(kept) + len(dropped) == len(records)

    workspace.invalidate("label")
    label_manifest, _ = run_stage("label", short, workspace)
    assert label_manifest["counts"]["truncated"]["train"] == len(dropped)
    labels = SoftLabels(workspace.stage_dir("label"), "train")
    assert sorted(labels.example_ids) == sorted(example.example_id for example in kept)

    train_manifest = train.run(short, workspace)
    assert train_manifest["counts"]["dropped"]["train"] == len(dropped)
    assert train_manifest["counts"]["train_examples"] == len(kept)


def test_labels_leave_out_teacher_padding_columns(labelled):
    _, workspace = labelled
    labels = SoftLabels(workspace.stage_dir("label"), "train")
    ids = torch.cat([labels.get(example_id)[1] for example_id in labels.example_ids])
    assert int(ids.max()) < labels.vocab_size
    assert labels.teacher_columns >= labels.vocab_size


def test_labels_keep_teacher_tokenizer_copy(labelled):
    _, workspace = labelled
    folder = workspace.stage_dir("label") / "tokenizer"
    assert (folder / "tokenizer.json").is_file()
    assert Path(folder).is_dir()
