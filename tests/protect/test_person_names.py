"""PERSON detection from context cues and the Faker gazetteer; all names are synthetic."""

from __future__ import annotations

import pytest

from shochu.protect import Masker
from shochu.protect.person import PersonRecognizer

MASKED = [
    # English cues
    ("Dear John Smith,\nThanks.", "Dear [PERSON_1],\nThanks."),
    ("Hi Will, see below.", "Hi [PERSON_1], see below."),
    ("Please ask Mr. Tanaka first.", "Please ask Mr. [PERSON_1] first."),
    ("Dr. Emily Carter will call.", "Dr. [PERSON_1] will call."),
    ("Best regards,\nHanako Yamada", "Best regards,\n[PERSON_1]"),
    ("Thanks, Priya\n", "Thanks, [PERSON_1]\n"),
    ("From: Taro Tanaka <taro@example.com>", "From: [PERSON_1] <[EMAIL_ADDRESS_1]>"),
    ("To: Jane Doe; IT Support", "To: [PERSON_1]; IT Support"),
    ("customer: Maria Garcia, product: PX-300", "customer: [PERSON_1], product: PX-300"),
    ('{"name": "Kenji Sato", "plan": "basic"}', '{"name": "[PERSON_1]", "plan": "basic"}'),
    ("Attendees: Alice Brown, Bob Lee (Sales)", "Attendees: [PERSON_1], [PERSON_2] (Sales)"),
    ("Attendees:\n- Alice Brown\n- Somsak Wongsa", "Attendees:\n- [PERSON_1]\n- [PERSON_2]"),
    ("Hi, this is Somchai from IT.", "Hi, this is [PERSON_1] from IT."),
    ("営業部の田中と申します。", "営業部の[PERSON_1]と申します。"),
    ("ผมชื่อสมชาย ครับ", "ผมชื่อ[PERSON_1] ครับ"),
    # gazetteer pair without a cue, and a later mention of a found name
    ("Mark Johnson approved it.", "[PERSON_1] approved it."),
    ("Dear Taro Tanaka,\nTanaka will visit.", "Dear [PERSON_1],\n[PERSON_2] will visit."),
    # Japanese
    ("田中太郎様", "[PERSON_1]様"),
    ("山田さんに確認します", "[PERSON_1]さんに確認します"),
    ("営業部の佐藤様へ", "営業部の[PERSON_1]様へ"),
    ("営業部田中太郎様", "営業部[PERSON_1]様"),
    ("田中 太郎様", "[PERSON_1]様"),
    ("担当者：山田花子", "担当者：[PERSON_1]"),
    ("出席者: 鈴木花子様、タナカさん", "出席者: [PERSON_1]様、[PERSON_2]さん"),
    ("お疲れさまです。製品技術部の石塚です。", "お疲れさまです。製品技術部の[PERSON_1]です。"),
    ("口座名義　イシヅカ　ナオキ", "口座名義　[PERSON_1]"),
    ("事務所のKhamlaさんが訪問", "事務所の[PERSON_1]さんが訪問"),
    ("Please ask Okamoto-san.", "Please ask [PERSON_1]-san."),
    # Thai
    ("คุณสมชาย โทรมา", "คุณ[PERSON_1] โทรมา"),
    ("นางสาวมาลี ใจดี แจ้งว่า", "นางสาว[PERSON_1] แจ้งว่า"),
    ("- คุณเฉลิม สุขประเสริฐ เจ้าหน้าที่ความปลอดภัย", "- คุณ[PERSON_1] เจ้าหน้าที่ความปลอดภัย"),
    ("คุณสุภาภรณ์แจ้งตัวเลข", "คุณ[PERSON_1]แจ้งตัวเลข"),
    # markdown minutes, tables and contact lines
    ("- **Chair:** Takeshi Kuroda (IT Manager)", "- **Chair:** [PERSON_1] (IT Manager)"),
    ("**Present:** Aiko Fujimura (Finance), Mai Sakurai (IT Helpdesk, minutes)",
     "**Present:** [PERSON_1] (Finance), [PERSON_2] (IT Helpdesk, minutes)"),
    ("- 出席者：石塚 直樹（製品技術部、議長）、浜田 大輔", "- 出席者：[PERSON_1]（製品技術部、議長）、[PERSON_2]"),
    ("| Name | Site |\n| --- | --- |\n| Ryo Hashimoto | Nagoya |",
     "| Name | Site |\n| --- | --- |\n| [PERSON_1] | Nagoya |"),
    ("| No. | 内容 | 担当 |\n|---|---|---|\n| 3 | 仕様書の改訂 | 石塚 |",
     "| No. | 内容 | 担当 |\n|---|---|---|\n| 3 | 仕様書の改訂 | [PERSON_1] |"),
    ("- Legal, Miho Sasaki: 090-1234-5678", "- Legal, [PERSON_1]: [PHONE_NUMBER_1]"),
    ("Card 4012 8888 8888 1881 (Visa), holder Kittipong Rerkchai.",
     "Card [CREDIT_CARD_1] (Visa), holder [PERSON_1]."),
    ("Attention: receiving dock, Mike Darrow.", "Attention: receiving dock, [PERSON_1]."),
    ("Acme Precision Components, Tel: 02-123-4567", "Acme Precision Components, Tel: [PHONE_NUMBER_1]"),
]

UNCHANGED = [
    "Will May attend the review?",
    "Grant access to Hunter.",
    "John visited the plant.",
    "Hi team, Hi There, Dear Customer, Dear Valued Customer,",
    "Best regards,\nThe Support Team",
    "Product name: Pressure Transmitter",
    "Windows 10, Microsoft Office and Adobe Acrobat.",
    "仕様書と同様に、お客様と皆様へお知らせします。",
    "ご担当者様、部長さん",
    "ขอบคุณครับ คุณภาพดี",
    "คุณสามารถรีเซ็ตรหัสผ่านได้ นายจ้างต้องอนุมัติ",
    "| รายการ | กรกฎาคม | มิถุนายน |",
    "東海樹脂工業様への説明会",
    "**Secretary:** Safety Officer",
    "| Product name | Price |\n| --- | --- |\n| Pressure Transmitter | 100 |",
]


@pytest.mark.parametrize(("text", "expected"), MASKED)
def test_person_masked(masker: Masker, text: str, expected: str) -> None:
    assert masker.mask(text).text == expected


@pytest.mark.parametrize("text", UNCHANGED)
def test_non_person_unchanged(masker: Masker, text: str) -> None:
    assert masker.mask(text).text == text


def test_japanese_honorific_name_masked(masker: Masker) -> None:
    assert masker.mask("田中太郎様").counts == {"PERSON": 1}


def test_thai_title_name_masked(masker: Masker) -> None:
    assert masker.mask("คุณสมชาย").text == "คุณ[PERSON_1]"


def test_lone_gazetteer_word_scores_below_threshold() -> None:
    results = PersonRecognizer().analyze("Report from Garcia.", ["PERSON"])
    assert [(result.start, result.end) for result in results] == [(12, 18)]
    assert results[0].score < 0.4


def test_name_pair_scores_above_threshold() -> None:
    results = PersonRecognizer().analyze("Maria Garcia called.", ["PERSON"])
    assert max(result.score for result in results if (result.start, result.end) == (0, 12)) >= 0.4


def test_common_word_pair_not_a_name() -> None:
    assert PersonRecognizer().analyze("Grant Price", ["PERSON"]) == []
