"""User instruction data, review decisions, general-data mixing, ticket warnings and candidate choice."""

import json

import pytest

from shochu.build.candidates import Slot, choose
from shochu.build.decisions import apply_decisions, read_decisions
from shochu.build.filters import FilterReport
from shochu.build.records import read_instruction_file
from shochu.build.stage import mix_general, ticket_examples
from shochu.build.templates import DEFAULT_TEMPLATES
from shochu.config import BuildConfig


def _write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_instruction_file_reports_bad_lines(tmp_path):
    path = _write_lines(tmp_path / "pairs.jsonl", [
        json.dumps({"instruction": "What is the VPN rule?", "response": "Use it outside the office."}),
        "{not json",
        json.dumps({"instruction": "No response"}),
        json.dumps(["a", "list"]),
        json.dumps({"instruction": "x", "response": 3}),
        "",
        json.dumps({"id": "k", "instruction": "規程は？", "input": "在宅勤務", "response": "週三日までです。"}),
        json.dumps({"id": "k", "instruction": "again", "response": "duplicate id"}),
    ])
    examples, errors = read_instruction_file(path, "instructions")

    assert [e.line for e in errors] == [2, 3, 4, 5, 8]
    assert all(e.file == str(path) for e in errors)
    assert errors[0].error.startswith("invalid JSON")
    assert errors[1].error == "missing field 'response'"
    assert errors[2].error == "expected a JSON object, got list"
    assert errors[3].error == "field 'response' must be a non-empty string"
    assert errors[4].error == "duplicate id 'k', first on line 7"
    assert len(examples) == 2
    assert examples[1]["messages"][0]["content"] == "規程は？\n\n在宅勤務"
    assert examples[1]["language"] == "ja"
    assert examples[0]["task"] == "instructions"


def test_instruction_file_missing_names_setting(tmp_path):
    with pytest.raises(FileNotFoundError, match="build.instructions.path"):
        read_instruction_file(tmp_path / "absent.jsonl", "instructions")


def test_decisions_reject_edit_accept(tmp_path):
    path = _write_lines(tmp_path / "decisions.jsonl", [
        json.dumps({"id": "a", "decision": "reject", "reason": "off-topic"}),
        json.dumps({"id": "b", "decision": "edit", "reason": "typo", "response": " Fixed. "}),
        json.dumps({"id": "c", "decision": "reject", "reason": "first thought"}),
        json.dumps({"id": "c", "decision": "accept", "reason": ""}),
        json.dumps({"id": "gone", "decision": "accept", "reason": ""}),
        json.dumps({"id": "d", "decision": "maybe"}),
        json.dumps({"id": "e", "decision": "edit", "reason": "no text"}),
        "{cut short",
    ])
    decisions = read_decisions(path)
    splits = {"train": [{"id": "a", "response": "x"}, {"id": "b", "response": "y"}],
              "test": [{"id": "c", "response": "z"}, {"id": "d", "response": "w"}]}
    result, counts = apply_decisions(splits, decisions)

    assert [e["id"] for e in result["train"]] == ["b"]
    assert result["train"][0]["response"] == "Fixed."
    assert result["train"][0]["edited"] is True
    assert [e["id"] for e in result["test"]] == ["c", "d"]
    assert counts["accept"] == 1
    assert counts["reject"] == 1
    assert counts["edit"] == 1
    assert counts["unmatched"] == 1
    assert counts["invalid_lines"] == 3
    assert counts["acceptance_rate"] == pytest.approx(2 / 3, abs=1e-4)


def test_missing_decisions_file_is_empty(tmp_path):
    assert not read_decisions(tmp_path / "none.jsonl")


def test_mix_general_reaches_ratio():
    train = [{"id": f"t{i}"} for i in range(80)]
    general = [{"id": f"g{i}"} for i in range(50)]
    mixed, heldout, counts = mix_general(train, general, 0.2, seed=0)
    assert counts["general_examples"] == 20
    assert counts["general_share"] == pytest.approx(0.2)
    assert len(mixed) == 100
    assert len(heldout) == 30
    assert not {e["id"] for e in heldout} & {e["id"] for e in mixed}


def test_mix_general_uses_what_exists():
    mixed, heldout, counts = mix_general([{"id": "t"}] * 10, [{"id": "g"}], 0.5, seed=0)
    assert counts["general_wanted"] == 10
    assert counts["general_examples"] == 1
    assert heldout == []


def test_ticket_warnings_and_unique_ids():
    tickets = [{"id": "1", "doc_id": "ticket-1", "text": "Printer broken", "label": "hardware"},
               {"id": "1", "doc_id": "ticket-1b", "text": "Printer broken again", "label": "hardware"},
               {"id": "2", "doc_id": "ticket-2", "text": "請求書が届きません", "label": "billing"},
               {"id": "3", "doc_id": "ticket-3", "text": "VPN fails", "label": "network"},
               {"id": "4", "doc_id": "ticket-4", "text": "VPN slow", "label": "network"}]
    warnings = {}
    examples = ticket_examples(tickets, None, 0, DEFAULT_TEMPLATES["classify"], warnings)
    assert warnings == {"duplicate_ticket_ids": 1, "single_ticket_labels": 1}
    assert [e["id"] for e in examples] == ["classify-1", "classify-1-2", "classify-2", "classify-3", "classify-4"]
    assert examples[2]["language"] == "ja"
    assert examples[2]["messages"][0]["content"].startswith("次のサポートチケット")
    assert examples[0]["ticket_id"] == "1"


CHUNK = {"chunk_id": "d-0", "doc_id": "d", "text": "Calibration of the AP-200 sensor takes 15 minutes at "
         "25 degrees. Technicians record the result in the calibration log kept by the quality team."}


def _slot(responses, question="How long does AP-200 calibration take?"):
    return Slot("qa", CHUNK, "en", "prompt", "bare prompt", responses, question)


def test_choose_keeps_best_grounded_candidate():
    build = BuildConfig(n_candidates=3)
    report = FilterReport()
    slots = [
        _slot(["Japan's labour market offers generous pensions to every worker.",
               "It takes 15 minutes at 25 degrees; technicians record the result in the calibration log.",
               "It takes 15 minutes."]),
        _slot(["I'm sorry, I cannot answer that.", "Workers in Japan enjoy long holidays every year.",
               "Sure! Pensions are generous."]),
        _slot(["15 minutes."]),
    ]
    chosen = choose(slots, build, report)

    # Both grounded candidates overlap fully; the one with more grounded words wins.
    assert [item.response for item in chosen] == [
        "It takes 15 minutes at 25 degrees; technicians record the result in the calibration log."]
    assert chosen[0].scores["overlap"] == pytest.approx(1.0)
    assert report.examples_in["qa"] == 3
    assert report.candidates["qa"] == 7
    # The second slot's furthest candidate passed length, repetition, refusal and language.
    assert report.drops["qa"] == {"grounding": {"low_overlap": 1}, "length": {"too_short": 1}}
    assert report.candidate_failures["qa"]["refusal"] == {"refusal": 1, "boilerplate": 1}


def test_choose_drops_answer_that_restates_question():
    report = FilterReport()
    chosen = choose([_slot(["How long does the AP-200 calibration take?"])], BuildConfig(), report)
    assert chosen == []
    assert report.drops["qa"] == {"grounding": {"restates_question": 1}}


def test_choose_validates_extraction_json():
    build = BuildConfig(tasks=["extraction"], extraction={"fields": [
        {"name": "product", "type": "string", "required": True}, {"name": "minutes", "type": "integer"}]})
    slot = Slot("extraction", CHUNK, "en", "prompt", "bare", ['{"product": "AP-200", "minutes": 15}',
                                                              '{"product": "AP-300", "minutes": "x"}'])
    bad = Slot("extraction", CHUNK, "en", "prompt", "bare", ["The product is AP-200."])
    report = FilterReport()
    chosen = choose([slot, bad], build, report)
    assert [item.response for item in chosen] == ['{"product": "AP-200", "minutes": 15}']
    assert report.drops["extraction"] == {"json": {"no_json": 1}}
    assert report.candidate_failures["extraction"]["json"] == {"wrong_type": 1, "no_json": 1}
