"""Names known from strong cues and e-mail metadata, masked wherever they appear."""

from __future__ import annotations

from shochu.config import ProtectConfig
from shochu.protect import Masker
from shochu.protect.known_names import collect_known_names


def test_strong_cue_name_collected() -> None:
    names = collect_known_names(["**Chair:** Takeshi Kuroda (IT Manager)"], [])
    assert names == {"Takeshi Kuroda", "Takeshi", "Kuroda"}


def test_weak_cue_name_not_collected() -> None:
    assert collect_known_names(["Mike Darrow will come."], []) == set()


def test_metadata_names_collected() -> None:
    names = collect_known_names([], [{"from": "浜田 大輔 <d.hamada@example.co.jp>", "title": "Re: 校正"}])
    assert {"浜田 大輔", "浜田", "大輔"} <= names


def test_author_role_not_collected() -> None:
    names = collect_known_names([], [{"author": "Pimchanok Srisuk, HR Manager Bangkok"}])
    assert names == {"Pimchanok Srisuk", "Pimchanok", "Srisuk"}


def test_known_name_masked_without_cue() -> None:
    masker = Masker(ProtectConfig(entities=["PERSON"]), known_names=["Takeshi Kuroda", "Takeshi"])
    assert masker.mask("Takeshi explained the plan.").text == "[PERSON_1] explained the plan."


def test_known_japanese_name_masked() -> None:
    masker = Masker(ProtectConfig(entities=["PERSON"]), known_names=["浜田"])
    assert masker.mask("浜田より報告があった。").text == "[PERSON_1]より報告があった。"


def test_known_thai_name_not_inside_word() -> None:
    masker = Masker(ProtectConfig(entities=["PERSON"]), known_names=["ประเสริฐ"])
    assert masker.mask("- คุณเฉลิม สุขประเสริฐ มือถือ").text == "- คุณ[PERSON_1] มือถือ"


def test_known_names_unused_without_person() -> None:
    masker = Masker(ProtectConfig(entities=["EMAIL_ADDRESS"]), known_names=["Takeshi"])
    assert masker.mask("Takeshi wrote").text == "Takeshi wrote"
