"""Latin-script Asian person names without a cue: exact spans, and words that stay unmasked."""

from __future__ import annotations

import pytest

from shochu.protect import Masker
from shochu.protect.names import load_gazetteer
from shochu.protect.romanized_names import is_romaji_word, is_thai_family_shaped


def person_spans(masker: Masker, text: str) -> list[tuple[int, int]]:
    found, failed = masker.detect(text)
    assert failed == ()
    return [(span.start, span.end) for span in found if span.entity_type == "PERSON"]


def span_of(text: str, value: str) -> tuple[int, int]:
    start = text.index(value)
    return start, start + len(value)


FOUND = [
    ("Please ask Somchai Jaidee about the order.", ["Somchai Jaidee"]),
    ("Tanaka Hiroshi approved the plan.", ["Tanaka Hiroshi"]),
    ("The audit was led by Hiroshi Tanaka last year.", ["Hiroshi Tanaka"]),
    ("Nguyen Van An joined the Hanoi team.", ["Nguyen Van An"]),
    ("Tran Thi Thu Trang signed it.", ["Tran Thi Thu Trang"]),
    ("Forward it to Khamla Phommachanh in Vientiane.", ["Khamla Phommachanh"]),
    ("Wang Wei reviewed the drawings.", ["Wang Wei"]),
    ("April Collins reviewed the drawings.", ["April Collins"]),
    # an unknown given name before a word shaped like a Thai family name
    ("Worawut Srisombat checked the stock.", ["Worawut Srisombat"]),
    # a known family name next to a word made of Japanese syllables
    ("Matsumoto Ryuichi will attend.", ["Matsumoto Ryuichi"]),
    # a distinctive Thai given name next to an unknown surname
    ("Somchai Rattanawong called twice.", ["Somchai Rattanawong"]),
    # glued to Japanese text
    ("担当はSomchai Jaideeです", ["Somchai Jaidee"]),
    # two unknown words shaped like a Japanese given and family name
    ("Masahiro Ichinose signed the delivery note.", ["Masahiro Ichinose"]),
    # a name wrapped onto the next line
    ("The report was written by Walter\nMurphy and reviewed.", ["Walter\nMurphy"]),
    # a request to contact someone, and a traveller field
    ("Please contact Ben Williams at the front desk.", ["Ben Williams"]),
    ("Traveller: Siobhan Hurst\nPassport No.: TK1234567", ["Siobhan Hurst"]),
    # a Vietnamese given name that is also an English function word, in a Name column
    ("| Name | Phone |\n|---|---|\n| Nguyen Van An | 202-555-0147 |\n", ["Nguyen Van An"]),
]


@pytest.mark.parametrize(("text", "names"), FOUND)
def test_romanized_name_span(masker: Masker, text: str, names: list[str]) -> None:
    assert person_spans(masker, text) == [span_of(text, name) for name in names]


UNCHANGED = [
    "Visit Osaka Castle before the Long Term Care meeting.",
    "The Ho Chi Minh City office and the Hai Phong port.",
    "Chiang Mai branch and the Chao Phraya river.",
    "Sato Engineering and Honda Motor sent quotes.",
    "Stay at the Sakura Business Hotel near Shin Osaka.",
    "Vim means Vi IMproved.",
    "Trains run from Hiroshima Nagasaki and Tokyo Osaka lines.",
    "Please contact Customer Service at the front desk.",
    "See Collins April 2004 for the dictionary entry.",
]


@pytest.mark.parametrize("text", UNCHANGED)
def test_non_name_words_unmasked(masker: Masker, text: str) -> None:
    assert masker.mask(text).text == text


@pytest.mark.parametrize(("word", "romaji"), [
    ("Hiroshi", True), ("Ryuichi", True), ("Kohei", True), ("Tsubasa", True),
    ("Report", False), ("Engineering", False), ("Phommachanh", False), ("Ken", False),
])
def test_romaji_shape(word: str, romaji: bool) -> None:
    assert is_romaji_word(word) is romaji


def test_vietnamese_names_without_diacritics() -> None:
    names = load_gazetteer()
    assert "Nguyen" in names.latin_last
    assert "Nguyễn" not in names.latin_last


@pytest.mark.parametrize(("word", "shaped"), [
    ("Srisombat", True), ("Rattanawong", True), ("Wongpaiboon", True),
    ("Boondocks", False), ("Sriracha", False), ("Jaidee", False), ("Engineering", False),
])
def test_thai_family_shape(word: str, shaped: bool) -> None:
    assert is_thai_family_shaped(word) is shaped
