"""Masking of each entity type, with exact output strings; all values are synthetic."""

from __future__ import annotations

import logging
import socket

import pytest

from shochu.config import ProtectConfig
from shochu.protect import Masker
from shochu.protect import recognizers
from shochu.protect.placeholders import REDACTED_TEXT

MASKED = [
    # e-mail
    ("Write to jane.doe@example.com today.", "Write to [EMAIL_ADDRESS_1] today."),
    ("連絡先はtaro@example.comです", "連絡先は[EMAIL_ADDRESS_1]です"),
    ("ติดต่อ somchai@example.co.th ได้เลย", "ติดต่อ [EMAIL_ADDRESS_1] ได้เลย"),
    ("Mail admin@corp.local for access.", "Mail [EMAIL_ADDRESS_1] for access."),
    # phone: Japan
    ("電話 03-1234-5678 まで", "電話 [PHONE_NUMBER_1] まで"),
    ("携帯：090-1234-5678です", "携帯：[PHONE_NUMBER_1]です"),
    ("電話０９０－１２３４－５６７８です", "電話[PHONE_NUMBER_1]です"),
    ("携帯090ー1234ー5678", "携帯[PHONE_NUMBER_1]"),
    ("Tokyo office +81 3-1234-5678.", "Tokyo office [PHONE_NUMBER_1]."),
    ("電話番号09012345678に", "電話番号[PHONE_NUMBER_1]に"),
    # phone: Thailand, Laos, US, UK
    ("โทร 02-123-4567 ครับ", "โทร [PHONE_NUMBER_1] ครับ"),
    ("มือถือ081-234-5678", "มือถือ[PHONE_NUMBER_1]"),
    ("Bangkok: +66 2 123 4567", "Bangkok: [PHONE_NUMBER_1]"),
    ("Vientiane: +856 20 5555 1234", "Vientiane: [PHONE_NUMBER_1]"),
    ("Call 202-555-0147 now", "Call [PHONE_NUMBER_1] now"),
    ("Call (202) 555-0147 now", "Call [PHONE_NUMBER_1] now"),
    ("Contact lineTel202-555-0147", "Contact lineTel[PHONE_NUMBER_1]"),
    ("TEL03-1234-5678", "TEL[PHONE_NUMBER_1]"),
    ("London +44 20 7946 0958", "London [PHONE_NUMBER_1]"),
    # cards, IBAN, IP
    ("Card 4111 1111 1111 1111 expired", "Card [CREDIT_CARD_1] expired"),
    ("カード番号4111111111111111です", "カード番号[CREDIT_CARD_1]です"),
    ("Card 5500-0000-0000-0004.", "Card [CREDIT_CARD_1]."),
    ("IBAN DE89 3704 0044 0532 0130 00 please", "IBAN [IBAN_CODE_1] please"),
    ("Pay to GB82WEST12345698765432.", "Pay to [IBAN_CODE_1]."),
    ("Server 192.168.1.10 is down.", "Server [IP_ADDRESS_1] is down."),
    ("サーバー10.0.0.5に接続", "サーバー[IP_ADDRESS_1]に接続"),
    ("Host 2001:db8::1 answers.", "Host [IP_ADDRESS_1] answers."),
    # bank accounts
    ("口座番号 1234567", "口座番号 [BANK_ACCOUNT_1]"),
    ("口座番号：1234567へ", "口座番号：[BANK_ACCOUNT_1]へ"),
    ("みずほ銀行 渋谷支店 普通 7654321", "みずほ銀行 渋谷支店 普通 [BANK_ACCOUNT_1]"),
    ("Account No. 12345678 closed", "Account No. [BANK_ACCOUNT_1] closed"),
    ("account number: 0012345678", "account number: [BANK_ACCOUNT_1]"),
    ("เลขที่บัญชี 123-4-56789-0", "เลขที่บัญชี [BANK_ACCOUNT_1]"),
    # postal code and address
    ("〒150-0002 東京都渋谷区渋谷1-2-3, ¥1,234,567", "〒[POSTAL_CODE_1] [ADDRESS_1], ¥1,234,567"),
]

UNCHANGED = [
    "Card 4111 1111 1111 1112 fails the Luhn check",
    "See ticket TCK-00123 from 2024.",
    "Models PX-300, AP-200, TX-210 rev 3 and VB-7.",
    "Dates 2024-03-15, 01-02-2024, 2024/03/15 at 12:30:45.",
    "Version v1.2.3, ISO 9001:2015, MAC 00:1A:2B:3C:4D:5E.",
    "¥1,234,567 and 東京都渋谷区の店舗",
    "Invoice 021234567 total",
    "Order 20240315 and serial SN: 1234-5678-9012.",
    "Account number: TCK-00123, account for 2024",
    "Retina image icon@2x.png and std::vector and a[::2]",
    "Range 4-20 mA, 10-30 V DC, 0-500 Hz.",
    "Serial VB07-2406-0302 and PX30-2311-0457.",
    "Netmask 255.255.255.0",
]


@pytest.mark.parametrize(("text", "expected"), MASKED)
def test_entity_masked(masker: Masker, text: str, expected: str) -> None:
    assert masker.mask(text).text == expected


@pytest.mark.parametrize("text", UNCHANGED)
def test_non_entity_unchanged(masker: Masker, text: str) -> None:
    assert masker.mask(text).text == text


def test_email_inside_japanese_text_masked(masker: Masker) -> None:
    result = masker.mask("連絡先はtaro@example.comです")
    assert result.counts == {"EMAIL_ADDRESS": 1}


def test_luhn_invalid_card_not_masked(masker: Masker) -> None:
    assert masker.mask("4111 1111 1111 1112").counts == {}


def test_same_value_same_placeholder(masker: Masker) -> None:
    result = masker.mask("Call 090-1234-5678 or ０９０－１２３４－５６７８, not 03-1234-5678.")
    assert result.text == "Call [PHONE_NUMBER_1] or [PHONE_NUMBER_1], not [PHONE_NUMBER_2]."
    assert result.counts == {"PHONE_NUMBER": 3}


def test_numbers_per_entity_type(masker: Masker) -> None:
    result = masker.mask("a@example.com, 202-555-0147, b@example.com, A@example.com")
    assert result.text == "[EMAIL_ADDRESS_1], [PHONE_NUMBER_1], [EMAIL_ADDRESS_2], [EMAIL_ADDRESS_1]"


def test_overlap_keeps_higher_score(masker: Masker) -> None:
    # The account label makes the digits a BANK_ACCOUNT candidate (0.85), the
    # Luhn check makes them a CREDIT_CARD (1.0); only one placeholder remains.
    result = masker.mask("account number 4111111111111111")
    assert result.text == "account number [CREDIT_CARD_1]"


def test_empty_text_unchanged(masker: Masker) -> None:
    assert masker.mask("").text == ""


def test_entities_setting_limits_types() -> None:
    masker = Masker(ProtectConfig(entities=["EMAIL_ADDRESS"]))
    assert masker.mask("a@example.com 202-555-0147").text == "[EMAIL_ADDRESS_1] 202-555-0147"


def test_unknown_entity_rejected() -> None:
    with pytest.raises(ValueError, match="unsupported entity type.*SSN"):
        Masker(ProtectConfig(entities=["EMAIL_ADDRESS", "SSN"]))


def test_lower_threshold_masks_single_name() -> None:
    masker = Masker(ProtectConfig(entities=["PERSON"], score_threshold=0.25))
    assert masker.mask("John visited.").text == "[PERSON_1] visited."


def test_failing_recognizer_withholds_text(masker: Masker, monkeypatch: pytest.MonkeyPatch,
                                          caplog: pytest.LogCaptureFixture) -> None:
    def broken(self, pattern_text: str) -> bool:
        raise RuntimeError(f"cannot parse {pattern_text}")

    monkeypatch.setattr(recognizers.PhoneRecognizer, "validate_result", broken)
    with caplog.at_level(logging.WARNING):
        result = masker.mask("Call 202-555-0147, Mr. Smith")
    assert result.text == REDACTED_TEXT
    assert result.failed == ("ShochuPhoneRecognizer",)
    assert "ShochuPhoneRecognizer" in caplog.text
    assert "202-555-0147" not in caplog.text


def test_logs_contain_no_values(masker: Masker, caplog: pytest.LogCaptureFixture) -> None:
    planted = ["taro@example.com", "090-1234-5678", "Hanako Yamada", "DE89 3704 0044 0532 0130 00"]
    with caplog.at_level(logging.DEBUG):
        masker.mask(f"Dear {planted[2]}, phone {planted[1]}, mail {planted[0]}, IBAN {planted[3]}")
    for value in planted:
        assert value not in caplog.text


def test_masker_builds_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[object] = []

    def reject_connection(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", reject_connection)
    # A fresh suffix lookup, so that its first use (loading the list) happens now.
    monkeypatch.setattr(recognizers, "_SUFFIXES", recognizers.offline_suffix_extractor())
    masker = Masker(ProtectConfig())
    result = masker.mask("Dear Taro Tanaka, mail taro@example.com or call +81 3-1234-5678.")
    assert result.text == "Dear [PERSON_1], mail [EMAIL_ADDRESS_1] or call [PHONE_NUMBER_1]."
    assert attempts == []
