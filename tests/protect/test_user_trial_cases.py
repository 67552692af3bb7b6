"""Values a user planted in a trial corpus and found unmasked, now masked; and their look-alikes left alone."""

from __future__ import annotations

import pytest

from shochu.config import ProtectConfig
from shochu.protect import Masker


@pytest.fixture(scope="module")
def masker() -> Masker:
    return Masker(ProtectConfig())


MASKED = [
    # Phone numbers in Thai digits, which NFKC leaves as they are.
    ("โทร ๐๘๑ ๕๕๕ ๑๒๓๔", "โทร [PHONE_NUMBER_1]"),
    ("โทรศัพท์: ๐๒-๓๔๕-๖๗๘๙", "โทรศัพท์: [PHONE_NUMBER_1]"),
    # Japanese numbers with the exchange in brackets, also full width.
    ("電話：03(3212)4567", "電話：[PHONE_NUMBER_1]"),
    ("TEL ０３（３２１２）４５６７ まで", "TEL [PHONE_NUMBER_1] まで"),
    # Mobile numbers in two groups, a Thai trunk 0 on its own, a bare Japanese mobile number.
    ("Tel: 07911 123456", "Tel: [PHONE_NUMBER_1]"),
    ("โทร 0 2345 6789", "โทร [PHONE_NUMBER_1]"),
    ("明日 09012345678 に折り返す。", "明日 [PHONE_NUMBER_1] に折り返す。"),
    # A katakana name with a middle dot, after a label and before an honorific.
    ("担当：ジョン・スミス", "担当：[PERSON_1]"),
    ("ジョン・スミスさんから連絡", "[PERSON_1]さんから連絡"),
    # A family name after a given name found by a greeting.
    ("Hi Oliver,\nOliver Penhaligon will join.", "Hi [PERSON_1],\n[PERSON_2] will join."),
    # Japanese addresses with の or が in the town name, and Sapporo's grid.
    ("東京都千代田区丸の内1丁目2番3号", "[ADDRESS_1]"),
    ("東京都千代田区霞が関1-2-3", "[ADDRESS_1]"),
    ("北海道札幌市中央区北1条西2丁目1番地", "[ADDRESS_1]"),
    # Addresses in other scripts after a label.
    ("Address: 42 Kingsley Road, Bristol BS6 5AJ", "Address: [ADDRESS_1]"),
    ("Home address: 10 Downing Street, London SW1A 2AA\nNext", "Home address: [ADDRESS_1]\nNext"),
    ("ที่อยู่: 123 ถนนสุขุมวิท แขวงคลองเตย กรุงเทพมหานคร 10110", "ที่อยู่: [ADDRESS_1]"),
    ("ທີ່ຢູ່ 12 ຖະໜົນລ້ານຊ້າງ ນະຄອນຫຼວງວຽງຈັນ", "ທີ່ຢູ່ [ADDRESS_1]"),
    # A Thai account number after the bank's name.
    ("โอนเข้าบัญชีธนาคารกสิกรไทย เลขที่ 123-4-56789-0", "โอนเข้าบัญชีธนาคารกสิกรไทย เลขที่ [BANK_ACCOUNT_1]"),
]


@pytest.mark.parametrize(("text", "expected"), MASKED)
def test_planted_value_masked(masker: Masker, text: str, expected: str) -> None:
    assert masker.mask(text).text == expected


UNCHANGED = [
    "order 0123 456789 shipped",
    "東京都港区の3社と契約した。",
    "Please address the issue: 3 items are left.",
    "Oliver And Bob",
]


@pytest.mark.parametrize("text", UNCHANGED)
def test_look_alike_left_alone(masker: Masker, text: str) -> None:
    assert masker.mask(text).text == text


def test_ip_and_email_labels_are_not_address_labels(masker: Masker) -> None:
    assert masker.mask("IP address: 192.168.0.1").text == "IP address: [IP_ADDRESS_1]"
    assert masker.mask("E-mail address: a.b@example.com").text == "E-mail address: [EMAIL_ADDRESS_1]"


def test_config_rejects_unknown_entity_types() -> None:
    with pytest.raises(ValueError, match=r"'PHONE' \(did you mean 'PHONE_NUMBER'\?\)"):
        ProtectConfig(entities=["PERSON", "PHONE"])


def test_config_lists_every_recognized_entity_type() -> None:
    from shochu.config import PROTECT_ENTITY_TYPES
    from shochu.protect.analyzer import SUPPORTED_ENTITIES

    assert sorted(PROTECT_ENTITY_TYPES) == sorted(SUPPORTED_ENTITIES)
