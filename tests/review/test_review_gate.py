"""Review decisions and the acceptance gate."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from shochu.config import ReviewConfig
from shochu.review import check_gate, read_decisions
from shochu.review.decisions import DECISIONS_FILE, append_decisions, validate_decision
from shochu.review.gate import evaluate_gate
from shochu.review.sample import ensure_sample, review_dir
from shochu.workspace import Workspace


def _cards(*strata: str) -> list[dict]:
    return [{"id": f"ex-{index}", "stratum": stratum, "response": f"response {index}"}
            for index, stratum in enumerate(strata)]


def _decide(cards: list[dict], *pairs: tuple[int, str]) -> dict[str, dict]:
    by_id = {card["id"]: card for card in cards}
    decisions = {}
    for index, decision in pairs:
        data = {"id": f"ex-{index}", "decision": decision, "reason": "wrong" if decision != "accept" else "",
                "response": "fixed" if decision == "edit" else None}
        record, problems = validate_decision(data, by_id)
        assert problems == []
        decisions[record["id"]] = record
    return decisions


def test_gate_passes_above_threshold() -> None:
    cards = _cards("qa/en", "qa/en", "qa/en", "qa/en", "qa/en", "summary/ja")
    decisions = _decide(cards, (0, "accept"), (1, "accept"), (2, "accept"), (3, "accept"), (4, "reject"),
                        (5, "accept"))

    result = evaluate_gate(cards, decisions, ReviewConfig(min_acceptance=0.8))

    assert result.passed
    assert result.strata["qa/en"].acceptance == pytest.approx(0.8)
    assert result.strata["summary/ja"].acceptance == 1.0
    assert result.overall.decided == 6
    assert result.overall.rejected == 1


def test_gate_fails_naming_stratum() -> None:
    cards = _cards("qa/en", "qa/en", "qa/ja", "qa/ja")
    decisions = _decide(cards, (0, "accept"), (1, "accept"), (2, "accept"), (3, "edit"))

    result = evaluate_gate(cards, decisions, ReviewConfig(min_acceptance=0.8))

    assert not result.passed
    assert result.strata["qa/ja"].edited == 1
    assert result.strata["qa/ja"].acceptance == 0.5
    assert len(result.reasons) == 1
    assert result.reasons[0].startswith("qa/ja: 1 of 2 reviewed examples accepted (50%)")


def test_gate_without_decisions() -> None:
    cards = _cards("qa/en", "qa/ja")

    optional = evaluate_gate(cards, {}, ReviewConfig(required=False))
    required = evaluate_gate(cards, {}, ReviewConfig(required=True))

    assert optional.passed
    assert optional.strata["qa/en"].acceptance is None
    assert not required.passed
    assert "2 of 2 sampled examples have no decision" in required.reasons[0]


def test_gate_required_needs_every_card() -> None:
    cards = _cards("qa/en", "qa/en", "qa/en")
    decisions = _decide(cards, (0, "accept"), (1, "accept"))

    assert not evaluate_gate(cards, decisions, ReviewConfig(required=True)).passed
    assert evaluate_gate(cards, decisions, ReviewConfig(required=False)).passed


def test_gate_ignores_decisions_outside_sample() -> None:
    cards = _cards("qa/en")
    decisions = {"elsewhere": {"id": "elsewhere", "decision": "reject", "stratum": "qa/en"},
                 **_decide(cards, (0, "accept"))}

    result = evaluate_gate(cards, decisions, ReviewConfig())

    assert result.passed
    assert result.overall.decided == 1


def test_check_gate_reads_workspace(review_workspace: Path) -> None:
    review = ReviewConfig(sample_size=10, min_acceptance=0.9)
    assert check_gate(review_workspace, review).passed
    assert not check_gate(review_workspace, ReviewConfig(required=True)).passed

    sample = ensure_sample(Workspace(review_workspace), review, run_seed=0)
    cards = {card["id"]: card for card in sample}
    first, second = sample[0]["id"], sample[1]["id"]
    path = review_dir(review_workspace) / DECISIONS_FILE
    for data in ({"id": first, "decision": "reject", "reason": "off topic"}, {"id": second, "decision": "accept"},
                 # The reviewer changes their mind: the last decision wins.
                 {"id": first, "decision": "accept"}):
        record, problems = validate_decision(data, cards)
        assert problems == []
        append_decisions(path, [record])

    result = check_gate(review_workspace, review)

    assert result.passed
    assert result.overall.accepted == 2
    assert result.overall.rejected == 0
    assert result.as_dict()["overall"]["acceptance"] == 1.0


@pytest.mark.parametrize(("data", "message"), [
    ({"id": "nope", "decision": "accept"}, "id: 'nope' is not in the review sample"),
    ({"decision": "accept"}, "id: missing"),
    ({"id": "ex-0", "decision": "maybe"}, "decision: must be one of accept, reject, edit (got 'maybe')"),
    ({"id": "ex-0", "decision": "reject", "reason": "  "}, "reason: required when the decision is reject"),
    ({"id": "ex-0", "decision": "edit"}, "response: required when the decision is edit"),
    ({"id": "ex-0", "decision": "edit", "response": "response 0 "}, "response: the edited response equals"),
    ({"id": "ex-0", "decision": "accept", "reason": 5}, "reason: must be text"),
    (["ex-0", "accept"], "expected a JSON object"),
])
def test_invalid_decision(data: object, message: str) -> None:
    record, problems = validate_decision(data, {card["id"]: card for card in _cards("qa/en")})

    assert record is None
    assert any(message in problem for problem in problems), problems


def test_edit_record_fields() -> None:
    cards = {card["id"]: card for card in _cards("qa/ja")}

    record, _ = validate_decision({"id": "ex-0", "decision": "edit", "response": "直した回答\r\n二行目 ",
                                   "reason": " 長すぎる "}, cards, decided_at="2026-12-04T00:00:00+00:00")

    assert record == {"id": "ex-0", "decision": "edit", "reason": "長すぎる", "response": "直した回答\n二行目",
                      "stratum": "qa/ja", "decided_at": "2026-12-04T00:00:00+00:00"}


def test_read_decisions_skips_cut_last_line(tmp_path: Path) -> None:
    path = tmp_path / DECISIONS_FILE
    path.write_text('{"id": "a", "decision": "accept"}\n{"id": "a", "decision": "reject"}\n{"id": "b", "dec',
                    encoding="utf-8")

    assert read_decisions(path) == {"a": {"id": "a", "decision": "reject"}}


def test_read_decisions_names_bad_line(tmp_path: Path) -> None:
    path = tmp_path / DECISIONS_FILE
    path.write_text('{"id": "a", "decision": "accept"}\nnot json\n{"id": "b", "decision": "accept"}\n',
                    encoding="utf-8")

    with pytest.raises(ValueError, match=r"decisions.jsonl:2: invalid JSON"):
        read_decisions(path)


def test_concurrent_appends_keep_lines_whole(tmp_path: Path) -> None:
    path = tmp_path / DECISIONS_FILE
    long_reason = "理由" * 3000

    def append(worker: int) -> None:
        for index in range(20):
            append_decisions(path, [{"id": f"w{worker}-{index}", "decision": "reject", "reason": long_reason}])

    threads = [threading.Thread(target=append, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 80
    assert all(json.loads(line)["reason"] == long_reason for line in lines)
    assert len(read_decisions(path)) == 80
