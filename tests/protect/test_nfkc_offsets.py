"""NFKC offset mapping, overlap resolution and placeholder numbering."""

from __future__ import annotations

import random
import unicodedata

import pytest

from shochu.protect.normalize import _normalize_by_group, normalize
from shochu.protect.placeholders import PlaceholderNumbering, Span, replace_spans, resolve_overlaps, value_key


def test_ascii_text_maps_to_itself() -> None:
    normalized = normalize("call 090")
    assert normalized.to_original(5, 8) == (5, 8)


def test_full_width_digits_normalized() -> None:
    assert normalize("電話０９０－１２").text == "電話090-12"


def test_full_width_span_maps_to_original() -> None:
    text = "電話０９０－１２"
    normalized = normalize(text)
    start, end = normalized.to_original(2, 8)
    assert text[start:end] == "０９０－１２"


def test_expanding_character_maps_to_whole_group() -> None:
    # ㈱ becomes "(株)"; a span on 株 alone covers the original ㈱.
    normalized = normalize("㈱ACME")
    assert normalized.to_original(1, 2) == (0, 1)


def test_half_width_voiced_kana_grouped() -> None:
    # ｶﾞ (two code points) is one group and normalizes to ガ.
    normalized = normalize("ｶﾞｽ")
    assert normalized.text == "ガス"
    assert normalized.to_original(0, 1) == (0, 2)


def test_empty_span_rejected() -> None:
    with pytest.raises(ValueError, match="empty span"):
        normalize("abc").to_original(1, 1)


def test_overlap_higher_score_wins() -> None:
    spans = [Span(0, 10, "BANK_ACCOUNT", 0.85), Span(2, 8, "PHONE_NUMBER", 1.0)]
    assert resolve_overlaps(spans) == [Span(2, 8, "PHONE_NUMBER", 1.0)]


def test_overlap_tie_longer_wins() -> None:
    spans = [Span(0, 4, "PERSON", 0.6), Span(0, 9, "PERSON", 0.6)]
    assert resolve_overlaps(spans) == [Span(0, 9, "PERSON", 0.6)]


def test_adjacent_spans_both_kept() -> None:
    spans = [Span(5, 9, "PERSON", 0.6), Span(0, 5, "EMAIL_ADDRESS", 1.0)]
    assert resolve_overlaps(spans) == [Span(0, 5, "EMAIL_ADDRESS", 1.0), Span(5, 9, "PERSON", 0.6)]


def test_replace_rejects_overlapping_spans() -> None:
    with pytest.raises(ValueError, match="overlapping"):
        spans = [Span(0, 4, "PERSON", 1.0), Span(2, 5, "PERSON", 1.0)]
        replace_spans("abcdef", spans, PlaceholderNumbering())


def test_phone_key_ignores_separators() -> None:
    assert value_key("PHONE_NUMBER", "090-1234-5678") == value_key("PHONE_NUMBER", "０９０ １２３４ ５６７８")


def test_person_key_ignores_case_and_spacing() -> None:
    assert value_key("PERSON", "Taro  Tanaka") == value_key("PERSON", "taro tanaka")


def test_numbering_shared_between_texts() -> None:
    numbering = PlaceholderNumbering()
    first, _ = replace_spans("Ann", [Span(0, 3, "PERSON", 1.0)], numbering)
    second, _ = replace_spans("Bob, Ann", [Span(0, 3, "PERSON", 1.0), Span(5, 8, "PERSON", 1.0)], numbering)
    assert (first, second) == ("[PERSON_1]", "[PERSON_2], [PERSON_1]")


# Characters that NFKC changes alone, marks that join the character before
# them, Hangul jamo that compose, and characters NFKC leaves as they are.
_NORMALIZE_ALPHABET = (list("aZ09 -\n.@電話番号あいうアイウ") + list("ｶｷﾞﾟ０９－ＡＢ㈱㍻ⅰ①ﬁ\u00a0\u3000\u0340")
                       + list("กขำัิุู่้๊๋เแ") + ["\u0301", "\u0302", "\u0323", "\u1100", "\u1161", "\u11a8",
                                                 "\u0cbf", "\u0cd5", "\u0b47", "\u0b3e", "\U0001d400", "๐", "๙", "໒"])


def test_normalize_matches_group_reference() -> None:
    generator = random.Random(7)
    for _ in range(3000):
        text = "".join(generator.choice(_NORMALIZE_ALPHABET) for _ in range(generator.randint(1, 24)))
        assert normalize(text) == _normalize_by_group(text), repr(text)


def test_thai_tone_mark_joins_group() -> None:
    # ่ (a tone mark) joins ก, and ำ expands to two characters under NFKC.
    text = "ก่ำx"
    normalized = normalize(text)
    assert normalized.text == "ก่\u0e4d\u0e32x"
    assert normalized.to_original(1, 2) == (0, 2)
    assert normalized.to_original(3, 4) == (2, 3)
    assert normalized.to_original(4, 5) == (3, 4)


def _per_character_map(text: str) -> tuple[str, list[int], list[int]]:
    """The plain definition: NFKC with ASCII digits, each character mapped to the whole original group it came from."""
    copy, starts, ends = "", [], []
    position = 0
    while position < len(text):
        end = position + 1
        while end < len(text) and (unicodedata.combining(text[end]) or text[end] in "\uff9e\uff9f"):
            end += 1
        piece = "".join(str(unicodedata.decimal(character)) if character.isdecimal() else character
                        for character in unicodedata.normalize("NFKC", text[position:end]))
        copy += piece
        starts += [position] * len(piece)
        ends += [end] * len(piece)
        position = end
    return copy, starts, ends


def test_every_span_maps_like_the_per_character_definition() -> None:
    generator = random.Random(11)
    for _ in range(600):
        text = "".join(generator.choice(_NORMALIZE_ALPHABET) for _ in range(generator.randint(1, 16)))
        normalized = normalize(text)
        copy, starts, ends = _per_character_map(text)
        assert normalized.text == copy, repr(text)
        for start in range(len(copy)):
            for end in range(start + 1, len(copy) + 1):
                assert normalized.to_original(start, end) == (starts[start], ends[end - 1]), (repr(text), start, end)


def test_thai_and_lao_digits_become_ascii() -> None:
    text = "โทร ๐๘๑-๕๕๕-๑๒๓๔ ໂທ ໐໒໐"
    normalized = normalize(text)
    assert normalized.text == "โทร 081-555-1234 ໂທ 020"
    assert normalized.to_original(4, 16) == (4, 16)
