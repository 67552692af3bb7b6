"""Quality filters, language detection, grounding overlap and extraction validation."""

import pytest

from shochu.build.extraction import describe_fields, first_json_object, parse_extraction
from shochu.build.filters import (
    FilterReport,
    check_language,
    check_length,
    check_refusal,
    check_repetition,
    near_duplicates,
)
from shochu.build.grounding import content_units, overlap
from shochu.build.language import detect_language, languages_match
from shochu.build.templates import DEFAULT_TEMPLATES, render, template_problems
from shochu.config import ExtractionConfig


@pytest.mark.parametrize("text, expected", [
    ("The VPN must be used outside the office.", "en"),
    ("社外秘の文書は共有フォルダに保存しないでください。", "ja"),
    ("AP-200センサーの校正は15分かかります。", "ja"),
    ("東京都千代田区", "zh"),
    ("กรุณาเปลี่ยนรหัสผ่านทุก 90 วัน", "th"),
    ("ຫ້ອງການວຽງຈັນເປີດແລ້ວ", "lo"),
    ("회의는 월요일입니다", "ko"),
    ("12345 [PERSON_1]", "unknown"),
    ("[PERSON_1]さんに連絡してください", "ja"),
])
def test_detect_language(text, expected):
    assert detect_language(text) == expected


def test_languages_match_rules():
    assert languages_match("ja", "ja")
    assert languages_match("ja", "zh")
    assert languages_match("th", "unknown")
    assert not languages_match("ja", "en")
    assert not languages_match("en", "th")


@pytest.mark.parametrize("text, reason", [
    ("I'm sorry, but I cannot answer that question.", "refusal"),
    ("As an AI language model I have no opinion.", "refusal"),
    ("The excerpt does not mention the calibration time.", "refusal"),
    ("申し訳ありませんが、お答えできません。", "refusal"),
    ("抜粋には記載されていません。", "refusal"),
    ("ขออภัย ฉันไม่สามารถตอบได้", "refusal"),
    ("Sure! The VPN is required outside the office.", "boilerplate"),
    ("The VPN is required. I hope this helps!", "boilerplate"),
    ("お役に立てれば幸いです。", "boilerplate"),
    ("What is your name? Please write it down.", "boilerplate"),
    ("The VPN is required whenever staff work outside the office.", None),
    ("校正には15分かかります。", None),
])
def test_check_refusal(text, reason):
    assert check_refusal(text) == reason


def test_check_length_bounds():
    assert check_length("short", 20, 100) == "too_short"
    assert check_length("x" * 101, 20, 100) == "too_long"
    assert check_length("x" * 50, 20, 100) is None


def test_check_repetition():
    assert check_repetition("the sensor is calibrated " * 10, 0.3) == "repeated_ngrams"
    assert check_repetition("The sensor is calibrated at 25 degrees for 15 minutes.", 0.3) is None
    assert check_repetition("校正は毎月行います。" * 6, 0.3) == "repeated_ngrams"


def test_check_language_names_both_languages():
    assert check_language("The answer is in English.", "ja") == "en_for_ja"
    assert check_language("答えは日本語です。", "ja") is None
    assert check_language("42", "th") is None


def test_check_language_flags_foreign_script():
    source = "コンピュータの文書は Unix の情報です。"
    assert check_language("コンピュータの文書は、Unix を説明しまف行的。", "ja", source) == "foreign_script"
    assert check_language("コンピュータの文書は Unix の説明です。", "ja", source) is None
    assert check_language("The VPN is required.", "en", "The VPN rule.") is None
    assert check_language("ข้อความ VPN rule applies.", "en", "The VPN rule.") == "foreign_script"


def test_overlap_separates_grounded_from_off_topic():
    chunk = ("Calibration of the AP-200 sensor takes 15 minutes at 25 degrees. "
             "Technicians record the result in the calibration log.")
    grounded = "Calibration of the AP-200 takes 15 minutes at 25 degrees."
    off_topic = "Japan's labour market offers workers generous pensions and holidays."
    assert overlap(grounded, chunk) > 0.8
    assert overlap(off_topic, chunk) < 0.2


def test_overlap_works_without_spaces():
    chunk = "リモートワークは週に三日まで認められます。申請は上長に提出してください。"
    assert overlap("リモートワークは週に三日までです。", chunk) > 0.6
    assert overlap("東京の天気は晴れです。", chunk) < 0.3
    thai = "พนักงานต้องเปลี่ยนรหัสผ่านทุก 90 วัน"
    assert overlap("เปลี่ยนรหัสผ่านทุก 90 วัน", thai) > 0.8


def test_content_units_skip_stopwords_and_keep_placeholders():
    units = content_units("The manager is [PERSON_1] and the phone is 090.")
    assert "the" not in units
    assert "person_1" in units
    assert "090" in units


def test_near_duplicates_point_to_first_kept():
    questions = ["What is the VPN policy?", "what is the VPN policy", "How long does calibration take?",
                 "VPNの方針は何ですか？", "ＶＰＮの方針は何ですか"]
    assert near_duplicates(questions, 0.7) == [None, 0, None, None, 3]


def test_filter_report_counts_per_task_filter_reason():
    report = FilterReport()
    report.examples_in["qa"] = 5
    report.kept["qa"] = 2
    report.drop("qa", "grounding", "low_overlap")
    report.drop("qa", "grounding", "low_overlap")
    report.drop("qa", "refusal", "boilerplate")
    data = report.as_dict()
    assert data["qa"]["dropped"] == 3
    assert data["qa"]["drops"] == {"grounding": {"low_overlap": 2}, "refusal": {"boilerplate": 1}}
    assert report.summary() == {"qa": {"grounding": 2, "refusal": 1}}


SCHEMA = ExtractionConfig.model_validate({"fields": [
    {"name": "product", "type": "string", "required": True, "description": "product name"},
    {"name": "minutes", "type": "integer"},
    {"name": "date", "type": "date"},
    {"name": "steps", "type": "list"},
]})


@pytest.mark.parametrize("text, reason", [
    ('Here it is: {"product": "AP-200", "minutes": 15}', None),
    ('{"product": "AP-200", "date": "2024-06-10", "steps": ["clean", "zero"]}', None),
    ("The product is the AP-200.", "no_json"),
    ('{"product": "AP-200", "minutes": 15,}', "invalid_json"),
    ('{"product": "AP-200", "colour": "red"}', "unknown_field"),
    ('{"minutes": 15}', "missing_required"),
    ('{"product": "AP-200", "minutes": "fifteen"}', "wrong_type"),
    ('{"product": "AP-200", "date": "10 June"}', "wrong_type"),
    ('{"product": "AP-200", "minutes": true}', "wrong_type"),
])
def test_parse_extraction(text, reason):
    value, problem = parse_extraction(text, SCHEMA)
    assert problem == reason
    if reason is None:
        assert list(value) == ["product", "minutes", "date", "steps"]


def test_first_json_object_skips_braces_in_strings():
    assert first_json_object('x {"a": "}{"} y') == '{"a": "}{"}'


def test_describe_fields_lists_types():
    text = describe_fields(SCHEMA)
    assert "- product (string, required): product name" in text
    assert "- date (date as YYYY-MM-DD)" in text


def test_default_templates_are_valid_and_pick_language():
    for kind, templates in DEFAULT_TEMPLATES.items():
        assert template_problems(kind, templates) == []
    assert render(DEFAULT_TEMPLATES["summary"], "ja", text="本文").startswith("次の社内文書")
    assert render(DEFAULT_TEMPLATES["summary"], "ko", text="x").startswith("Summarise")


def test_template_problems_name_the_placeholder():
    problems = template_problems("answer", {"en": "{text} {foo}", "ja": "{text}{question}"})
    assert any("missing placeholder(s) {question}" in problem for problem in problems)
    assert any("unknown placeholder(s) {foo}" in problem for problem in problems)
    assert template_problems("summary", {"ja": "{text}"}) == [
        "needs an 'en' template, used for languages without their own"]
