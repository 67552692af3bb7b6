"""Generate the labelled PII benchmark: English, Japanese and Thai texts with exact ground-truth spans.

Every text is assembled piece by piece, so the offsets of each entity are
known exactly rather than found again by a pattern. Values are synthetic and
valid where a check exists: phone numbers pass libphonenumber's validity
test, cards the Luhn check, IBANs mod 97, My Numbers and Thai ids their check
digits. Hard cases are marked in ``Case.tags``: ``glued`` (no space around
the value), ``full_width`` (full-width digits and hyphens), ``dashed``,
``line_break`` (the value starts a line after its label, or a name is split
over two lines), ``table`` (inside a Markdown table).

Names come from other sources than the recognizers' gazetteers where
possible: English names from Faker's en_GB and en_IE lists (the recognizers
read Faker's en_US and en_IN lists and the 1990 US census), and Asian names from the lists in this file, written separately
from ``src/shochu/protect/romanized_names.py``. ``name_overlap`` reports how
many of them the gazetteers contain anyway. The negative texts hold look-alikes
(invoice numbers, meeting dates, model numbers, wrong check digits) and
have no entities at all.

Usage: ``generate_cases(seed)`` returns the list of cases; run this file to print a few.
"""

from __future__ import annotations

import importlib
import random
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field

import phonenumbers

from shochu.protect.checksums import my_number_check_digit

# Entity types that count as structured identifiers for the recall target.
STRUCTURED = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "JP_MY_NUMBER", "TH_NATIONAL_ID", "BANK_ACCOUNT")


@dataclass
class Case:
    """One benchmark text with its ground-truth spans ``(start, end, entity type)``."""

    language: str
    text: str = ""
    spans: list[tuple[int, int, str]] = field(default_factory=list)
    tags: set[str] = field(default_factory=set)

    def add(self, piece: str) -> Case:
        self.text += piece
        return self

    def entity(self, value: str, entity_type: str) -> Case:
        self.spans.append((len(self.text), len(self.text) + len(value), entity_type))
        self.text += value
        return self


# --- name lists ------------------------------------------------------------------------

def _faker_names(locale: str, attribute: str) -> list[str]:
    provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
    names = getattr(provider, attribute)
    names = names.keys() if isinstance(names, dict) else names
    return sorted({name for name in names if re.fullmatch(r"[A-Z][a-z]{2,11}", name)})


EN_FIRST = _faker_names("en_GB", "first_names") + _faker_names("en_IE", "first_names")
EN_LAST = _faker_names("en_GB", "last_names") + _faker_names("en_IE", "last_names")

# Romanised Asian names for the benchmark, chosen independently of the recognizers' lists.
JA_LATIN_FAMILY = ("Hamasaki Yokota Kanda Moriyama Tsutsumi Ebihara Kishimoto Nakahara Shiraishi Takamura Nishio "
                   "Kataoka Hosokawa Ichinose Matsubara Oyama Uchiyama Kuwahara Sekiguchi Tanabe").split()
JA_LATIN_GIVEN = ("Ryuichi Kohei Shintaro Haruki Masahiro Takahiro Yasuhiro Norihiko Kazuhiro Mayu Chiaki "
                  "Kazumi Rieko Satomi Tomoka Yoshie Misato Kanako Asami Harumi").split()
TH_LATIN_GIVEN = ("Somchai Anucha Kittichai Worawut Phatcharin Siriporn Chanida Nattawut Pornpimol Sukanya "
                  "Thanaporn Wichit Arthit Ratchada Kamonwan").split()
TH_LATIN_FAMILY = ("Jaidee Rattanawong Sukhumvong Chaiwattana Boonsri Thepsuwan Sangkhaphan Wongpaiboon "
                   "Srisombat Kaewprasert Phetcharat Ruangrit").split()
VI_NAMES = ("Nguyen Van An", "Tran Thi Mai", "Le Van Hung", "Pham Thi Lan", "Hoang Duc Minh", "Vu Thi Hoa",
            "Dang Van Nam", "Bui Thi Thu Trang")
LO_NAMES = ("Bounmy Keomany", "Khamla Sihavong", "Vilay Inthavong", "Souliya Phommasone")
JA_FAMILY = "佐々木 高田 村井 大塚 小西 石原 野村 菅原 平野 松井 河合 宮下 青山 古川 片山 杉本".split()
JA_GIVEN = "浩二 千尋 雅人 直美 健太郎 由美子 隆 彩 翔 真由美 大輔 恵".split()
TH_FIRST = "สมชาย สุภาพร วิไลวรรณ ประเสริฐ อรทัย ธนพล จันทร์เพ็ญ ณัฐพล พิมพ์ชนก อนุชา".split()
TH_LAST = "ใจดี ศรีสุข วงศ์สวัสดิ์ แก้วมณี ทองดี บุญมา รัตนพงษ์ สุขเจริญ".split()


def name_overlap() -> dict[str, tuple[int, int]]:
    """Return, per list, how many benchmark names the recognizers' gazetteers contain, and the list size."""
    from shochu.protect.names import load_gazetteer

    names = load_gazetteer()
    latin = names.latin_first | names.latin_last
    lists = {
        "English first (Faker en_GB, en_IE)": (EN_FIRST, latin),
        "English last (Faker en_GB, en_IE)": (EN_LAST, latin),
        "romanised Japanese": (JA_LATIN_FAMILY + JA_LATIN_GIVEN, latin),
        "romanised Thai": (TH_LATIN_GIVEN + TH_LATIN_FAMILY, latin),
        "Japanese kanji": (JA_FAMILY + JA_GIVEN, set(names.ja_first) | set(names.ja_last)),
        "Thai script": (TH_FIRST + TH_LAST, set(names.th_first) | set(names.th_last)),
    }
    return {label: (sum(name in known for name in values), len(values)) for label, (values, known) in lists.items()}


# --- value generators -----------------------------------------------------------------------

FULL_WIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(count))


def _valid_phone(rng: random.Random, region: str, template: Callable[[random.Random], str]) -> str:
    for _ in range(200):
        value = template(rng)
        if phonenumbers.is_valid_number(phonenumbers.parse(value, region)):
            return value
    raise RuntimeError(f"no valid {region} number from the template")


PHONES: dict[str, list[tuple[str, Callable[[random.Random], str]]]] = {
    "ja": [
        ("JP", lambda rng: f"03-{_digits(rng, 4)}-{_digits(rng, 4)}"),
        ("JP", lambda rng: f"090-{_digits(rng, 4)}-{_digits(rng, 4)}"),
        ("JP", lambda rng: f"06-{_digits(rng, 4)}-{_digits(rng, 4)}"),
        ("JP", lambda rng: f"+81 80-{_digits(rng, 4)}-{_digits(rng, 4)}"),
    ],
    "th": [
        ("TH", lambda rng: f"02-{_digits(rng, 3)}-{_digits(rng, 4)}"),
        ("TH", lambda rng: f"08{rng.randint(1, 9)}-{_digits(rng, 3)}-{_digits(rng, 4)}"),
        ("TH", lambda rng: f"+66 8{rng.randint(1, 9)} {_digits(rng, 3)} {_digits(rng, 4)}"),
        ("LA", lambda rng: f"+856 20 {rng.choice('2579')}{_digits(rng, 3)} {_digits(rng, 4)}"),
    ],
    "en": [
        ("US", lambda rng: f"202-555-01{_digits(rng, 2)}"),
        ("US", lambda rng: f"(415) 555-01{_digits(rng, 2)}"),
        ("GB", lambda rng: f"+44 20 7946 0{_digits(rng, 3)}"),
        ("LA", lambda rng: f"+856 20 {rng.choice('2579')}{_digits(rng, 3)} {_digits(rng, 4)}"),
        ("TH", lambda rng: f"+66 2 {_digits(rng, 3)} {_digits(rng, 4)}"),
    ],
}


def phone(rng: random.Random, language: str) -> str:
    region, template = rng.choice(PHONES[language])
    return _valid_phone(rng, region, template)


def luhn_card(rng: random.Random) -> str:
    prefix = rng.choice(["4", "51", "52", "53", "55"])
    body = prefix + _digits(rng, 15 - len(prefix))
    total = 0
    for index, digit in enumerate(reversed(body)):
        value = int(digit) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    number = body + str((10 - total % 10) % 10)
    style = rng.choice([" ", "-", ""])
    return style.join(number[i:i + 4] for i in range(0, 16, 4))


def iban(rng: random.Random) -> str:
    country, bban = rng.choice([("DE", _digits(rng, 18)), ("GB", "WEST" + _digits(rng, 14)),
                                ("FR", _digits(rng, 23))])
    rearranged = bban + country + "00"
    numeric = "".join(str(int(character, 36)) for character in rearranged)
    check = 98 - int(numeric) % 97
    value = f"{country}{check:02d}{bban}"
    return " ".join(value[i:i + 4] for i in range(0, len(value), 4)) if rng.random() < 0.5 else value


def my_number(rng: random.Random) -> str:
    first = str(rng.randint(1, 9)) + _digits(rng, 10)
    value = first + str(my_number_check_digit(first))
    return rng.choice([value, f"{value[:4]} {value[4:8]} {value[8:]}", f"{value[:4]}-{value[4:8]}-{value[8:]}"])


def wrong_my_number(rng: random.Random) -> str:
    first = str(rng.randint(1, 9)) + _digits(rng, 10)
    return first + str((my_number_check_digit(first) + rng.randint(1, 9)) % 10)


def _thai_check(first: str) -> str:
    total = sum(int(digit) * (13 - index) for index, digit in enumerate(first))
    return str((11 - total % 11) % 10)


def thai_id(rng: random.Random) -> str:
    first = str(rng.randint(1, 8)) + _digits(rng, 11)
    value = first + _thai_check(first)
    if rng.random() < 0.6:
        return f"{value[0]}-{value[1:5]}-{value[5:10]}-{value[10:12]}-{value[12]}"
    return value


def wrong_thai_id(rng: random.Random) -> str:
    first = str(rng.randint(1, 8)) + _digits(rng, 11)
    return first + str((int(_thai_check(first)) + rng.randint(1, 9)) % 10)


def passport(rng: random.Random) -> str:
    return rng.choice(["TK", "TR", "MZ", "AA", "AB", "P"]) + _digits(rng, 7)


ERAS = (("昭和", 30, 63), ("平成", 1, 30), ("令和", 1, 5))
EN_MONTHS = "January February March April May June July August September October November December".split()
TH_MONTHS = ("มกราคม กุมภาพันธ์ มีนาคม เมษายน พฤษภาคม มิถุนายน กรกฎาคม สิงหาคม กันยายน ตุลาคม พฤศจิกายน ธันวาคม"
             .split())


def birth_date(rng: random.Random, language: str) -> str:
    day, month, year = rng.randint(1, 28), rng.randint(1, 12), rng.randint(1950, 2005)
    if language == "ja":
        era, low, high = rng.choice(ERAS)
        return rng.choice([f"{era}{rng.randint(low, high)}年{month}月{day}日", f"{year}年{month}月{day}日"])
    if language == "th":
        return f"{day} {TH_MONTHS[month - 1]} {year + 543}"
    return rng.choice([f"{day:02d}/{month:02d}/{year}", f"{EN_MONTHS[month - 1]} {day}, {year}",
                       f"{year}-{month:02d}-{day:02d}", f"{day} {EN_MONTHS[month - 1]} {year}"])


PREFECTURE_CITIES = (("東京都", "港区", "芝浦"), ("東京都", "新宿区", "西新宿"), ("大阪府", "大阪市北区", "梅田"),
                     ("神奈川県", "横浜市中区", "山下町"), ("愛知県", "名古屋市中村区", "名駅"),
                     ("福岡県", "福岡市博多区", "博多駅前"), ("北海道", "札幌市中央区", "大通西"),
                     ("京都府", "京都市下京区", "烏丸通"), ("埼玉県", "さいたま市大宮区", "桜木町"))


def address(rng: random.Random) -> str:
    prefecture, city, town = rng.choice(PREFECTURE_CITIES)
    block = rng.choice([f"{rng.randint(1, 5)}-{rng.randint(1, 20)}-{rng.randint(1, 30)}",
                        f"{rng.randint(1, 5)}丁目{rng.randint(1, 20)}番{rng.randint(1, 30)}号"])
    building = rng.choice(["", f" {rng.choice(['アクメ', '第一', '中央'])}ビル{rng.randint(2, 12)}F"])
    return f"{prefecture}{city}{town}{block}{building}"


def postal_code(rng: random.Random) -> str:
    return f"{rng.randint(100, 999)}-{_digits(rng, 4)}"


def email(rng: random.Random) -> str:
    local = rng.choice([f"{rng.choice(EN_FIRST).lower()}.{rng.choice(EN_LAST).lower()}",
                        f"{rng.choice(JA_LATIN_FAMILY).lower()}{rng.randint(1, 99)}", f"user{_digits(rng, 4)}"])
    return f"{local}@{rng.choice(['example.com', 'example.co.jp', 'example.co.th', 'corp.example.net'])}"


def _token(rng: random.Random, length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def secret(rng: random.Random) -> str:
    upper_digits = string.ascii_uppercase + string.digits
    return rng.choice([
        "sk-proj-" + _token(rng, 40), "ghp_" + _token(rng, 36), "AKIA" + _token(rng, 16, upper_digits),
        "xoxb-" + _digits(rng, 12) + "-" + _digits(rng, 13) + "-" + _token(rng, 24), "AIza" + _token(rng, 35),
    ])


def credential_url(rng: random.Random) -> str:
    host = rng.choice(["api.example.com", "files.example.jp", "storage.example.net"])
    return rng.choice([
        f"https://{rng.choice(EN_FIRST).lower()}:{_token(rng, 12)}@{host}/repo.git",
        f"https://{host}/v1/export?token={_token(rng, 24)}",
        f"https://{host}/download?id={rng.randint(1, 999)}&sig={_token(rng, 32)}",
    ])


def bank_account(rng: random.Random, language: str) -> tuple[str, str]:
    """Return (label text before the number, number)."""
    if language == "ja":
        return rng.choice([("口座番号：", _digits(rng, 7)), ("みずほ銀行 渋谷支店 普通 ", _digits(rng, 7)),
                           ("振込先 三菱UFJ銀行 梅田支店 普通預金 ", _digits(rng, 7))])
    if language == "th":
        number = _digits(rng, 10)
        return rng.choice([("เลขที่บัญชี ", f"{number[:3]}-{number[3]}-{number[4:9]}-{number[9]}"),
                           ("บัญชีเลขที่ ", number)])
    return rng.choice([("Account No.: ", _digits(rng, 8)), ("account number ", _digits(rng, 10)),
                       ("A/C no. ", _digits(rng, 9))])


# --- texts -------------------------------------------------------------------------------------

def _en_name(rng: random.Random) -> str:
    return f"{rng.choice(EN_FIRST)} {rng.choice(EN_LAST)}"


def _asian_latin_name(rng: random.Random) -> str:
    return rng.choice([
        f"{rng.choice(JA_LATIN_FAMILY)} {rng.choice(JA_LATIN_GIVEN)}",
        f"{rng.choice(JA_LATIN_GIVEN)} {rng.choice(JA_LATIN_FAMILY)}",
        f"{rng.choice(TH_LATIN_GIVEN)} {rng.choice(TH_LATIN_FAMILY)}",
        rng.choice(VI_NAMES), rng.choice(LO_NAMES),
    ])


def _ja_name(rng: random.Random, space: bool) -> str:
    return f"{rng.choice(JA_FAMILY)}{' ' if space else ''}{rng.choice(JA_GIVEN)}"


def _th_name(rng: random.Random) -> str:
    return f"{rng.choice(TH_FIRST)} {rng.choice(TH_LAST)}"


def en_contact(rng: random.Random) -> Case:
    return (Case("en").add("Please contact ").entity(_en_name(rng), "PERSON").add(" at ")
            .entity(email(rng), "EMAIL_ADDRESS").add(" or ").entity(phone(rng, "en"), "PHONE_NUMBER")
            .add(" if the delivery is late."))


def en_letter(rng: random.Random) -> Case:
    case = Case("en").add(f"Dear {rng.choice(['Mr.', 'Ms.', 'Dr.'])} ").entity(rng.choice(EN_LAST), "PERSON")
    case.add(",\n\nYour card ").entity(luhn_card(rng), "CREDIT_CARD").add(" was declined on the last payment.")
    case.add("\n\nBest regards,\n").entity(_en_name(rng), "PERSON").add("\nCustomer Care | Tel ")
    return case.entity(phone(rng, "en"), "PHONE_NUMBER").add("\n")


def en_asian_names(rng: random.Random) -> Case:
    case = Case("en").entity(_asian_latin_name(rng), "PERSON").add(" approved the purchase order, and ")
    return case.entity(_asian_latin_name(rng), "PERSON").add(" will ship it from the Bangkok warehouse.")


def en_table(rng: random.Random) -> Case:
    case = Case("en", tags={"table"}).add("| Name | Phone | Email |\n|---|---|---|\n")
    for _ in range(2):
        case.add("| ").entity(rng.choice([_en_name, _asian_latin_name])(rng), "PERSON").add(" | ")
        case.entity(phone(rng, "en"), "PHONE_NUMBER").add(" | ").entity(email(rng), "EMAIL_ADDRESS").add(" |\n")
    return case


def en_glued(rng: random.Random) -> Case:
    case = Case("en", tags={"glued"}).add("For urgent issues use the on-call lineTel")
    case.entity(_valid_phone(rng, "US", lambda r: f"202-555-01{_digits(r, 2)}"), "PHONE_NUMBER")
    return case.add(" after hours or mail:").entity(email(rng), "EMAIL_ADDRESS").add(".")


def en_secrets(rng: random.Random) -> Case:
    case = Case("en").add("Set OPENAI_API_KEY=").entity(secret(rng), "SECRET").add(" in the runner, then fetch ")
    return case.entity(credential_url(rng), "CREDENTIAL_URL").add(".")


def en_bank(rng: random.Random) -> Case:
    label, number = bank_account(rng, "en")
    case = Case("en").add(f"Please pay into {label}").entity(number, "BANK_ACCOUNT").add(" or IBAN ")
    return case.entity(iban(rng), "IBAN_CODE").add(". The VPN gateway is ").entity(
        f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}", "IP_ADDRESS").add(".")


def en_travel(rng: random.Random) -> Case:
    case = Case("en").add("Traveller: ").entity(_en_name(rng), "PERSON").add("\nPassport No.: ")
    case.entity(passport(rng), "PASSPORT_NUMBER").add("\nDate of birth: ").entity(birth_date(rng, "en"), "DATE_OF_BIRTH")
    return case.add("\nNational ID ").entity(thai_id(rng), "TH_NATIONAL_ID").add(" (Thai staff only)\n")


def en_line_break(rng: random.Random) -> Case:
    case = Case("en", tags={"line_break"}).add("Mobile:\n").entity(phone(rng, "en"), "PHONE_NUMBER")
    case.add("\nThe report was written by ").entity(f"{rng.choice(EN_FIRST)}\n{rng.choice(EN_LAST)}", "PERSON")
    return case.add(" and reviewed last week.")


def en_lao(rng: random.Random) -> Case:
    case = Case("en").add("Vientiane office: ").entity(_valid_phone(rng, "LA", PHONES["th"][3][1]), "PHONE_NUMBER")
    return case.add(". My Number: ").entity(my_number(rng), "JP_MY_NUMBER").add(" (Japan payroll).")


def ja_letter(rng: random.Random) -> Case:
    case = Case("ja").entity(_ja_name(rng, rng.random() < 0.5), "PERSON").add("様\n\nいつもお世話になっております。ご登録の電話番号")
    case.entity(phone(rng, "ja"), "PHONE_NUMBER").add("と住所〒").entity(postal_code(rng), "POSTAL_CODE").add(" ")
    return case.entity(address(rng), "ADDRESS").add("を確認しました。")


def ja_glued(rng: random.Random) -> Case:
    case = Case("ja", tags={"glued"}).add("連絡先は").entity(email(rng), "EMAIL_ADDRESS").add("です。携帯")
    return case.entity(phone(rng, "ja").replace(" ", ""), "PHONE_NUMBER").add("までお願いします。")


def ja_full_width(rng: random.Random) -> Case:
    value = _valid_phone(rng, "JP", lambda r: f"090-{_digits(r, 4)}-{_digits(r, 4)}").translate(FULL_WIDTH)
    case = Case("ja", tags={"full_width"}).add("携帯：").entity(value, "PHONE_NUMBER").add("、個人番号")
    return case.entity(my_number(rng).translate(FULL_WIDTH), "JP_MY_NUMBER").add("を提出してください。")


def ja_personal(rng: random.Random) -> Case:
    case = Case("ja").add("氏名：").entity(_ja_name(rng, True), "PERSON").add("\n生年月日：")
    case.entity(birth_date(rng, "ja"), "DATE_OF_BIRTH").add("\n旅券番号 ").entity(passport(rng), "PASSPORT_NUMBER")
    label, number = bank_account(rng, "ja")
    return case.add(f"\n{label}").entity(number, "BANK_ACCOUNT").add("\n")


def ja_table(rng: random.Random) -> Case:
    case = Case("ja", tags={"table"}).add("| 担当者 | 電話 | メール |\n|---|---|---|\n")
    for _ in range(2):
        case.add("| ").entity(_ja_name(rng, True), "PERSON").add(" | ").entity(phone(rng, "ja"), "PHONE_NUMBER")
        case.add(" | ").entity(email(rng), "EMAIL_ADDRESS").add(" |\n")
    return case


def ja_secrets(rng: random.Random) -> Case:
    case = Case("ja").add("APIキーは").entity(secret(rng), "SECRET").add("です。カード番号")
    return case.entity(luhn_card(rng), "CREDIT_CARD").add("は削除してください。")


def ja_line_break(rng: random.Random) -> Case:
    case = Case("ja", tags={"line_break"}).add("電話番号：\n").entity(phone(rng, "ja"), "PHONE_NUMBER")
    case.add("\nマイナンバー：\n").entity(my_number(rng), "JP_MY_NUMBER").add("\n携帯は")
    # A number wrapped after a hyphen at the line end.
    wrapped = _valid_phone(rng, "JP", lambda r: f"090-{_digits(r, 4)}-{_digits(r, 4)}")
    return case.entity(wrapped[:9] + "\n" + wrapped[9:], "PHONE_NUMBER").add("です。\n")


def th_letter(rng: random.Random) -> Case:
    case = Case("th").add(f"เรียน {rng.choice(['คุณ', 'นาย', 'นางสาว'])}").entity(_th_name(rng), "PERSON")
    case.add("\n\nกรุณาติดต่อกลับที่ ").entity(phone(rng, "th"), "PHONE_NUMBER").add(" หรืออีเมล ")
    return case.entity(email(rng), "EMAIL_ADDRESS").add(" ค่ะ")


def th_identity(rng: random.Random) -> Case:
    case = Case("th").add("เลขประจำตัวประชาชน ").entity(thai_id(rng), "TH_NATIONAL_ID").add(" วันเกิด ")
    case.entity(birth_date(rng, "th"), "DATE_OF_BIRTH").add(" หนังสือเดินทางเลขที่ ")
    return case.entity(passport(rng), "PASSPORT_NUMBER")


def th_glued(rng: random.Random) -> Case:
    case = Case("th", tags={"glued"}).add("โทร").entity(phone(rng, "th").replace(" ", ""), "PHONE_NUMBER")
    label, number = bank_account(rng, "th")
    return case.add(f"ครับ {label}").entity(number, "BANK_ACCOUNT").add("ครับ")


def th_table(rng: random.Random) -> Case:
    case = Case("th", tags={"table"}).add("| ชื่อ | โทรศัพท์ |\n|---|---|\n")
    for _ in range(2):
        case.add(f"| {rng.choice(['นาย', 'นาง', 'คุณ'])}").entity(_th_name(rng), "PERSON").add(" | ")
        case.entity(phone(rng, "th"), "PHONE_NUMBER").add(" |\n")
    return case


def th_dashed(rng: random.Random) -> Case:
    value = thai_id(rng)
    if "-" not in value:
        value = f"{value[0]}-{value[1:5]}-{value[5:10]}-{value[10:12]}-{value[12]}"
    case = Case("th", tags={"dashed"}).add("บัตรประชาชนเลขที่").entity(value, "TH_NATIONAL_ID")
    return case.add(" ส่งรหัส ").entity(secret(rng), "SECRET").add(" ให้ทีมไอที")


# --- negatives: look-alikes with no personal data ---------------------------------------------------

def en_negative(rng: random.Random) -> Case:
    return Case("en", tags={"negative"}).add(rng.choice([
        f"Invoice INV-2024-{_digits(rng, 6)} for order {wrong_my_number(rng)} totals $1,234.50, due 2024-03-15.",
        f"Model PX-300 rev 3, firmware v2.4.{rng.randint(0, 9)}, serial SN {_digits(rng, 4)}-{_digits(rng, 4)}.",
        f"The review on April {rng.randint(1, 28)}, 2024 moved to room {rng.randint(100, 999)}.",
        "Visit Osaka Castle, then the Chiang Mai branch and the Ho Chi Minh City office.",
        "See https://example.com/docs?page=2&lang=en for details; set api_key=<your-key> in config.yaml.",
        f"Reference {wrong_thai_id(rng)} is not valid, and Order No. {my_number(rng).replace(' ', '')} shipped.",
        "Sato Engineering and Honda Motor sent quotes for the Long Term Care project.",
        f"Range 4-20 mA, 10-30 V DC, ISO 9001:2015, netmask 255.255.255.0, port {rng.randint(1000, 9999)}.",
        f"Support hours are 9:00-17:00; tracking number 1Z{_digits(rng, 16)}; ISBN 978-4-06-{_digits(rng, 6)}-7.",
        "The Project Manager and the Quality Assurance Lead met General Affairs and Human Resources.",
        f"Release 2.{rng.randint(0, 9)}.{rng.randint(0, 9)}.{rng.randint(10, 99)} fixes ticket #{_digits(rng, 7)}.",
        "Grant Thornton audited Green Field Logistics; Summer Sale starts in May.",
    ]))


def ja_negative(rng: random.Random) -> Case:
    return Case("ja", tags={"negative"}).add(rng.choice([
        f"会議は2024年{rng.randint(1, 12)}月{rng.randint(1, 28)}日に変更になりました。",
        f"注文番号{my_number(rng).replace(' ', '').replace('-', '')}の商品を出荷しました。",
        f"製品番号PX-300の在庫は{rng.randint(1, 9)},200台です。",
        "東京都渋谷区の店舗と大阪府の工場で販売中です。",
        f"番号{wrong_my_number(rng)}は無効です。",
        f"品質報告書 第{rng.randint(1, 40)}版 ISO 9001:2015 対応",
        f"受付時間は9:00-17:00、問い合わせ番号{_digits(rng, 10)}をご用意ください。",
        "東京都の本社と大阪府大阪市の支店で研修を行います。",
        f"部品番号 A-{_digits(rng, 4)}-{_digits(rng, 4)} を発注しました。",
    ]))


def th_negative(rng: random.Random) -> Case:
    return Case("th", tags={"negative"}).add(rng.choice([
        f"ประชุมวันที่ {rng.randint(1, 28)} มีนาคม 2567 เวลา 10:00 น.",
        f"ใบแจ้งหนี้เลขที่ INV-2567-{_digits(rng, 5)} ยอดรวม 12,500 บาท",
        f"รุ่น TX-210 จำนวน {rng.randint(2, 90)} เครื่อง ส่งจากคลังสินค้าบางพลี",
        f"เลขอ้างอิง {wrong_thai_id(rng)} ไม่ถูกต้อง",
        f"เวลาทำการ 08:30-17:30 น. รหัสสินค้า TX-{_digits(rng, 4)}",
        "คุณภาพของสินค้าเป็นไปตามมาตรฐาน ISO 9001",
    ]))


TEMPLATES: tuple[Callable[[random.Random], Case], ...] = (
    en_contact, en_letter, en_asian_names, en_table, en_glued, en_secrets, en_bank, en_travel, en_line_break,
    en_lao, ja_letter, ja_glued, ja_full_width, ja_personal, ja_table, ja_secrets, ja_line_break, th_letter,
    th_identity, th_glued, th_table, th_dashed, en_negative, ja_negative, th_negative,
)


def generate_cases(seed: int = 20241205, repeats: int = 12) -> list[Case]:
    """Return ``repeats`` cases of every template, drawn with ``seed``."""
    rng = random.Random(seed)
    return [template(rng) for _ in range(repeats) for template in TEMPLATES]


if __name__ == "__main__":
    cases = generate_cases()
    print(f"{len(cases)} cases, {sum(len(case.spans) for case in cases)} entities")
    for case in cases[:25]:
        print(repr(case.text), [(case.text[start:end], kind) for start, end, kind in case.spans])
