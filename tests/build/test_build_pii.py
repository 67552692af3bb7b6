"""The second PII scan of built examples, with the protect stage's Masker."""

import pytest

from shochu.build.filters import FilterReport
from shochu.build.pii import PiiScan
from shochu.config import ProtectConfig

QUESTION = "Who approves travel for [PERSON_1]?"


def _qa_example(response):
    content = f"Answer the question using only the document excerpt.\n\nExcerpt:\n[PERSON_1] travels.\n\nQuestion: {QUESTION}"
    return {"id": "qa-1", "task": "qa", "messages": [{"role": "user", "content": content}],
            "response": response, "question": QUESTION}


@pytest.fixture(scope="module")
def masking():
    return PiiScan(ProtectConfig(), "mask")


def test_invented_contact_masked_and_counted(masking):
    report = FilterReport()
    example = _qa_example("Write to approver@example.com or call +66 2 123 4567.")
    result = masking.scan(example, QUESTION, report)

    assert "approver@example.com" not in result["response"]
    assert "[EMAIL_ADDRESS_1]" in result["response"]
    assert report.pii_masked["qa"]["EMAIL_ADDRESS"] == 1
    assert report.pii_masked["qa"]["PHONE_NUMBER"] == 1
    assert report.dropped("qa") == 0


def test_new_placeholder_numbers_follow_existing(masking):
    report = FilterReport()
    result = masking.scan(_qa_example("Ask Somchai Wongsawat in finance."), QUESTION, report)
    # [PERSON_1] is already taken by the chunk, so the invented person gets the next number.
    assert "Somchai" not in result["response"]
    assert "[PERSON_2]" in result["response"]
    assert result["question"] == QUESTION


def test_question_scanned_and_prompt_updated(masking):
    report = FilterReport()
    question = "Should I e-mail hr.desk@example.com about leave?"
    example = _qa_example("Yes, the HR desk handles leave.")
    example["messages"][0]["content"] = example["messages"][0]["content"].replace(QUESTION, question)
    example["question"] = question
    result = masking.scan(example, question, report)
    assert "hr.desk@example.com" not in result["messages"][0]["content"]
    assert "hr.desk@example.com" not in result["question"]
    assert result["messages"][0]["content"].endswith(result["question"])


def test_clean_example_unchanged(masking):
    example = _qa_example("The department head approves travel.")
    assert masking.scan(example, QUESTION, FilterReport()) is example


def test_drop_action_counts_entity_types():
    report = FilterReport()
    scan = PiiScan(ProtectConfig(), "drop")
    assert scan.scan(_qa_example("Mail approver@example.com today."), QUESTION, report) is None
    assert report.drops["qa"]["pii"] == {"EMAIL_ADDRESS": 1}
