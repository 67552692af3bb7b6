"""Recognizers for national ids, passport numbers and dates of birth.

Like ``recognizers.py`` they run on NFKC-normalised text, where full-width
digits and hyphens are already ASCII. They bound digits with ``(?<!\\d)`` and
``(?!\\d)`` instead of ``\\b``, so that a number glued to kanji, kana or Thai
letters (``個人番号123456789018です``) is still found with exact edges.

- My Number (Japan's 12-digit individual number): the check digit is
  validated (formula in ``checksums.py``), so a random 12-digit order number
  passes only by the chance of about 1 in 10 that its last digit matches.
- Thai national id: 13 digits with the mod-11 checksum, written plain, with
  spaces or in the dashed form 1-2345-67890-12-3.
- Passport numbers and dates of birth carry no checksum, so they are taken
  only after a label (``Passport No.``, 旅券番号, 生年月日, DOB, วันเกิด), or,
  for a date, before 生/生まれ.
"""

from __future__ import annotations

import re
import unicodedata

from presidio_analyzer import Pattern, PatternRecognizer

from shochu.protect.checksums import is_valid_my_number, is_valid_thai_national_id
from shochu.protect.recognizers import DigitGate, FailClosed, NeedleGate

# Digit-group separators after NFKC: hyphen, space, the Unicode dashes, the
# minus sign and the katakana prolonged sound mark used as a hyphen.
SEP = r"[ \-\u2010-\u2015\u2212\u30fc]"
# A number is not part of a longer digit run, also not one grouped with
# separators ("4111 1111 1111 1111" contains no 12-digit My Number).
_NOT_AFTER_DIGITS = rf"(?<!\d)(?<!\d{SEP})"
_NOT_BEFORE_DIGITS = rf"(?!\d|{SEP}\d)"


# --- My Number -------------------------------------------------------------------------


# Labels of other 12-digit numbers: about one in ten of them passes the check digit by chance.
_OTHER_NUMBER_LABEL = (r"(?i:order|invoice|inv\.?|po|p\.o\.|ticket|serial|s/n|sn|tracking|ref(?:erence)?"
                       r"|receipt|transaction|part)(?:[ \t]*(?i:no\.?|number|#|id))?"
                       r"|注文番号|受注番号|請求書番号|伝票番号|製造番号|製品番号|受付番号|問い合わせ番号|管理番号|追跡番号|品番"
                       r"|เลขที่ใบสั่งซื้อ|เลขที่ใบแจ้งหนี้|เลขที่ใบเสร็จ")


class MyNumberRecognizer(FailClosed, DigitGate, PatternRecognizer):
    """Japanese My Number (個人番号): 12 digits, plain or in groups of four, with a valid check digit."""

    MIN_DIGITS = 12

    PATTERNS = [
        Pattern("my number",
                # The look-ahead adds no condition. It lets the regex engine skip the label
                # look-behind wherever no 12 digits follow, which ran 8 times faster on real text.
                rf"(?=\d{{4}}{SEP}?\d{{4}}{SEP}?\d{{4}}){_NOT_AFTER_DIGITS}"
                rf"(?<!(?:{_OTHER_NUMBER_LABEL})[^\d\n]{{0,12}})"
                rf"\d{{4}}({SEP}?)\d{{4}}\1\d{{4}}{_NOT_BEFORE_DIGITS}",
                0.5),
    ]
    CONTEXT = ["マイナンバー", "個人番号", "my number", "mynumber"]

    def __init__(self) -> None:
        super().__init__(supported_entity="JP_MY_NUMBER", name="ShochuMyNumberRecognizer",
                         patterns=self.PATTERNS, context=self.CONTEXT)

    def validate_result(self, pattern_text: str) -> bool:
        return is_valid_my_number(pattern_text)


# --- Thai national id --------------------------------------------------------------------


# 13-digit barcodes (JAN, EAN, GTIN, ISBN) pass the Thai checksum one time in ten,
# so a number right after a barcode label is not taken for an id.
_NOT_AFTER_BARCODE_LABEL = (r"(?<!(?i:jan|ean|ean-13|gtin|isbn|isbn-13|upc|barcode|bar code|バーコード|商品コード)"
                            r"(?:[ \t]*(?i:code|コード|no\.?|number))?[ \t:：#\-]{0,3})")


class ThaiNationalIdRecognizer(FailClosed, DigitGate, PatternRecognizer):
    """Thai national id (เลขประจำตัวประชาชน): 13 digits with a valid checksum."""

    MIN_DIGITS = 13

    PATTERNS = [
        # 1-2345-67890-12-3 or 1 2345 67890 12 3, as printed on the card
        Pattern("grouped",
                rf"(?=\d){_NOT_AFTER_DIGITS}\d({SEP})\d{{4}}\1\d{{5}}\1\d{{2}}\1\d{_NOT_BEFORE_DIGITS}", 0.5),
        Pattern("plain",
                rf"(?=\d){_NOT_AFTER_DIGITS}{_NOT_AFTER_BARCODE_LABEL}\d{{13}}{_NOT_BEFORE_DIGITS}", 0.5),
    ]
    CONTEXT = ["เลขประจำตัวประชาชน", unicodedata.normalize("NFKC", "เลขประจำตัวประชาชน"), "บัตรประชาชน",
               "national id", "id card", "citizen id"]

    def __init__(self) -> None:
        super().__init__(supported_entity="TH_NATIONAL_ID", name="ShochuThaiNationalIdRecognizer",
                         patterns=self.PATTERNS, context=self.CONTEXT)

    def validate_result(self, pattern_text: str) -> bool:
        return is_valid_thai_national_id(pattern_text)


class LabelledIdentifierRecognizer(FailClosed, NeedleGate, PatternRecognizer):
    """An identifier written right after its own label, masked even when its check digit is wrong.

    A mistyped national id is still personal data, and its label says what it is, so no
    checksum is asked of it here. Numbers without a label still need a valid checksum.
    """

    ENTITY = ""
    LABEL = ""
    DIGITS = ""

    def __init__(self) -> None:
        # Detection runs on NFKC text, where Thai ำ becomes ํ + า: match the label in both forms.
        label = f"{self.LABEL}|{unicodedata.normalize('NFKC', self.LABEL)}"
        pattern = Pattern("after its label", rf"(?:{label})[^\d\n]{{0,12}}?\K{_NOT_AFTER_DIGITS}"
                                             rf"{self.DIGITS}{_NOT_BEFORE_DIGITS}", 0.85)
        super().__init__(supported_entity=self.ENTITY, name=f"Shochu{type(self).__name__}",
                         patterns=[pattern], global_regex_flags=re.MULTILINE | re.IGNORECASE)


class LabelledThaiNationalIdRecognizer(LabelledIdentifierRecognizer):
    """A 13-digit Thai national id after เลขประจำตัวประชาชน, บัตรประชาชน or "national id"."""

    ENTITY = "TH_NATIONAL_ID"
    LABEL = r"เลขประจำตัวประชาชน|บัตรประชาชน|national[ \t]*id|citizen[ \t]*id"
    NEEDLES = ("ประชาชน", unicodedata.normalize("NFKC", "ประชาชน"), "national", "citizen")
    DIGITS = rf"\d({SEP}?)\d{{4}}\1\d{{5}}\1\d{{2}}\1\d"


class LabelledMyNumberRecognizer(LabelledIdentifierRecognizer):
    """A 12-digit My Number after マイナンバー, 個人番号 or "my number"."""

    ENTITY = "JP_MY_NUMBER"
    LABEL = r"マイナンバー|個人番号|my[ \t]*number"
    NEEDLES = ("マイナンバー", "個人番号", "my")
    DIGITS = rf"\d{{4}}({SEP}?)\d{{4}}\1\d{{4}}"


# --- passport numbers ------------------------------------------------------------------------

_PASSPORT_LABEL = (
    r"(?i:passport)(?:[ \t]*(?i:number|num\.?|no\.?|#))?|旅券番号|旅券|パスポート番号|パスポート"
    r"|เลขที่หนังสือเดินทาง|เลขหนังสือเดินทาง|หนังสือเดินทาง(?:เลขที่)?|ໜັງສືຜ່ານແດນ(?:ເລກທີ)?"
)


class PassportRecognizer(FailClosed, NeedleGate, PatternRecognizer):
    """Passport numbers after a passport label: one or two letters and 6 to 8 digits, or 8 or 9 digits.

    That covers Japanese (TK1234567), Thai (AA1234567), Lao (P1234567), US
    and UK (9 digits) passports. NOTE: a number more than 20 characters after
    its label is missed.
    """

    PATTERNS = [
        Pattern("after passport label",
                rf"(?:{_PASSPORT_LABEL})[^\d\n]{{0,20}}?\K(?<![A-Za-z0-9])"
                r"(?:[A-Z]{1,2}\d{6,8}|\d{8,9})"
                r"(?![A-Za-z0-9])", 0.85),
    ]
    NEEDLES = ("passport", "旅券", "パスポート", "หนังสือเดินทาง", "ໜັງສືຜ່ານແດນ")

    def __init__(self) -> None:
        # Case-sensitive, so that the letters of a word after the label are no passport prefix.
        super().__init__(supported_entity="PASSPORT_NUMBER", name="ShochuPassportRecognizer",
                         patterns=self.PATTERNS, global_regex_flags=re.MULTILINE)


# --- dates of birth -----------------------------------------------------------------------------

_EN_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
             r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_TH_MONTH = (r"(?:มกราคม|กุมภาพันธ์|มีนาคม|เมษายน|พฤษภาคม|มิถุนายน|กรกฎาคม|สิงหาคม|กันยายน|ตุลาคม"
             r"|พฤศจิกายน|ธันวาคม|ม\.ค\.|ก\.พ\.|มี\.ค\.|เม\.ย\.|พ\.ค\.|มิ\.ย\.|ก\.ค\.|ส\.ค\.|ก\.ย\.|ต\.ค\."
             r"|พ\.ย\.|ธ\.ค\.)")
_ERA = r"(?:令和|平成|昭和|大正|明治)"
_DATE_SEP = r"[./\-]"

# 昭和60年4月12日, 令和元年5月1日, 1985年4月12日, 昭和60年(1985年)4月12日
JA_DATE = rf"(?:{_ERA}(?:元|\d{{1,2}})|\d{{4}})年(?:\(\d{{4}}年?\))?\d{{1,2}}月\d{{1,2}}日"
DATE = (
    rf"(?:{JA_DATE}"
    # S60.4.12, H7/1/17: an era initial and the year of the era
    rf"|[MTSHR](?:元|\d{{1,2}}){_DATE_SEP}\d{{1,2}}{_DATE_SEP}\d{{1,2}}"
    rf"|\d{{4}}{_DATE_SEP}\d{{1,2}}{_DATE_SEP}\d{{1,2}}|\d{{1,2}}{_DATE_SEP}\d{{1,2}}{_DATE_SEP}\d{{4}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?[ \t]+(?:of[ \t]+)?{_EN_MONTH},?[ \t]+\d{{4}}"
    rf"|{_EN_MONTH}[ \t]+\d{{1,2}}(?:st|nd|rd|th)?,?[ \t]+\d{{4}}"
    rf"|\d{{1,2}}[ \t]*{_TH_MONTH}[ \t]*(?:พ\.ศ\.[ \t]*)?\d{{4}})"
)
_BIRTH_LABEL = (
    r"date[ \t]+of[ \t]+birth|birth[ \t]*date|birthday|d\.?o\.?b\.?|born(?:[ \t]+on)?"
    r"|生年月日|誕生日|วัน[ \t/]*เดือน[ \t/]*ปี[ \t]*เกิด|วันเกิด|เกิดวันที่|เกิดเมื่อ(?:วันที่)?"
    r"|ວັນ[ \t/]*ເດືອນ[ \t/]*ປີ[ \t]*ເກີດ|ວັນເກີດ"
)


class DateOfBirthRecognizer(FailClosed, NeedleGate, PatternRecognizer):
    """Dates of birth: a date after a birth label, or a Japanese date directly before 生/生まれ.

    Dates without such a cue (meeting dates, deadlines) are left alone.
    """

    PATTERNS = [
        Pattern("after birth label",
                rf"(?<![A-Za-z])(?:{_BIRTH_LABEL})[^\d\n]{{0,12}}?\K(?<![\dA-Za-z]){DATE}(?!\d)", 0.85),
        Pattern("before 生まれ", rf"(?<!\d){JA_DATE}(?=[ \t]*生)", 0.85),
    ]
    # d.o.b may carry its dots anywhere; 生 is in 生年月日, 誕生日 and 生まれ; เกิด and ເກີດ in every Thai and Lao label.
    NEEDLES = ("birth", "dob", "d.ob", "do.b", "d.o.b", "born", "生", "เกิด", "ເກີດ")

    def __init__(self) -> None:
        super().__init__(supported_entity="DATE_OF_BIRTH", name="ShochuDateOfBirthRecognizer",
                         patterns=self.PATTERNS)
