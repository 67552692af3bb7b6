"""Thai person names from PyThaiNLP's bundled name lists: exact spans and scores."""

from __future__ import annotations

import pytest

from shochu.protect import Masker
from shochu.protect.thai_names import PAIR_SCORE, TITLE_SCORE, ThaiNameRecognizer, thai_name_lists


@pytest.fixture(scope="module")
def recognizer() -> ThaiNameRecognizer:
    return ThaiNameRecognizer()


def spans(recognizer: ThaiNameRecognizer, text: str) -> list[tuple[str, float]]:
    return [(text[start:end], score) for start, end, score in recognizer.find(text)]


def test_lists_come_from_the_wheel() -> None:
    lists = thai_name_lists()
    assert "สมชาย" in lists.given
    assert "ใจดี" in lists.family
    assert len(lists.given) > 5000
    assert len(lists.family) > 5000


@pytest.mark.parametrize("title", ["คุณ", "นาย", "นาง", "นางสาว", "ด.ช.", "ด.ญ."])
def test_title_then_given_and_family_name(recognizer: ThaiNameRecognizer, title: str) -> None:
    text = f"เรียน {title}สมชาย ใจดี ครับ"
    assert (("สมชาย ใจดี", TITLE_SCORE) in spans(recognizer, text))


def test_title_then_given_name_and_particle(recognizer: ThaiNameRecognizer) -> None:
    assert spans(recognizer, "ขอบคุณคุณสมศรีค่ะ") == [("สมศรี", TITLE_SCORE)]


@pytest.mark.parametrize(("text", "name"), [
    ("ติดต่อ นางสาวมาลี สุขใจ 089-765-4321", "มาลี สุขใจ"),
    ("นายวิชัย รักษ์ดี", "วิชัย รักษ์ดี"),
    ("นายวิชัย รักษ์ดี, นางมาลี", "วิชัย รักษ์ดี"),
])
def test_title_then_unlisted_family_name(recognizer: ThaiNameRecognizer, text: str, name: str) -> None:
    # สุขใจ and รักษ์ดี are in no list; after a title, the word one space on is the family name.
    assert "สุขใจ" not in thai_name_lists().family
    assert spans(recognizer, text)[0] == (name, TITLE_SCORE)


@pytest.mark.parametrize("text", ["นายวิชัย มาประชุมวันนี้", "คุณมาลี ได้รับเอกสารแล้ว", "คุณมาลี ครับ"])
def test_sentence_after_titled_name_is_not_a_family_name(recognizer: ThaiNameRecognizer, text: str) -> None:
    [(name, score)] = spans(recognizer, text)
    assert name in ("วิชัย", "มาลี")
    assert score == TITLE_SCORE


def test_thank_you_is_no_title(recognizer: ThaiNameRecognizer) -> None:
    assert spans(recognizer, "ขอบคุณครับ") == []


def test_pair_without_title(recognizer: ThaiNameRecognizer) -> None:
    assert spans(recognizer, "ผู้ติดต่อ: สมชาย ใจดี") == [("สมชาย ใจดี", PAIR_SCORE)]


def test_given_name_alone_without_title_is_not_found(recognizer: ThaiNameRecognizer) -> None:
    assert spans(recognizer, "สมชาย มาถึงแล้ว") == []


def test_text_without_thai_is_skipped(recognizer: ThaiNameRecognizer) -> None:
    assert recognizer.find("Somchai Jaidee called.") == []


def test_masker_keeps_title_outside(masker: Masker) -> None:
    assert masker.mask("นางสาวสมศรี รักดีค่ะ").text == "นางสาว[PERSON_1]ค่ะ"
