"""Person names that escaped masking in a first-use trial: split name columns, titles in any case,
one-word sign-offs, Lao titles, three-part names and Japanese signatures. All names are synthetic."""

from __future__ import annotations

import pytest

from shochu.config import ProtectConfig
from shochu.protect import Masker
from shochu.protect.japanese_names import GLUED_PAIR_SCORE, PAIR_SCORE, JapaneseNameRecognizer
from shochu.protect.person import PersonRecognizer


@pytest.fixture(scope="module")
def person() -> PersonRecognizer:
    recognizer = PersonRecognizer()
    recognizer.load()
    return recognizer


def person_spans(recognizer: PersonRecognizer, text: str) -> set[str]:
    return {text[item.start:item.end] for item in recognizer.find(text) if item.score >= 0.4}


# A CSV row as ingest renders it ("column: value" lines), and the same row as an XLSX markdown table.
SPLIT_COLUMNS = [
    ("employee_id: E-1\nfirst_name: Gregory\nlast_name: Ashcombe\nemail: g.ashcombe@example.com",
     "employee_id: E-1\nfirst_name: [PERSON_1]\nlast_name: [PERSON_2]\nemail: [EMAIL_ADDRESS_1]"),
    ("社員番号: 1001\n姓: 山田\n名: 太郎\n部署: 総務",
     "社員番号: 1001\n姓: [PERSON_1]\n名: [PERSON_2]\n部署: 総務"),
    ("| employee_id | first_name | last_name |\n|---|---|---|\n| E-1 | gregory | ashcombe |",
     "| employee_id | first_name | last_name |\n|---|---|---|\n| E-1 | [PERSON_1] | [PERSON_2] |"),
    ("| 社員番号 | 姓 | 名 | 部署 |\n|---|---|---|---|\n| 1001 | 山田 | さくら | 総務 |",
     "| 社員番号 | 姓 | 名 | 部署 |\n|---|---|---|---|\n| 1001 | [PERSON_1] | [PERSON_2] | 総務 |"),
    ("First Name: Gregory\nLast Name: Ashcombe", "First Name: [PERSON_1]\nLast Name: [PERSON_2]"),
    ("given_name: zorba, family_name: QUILLFEATHER", "given_name: [PERSON_1], family_name: [PERSON_2]"),
    ("surname: Pemberton-Vale", "surname: [PERSON_1]"),
    ('{"first_name": "aiko", "last_name": "Mori"}', '{"first_name": "[PERSON_1]", "last_name": "[PERSON_2]"}'),
    ("苗字: 山田\n名前: 太郎", "苗字: [PERSON_1]\n名前: [PERSON_2]"),
    ("姓（漢字）: 山田\nセイ: ヤマダ\nメイ: タロウ", "姓（漢字）: [PERSON_1]\nセイ: [PERSON_2]\nメイ: [PERSON_3]"),
    ("| Last name (kana) | フリガナ |\n|---|---|\n| ヤマダ | ヤマダ タロウ |",
     "| Last name (kana) | フリガナ |\n|---|---|\n| [PERSON_1] | [PERSON_2] |"),
    ("ชื่อจริง: สมชาย\nนามสกุล: ใจดี", "ชื่อจริง: [PERSON_1]\nนามสกุล: [PERSON_2]"),
    ("ຊື່: ສົມສັກ\nນາມສະກຸນ: ພົມມະວົງ", "ຊື່: [PERSON_1]\nນາມສະກຸນ: [PERSON_2]"),
]

NOT_NAMES = [
    "file_name: report.pdf\nhost_name: Alpha\nproduct_name: Widget Pro",
    "名称: 東京\n品名: ネジ\n部署名: 総務部",
    "Last Login: Tuesday",
    "first_name: N/A\nlast_name: none",
    "| file_name | Last Login |\n|---|---|\n| Alpha | Tuesday |",
    "MR. CLEAN is a brand.",
    "The dr. will review it tomorrow.",
    "Open it in MS Office Word.",
    "Thanks, everyone.",
    "Thanks, All",
    "Thanks, Management.",
    "OK. Best, Regards. Bye",
    "ທ່ານສາມາດຕິດຕໍ່ພວກເຮົາ",
    "会議資料\n総務部\n議事 要旨",
]


@pytest.mark.parametrize(("text", "expected"), SPLIT_COLUMNS)
def test_split_name_columns_masked(masker: Masker, text: str, expected: str) -> None:
    assert masker.mask(text).text == expected


@pytest.mark.parametrize("text", NOT_NAMES)
def test_non_names_left_alone(masker: Masker, text: str) -> None:
    assert masker.mask(text).text == text


@pytest.mark.parametrize(("text", "expected"), [
    ("mr. john smith called.", "mr. [PERSON_1] called."),
    ("MRS JANE DOE", "MRS [PERSON_1]"),
    ("Met DR. KENJI SATO today.", "Met DR. [PERSON_1] today."),
    ("mr. john smith and the team", "mr. [PERSON_1] and the team"),
])
def test_title_with_any_case(masker: Masker, text: str, expected: str) -> None:
    assert masker.mask(text).text == expected


def test_any_case_title_spans(person: PersonRecognizer) -> None:
    assert "john smith" in person_spans(person, "mr. john smith called.")
    assert "JANE DOE" in person_spans(person, "MRS JANE DOE")
    assert person_spans(person, "MR. CLEAN MAGIC ERASER") == set()


@pytest.mark.parametrize(("text", "expected"), [
    ("Thanks, Harriet.", "Thanks, [PERSON_1]."),
    ("Thanks, Harriet", "Thanks, [PERSON_1]"),
    ("See you Monday. Best, Tom\n", "See you Monday. Best, [PERSON_1]\n"),
    ("Cheers, Ana\n", "Cheers, [PERSON_1]\n"),
])
def test_sign_off_single_name(masker: Masker, text: str, expected: str) -> None:
    assert masker.mask(text).text == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("ທ້າວສົມສັກ ມາແລ້ວ.", "ທ້າວ[PERSON_1] ມາແລ້ວ."),
    ("ນາງບົວພັນ, ທ່ານຄຳພອນ.", "ນາງ[PERSON_1], ທ່ານ[PERSON_2]."),
    ("ພົບກັບທ່ານນາງວຽງຄຳ ແລ້ວ", "ພົບກັບທ່ານນາງ[PERSON_1] ແລ້ວ"),
])
def test_lao_titles(masker: Masker, text: str, expected: str) -> None:
    assert masker.mask(text).text == expected


def test_lao_name_repeat_keeps_word_boundaries(person: PersonRecognizer) -> None:
    text = "ທ້າວສົມສັກ ມາ. ສົມສັກ ໄປ. ບ້ານສົມສັກ"
    starts = sorted({item.start for item in person.find(text) if text[item.start:item.end] == "ສົມສັກ"})
    assert starts == [4, 15]


@pytest.mark.parametrize(("text", "expected"), [
    ("Mei Lin Tan said the plan was fine.", "[PERSON_1] said the plan was fine."),
    ("Dear Mei Lin Tan,", "Dear [PERSON_1],"),
])
def test_three_part_name(masker: Masker, text: str, expected: str) -> None:
    assert masker.mask(text).text == expected


def test_three_part_name_span(person: PersonRecognizer) -> None:
    spans = person_spans(person, "Mei Lin Tan said the plan was fine.")
    assert "Mei Lin Tan" in spans
    assert "Mei Lin Tan said" not in spans


def test_japanese_signature_line(masker: Masker) -> None:
    text = "株式会社アクメ 総務部\n木村 さくら"
    assert masker.mask(text).text == "株式会社アクメ 総務部\n[PERSON_1]"


def test_japanese_signature_spans(person: PersonRecognizer) -> None:
    assert "木村 さくら" in person_spans(person, "株式会社アクメ 総務部\n木村 さくら")
    assert "木村 さくら" in {"株式会社アクメ\n木村 さくら"[start:end] for start, end, _ in
                           JapaneseNameRecognizer().find("株式会社アクメ\n木村 さくら")}


def test_family_and_given_name_in_compound() -> None:
    text = "田中角栄内閣の時代"
    assert [(text[start:end], score) for start, end, score in JapaneseNameRecognizer().find(text)] == [
        ("田中角栄", PAIR_SCORE)]


def test_known_family_name_masks_whole_name() -> None:
    # 田中 known from elsewhere (0.85) must not win over the full name and leave 角栄 visible.
    masker = Masker(ProtectConfig(), known_names=["田中"])
    assert masker.mask("田中角栄内閣の時代").text == "[PERSON_1]内閣の時代"
    assert masker.mask("田中様へ。田中角栄が来た。").text == "[PERSON_1]様へ。[PERSON_2]が来た。"
    assert masker.mask("営業部田中太郎様").text == "営業部[PERSON_1]様"


def test_known_family_name_before_honorific() -> None:
    # 鴨志田 is in no gazetteer, so only Sudachi's pair covers the given name.
    masker = Masker(ProtectConfig(), known_names=["鴨志田"])
    assert masker.mask("鴨志田一郎様").text == "[PERSON_1]様"


def test_glued_pair_scores_lower() -> None:
    # Sudachi splits 営業部田中太郎 as 営業 + 部田 + 中太郎, so a pair glued to kanji before it stays under 0.85.
    text = "営業部田中太郎が来た"
    assert [(text[start:end], score) for start, end, score in JapaneseNameRecognizer().find(text)] == [
        ("部田中太郎", GLUED_PAIR_SCORE)]
