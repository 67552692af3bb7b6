"""Identifiers right after their label are masked even with a wrong check digit; bare account numbers too."""

from __future__ import annotations

import pytest

from shochu.config import ProtectConfig
from shochu.protect.masker import Masker


@pytest.fixture(scope="module")
def masker() -> Masker:
    return Masker(ProtectConfig())


def _found(masker: Masker, text: str) -> list[tuple[str, str]]:
    spans, failed = masker.detect(text)
    assert failed == ()
    return [(span.entity_type, text[span.start:span.end]) for span in spans]


def test_thai_id_with_wrong_checksum_after_label(masker) -> None:
    text = "เลขประจำตัวประชาชน 1-1017-00230-70-1 ครับ"
    assert ("TH_NATIONAL_ID", "1-1017-00230-70-1") in _found(masker, text)


def test_thai_id_plain_with_wrong_checksum_after_label(masker) -> None:
    text = "เลขประจำตัวประชาชน 1101700230701"
    assert ("TH_NATIONAL_ID", "1101700230701") in _found(masker, text)


def test_my_number_with_wrong_check_digit_after_label(masker) -> None:
    text = "マイナンバー：1234 5678 9012"
    assert ("JP_MY_NUMBER", "1234 5678 9012") in _found(masker, text)


def test_unlabelled_number_with_wrong_checksum_kept(masker) -> None:
    text = "Batch 1101700230701 shipped."
    assert [entity for entity, _ in _found(masker, text)] == []


def test_account_word_directly_before_digits(masker) -> None:
    text = "When will my transfer to account 1234567 arrive?"
    assert ("BANK_ACCOUNT", "1234567") in _found(masker, text)
