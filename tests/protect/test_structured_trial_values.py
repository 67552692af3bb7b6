"""Identifiers, secrets and addresses that a trial corpus carried past protect, and their look-alikes."""

from __future__ import annotations

import pytest

from shochu.config import ProtectConfig
from shochu.protect import Masker


@pytest.fixture(scope="module")
def masker() -> Masker:
    return Masker(ProtectConfig())


MASKED = [
    # International numbers whose subscriber part is one group of 6 to 8 digits.
    ("Call +44 7911 123456 today", "Call [PHONE_NUMBER_1] today"),
    ("| Ben | +44 7911 123456 |", "| Ben | [PHONE_NUMBER_1] |"),
    ("Tel: +44 (0)7911 123456", "Tel: [PHONE_NUMBER_1]"),
    ("Reach me on +49 151 23456789 ok", "Reach me on [PHONE_NUMBER_1] ok"),
    # A North American number in spaced groups, with a context word.
    ("Phone: 415 555 0137", "Phone: [PHONE_NUMBER_1]"),
    # Card numbers that a line break splits, with or without a hyphen before it.
    ("Card: 4012 8888\n8888 1881", "Card: [CREDIT_CARD_1]"),
    ("card 4012-8888-\n8888-1881", "card [CREDIT_CARD_1]"),
    # Passwords that people choose: a passphrase, a word with digits.
    ("password: correct-horse-battery-staple", "password: [SECRET_1]"),
    ("PASSWORD=summer2024", "PASSWORD=[SECRET_1]"),
    ("passphrase: blue.river.stone", "passphrase: [SECRET_1]"),
    # British postcodes after a postcode label, or nearby.
    ("postcode SW1A 1AA", "postcode [POSTAL_CODE_1]"),
    ("Postcode: NW1 6XE", "Postcode: [POSTAL_CODE_1]"),
    ("the postcode for the office is SW1A 2AA", "the postcode for the office is [POSTAL_CODE_1]"),
    # Addresses after a label without a house number.
    ("Address: Flat B, Rosewood Court, Leeds", "Address: [ADDRESS_1]"),
    ("ที่อยู่: หมู่บ้านสุขสันต์ ตำบลบางพลี อำเภอบางพลี จังหวัดสมุทรปราการ", "ที่อยู่: [ADDRESS_1]"),
    ("ທີ່ຢູ່: ບ້ານໂພນໄຊ ເມືອງໄຊເສດຖາ ນະຄອນຫຼວງວຽງຈັນ", "ທີ່ຢູ່: [ADDRESS_1]"),
    # A Japanese account number right after the account type, with no branch or label.
    ("みずほ銀行 普通 1234567", "みずほ銀行 普通 [BANK_ACCOUNT_1]"),
    ("普通預金：7654321", "普通預金：[BANK_ACCOUNT_1]"),
    # An address in backticks or quotes keeps them.
    ("see `username@example.org` here", "see `[EMAIL_ADDRESS_1]` here"),
    ("mail 'bob@example.com'", "mail '[EMAIL_ADDRESS_1]'"),
    # A Thai id that passes its checksum is still found without a barcode label.
    ("id 1643100408031", "id [TH_NATIONAL_ID_1]"),
]


@pytest.mark.parametrize(("text", "expected"), MASKED)
def test_planted_value_masked(masker: Masker, text: str, expected: str) -> None:
    assert masker.mask(text).text == expected


UNCHANGED = [
    # Three counts in a command line are no phone number without a context word.
    "run --files 250 500 1000 now",
    # A barcode that happens to pass the Thai id checksum.
    "JAN code 4901234567894",
    "JANコード：4901234567894",
    "barcode: 1643100408031",
    # Password words that are not passwords, and placeholders.
    "password: required",
    "password: changeme123",
    "token: abc-def-ghi",
    # An address label followed by no address, a bolt size, an amount after 普通.
    "Address: see below",
    "Use the M2 4WB bolt with postal supplies",
    "普通 1234567円の売上",
    # Two blank lines end a card number.
    "Total 4012 8888\n\n8888 1881 units",
]


@pytest.mark.parametrize("text", UNCHANGED)
def test_look_alike_left_alone(masker: Masker, text: str) -> None:
    assert masker.mask(text).text == text
