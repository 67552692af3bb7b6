"""Exact spans of structured identifiers: national ids, passports, dates of birth, addresses, secrets.

Every value is synthetic. Valid My Numbers and Thai ids are built with the
check-digit functions under test, and those functions are checked against
hand-computed digits first.
"""

from __future__ import annotations

import pytest

from shochu.protect import Masker
from shochu.protect.checksums import is_valid_my_number, is_valid_thai_national_id, my_number_check_digit
from shochu.protect.credentials import looks_random

# 123456789018: weights 2..7 on 1,0,9,8,7,6 and 2..6 on 5,4,3,2,1 from the right give
# 2+0+36+40+42+42+10+12+12+10+6 = 212, 212 mod 11 = 3, check digit 11 - 3 = 8.
MY_NUMBER = "123456789018"
# 1101700203450: 1*13+1*12+0*11+1*10+7*9+0*8+0*7+2*6+0*5+3*4+4*3+5*2 = 144,
# 144 mod 11 = 1, check digit (11 - 1) mod 10 = 0.
THAI_ID = "1101700203450"


def spans(masker: Masker, text: str) -> list[tuple[int, int, str]]:
    found, failed = masker.detect(text)
    assert failed == ()
    return [(span.start, span.end, span.entity_type) for span in found]


def expected(text: str, *values: tuple[str, str]) -> list[tuple[int, int, str]]:
    """Return the spans of each ``(value, entity type)`` in ``text``, in order of position."""
    result = []
    for value, entity_type in values:
        start = text.index(value)
        result.append((start, start + len(value), entity_type))
    return sorted(result)


def test_my_number_check_digit_by_hand() -> None:
    assert my_number_check_digit(MY_NUMBER[:11]) == 8
    assert is_valid_my_number(MY_NUMBER)
    assert not is_valid_my_number("123456789019")
    assert not is_valid_my_number("12345678901")


def test_thai_id_checksum_by_hand() -> None:
    assert is_valid_thai_national_id(THAI_ID)
    assert is_valid_thai_national_id("1-1017-00203-45-0")
    assert not is_valid_thai_national_id("1101700203451")
    assert not is_valid_thai_national_id("0101700203454")


FOUND = [
    # My Number, glued to kana, grouped, full-width
    (f"マイナンバーは{MY_NUMBER}です", [(MY_NUMBER, "JP_MY_NUMBER")]),
    ("個人番号：1234 5678 9018", [("1234 5678 9018", "JP_MY_NUMBER")]),
    ("個人番号１２３４－５６７８－９０１８を提出", [("１２３４－５６７８－９０１８", "JP_MY_NUMBER")]),
    # Thai national id, dashed, plain and glued to Thai letters
    ("เลขประจำตัวประชาชน 1-1017-00203-45-0 ครับ", [("1-1017-00203-45-0", "TH_NATIONAL_ID")]),
    (f"บัตรประชาชนเลขที่{THAI_ID}ของผู้สมัคร", [(THAI_ID, "TH_NATIONAL_ID")]),
    (f"National ID {THAI_ID}.", [(THAI_ID, "TH_NATIONAL_ID")]),
    # passports after a label
    ("Passport No.: TK1234567, valid until 2030", [("TK1234567", "PASSPORT_NUMBER")]),
    ("旅券番号TR7654321を確認", [("TR7654321", "PASSPORT_NUMBER")]),
    ("หนังสือเดินทางเลขที่ AA1234567", [("AA1234567", "PASSPORT_NUMBER")]),
    ("passport 123456789", [("123456789", "PASSPORT_NUMBER")]),
    # dates of birth
    ("生年月日：昭和60年4月12日", [("昭和60年4月12日", "DATE_OF_BIRTH")]),
    ("生年月日 令和元年5月1日", [("令和元年5月1日", "DATE_OF_BIRTH")]),
    ("平成7年１月１７日生まれの社員", [("平成7年１月１７日", "DATE_OF_BIRTH")]),
    ("DOB: 12/04/1985.", [("12/04/1985", "DATE_OF_BIRTH")]),
    ("Date of birth: April 12, 1985", [("April 12, 1985", "DATE_OF_BIRTH")]),
    ("born on 3 March 1990 in Osaka", [("3 March 1990", "DATE_OF_BIRTH")]),
    ("วันเกิด 12 เมษายน 2528", [("12 เมษายน 2528", "DATE_OF_BIRTH")]),
    ("生年月日:S60.4.12", [("S60.4.12", "DATE_OF_BIRTH")]),
    # postal codes and addresses
    ("〒150-0002 東京都渋谷区渋谷1-2-3", [("150-0002", "POSTAL_CODE"), ("東京都渋谷区渋谷1-2-3", "ADDRESS")]),
    ("〒１５０－０００２　東京都渋谷区渋谷１－２－３ 渋谷ビル5F",
     [("１５０－０００２", "POSTAL_CODE"), ("東京都渋谷区渋谷１－２－３ 渋谷ビル5F", "ADDRESS")]),
    ("本社は大阪府大阪市北区梅田2丁目4番9号にあります", [("大阪府大阪市北区梅田2丁目4番9号", "ADDRESS")]),
    ("神奈川県横浜市西区みなとみらい2-2-1", [("神奈川県横浜市西区みなとみらい2-2-1", "ADDRESS")]),
    ("北海道河東郡音更町大通5丁目1番地", [("北海道河東郡音更町大通5丁目1番地", "ADDRESS")]),
    ("郵便番号：530-0001", [("530-0001", "POSTAL_CODE")]),
    # no prefecture: only after an address label or a postal code
    ("住所：横浜市中区山下町1-2 に送付", [("横浜市中区山下町1-2", "ADDRESS")]),
    ("〒231-0023 横浜市中区山下町1-2", [("231-0023", "POSTAL_CODE"), ("横浜市中区山下町1-2", "ADDRESS")]),
    # a building name and room number after the block number
    ("〒453-0015　名古屋市中村区椿町 18-22　メゾン椿 502号室\n",
     [("453-0015", "POSTAL_CODE"), ("名古屋市中村区椿町 18-22　メゾン椿 502号室", "ADDRESS")]),
    ("รหัสไปรษณีย์ 10110", [("10110", "POSTAL_CODE")]),
    # URLs with credentials
    ("git clone https://alice:s3cr3tPass@git.example.com/repo.git now",
     [("https://alice:s3cr3tPass@git.example.com/repo.git", "CREDENTIAL_URL")]),
    ("See https://api.example.com/v1/x?token=abcd1234efgh5678. Thanks",
     [("https://api.example.com/v1/x?token=abcd1234efgh5678", "CREDENTIAL_URL")]),
    ("URLはhttps://files.example.jp/dl?id=7&sig=Zx81kLmQ20pQです",
     [("https://files.example.jp/dl?id=7&sig=Zx81kLmQ20pQ", "CREDENTIAL_URL")]),
    ("hook https://hooks.slack.com/services/T0AAA/B0BBB/xyzXYZ123abc",
     [("https://hooks.slack.com/services/T0AAA/B0BBB/xyzXYZ123abc", "CREDENTIAL_URL")]),
    # API keys and secrets
    ("export OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwxyz123456",
     [("sk-proj-abcdefghijklmnopqrstuvwxyz123456", "SECRET")]),
    ("AWS key AKIAIOSFODNN7EXAMPLE in config", [("AKIAIOSFODNN7EXAMPLE", "SECRET")]),
    ("トークンghp_abcdefghijklmnopqrstuvwxyz0123456789を削除", [("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "SECRET")]),
    ("slack xoxb-1234567890-0987654321-AbCdEfGh", [("xoxb-1234567890-0987654321-AbCdEfGh", "SECRET")]),
    # a Luhn-valid digit run inside a token must not win over the whole token
    ("token xoxb-573733818323-6067496387734-AbCdEfGh12 ok", [("xoxb-573733818323-6067496387734-AbCdEfGh12", "SECRET")]),
    ('{"client_secret": "Qm9yZ2VyIHJ1bGVz4821x"}', [("Qm9yZ2VyIHJ1bGVz4821x", "SECRET")]),
    ("password=Tr0ub4dor&3", [("Tr0ub4dor&3", "SECRET")]),
    ("パスワード：Kx9#mQ2vLp", [("Kx9#mQ2vLp", "SECRET")]),
    # phones: Lao, Thai, full-width, glued
    ("Vientiane office +856 20 5555 1234.", [("+856 20 5555 1234", "PHONE_NUMBER")]),
    ("โทร 02-123-4567 หรือ +66 81 234 5678", [("02-123-4567", "PHONE_NUMBER"), ("+66 81 234 5678", "PHONE_NUMBER")]),
    ("携帯０９０－１２３４－５６７８まで", [("０９０－１２３４－５６７８", "PHONE_NUMBER")]),
    ("the on-call lineTel202-555-0147 after hours", [("202-555-0147", "PHONE_NUMBER")]),
    # wrapped after a hyphen at a line end, as PDF text often is
    ("Call 090-1234-\n5678 today", [("090-1234-\n5678", "PHONE_NUMBER")]),
    # bank accounts by context
    ("三井住友銀行 新宿支店 普通預金 1234567", [("1234567", "BANK_ACCOUNT")]),
    ("Acct. No. 0012345678 at Kasikornbank", [("0012345678", "BANK_ACCOUNT")]),
    # e-mail inside Japanese text: only the address
    ("連絡先はtaro@example.comです", [("taro@example.com", "EMAIL_ADDRESS")]),
]


@pytest.mark.parametrize(("text", "values"), FOUND)
def test_identifier_span(masker: Masker, text: str, values: list[tuple[str, str]]) -> None:
    assert spans(masker, text) == expected(text, *values)


NOT_FOUND = [
    "番号123456789019",  # wrong My Number check digit
    f"Order No. {MY_NUMBER} shipped",  # a valid check digit after an order label
    f"注文番号{MY_NUMBER}",
    "Card 4111 1111 1111 1112 fails the Luhn check",
    "1101700203451",  # wrong Thai checksum
    "Invoice 021234567 total",  # an invoice number is not a phone
    "Invoice INV-2024-000123",
    "会議は2024年3月15日です",  # a date without a birth cue
    "Deadline: 12/04/2025",
    "東京都渋谷区の店舗で",  # a city without a block number
    "横浜市中区山下町1-2で会議",  # no prefecture and no address label
    "password: see the vault",
    "secret=changeme",
    "api_key=<your-api-key>",
    "token: ${GITHUB_TOKEN}",
    "https://example.com/search?q=shochu&page=2",
    "Passport office hours 9-17",
    "Model TX-210 passport holder case",
]


@pytest.mark.parametrize("text", NOT_FOUND)
def test_non_identifier_ignored(masker: Masker, text: str) -> None:
    assert spans(masker, text) == []


def test_thai_id_that_passes_luhn_is_thai_id(masker: Masker) -> None:
    # 3100600000421 passes both the Thai checksum and the Luhn check.
    text = "ID 3100600000421"
    assert is_valid_thai_national_id("3100600000421")
    assert spans(masker, text) == expected(text, ("3100600000421", "TH_NATIONAL_ID"))


@pytest.mark.parametrize(("value", "random"), [
    ("Qm9yZ2VyIHJ1bGVz4821x", True), ("Tr0ub4dor&3", True), ("changeme123", False),
    ("see-the-wiki", False), ("xxxxxxxxxxxxxxxx", False), ("<redacted>", False), ("abcdefgh", False),
])
def test_looks_random(value: str, random: bool) -> None:
    assert looks_random(value) is random


def test_pattern_timeout_withholds_text(masker: Masker, monkeypatch: pytest.MonkeyPatch) -> None:
    # Presidio catches a regex timeout, logs a warning and skips the pattern;
    # the text must be withheld instead of passing with that pattern unapplied.
    import presidio_analyzer.pattern_recognizer as pattern_recognizer

    monkeypatch.setattr(pattern_recognizer, "REGEX_TIMEOUT_SECONDS", 0.000001)
    result = masker.mask("個人番号 " + "1234 " * 200 + MY_NUMBER)
    assert result.text == "[REDACTED]"
    assert {"ShochuMyNumberRecognizer", "ShochuLabelledMyNumberRecognizer"} & set(result.failed)


def test_pattern_timeout_caught_with_presidio_logger_silenced(masker: Masker,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # The CLI raises the presidio-analyzer logger to ERROR; a timeout must still withhold the text.
    import logging

    import presidio_analyzer.pattern_recognizer as pattern_recognizer

    presidio_logger = logging.getLogger("presidio-analyzer")
    monkeypatch.setattr(presidio_logger, "level", logging.ERROR)
    monkeypatch.setattr(pattern_recognizer, "REGEX_TIMEOUT_SECONDS", 0.000001)
    result = masker.mask("個人番号 " + "1234 " * 200 + MY_NUMBER)
    assert result.text == "[REDACTED]"
    assert presidio_logger.level == logging.ERROR
