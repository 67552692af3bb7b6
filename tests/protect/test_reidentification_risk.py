"""Records in which quasi-identifiers combine, found with the real recognizers."""

from __future__ import annotations

import pytest

from shochu.config import ProtectConfig, ReidentificationConfig
from shochu.protect import Masker
from shochu.protect.placeholders import Span
from shochu.protect.reidentify import DocumentRisk, QuasiIdentifiers, check_combinations


@pytest.fixture(scope="module")
def quasi() -> QuasiIdentifiers:
    config = ReidentificationConfig()
    return QuasiIdentifiers(config.combinations, config.job_titles)


def _flags(masker: Masker, quasi: QuasiIdentifiers, text: str, whole: bool = False) -> list[tuple[str, ...]]:
    spans, failed = masker.detect(text)
    assert failed == ()
    return [flag.types for flag in quasi.flags(text, spans, whole=whole)]


def test_birth_date_postal_code_gender_flagged(masker: Masker, quasi: QuasiIdentifiers) -> None:
    text = "生年月日：1990年4月1日、〒100-0001、男性"
    assert _flags(masker, quasi, text) == [("DATE_OF_BIRTH", "GENDER", "POSTAL_CODE")]


def test_postal_code_alone_not_flagged(masker: Masker, quasi: QuasiIdentifiers) -> None:
    assert _flags(masker, quasi, "〒100-0001 東京都千代田区") == []


def test_records_are_lines(masker: Masker, quasi: QuasiIdentifiers) -> None:
    text = "Date of birth: 12 March 1985\n\nThe office is at ZIP 94105, see the map."
    assert _flags(masker, quasi, text) == []


@pytest.mark.parametrize("text, expected", [
    ("Date of birth: 12 March 1985, ZIP 94105, female", ("DATE_OF_BIRTH", "GENDER", "POSTAL_CODE")),
    ("วันเกิด 12/03/1985 เพศหญิง", ("DATE_OF_BIRTH", "GENDER")),
    ("生年月日：1990年4月1日　部長", ("DATE_OF_BIRTH", "JOB_TITLE")),
])
def test_languages(masker: Masker, quasi: QuasiIdentifiers, text: str, expected: tuple[str, ...]) -> None:
    assert _flags(masker, quasi, text) == [expected]


def test_thai_name_is_no_gender(masker: Masker, quasi: QuasiIdentifiers) -> None:
    assert _flags(masker, quasi, "คุณสมชาย วันเกิด 12/03/1985") == []


def test_table_row_with_column_names(quasi: QuasiIdentifiers) -> None:
    # The column names make the cells quasi-identifiers without any detected span.
    text = ("| 氏名 | 生年月日 | 郵便番号 | 性別 |\n|---|---|---|---|\n"
            "| [PERSON_1] | 1990/4/1 | 100-0001 | 男 |\n| [PERSON_2] | - | 100-0002 | |\n")
    flags = quasi.flags(text, [])
    assert [(flag.record, flag.types) for flag in flags] == [(0, ("DATE_OF_BIRTH", "GENDER", "POSTAL_CODE"))]


def test_form_block_is_one_record(quasi: QuasiIdentifiers) -> None:
    text = "name: [PERSON_1]\ndob: 1985-03-12\nposition: Widget maker\n\nname: [PERSON_2]\nzip: 94105\n"
    assert [flag.types for flag in quasi.flags(text, [])] == [("DATE_OF_BIRTH", "JOB_TITLE")]


def test_ticket_is_one_record(quasi: QuasiIdentifiers) -> None:
    text = "Subject: Address change\n\nBorn 1985.\nI moved; I work as an engineer."
    spans = [Span(text.index("1985"), text.index("1985") + 4, "DATE_OF_BIRTH", 0.9)]
    assert quasi.flags(text, spans) == []
    assert [flag.types for flag in quasi.flags(text, spans, whole=True)] == [("DATE_OF_BIRTH", "JOB_TITLE")]


def test_extra_job_titles() -> None:
    quasi = QuasiIdentifiers([["DATE_OF_BIRTH", "JOB_TITLE"]], ["widget maker"])
    text = "1985-03-12 widget maker"
    assert [flag.types for flag in quasi.flags(text, [Span(0, 10, "DATE_OF_BIRTH", 0.9)])] == [
        ("DATE_OF_BIRTH", "JOB_TITLE")]


def test_document_risk_counts_combinations(quasi: QuasiIdentifiers) -> None:
    text = "1990/4/1 男性\nfoo\n1991/5/2 女性\n1992/6/3 100-0001\n"
    spans = [Span(text.index(value), text.index(value) + len(value), entity_type, 0.9)
             for value, entity_type in [("1990/4/1", "DATE_OF_BIRTH"), ("1991/5/2", "DATE_OF_BIRTH"),
                                        ("1992/6/3", "DATE_OF_BIRTH"), ("100-0001", "POSTAL_CODE")]]
    risk = DocumentRisk()
    risk.add(quasi.flags(text, spans))
    assert risk.to_dict() == {"flagged_records": 3, "combinations": [
        {"types": ["DATE_OF_BIRTH", "GENDER"], "records": 2},
        {"types": ["DATE_OF_BIRTH", "POSTAL_CODE"], "records": 1}]}


def test_unknown_combination_type_rejected() -> None:
    config = ProtectConfig(reidentification={"combinations": [["DATE_OF_BIRTH", "DOB"]]})
    with pytest.raises(ValueError, match=r"combinations\[0\]: unknown type DOB"):
        check_combinations(config, ("PERSON", "DATE_OF_BIRTH", "POSTAL_CODE"))


def test_undetected_combination_types_listed() -> None:
    config = ProtectConfig(entities=["PERSON"])
    assert check_combinations(config, ("PERSON", "DATE_OF_BIRTH", "POSTAL_CODE")) == ["DATE_OF_BIRTH",
                                                                                       "POSTAL_CODE"]


def test_default_combinations_all_detected() -> None:
    assert check_combinations(ProtectConfig(), ("PERSON", "DATE_OF_BIRTH", "POSTAL_CODE")) == []
