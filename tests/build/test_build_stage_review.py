"""The build stage end to end on the tiny model: filters report, user data, decisions, mixing, data card."""

import json
from pathlib import Path

import pytest
import torch

from tiny_models import tiny_run_config, write_protected_corpus
from shochu.build.grounding import mean_logprobs
from shochu.build.stage import inputs, settings
from shochu.distill.data import encode_example
from shochu.models import load_model, load_tokenizer
from shochu.pipeline import run_stage
from shochu.workspace import Workspace, read_json, read_jsonl

SPLITS = ("train", "validation", "test")


def _write_jsonl(path: Path, records) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n"
                            for r in records), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory, tiny_model_dir, tiny_student_dir):
    root = tmp_path_factory.mktemp("build-review")
    pairs = _write_jsonl(root / "pairs.jsonl", [
        {"id": f"p{n}", "instruction": f"How many days for claim {n}?", "response": f"{30 + n} days."}
        for n in range(6)] + ["{broken"])
    general = _write_jsonl(root / "general.jsonl", [
        {"instruction": f"Name a colour number {n}.", "response": "Blue."} for n in range(40)])
    config = tiny_run_config(root / "ws", tiny_model_dir, tiny_student_dir, build={
        "tasks": ["qa", "classify", "instructions"], "max_chunks": 6,
        "filters": {"enabled": ["length", "repetition", "refusal", "language", "grounding", "pii",
                                "near_duplicate"]},
        "instructions": {"path": str(pairs)}, "general": {"path": str(general), "ratio": 0.25}})
    workspace = Workspace(Path(config.workspace))
    write_protected_corpus(workspace.root, documents=6, chunks_per_document=1, tickets=30)
    _write_jsonl(workspace.root / "review" / "decisions.jsonl", [
        {"id": "classify-1", "decision": "reject", "reason": "wrong label"},
        {"id": "classify-2", "decision": "edit", "reason": "label", "response": "software"},
        {"id": "classify-4", "decision": "accept", "reason": ""},
        {"id": "no-such-example", "decision": "accept", "reason": ""},
    ])
    manifest, _ = run_stage("build", config, workspace)
    return config, workspace, manifest


def _all_examples(workspace):
    folder = workspace.stage_dir("build")
    return {split: read_jsonl(folder / f"{split}.jsonl") for split in SPLITS}


def test_filters_report_accounts_for_every_qa_chunk(built):
    _, workspace, manifest = built
    report = read_json(workspace.stage_dir("build") / "filters.json")
    qa = report["qa"]
    assert qa["examples_in"] == 6
    assert qa["kept"] + qa["dropped"] == qa["examples_in"]
    assert qa["dropped"] == sum(sum(reasons.values()) for reasons in qa["drops"].values())
    assert manifest["counts"]["dropped"].get("qa", {}) == {name: sum(r.values()) for name, r in qa["drops"].items()}
    # Whatever survived passed both grounding checks.
    for records in _all_examples(workspace).values():
        for record in records:
            if record["task"] == "qa":
                assert record["scores"]["overlap"] >= 0.5
                assert record["scores"]["likelihood_gain"] >= 0.5


def test_decisions_applied_to_splits(built):
    _, workspace, manifest = built
    examples = {e["id"]: e for records in _all_examples(workspace).values() for e in records}
    assert "classify-1" not in examples
    assert examples["classify-2"]["response"] == "software"
    assert examples["classify-2"]["edited"] is True
    assert "classify-4" in examples
    review = manifest["counts"]["review"]
    assert (review["accept"], review["reject"], review["edit"], review["unmatched"]) == (1, 1, 1, 1)


def test_user_pairs_and_bad_line_reported(built):
    config, workspace, manifest = built
    examples = [e for records in _all_examples(workspace).values() for e in records]
    assert sum(e["task"] == "instructions" for e in examples) == 6
    errors = read_jsonl(workspace.stage_dir("build") / "errors.jsonl")
    assert errors == [{"file": config.build.instructions.path, "line": 7, "error": errors[0]["error"]}]
    assert errors[0]["error"].startswith("invalid JSON")
    assert manifest["counts"]["invalid_input_lines"] == 1


def test_general_data_only_in_train(built):
    _, workspace, manifest = built
    splits = _all_examples(workspace)
    mixing = manifest["counts"]["mixing"]
    in_train = sum(e["task"] == "general" for e in splits["train"])
    assert in_train == mixing["general_examples"] > 0
    assert mixing["general_share"] == pytest.approx(in_train / len(splits["train"]), abs=1e-3)
    assert not any(e["task"] == "general" for e in splits["validation"] + splits["test"])
    heldout = read_jsonl(workspace.stage_dir("build") / "general_heldout.jsonl")
    assert len(heldout) == 40 - in_train


def test_data_card_counts(built):
    _, workspace, manifest = built
    card = read_json(workspace.stage_dir("build") / "data_card.json")
    splits = _all_examples(workspace)
    for split in SPLITS:
        assert card["splits"][split]["examples"] == len(splits[split])
        assert sum(card["splits"][split]["languages"].values()) == len(splits[split])
    assert card["review"]["acceptance_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert card["fingerprints"]["inputs"] == manifest["inputs"]
    assert card["fingerprints"]["config"] == manifest["config_fingerprint"]
    assert "qa" in card["filters"]
    assert set(card["warnings"]) == {"duplicate_ticket_ids", "single_ticket_labels"}


def test_new_decision_makes_build_stale(built):
    config, workspace, _ = built
    assert workspace.is_fresh("build", settings(config), inputs(config, workspace))
    path = workspace.root / "review" / "decisions.jsonl"
    original = path.read_text(encoding="utf-8")
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"id": "classify-5", "decision": "reject", "reason": "x"}) + "\n")
        assert not workspace.is_fresh("build", settings(config), inputs(config, workspace))
    finally:
        path.write_text(original, encoding="utf-8")


def test_mean_logprobs_batched_equals_single(tiny_model_dir):
    model = load_model(tiny_model_dir)
    tokenizer = load_tokenizer(tiny_model_dir)
    conversations = [[{"role": "user", "content": "The VPN must be used outside the office."}],
                     [{"role": "user", "content": "Passwords?"}]]
    responses = ["Passwords rotate every 90 days.", "The VPN must be used."]
    batched = mean_logprobs(model, tokenizer, conversations, responses, batch_size=2)

    for messages, response, value in zip(conversations, responses, batched, strict=True):
        example = encode_example(tokenizer, "x", messages, response, 512)
        ids = torch.tensor([example.input_ids])
        with torch.no_grad():
            logprobs = torch.log_softmax(model(input_ids=ids).logits.float(), dim=-1)[0]
        targets = example.input_ids[example.response_start:]
        positions = range(example.response_start - 1, example.length - 1)
        expected = sum(logprobs[p, t].item() for p, t in zip(positions, targets, strict=True)) / len(targets)
        assert value == pytest.approx(expected, abs=1e-4)
