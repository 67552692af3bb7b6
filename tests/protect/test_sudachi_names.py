"""Japanese person names from Sudachi's proper-noun tags: exact spans and scores."""

from __future__ import annotations

import pytest

from shochu.config import ProtectConfig
from shochu.protect import Masker
from shochu.protect.japanese_names import (
    CUE_SCORE,
    PAIR_SCORE,
    SHORT_SINGLE_SCORE,
    SINGLE_SCORE,
    JapaneseNameRecognizer,
)


@pytest.fixture(scope="module")
def recognizer() -> JapaneseNameRecognizer:
    return JapaneseNameRecognizer()


def spans(recognizer: JapaneseNameRecognizer, text: str) -> list[tuple[str, float]]:
    return [(text[start:end], score) for start, end, score in recognizer.find(text)]


def test_family_and_given_name_before_honorific(recognizer: JapaneseNameRecognizer) -> None:
    assert spans(recognizer, "山田太郎様") == [("山田太郎", PAIR_SCORE)]
    assert spans(recognizer, "中村 花子様、お世話になります。") == [("中村 花子", PAIR_SCORE)]


def test_family_name_after_label_and_before_desu(recognizer: JapaneseNameRecognizer) -> None:
    assert spans(recognizer, "担当の佐藤です。") == [("佐藤", CUE_SCORE)]


def test_kana_name_with_san(recognizer: JapaneseNameRecognizer) -> None:
    assert spans(recognizer, "さくらさんに連絡してください。") == [("さくら", CUE_SCORE)]


def test_pair_without_cue(recognizer: JapaneseNameRecognizer) -> None:
    assert spans(recognizer, "会議には鈴木一郎が出席した。") == [("鈴木一郎", PAIR_SCORE)]


def test_places_and_companies_are_not_names(recognizer: JapaneseNameRecognizer) -> None:
    assert spans(recognizer, "東京都") == []
    assert spans(recognizer, "大阪城の近く") == []
    assert spans(recognizer, "佐藤工業の見積もり") == []


def test_lone_name_without_cue_stays_under_threshold(recognizer: JapaneseNameRecognizer) -> None:
    assert spans(recognizer, "青木に聞いた。") == [("青木", SINGLE_SCORE)]
    assert spans(recognizer, "昨日は堀が来た。") == [("堀", SHORT_SINGLE_SCORE)]
    assert SHORT_SINGLE_SCORE < SINGLE_SCORE < ProtectConfig().score_threshold


def test_text_without_kanji_or_kana_is_not_tokenized(recognizer: JapaneseNameRecognizer) -> None:
    assert recognizer.find("Call 090-1234-5678 tomorrow.") == []


def test_masker_keeps_honorific_outside(masker: Masker) -> None:
    assert masker.mask("山田太郎様、担当の佐藤です。").text == "[PERSON_1]様、担当の[PERSON_2]です。"
    assert masker.mask("本社は東京都にあります。").text == "本社は東京都にあります。"
