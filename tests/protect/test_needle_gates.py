"""Needle gates skip work, never matches: gated and ungated detection agree.

A cue or recognizer with needles searches only where one of its needles
occurs. These tests run each one on texts written to match every label it
matches and compare with the plain, ungated search.
"""

from __future__ import annotations

import pytest
from presidio_analyzer import PatternRecognizer

from shochu.protect.addresses import JapaneseAddressRecognizer, PostalCodeRecognizer
from shochu.protect.credentials import CredentialUrlRecognizer, SecretRecognizer
from shochu.protect.cues import CUES
from shochu.protect.identifiers import (
    DateOfBirthRecognizer,
    LabelledMyNumberRecognizer,
    LabelledThaiNationalIdRecognizer,
    MyNumberRecognizer,
    PassportRecognizer,
    ThaiNationalIdRecognizer,
)
from shochu.protect.person import _Lines
from shochu.protect.recognizers import (
    BankAccountRecognizer,
    CreditCardRecognizer,
    EmailRecognizer,
    PhoneRecognizer,
    contains_any,
    digit_count,
)

CUE_TEXTS = [
    "Dear Ms. Tanaka,\nThanks for the update.\n\nBest regards,\nJane Doe\n",
    "Kind regards, Somchai Jaidee\nThank you\n\nขอแสดงความนับถือ\nสมชาย ใจดี",
    "Hello team, this is Laura Whitfield from finance. I'm Ben Carter, and my name is Ann Lee.",
    "Please contact Ben Williams at 555-0100, ask Mai Sakurai about it, email Tom Reed for the key.",
    "Card holder: John Smith\nACCOUNT HOLDER Mary Jones\nholder Peter Park",
    "Attendees:\n- Mai Sakurai\n- Ben Williams (minutes)\nFrom: Ann Lee <ann@example.com>\nCc: Tom Reed",
    "**Chair:** Somsak Wong\n出席者：田中太郎、佐藤花子\nผู้เข้าร่วมประชุม: นายสมชาย ใจดี",
    'name: Kenji Sato, Customer Name = Laura Whitfield; "owner": "Ann Lee"\n口座名義　イシヅカ　ナオキ\n担当 山田',
    "氏名 鈴木一郎\n申請者：高橋次郎\nชื่อ-นามสกุล: สมหญิง รักดี\n",
    "first_name: gregory, last_name = ASHCOMBE\n姓：山田\n名: さくら\nนามสกุล: ใจดี\nຊື່: ສົມສັກ\n",
    "Report:\nno names here: just text = value\n\n\nRegards\n",
    # Lower-casing İ gives two characters; the gate then falls back to a plain search.
    "İstanbul office\nBest regards,\nJane Doe",
    "お疲れさまです。営業部の石塚です。\n山田と申します。\nผมชื่อสมชาย",
]


@pytest.mark.parametrize("text", CUE_TEXTS)
def test_cue_search_by_line_equals_whole_text_search(text: str) -> None:
    lines = _Lines(text)
    for cue in CUES:
        expected = [(match.span(), match.groupdict()) for match in cue.pattern.finditer(text)]
        assert [(match.span(), match.groupdict()) for match in lines.matches(cue)] == expected, cue.name


def test_cue_texts_exercise_every_gated_cue() -> None:
    """The texts above would not test a gate whose cue never matched them."""
    gated = {cue.name for cue in CUES if cue.needles}
    matched = {cue.name for cue in CUES for text in CUE_TEXTS if cue.needles and cue.pattern.search(text)}
    assert matched == gated


RECOGNIZER_TEXTS = {
    EmailRecognizer: ["連絡先はtaro@example.comです", "Mail ann.lee@corp.example.co.jp today"],
    BankAccountRecognizer: ["Account No.: 12345678", "ACCT # 1234567", "a/c 12345678", "口座番号 1234567",
                            "渋谷支店 普通 1234567", "渋谷支店(123) 普通預金 1234567", "เลขที่บัญชี 123-4-56789-0",
                            "ເລກບັນຊີ 1234567890", "transfer to Account 1234567"],
    LabelledThaiNationalIdRecognizer: ["เลขประจำตัวประชาชน 1-2345-67890-12-1", "National ID: 1234567890121",
                                       "CITIZEN ID 1234567890121", "บัตรประชาชน 1234567890121"],
    LabelledMyNumberRecognizer: ["マイナンバー：1234 5678 9012", "個人番号 123456789012", "My Number: 1234-5678-9012"],
    PassportRecognizer: ["Passport No. TK1234567", "PASSPORT 123456789", "旅券番号 TK1234567",
                         "パスポート番号：AB1234567", "หนังสือเดินทางเลขที่ AA1234567", "ໜັງສືຜ່ານແດນ P1234567"],
    DateOfBirthRecognizer: ["Date of birth: 1985-04-12", "DOB 12/04/1985", "D.O.B. 1985-04-12", "d.ob 1985-04-12",
                            "Born on 4 April 1985", "生年月日：昭和60年4月12日", "誕生日 1985年4月12日",
                            "昭和60年4月12日生まれ", "วันเกิด 12 เมษายน 2528", "ວັນເກີດ 12/04/1985"],
    PostalCodeRecognizer: ["〒150-0002", "〶 150-0002", "郵便番号：150-0002", "ZIP 94105", "Postal Code 10110",
                           "postcode 12345", "รหัสไปรษณีย์ 10110", "ລະຫັດໄປສະນີ 01000"],
    JapaneseAddressRecognizer: ["東京都渋谷区神宮前1-2-3", "北海道札幌市中央区北1条西2丁目1", "大阪府大阪市北区梅田1-1",
                                "住所：横浜市中区山下町1-2", "〒231-0023 横浜市中区山下町1-2"],
}


def gated_and_ungated(recognizer, text: str) -> tuple[list, list]:
    """Return (start, end, score) of the recognizer's results with its gate and of its plain patterns."""
    entities = recognizer.supported_entities
    found = [(result.start, result.end, result.score) for result in recognizer.analyze(text, entities)]
    ungated = [(result.start, result.end, result.score)
               for result in PatternRecognizer.analyze(recognizer, text, entities)]
    return found, ungated


@pytest.mark.parametrize("recognizer_class", list(RECOGNIZER_TEXTS), ids=lambda cls: cls.__name__)
def test_gated_recognizer_finds_what_the_ungated_one_finds(recognizer_class) -> None:
    recognizer = recognizer_class()
    for text in RECOGNIZER_TEXTS[recognizer_class]:
        found, ungated = gated_and_ungated(recognizer, text)
        assert found == ungated, text
        assert found, f"{recognizer_class.__name__} found nothing in {text!r}"


def test_gated_recognizers_skip_texts_without_their_needles() -> None:
    text = "The quarterly figures for 2024-04-12 are in table 7, rows 12345678 to 1234567890121."
    for recognizer_class in RECOGNIZER_TEXTS:
        recognizer = recognizer_class()
        assert not contains_any(text, recognizer.NEEDLES), recognizer_class.__name__
        assert recognizer.analyze(text, recognizer.supported_entities) == []


def test_secret_assignment_needles_cover_every_secret_name() -> None:
    recognizer = SecretRecognizer()
    names = ["api_key", "APIKEY", "access-key-id", "aws_secret_key", "client_secret", "auth_token", "Bearer",
             "PASSWORD", "passwd", "pwd", "private_key", "パスワード", "暗証番号", "รหัสผ่าน"]
    for name in names:
        text = f"{name}: Xk82hQz91LmPw7Rt"
        assert [(r.start, r.end) for r in recognizer.analyze(text, ["SECRET"])] == [(len(text) - 16, len(text))], name


def test_case_traps_open_the_gate() -> None:
    # The long s folds to "s" in case-insensitive matching, which lower() does not show.
    assert contains_any("PAſSPORT TK1234567", ("passport",))
    assert not contains_any("Reisepass TK1234567", ("passport",))


def test_secret_vendor_needles_cover_every_pattern() -> None:
    recognizer = SecretRecognizer()
    tokens = ["sk-proj-" + "a1B2" * 6, "ghp_" + "a1B2" * 9, "github_pat_" + "a1B2" * 11, "glpat-" + "a1B2" * 6,
              "AKIA" + "ABCD1234EFGH5678", "xoxb-" + "1234567890-abcdef", "AIza" + "a1B2c3D4e5" * 3 + "abcde",
              "sk_live_" + "a1B2" * 5, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlX3ZhbHVl",
              "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"]
    for token in tokens:
        text = f"see {token} here"
        found = [(result.start, result.end) for result in recognizer.analyze(text, ["SECRET"])]
        ungated = [(result.start, result.end)
                   for result in PatternRecognizer.analyze(recognizer, text, ["SECRET"])]
        assert found == ungated == [(4, 4 + len(token))], token


def test_credential_url_needle() -> None:
    recognizer = CredentialUrlRecognizer()
    text = "clone https://deploy:s3cr3tPass@git.example.com/repo.git now"
    found = [(result.start, result.end) for result in recognizer.analyze(text, ["CREDENTIAL_URL"])]
    assert found == [(6, text.index(" now"))]
    assert recognizer.analyze("no address here: just words", ["CREDENTIAL_URL"]) == []


DIGIT_GATED_TEXTS = {
    PhoneRecognizer: ["Niue office +683 4002", "call 03-1234-5678", "โทร ๐๘๑ ๕๕๕ ๑๒๓๔"],
    CreditCardRecognizer: ["card 4111 1111 1111 1111", "card 4111-1111-1111-1"],
    MyNumberRecognizer: ["マイナンバー 1234 5678 9018", "123456789018"],
    ThaiNationalIdRecognizer: ["1-2345-67890-12-1", "1234567890121"],
}


@pytest.mark.parametrize("recognizer_class", list(DIGIT_GATED_TEXTS), ids=lambda cls: cls.__name__)
def test_digit_gate_finds_what_the_ungated_one_finds(recognizer_class) -> None:
    recognizer = recognizer_class()
    for text in DIGIT_GATED_TEXTS[recognizer_class]:
        found, ungated = gated_and_ungated(recognizer, text)
        assert found == ungated, text
    short = "call 12-34-56 now"
    assert digit_count(short) == 6
    assert recognizer.analyze(short, recognizer.supported_entities) == []
