"""The second PII scan keeps values that the response copies from the protected chunk."""

import pytest

from shochu.build.filters import FilterReport
from shochu.build.pii import PiiScan, _occurs_as_word
from shochu.config import ProtectConfig
from shochu.protect import Masker
from shochu.protect.operators import Operators
from shochu.protect.placeholders import PlaceholderNumbering

TEST_KEY = b"rescan-test-key-0123456789abcdef"
NEW_NAME = "Priya Raman"
NEW_PHONE = "+66 2 123 4567"
QUESTION = "Who approves travel requests?"


def _protect(text):
    """Return ``text`` as the protect stage writes it with pseudonyms, and the surrogates per entity type."""
    spans, failed = Masker(ProtectConfig()).detect(text)
    assert failed == ()
    surrogates = {}

    def record(entity_type, replacement, _value):
        surrogates.setdefault(entity_type, replacement)

    operators = Operators({"PERSON": "pseudonym", "EMAIL_ADDRESS": "pseudonym"}, TEST_KEY)
    replaced = operators.replace(text, spans, PlaceholderNumbering(), record=record)
    return replaced.text, surrogates


@pytest.fixture(scope="module")
def chunk():
    return _protect("Travel requests go to Somchai Jaidee (somchai.j@example.com), who approves them.")


@pytest.fixture(scope="module")
def masking():
    return PiiScan(ProtectConfig(), "mask")


@pytest.fixture(scope="module")
def dropping():
    return PiiScan(ProtectConfig(), "drop")


def _qa_example(chunk_text, response, question=QUESTION):
    content = (f"Answer the question using only the document excerpt.\n\nExcerpt:\n{chunk_text}\n\n"
               f"Question: {question}")
    return {"id": "qa-1", "task": "qa", "messages": [{"role": "user", "content": content}],
            "response": response, "question": question}


def _full_width(text):
    return "".join("\u3000" if character == " " else chr(ord(character) + 0xFEE0) if "!" <= character <= "~"
                   else character for character in text)


def test_chunk_is_pseudonymized(chunk):
    text, surrogates = chunk
    assert set(surrogates) == {"PERSON", "EMAIL_ADDRESS"}
    assert "Somchai" not in text
    assert surrogates["PERSON"] in text
    assert surrogates["EMAIL_ADDRESS"] in text


def test_copied_surrogates_kept_new_values_masked(masking, chunk):
    text, surrogates = chunk
    name, email = surrogates["PERSON"], surrogates["EMAIL_ADDRESS"]
    response = f"{name} approves them; write to {email}. Or call Ms. {NEW_NAME} on {NEW_PHONE}."
    report = FilterReport()
    result = masking.scan(_qa_example(text, response), QUESTION, report)

    assert result["response"] == (f"{name} approves them; write to {email}. "
                                  "Or call Ms. [PERSON_1] on [PHONE_NUMBER_1].")
    assert report.pii_copied_from_chunk["qa"] == {"PERSON": 1, "EMAIL_ADDRESS": 1}
    assert report.pii_masked["qa"] == {"PERSON": 1, "PHONE_NUMBER": 1}
    assert report.as_dict()["qa"]["pii_copied_from_chunk"] == {"EMAIL_ADDRESS": 1, "PERSON": 1}
    assert report.dropped("qa") == 0


def test_report_holds_no_values(masking, chunk):
    text, surrogates = chunk
    report = FilterReport()
    masking.scan(_qa_example(text, f"Ask {surrogates['PERSON']} or Ms. {NEW_NAME}."), QUESTION, report)
    printed = repr(report.as_dict())
    assert surrogates["PERSON"] not in printed
    assert NEW_NAME not in printed


def test_copied_name_in_question_kept(masking, chunk):
    text, surrogates = chunk
    name = surrogates["PERSON"]
    question = f"What does {name} approve?"
    report = FilterReport()
    result = masking.scan(_qa_example(text, f"{name} approves travel requests.", question), question, report)
    assert result["question"] == question
    assert result["response"] == f"{name} approves travel requests."
    assert report.pii_copied_from_chunk["qa"] == {"PERSON": 2}


def test_name_from_question_only_masked(masking, chunk):
    # The generated question is not part of the protected chunk, so a name it invents stays personal data.
    text, _ = chunk
    question = f"Should I ask Ms. {NEW_NAME} about travel?"
    report = FilterReport()
    result = masking.scan(_qa_example(text, f"Yes, Ms. {NEW_NAME} approves it.", question), question, report)
    assert NEW_NAME not in result["question"]
    assert NEW_NAME not in result["response"]
    assert NEW_NAME not in result["messages"][0]["content"]
    assert result["question"] == "Should I ask Ms. [PERSON_1] about travel?"
    assert result["response"] == "Yes, Ms. [PERSON_1] approves it."
    assert report.pii_copied_from_chunk["qa"] == {}


@pytest.mark.parametrize("variant", ["full_width", "double_space", "line_break"])
def test_copy_with_other_width_or_spacing_kept(masking, chunk, variant):
    text, surrogates = chunk
    name, email = surrogates["PERSON"], surrogates["EMAIL_ADDRESS"]
    written = {"full_width": _full_width(name), "double_space": name.replace(" ", "  "),
               "line_break": name.replace(" ", "\n")}[variant]
    written_email = _full_width(email) if variant == "full_width" else email
    response = f"Ask {written} ({written_email})."
    report = FilterReport()
    result = masking.scan(_qa_example(text, response), QUESTION, report)
    assert result["response"] == response
    assert report.pii_copied_from_chunk["qa"] == {"PERSON": 1, "EMAIL_ADDRESS": 1}
    assert report.pii_masked["qa"] == {}


def test_japanese_name_before_particle_kept(masking):
    text, surrogates = _protect("経費の承認は田中太郎さんが担当します。")
    name = surrogates["PERSON"]
    response = f"{name}さんに確認してください。山本花子さんにも連絡できます。"
    report = FilterReport()
    result = masking.scan(_qa_example(text, response), QUESTION, report)
    assert result["response"] == f"{name}さんに確認してください。[PERSON_1]さんにも連絡できます。"
    assert report.pii_copied_from_chunk["qa"] == {"PERSON": 1}


def test_thai_surrogate_name_kept(masking):
    text, surrogates = _protect("การเบิกค่าเดินทางต้องได้รับอนุมัติจากนายสมชาย ใจดี")
    name = surrogates["PERSON"]
    response = f"ต้องได้รับอนุมัติจาก {name}"
    report = FilterReport()
    result = masking.scan(_qa_example(text, response), QUESTION, report)
    assert result["response"] == response
    assert report.pii_copied_from_chunk["qa"] == {"PERSON": 1}


@pytest.mark.parametrize(("chunk_text", "response", "masked"), [
    ("Ken Moriyama approves travel.", "Ask Ken Mori.", "Ask [PERSON_1]."),
    ("Write to joann@example.com for travel.", "Write to ann@example.com.", "Write to [EMAIL_ADDRESS_1]."),
])
def test_part_of_longer_word_masked(masking, chunk_text, response, masked):
    report = FilterReport()
    result = masking.scan(_qa_example(chunk_text, response), QUESTION, report)
    assert result["response"] == masked
    assert report.pii_copied_from_chunk["qa"] == {}


def test_whole_word_in_chunk_kept(masking):
    # The protect stage left this value in the chunk, so the response may repeat it.
    report = FilterReport()
    example = _qa_example("Ken Mori, approves travel.", "Ask Ken Mori.")
    assert masking.scan(example, QUESTION, report) is example
    assert report.pii_copied_from_chunk["qa"] == {"PERSON": 1}


def test_drop_keeps_example_with_only_copies(dropping, chunk):
    text, surrogates = chunk
    example = _qa_example(text, f"{surrogates['PERSON']} approves them.")
    report = FilterReport()
    assert dropping.scan(example, QUESTION, report) is example
    assert report.dropped("qa") == 0
    assert report.pii_copied_from_chunk["qa"] == {"PERSON": 1}


def test_drop_removes_example_with_new_value(dropping, chunk):
    text, surrogates = chunk
    example = _qa_example(text, f"{surrogates['PERSON']} or Ms. {NEW_NAME} approves them.")
    report = FilterReport()
    assert dropping.scan(example, QUESTION, report) is None
    assert report.drops["qa"]["pii"] == {"PERSON": 1}
    assert report.pii_copied_from_chunk["qa"] == {}


def test_new_placeholder_numbered_after_chunk(masking):
    text = "[PERSON_1] and [PERSON_2] approve travel."
    report = FilterReport()
    result = masking.scan(_qa_example(text, f"[PERSON_2] or Ms. {NEW_NAME}."), QUESTION, report)
    assert result["response"] == "[PERSON_2] or Ms. [PERSON_3]."


def test_user_example_masks_repeated_name(masking):
    # A user-provided example has no protected chunk: a name in the instruction is not a copy.
    example = {"id": "user-1", "task": "instructions",
               "messages": [{"role": "user", "content": f"Summarise the call with Ms. {NEW_NAME}."}],
               "response": f"Ms. {NEW_NAME} asked about travel."}
    report = FilterReport()
    result = masking.scan(example, None, report, scan_instruction=True)
    assert result["messages"][0]["content"] == "Summarise the call with Ms. [PERSON_1]."
    assert result["response"] == "Ms. [PERSON_1] asked about travel."
    assert report.pii_copied_from_chunk["instructions"] == {}
    assert report.pii_masked["instructions"] == {"PERSON": 2}


@pytest.mark.parametrize(("value", "text", "expected"), [
    ("Ken Mori", "Ask Ken Mori, please.", True),
    ("Ken", "Ask Kenji.", False),
    ("ann@example.com", "joann@example.com", False),
    ("+66 2 123 4567", "call +66 2 123 4567.", True),
    ("田中", "田中さん", False),
    ("ใจดี", "นายสมชาย ใจดี ที่", True),
    # The text ends the value's last word with a vowel sign, so the value is part of a longer word.
    ("ใจด", "นายสมชาย ใจดี ที่", False),
    ("ใจดี", "นายสมชาย ใจดีมาก", False),
])
def test_occurs_as_word(value, text, expected):
    assert _occurs_as_word(value, text) is expected
