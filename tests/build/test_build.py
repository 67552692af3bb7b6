import logging
from pathlib import Path

import pytest

from tiny_models import tiny_run_config, write_protected_corpus
from shochu.build.prompts import first_question, rejection_reason, repetition_ratio, trim_to_sentence
from shochu.build.stage import select_chunks, split_by_document
from shochu.pipeline import run_stage
from shochu.workspace import Workspace, read_jsonl


def _examples(documents, per_document, task="qa"):
    return [{"id": f"{task}-{d}-{i}", "task": task, "doc_id": f"{task}{d}"}
            for d in range(documents) for i in range(per_document)]


def test_split_never_shares_a_document():
    examples = _examples(20, 3) + _examples(30, 1, task="classify")
    splits = split_by_document(examples, 0.1, 0.2, seed=0)
    documents = {name: {e["doc_id"] for e in records} for name, records in splits.items()}
    assert not documents["train"] & documents["test"]
    assert not documents["train"] & documents["validation"]
    assert not documents["validation"] & documents["test"]
    assert sum(len(records) for records in splits.values()) == len(examples)


def test_split_reaches_every_task_in_every_split():
    examples = _examples(20, 3) + _examples(30, 1, task="classify")
    splits = split_by_document(examples, 0.1, 0.2, seed=0)
    for records in splits.values():
        assert {e["task"] for e in records} == {"qa", "classify"}


def test_split_is_deterministic_per_seed():
    examples = _examples(20, 2)
    first = split_by_document(examples, 0.1, 0.2, seed=3)
    second = split_by_document(examples, 0.1, 0.2, seed=3)
    assert first == second


def test_select_chunks_spreads_over_documents():
    chunks = [{"chunk_id": f"d{d}-{i}", "doc_id": f"d{d}"} for d in range(5) for i in range(10)]
    selected = select_chunks(chunks, 5, seed=0)
    assert len({chunk["doc_id"] for chunk in selected}) == 5


@pytest.mark.parametrize("text, expected", [
    ("The VPN is required. It also logs", "The VPN is required."),
    ("会議は月曜です。次回は", "会議は月曜です。"),
    ("no sentence end", "no sentence end"),
])
def test_trim_to_sentence(text, expected):
    assert trim_to_sentence(text) == expected


def test_first_question_skips_preamble():
    assert first_question("Sure!\nWhat is the VPN policy?\nAnswer: ...") == "What is the VPN policy?"


def test_repetitive_response_rejected():
    text = "the sensor is calibrated " * 10
    assert repetition_ratio(text) > 0.5
    assert rejection_reason(text) == "repetitive"


def test_short_response_rejected():
    assert rejection_reason("OK") == "too_short"


def test_build_stage_writes_splits_with_all_tasks(tmp_path, tiny_model_dir, tiny_student_dir):
    config = tiny_run_config(tmp_path / "ws", tiny_model_dir, tiny_student_dir)
    write_protected_corpus(Path(config.workspace))
    workspace = Workspace(Path(config.workspace))
    manifest, ran = run_stage("build", config, workspace)
    train = read_jsonl(workspace.stage_dir("build") / "train.jsonl")

    assert ran
    assert {record["task"] for record in train} == {"qa", "summary", "classify"}
    assert manifest["counts"]["examples"]["test"] > 0
    classify = next(record for record in train if record["task"] == "classify")
    assert classify["response"] in classify["choices"]


def test_build_resumes_from_generation_cache(tmp_path, tiny_model_dir, tiny_student_dir):
    config = tiny_run_config(tmp_path / "ws", tiny_model_dir, tiny_student_dir)
    write_protected_corpus(Path(config.workspace))
    workspace = Workspace(Path(config.workspace))
    run_stage("build", config, workspace)
    cache = workspace.root / "cache" / "build-generations.jsonl"
    lines = cache.read_text().count("\n")

    run_stage("build", config, workspace, force=True)
    assert cache.read_text().count("\n") == lines


def test_empty_split_warning_counts_documents(tmp_path, tiny_model_dir, tiny_student_dir, caplog):
    config = tiny_run_config(tmp_path / "ws", tiny_model_dir, tiny_student_dir)
    config.build.split.validation = 0.0
    write_protected_corpus(Path(config.workspace))
    workspace = Workspace(Path(config.workspace))
    with caplog.at_level(logging.WARNING, logger="shochu.build.stage"):
        run_stage("build", config, workspace)
    documents = {record["doc_id"] for split in ("train", "validation", "test")
                 for record in read_jsonl(workspace.stage_dir("build") / f"{split}.jsonl")}
    warnings = [record.getMessage() for record in caplog.records if "split is empty" in record.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].startswith("the validation split is empty, so training cannot validate or stop early. "
                                  f"The examples come from {len(documents)} document(s), and a split takes whole "
                                  "documents")
