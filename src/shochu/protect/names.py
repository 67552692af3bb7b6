"""Person-name word lists: a gazetteer read from Faker, and words that are not names.

No trustworthy offline NER model exists for Japanese, Thai and English person
names, so PERSON detection is rule based. The gazetteer comes from Faker's
per-locale person providers (plain Python tuples and dicts inside the installed
package; nothing is downloaded). It is small, around 1,700 Latin, 200 Japanese
and 750 Thai names, so it raises confidence but never decides alone.
"""

from __future__ import annotations

import importlib
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from spacy.lang.en.stop_words import STOP_WORDS

from shochu.protect import romanized_names as romanized

# Faker locales whose person providers feed the gazetteer.
LOCALES = ("en_US", "ja_JP", "th_TH")
# Faker locales with romanised names: Thai, Chinese (mainland, Taiwan), Vietnamese.
ROMANIZED_LOCALES = ("en_TH", "zh_CN", "zh_TW", "vi_VN")

# Capitalised English words that Faker also lists as first or last names. A
# gazetteer pair where both words are here ("Grant Price") is not a name.
COMMON_WORDS = frozenset("""
Amber Angel April Autumn Bailey Ball Banks Bass Bean Beard Bell Best Bill Bird Bishop Black
Bond Booth Branch Bridges Bright Brook Brooke Brown Buck Bush Cain Cannon Carpenter Case Cash
Chance Chase Cherry Christian Church Clay Cook Cross Crystal Daisy Dale Dawn Day Dean Destiny
Diamond Don Drew Duke Ebony English Faith Farmer Fields Fisher Flowers Ford Fox Frank French
Frost Fry Gamble Gates Gay Gene Glass Golden Good Grace Grant Graves Gray Green Gross Guy Hale
Hall Hardy Hart Heath Herring Hill Holder Holland Holly Hood Hope Horn House Houston Hunt
Hunter Ivy Jack Jade Jay Jordan Joy Key King Knight Lamb Lance Lane Little Long Love Mark
Marks Marsh Mason May Meadows Melody Mercedes Miles Mills Misty Moon Moss Noble Page Park
Parker Parks Pay Peck Penny Pope Porter Potter Powers Price Prince Raven Ray Rich Rivers
Roach Robin Rose Ruby Rush Savage Savannah Sharp Shepherd Short Sierra Skinner Small Snow
Sparks Stark Steele Stone Strong Summer Summers Sydney Taylor Tanner Travis Turner Virginia
Walker Wall Walls Ward Ware Washington Waters Weaver Weeks Wells West White Will Winter Winters
Wise Wolf Wood Woods York Young
January February March June July August September October November December
Monday Tuesday Wednesday Thursday Friday Saturday Sunday
""".split())

# Words that name a role, a group or an organisation. A cue match containing
# one of them ("Dear Customer", "From: IT Support", "Customer: Acme Corp") is
# not a person.
GENERIC_WORDS = frozenset("""
All Everyone Team Teams Customer Customers Client Clients Sir Sirs Madam Colleague Colleagues
Friend Friends Folks Guys There Valued User Users Member Members Partner Partners Staff
Support Service Services Desk Helpdesk Admin Administrator Administrators Manager Managers
Hiring Recruiting Applicant Candidate Department Office Group Division Unit Center Centre
Sales Billing Security Accounts Finance Operations Engineering Legal Marketing Facilities
Reception Payroll Help Info Contact Notifications Notification System Systems Bot Noreply
Corp Corporation Inc Ltd Limited LLC Co Company Bank Hospital University School Institute
Association Committee Board Council Ministry Agency Factory Plant Store Shop Branch
Product Products Device Model Series Sensor Manual Policy Procedure Standard Plan Report
Yes Open Closed Pending Total Tbd Unknown Vacant
Officer Engineer Technician Supervisor Lead Director Head Chief President Vice Secretary Coordinator
Specialist Analyst Assistant Representative Inspector Auditor Intern Trainee Contractor Vendor Supplier
Safety Quality Maintenance Production Warehouse Logistics Purchasing Procurement Accounting Treasury
Compliance Research Development Manufacturing Field Calibration Laboratory Lab Executive Human Resources
Information Technology Khun Express Visa Mastercard Card
Business Hotel Inn Resort City Station Airport Tower Building Road Street Avenue River Temple Shrine Castle
Plaza Mall Port Motor Motors Electric Industries Trading Logistics Holdings
""".split())

# Japanese words that end in the same characters as an honorific without
# being a name, e.g. 仕様 (specification) or お客様 (customer).
JA_NOT_NAMES = frozenset("""
仕 同 多 模 皆 客 貴 神 王 奥 各 外 他 異 有 態 文 紋 一 両 今 上 殿 互 陰 彼 某 母 父 兄 姉 爺 婆 宮 御 娘 坊 嬢
皆々 苦労 馳走 世話 愁傷 生憎 叔父 叔母 伯父 伯母 大家 店員 医者 業者 担当 担当者 社員 職員 会員 利用者
運転手 患者 家族 関係者 旦那 女将 師匠 先輩 後輩 部長 課長 社長 係長 主任 店長 先方 相手 取引先 顧客 各位
お客 御客 乗客 来客 顧問 講師 先生 監督 選手 新人 大工 お医者 同僚 上司 部下 同氏 両氏 彼氏 某氏
""".split())

# Characters that never end a Japanese name but do end common compounds
# before 様 (仕様, 模様, 態様, 紋様, 異様, 多様, 同様).
JA_NOT_NAME_ENDINGS = frozenset("仕模態紋異多同")

# Endings of organisation names, which take 様 or 殿 in business letters.
JA_ORGANISATION_ENDINGS = ("会社", "御中", "部", "課", "社", "店", "室", "係", "局", "所", "院", "校",
                           "会", "組合", "協会", "銀行", "病院", "センター", "グループ", "チーム", "工業", "産業",
                           "商事", "電機", "電気", "化学", "建設", "物産", "商会", "興業", "精機", "重工", "技研",
                           "工場", "部品")

# Thai words that start with a title's letters or follow คุณ ("you") without
# being a name: คุณภาพ (quality), คุณสามารถ (you can), นายจ้าง (employer) ...
TH_NOT_NAMES = (
    "ภาพ", "ค่า", "สมบัติ", "ครู", "ธรรม", "ประโยชน์", "ลักษณะ", "วุฒิ", "จ้าง", "ทุน", "หน้า", "ทะเบียน",
    "อำเภอ", "พล", "ร้อย", "พยาบาล", "แบบ", "ฟ้า", "งาม", "สามารถ", "จะ", "ได้", "เป็น", "ก็", "มี", "ต้อง",
    "ควร", "ไม่", "อาจ", "ยัง", "เคย", "กำลัง", "คือ", "ช่วย", "ทำ", "ใช้", "อยาก", "และ", "หรือ", "ที่",
    "ของ", "ให้", "ว่า", "ครับ", "ค่ะ", "คะ", "จึง", "เอง", "ทุกท่าน", "ทุกคน", "ลูกค้า", "กรัฐมนตรี",
)


@dataclass(frozen=True)
class Gazetteer:
    """Name lists per script; Japanese and Thai lists are sorted longest first."""

    latin_first: frozenset[str]
    latin_last: frozenset[str]
    ja_first: tuple[str, ...]
    ja_last: tuple[str, ...]
    th_first: tuple[str, ...]
    th_last: tuple[str, ...]
    # Romanised Japanese family and given names, for the "Tanaka Hiroshi" rule.
    ja_latin_last: frozenset[str] = frozenset()
    ja_latin_first: frozenset[str] = frozenset()


def _provider(locale: str) -> type:
    return importlib.import_module(f"faker.providers.person.{locale}").Provider


def _names(provider: type, *attributes: str) -> set[str]:
    names: set[str] = set()
    for attribute in attributes:
        names.update(getattr(provider, attribute, ()))
    return names


def _longest_first(names: set[str]) -> tuple[str, ...]:
    return tuple(sorted(names, key=lambda name: (-len(name), name)))


def _strip_diacritics(name: str) -> str:
    """Return a Vietnamese name as it is usually written in English text: Nguyễn becomes Nguyen."""
    decomposed = unicodedata.normalize("NFKD", name.replace("Đ", "D").replace("đ", "d"))
    return "".join(character for character in decomposed if not unicodedata.combining(character))


@lru_cache(maxsize=1)
def load_gazetteer() -> Gazetteer:
    """Read first and last names from Faker's person providers and ``romanized_names.py``.

    Faker's en_US, ja_JP and th_TH providers give names in their own scripts;
    en_TH, zh_CN, zh_TW and vi_VN add romanised Thai, Chinese and Vietnamese names.
    """
    english, japanese, thai = (_provider(locale) for locale in LOCALES)
    thai_latin, chinese, taiwanese, vietnamese = (_provider(locale) for locale in ROMANIZED_LOCALES)
    ja_latin_last = _names(japanese, "last_romanized_names") | set(romanized.JA_FAMILY)
    latin_first = (_names(english, "first_names") | _names(japanese, "first_romanized_names")
                   | _names(thai_latin, "first_names") | _names(chinese, "first_romanized_names")
                   | {name.capitalize() for name in _names(taiwanese, "first_romanized_names")}
                   | {_strip_diacritics(name)
                      for name in _names(vietnamese, "first_names_male", "first_names_female")}
                   | set(romanized.JA_GIVEN) | set(romanized.TH_GIVEN) | set(romanized.LO_GIVEN)
                   | set(romanized.VI_GIVEN))
    latin_last = (_names(english, "last_names") | ja_latin_last | _names(thai_latin, "last_names")
                  | _names(chinese, "last_romanized_names")
                  | {name.capitalize() for name in _names(taiwanese, "last_romanized_names")}
                  | {_strip_diacritics(name) for name in _names(vietnamese, "last_names")}
                  | set(romanized.TH_FAMILY) | set(romanized.LO_FAMILY) | set(romanized.VI_FAMILY))
    return Gazetteer(
        latin_first=frozenset(latin_first),
        latin_last=frozenset(latin_last),
        ja_latin_last=frozenset(ja_latin_last),
        ja_latin_first=frozenset(_names(japanese, "first_romanized_names") | set(romanized.JA_GIVEN)),
        ja_first=_longest_first(_names(japanese, "first_names", "first_kana_names")),
        ja_last=_longest_first(_names(japanese, "last_names", "last_kana_names")),
        th_first=_longest_first(_names(thai, "first_names")),
        th_last=_longest_first(_names(thai, "last_names")),
    )


def is_stop_word(word: str) -> bool:
    """Return True for an English function word ("There", "Will", "May" as a verb)."""
    return word.lower() in STOP_WORDS
