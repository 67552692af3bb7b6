"""Recognizers for postal codes and Japanese street addresses.

A Japanese address starts with one of the 47 prefectures (都道府県), then one
to three municipality parts ending in 市, 区, 郡, 町 or 村, the town name and
a block number (1-2-3, 2丁目4番9号, 123番地), optionally followed by a
building name and a floor or room. A prefecture and city without a block
number ("東京都渋谷区の店舗") names a place, not a person's address, and is
left alone. Without a prefecture, an address counts only after 住所, 所在地 or a
〒 postal code.

In any script, the rest of a line after an address label (Address:, Home
address:, ที่อยู่, ທີ່ຢູ່) is an address when a digit, a comma or a Thai or Lao
word for a district or province follows soon after the label. NOTE: an
English, Thai or Lao address without such a label ("42 Kingsley Road,
Bristol" in running text) is not recognised.
"""

from __future__ import annotations

import re

from presidio_analyzer import Pattern, PatternRecognizer

from shochu.protect.recognizers import FailClosed, NeedleGate

PREFECTURES = (
    "北海道 青森県 岩手県 宮城県 秋田県 山形県 福島県 茨城県 栃木県 群馬県 埼玉県 千葉県 東京都 神奈川県 新潟県 富山県 "
    "石川県 福井県 山梨県 長野県 岐阜県 静岡県 愛知県 三重県 滋賀県 京都府 大阪府 兵庫県 奈良県 和歌山県 鳥取県 島根県 "
    "岡山県 広島県 山口県 徳島県 香川県 愛媛県 高知県 福岡県 佐賀県 長崎県 熊本県 大分県 宮崎県 鹿児島県 沖縄県"
).split()

# Place names written in hiragana; other hiragana ends an address, since it is
# usually a particle (に, で, から).
_HIRAGANA_PLACES = "みなとみらい|さいたま|つくば|ひたちなか|いわき|あきる|ふじみ|むつ|つがる|かほく|たつの|うるま|いすみ|みよし|えびの"
# の and が inside a place name before more kanji or katakana: 丸の内, 霞が関, 自由が丘.
_PLACE_CHAR = rf"(?:[\p{{Han}}\p{{Katakana}}ーヶ々ノ]|[のが](?=[\p{{Han}}\p{{Katakana}}])|{_HIRAGANA_PLACES})"
_HYPHEN = r"[\-\u2010-\u2015\u2212\u30fc]"
_MUNICIPALITY = rf"(?:{_PLACE_CHAR}{{1,8}}?(?:市|区|郡|町|村))"
# 1-2-3, 2丁目4番9号, 1丁目1-1, 123番地, 5番地の2, and Sapporo's grid: 北1条西2丁目1番地
_BLOCK = rf"\d{{1,5}}(?:(?:丁目|番地の?|番|号|条[東西南北]?|{_HYPHEN}|の)\d{{1,5}}){{0,4}}(?:丁目|番地|番|号)?"
_BUILDING = (
    rf"(?:[ 　]?[\p{{Han}}\p{{Katakana}}ーA-Za-z・]{{1,16}}?(?:ビル|タワー|マンション|ハイツ|コーポ|レジデンス|ヒルズ|プラザ|荘|館|棟)"
    rf"(?:[ 　]?\d{{1,4}}(?:階|F|号室|号)?)?|[ 　]?\d{{1,4}}(?:階|F|号室)"
    # メゾン椿 502号室: any building name followed by a room or floor
    rf"|[ 　]?[\p{{Han}}\p{{Katakana}}ーA-Za-z・]{{1,16}}[ 　]?\d{{1,4}}(?:号室|階|F))"
)

_AFTER_PREFECTURE = rf"{_MUNICIPALITY}{{1,3}}{_PLACE_CHAR}{{0,12}}?(?<!\d)[ 　]?{_BLOCK}(?!\d){_BUILDING}?"
ADDRESS = rf"(?:{'|'.join(PREFECTURES)}){_AFTER_PREFECTURE}"
# 住所：横浜市中区山下町1-2, 〒231-0023 横浜市中区山下町1-2: without a prefecture, only after a label.
_ADDRESS_LABEL = r"住所|所在地|現住所|(?:[〒〶][ 　]?\d{3}[\-\u2010-\u2015\u2212\u30fc]?\d{4})"


class JapaneseAddressRecognizer(FailClosed, NeedleGate, PatternRecognizer):
    """Japanese street addresses from the prefecture to the block number, building and room."""

    PATTERNS = [
        Pattern("prefecture to block number", ADDRESS, 0.85),
        Pattern("municipality to block number after a label",
                rf"(?:{_ADDRESS_LABEL})[:： 　]{{0,3}}\K(?!{'|'.join(PREFECTURES)}){_AFTER_PREFECTURE}", 0.85),
    ]
    # Every prefecture name ends in 都, 道, 府 or 県.
    NEEDLES = ("都", "道", "府", "県", "住所", "所在地", "〒", "〶")

    def __init__(self) -> None:
        super().__init__(supported_entity="ADDRESS", name="ShochuJapaneseAddressRecognizer",
                         patterns=self.PATTERNS, global_regex_flags=re.MULTILINE)


# A British postcode: outward code (area letters, district digits) and inward code
# (a digit and two letters; Royal Mail never uses C, I, K, M, O or V there).
_UK_POSTCODE = r"(?<![A-Za-z0-9])[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[ABD-HJLNP-UW-Z]{2}(?![A-Za-z0-9])"
_POSTAL_LABEL = r"郵便番号|(?i:postal[ \t]+code|post[ \t]*code|zip(?:[ \t]+code)?)|รหัสไปรษณีย์|ລະຫັດໄປສະນີ"


class PostalCodeRecognizer(FailClosed, NeedleGate, PatternRecognizer):
    """Postal codes: digits after 〒, and digits or a British postcode after a label (郵便番号, ZIP, รหัสไปรษณีย์).

    The 〒 mark itself stays in the text: 〒[POSTAL_CODE_1].
    """

    PATTERNS = [
        Pattern("after postal mark", rf"(?<=[〒〶][ 　]?)\d{{3}}{_HYPHEN}?\d{{4}}(?!\d)", 0.85),
        # 郵便番号：150-0002, ZIP 94105, รหัสไปรษณีย์ 10110
        Pattern("after postal label",
                rf"(?:{_POSTAL_LABEL})[^\d\n]{{0,6}}?\K(?<!\d)"
                rf"(?:\d{{3}}{_HYPHEN}\d{{4}}|\d{{5}}(?:-\d{{4}})?)(?!\d)",
                0.85),
        # Postcode: SW1A 1AA, NW1 6XE, M1 1AE
        Pattern("British postcode after postal label",
                rf"(?:{_POSTAL_LABEL})[^\w\n]{{0,6}}\K{_UK_POSTCODE}", 0.85),
        # A British postcode further from its label ("the postcode is SW1A 1AA"): only a
        # context word lifts it above the default threshold.
        Pattern("British postcode", _UK_POSTCODE, 0.3),
    ]
    NEEDLES = ("〒", "〶", "郵便番号", "post", "zip", "รหัสไปรษณีย์", "ລະຫັດໄປສະນີ")
    CONTEXT = ["postcode", "post code", "postal code", "postal"]

    def __init__(self) -> None:
        super().__init__(supported_entity="POSTAL_CODE", name="ShochuPostalCodeRecognizer",
                         patterns=self.PATTERNS, context=self.CONTEXT, global_regex_flags=re.MULTILINE)


# Thai and Lao words for the parts of an address: village, sub-district, district,
# province, road, lane (หมู่บ้าน, ตำบล, อำเภอ, จังหวัด, แขวง, เขต, ถนน, ซอย; ບ້ານ, ເມືອງ, ແຂວງ, ນະຄອນຫຼວງ).
_TH_LO_PLACE_WORDS = ("หมู่บ้าน|หมู่|ตำบล|อำเภอ|จังหวัด|แขวง|เขต|ถนน|ซอย|บ้านเลขที่"
                      "|ບ້ານ|ເມືອງ|ແຂວງ|ນະຄອນຫຼວງ|ຖະໜົນ|ຖະຫນົນ")


class LabelledAddressRecognizer(FailClosed, NeedleGate, PatternRecognizer):
    """Addresses in any script after an address label: the rest of the line, when it looks like an address.

    It looks like one when a digit follows soon after the label (a house or
    postal number). It also does when an English label is followed by parts
    separated by a comma ("Flat B, Rosewood Court, Leeds"), and when a Thai or
    Lao label is followed by a word for a village, district or province (ตำบล, ເມືອງ).

    "IP address", "MAC address", "e-mail address" and "web address" are not
    address labels. An English label needs a colon, so that "address the
    issue" is no label.
    """

    PATTERNS = [
        Pattern("rest of the line after an address label",
                r"(?<![A-Za-z])(?<!(?i:ip|mac|e-?mail|web|url|server|memory|return|network|wallet)[ \t_\-]?)"
                r"(?i:(?:home|mailing|postal|street|residential|billing|shipping|delivery|office|registered"
                r"|permanent|current)[ \t_\-]?)?(?i:address)[ \t]*[:：][ \t]*\K(?=[^\n]{0,40}[\d,])"
                r"\S(?:[^\n]{0,158}\S)?"
                rf"|(?:ที่อยู่|ທີ່ຢູ່)[ \t]*[:：]?[ \t]*\K(?=[^\n]{{0,40}}(?:\d|{_TH_LO_PLACE_WORDS}))"
                r"\S(?:[^\n]{0,158}\S)?",
                0.85),
    ]
    NEEDLES = ("address", "ที่อยู่", "ທີ່ຢູ່")

    def __init__(self) -> None:
        super().__init__(supported_entity="ADDRESS", name="ShochuLabelledAddressRecognizer",
                         patterns=self.PATTERNS, global_regex_flags=re.MULTILINE)
