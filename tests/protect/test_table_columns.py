"""Dates of birth, postal codes and bank accounts found by their table column or form field name."""

from __future__ import annotations

import logging
from pathlib import Path

import openpyxl
import pytest

from shochu.config import ReidentificationConfig, RunConfig
from shochu.ingest import stage as ingest_stage
from shochu.protect import Masker
from shochu.protect import stage as protect_stage
from shochu.protect.columns import (
    BankAccountColumnRecognizer,
    DateOfBirthColumnRecognizer,
    PhoneNumberColumnRecognizer,
    PostalCodeColumnRecognizer,
    field_entity,
    find_column_values,
    split_cells,
)
from shochu.protect.reidentify import QuasiIdentifiers
from shochu.workspace import Workspace, read_json, read_jsonl

PEOPLE_CSV = ("name,date_of_birth,postal_code,job_title\n"
              "Anna Berg,1988-11-02,10115,Head of Treasury\n"
              "Kenji Sato,1979-08-23,150-0002,経理部長\n")

APPLICANTS_MD = ("# Applicants\n\n"
                 "| id | date of birth | postcode | position | gender |\n"
                 "|---|---|---|---|---|\n"
                 "| A-17 | 1988-11-02 | 10115 | Head of Treasury | female |")

# What ingest writes for an XLSX payroll sheet.
PAYROLL_SHEET = ("## Payroll\n\n"
                 "| Name | Account No. | 口座番号 | Amount |\n"
                 "| --- | --- | --- | --- |\n"
                 "| Anna Berg | 31926819 | 1029384 | 5000 |")


def _values(text: str) -> list[tuple[str, str]]:
    return [(value.entity_type, text[value.start:value.end]) for value in find_column_values(text)]


def _found(masker: Masker, text: str) -> list[tuple[str, str]]:
    spans, failed = masker.detect(text)
    assert failed == ()
    return [(span.entity_type, text[span.start:span.end]) for span in spans]


# --- field names -------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "expected"), [
    ("date_of_birth", "DATE_OF_BIRTH"),
    ("Date of Birth", "DATE_OF_BIRTH"),
    ("date-of-birth", "DATE_OF_BIRTH"),
    ("birth_date", "DATE_OF_BIRTH"),
    ("birthDate", "DATE_OF_BIRTH"),
    ("dateOfBirth", "DATE_OF_BIRTH"),
    ("DOB", "DATE_OF_BIRTH"),
    ("customer_dob", "DATE_OF_BIRTH"),
    ("Date of birth (YYYY-MM-DD)", "DATE_OF_BIRTH"),
    ("生年月日", "DATE_OF_BIRTH"),
    ("誕生日", "DATE_OF_BIRTH"),
    ("วันเกิด", "DATE_OF_BIRTH"),
    ("postal_code", "POSTAL_CODE"),
    ("zip_code", "POSTAL_CODE"),
    ("ZIPCode", "POSTAL_CODE"),
    ("Postcode", "POSTAL_CODE"),
    ("postalCode", "POSTAL_CODE"),
    ("郵便番号", "POSTAL_CODE"),
    ("〒", "POSTAL_CODE"),
    ("รหัสไปรษณีย์", "POSTAL_CODE"),
    ("Account No.", "BANK_ACCOUNT"),
    ("account_no", "BANK_ACCOUNT"),
    ("accountNumber", "BANK_ACCOUNT"),
    ("Bank account", "BANK_ACCOUNT"),
    ("A/C No", "BANK_ACCOUNT"),
    ("口座番号", "BANK_ACCOUNT"),
    ("振込先口座番号", "BANK_ACCOUNT"),
    ("เลขที่บัญชี", "BANK_ACCOUNT"),
    ("phone", "PHONE_NUMBER"),
    ("Home Phone No.", "PHONE_NUMBER"),
    ("mobile_number", "PHONE_NUMBER"),
    ("TEL", "PHONE_NUMBER"),
    ("Tel. No.", "PHONE_NUMBER"),
    ("cell_no", "PHONE_NUMBER"),
    ("電話番号", "PHONE_NUMBER"),
    ("携帯番号", "PHONE_NUMBER"),
    ("FAX番号", "PHONE_NUMBER"),
    ("เบอร์โทร", "PHONE_NUMBER"),
])
def test_field_names_recognised(name: str, expected: str) -> None:
    assert field_entity(name) == expected


@pytest.mark.parametrize("name", [
    "date", "created_at", "order_date", "zip", "account", "account_type", "account_manager", "account_id",
    "口座名義", "birth_place", "date of birth verified", "position", "phone_model", "telemetry", "hotel", "Motel", "cell", "",
])
def test_other_field_names_rejected(name: str) -> None:
    assert field_entity(name) is None


def test_bare_zip_only_when_allowed() -> None:
    assert field_entity("zip", zip_allowed=True) == "POSTAL_CODE"
    assert field_entity("ZIP", zip_allowed=False) is None


# --- cells ---------------------------------------------------------------------------------------


def test_csv_cells_keep_quoted_delimiters() -> None:
    line = 'Anna,"Main St 1, apt 2",10115'
    cells = split_cells(line, 100, ",")
    assert [cell.text for cell in cells] == ["Anna", "Main St 1, apt 2", "10115"]
    assert [(cell.start, cell.end) for cell in cells] == [(100, 104), (106, 122), (124, 129)]


def test_markdown_cells_skip_outer_pipes_and_escapes() -> None:
    line = r"| a \| b | 10115 |"
    cells = split_cells(line, 0, "|")
    assert [cell.text for cell in cells] == [r"a \| b", "10115"]
    assert (cells[1].start, cells[1].end) == (11, 16)


# --- tables --------------------------------------------------------------------------------------


def test_csv_lines_under_header() -> None:
    assert find_column_values(PEOPLE_CSV) != []
    assert _values(PEOPLE_CSV) == [("DATE_OF_BIRTH", "1988-11-02"), ("POSTAL_CODE", "10115"),
                                   ("DATE_OF_BIRTH", "1979-08-23"), ("POSTAL_CODE", "150-0002")]
    starts = [value.start for value in find_column_values(PEOPLE_CSV)]
    assert starts == [PEOPLE_CSV.index("1988"), PEOPLE_CSV.index("10115"), PEOPLE_CSV.index("1979"),
                      PEOPLE_CSV.index("150-0002")]


def test_markdown_table_columns() -> None:
    values = find_column_values(APPLICANTS_MD)
    assert [(value.entity_type, value.start, value.end) for value in values] == [
        ("DATE_OF_BIRTH", APPLICANTS_MD.index("1988"), APPLICANTS_MD.index("1988") + 10),
        ("POSTAL_CODE", APPLICANTS_MD.index("10115"), APPLICANTS_MD.index("10115") + 5)]


def test_payroll_sheet_accounts() -> None:
    assert _values(PAYROLL_SHEET) == [("BANK_ACCOUNT", "31926819"), ("BANK_ACCOUNT", "1029384")]


def test_thai_table_columns() -> None:
    text = ("| ชื่อ | วันเกิด | รหัสไปรษณีย์ | เลขที่บัญชี | เบอร์โทร |\n|---|---|---|---|---|\n"
            "| สมชาย | 2 พ.ย. 2531 | 10110 | 123-4-56789-0 | 02 123 4567 |")
    assert _values(text) == [("DATE_OF_BIRTH", "2 พ.ย. 2531"), ("POSTAL_CODE", "10110"),
                             ("BANK_ACCOUNT", "123-4-56789-0"), ("PHONE_NUMBER", "02 123 4567")]


def test_title_row_before_header() -> None:
    text = ("| Payroll March | | |\n| --- | --- | --- |\n| Name | 口座番号 | 郵便番号 |\n"
            "| 山田 | 普通 1234567 | 〒150-0002 |")
    assert _values(text) == [("BANK_ACCOUNT", "1234567"), ("POSTAL_CODE", "150-0002")]


def test_data_cell_naming_field_keeps_header() -> None:
    text = ("| Name | DOB | Contact method |\n|---|---|---|\n| Anna | 1988-01-01 | phone |\n"
            "| Ken | 1979-08-23 | e-mail |")
    assert _values(text) == [("DATE_OF_BIRTH", "1988-01-01"), ("DATE_OF_BIRTH", "1979-08-23")]


def test_tsv_and_semicolon_lines() -> None:
    assert _values("Name\tDOB\nAnna\t02.11.1988\n") == [("DATE_OF_BIRTH", "02.11.1988")]
    assert _values("Name;Postleitzahl;PLZ;postcode\nAnna;x;y;SW1A 1AA\n") == [("POSTAL_CODE", "SW1A 1AA")]


def test_key_value_table_pairs() -> None:
    text = "| 生年月日 | 1988-11-02 |\n| 郵便番号 | 150-0002 |\n| 氏名 | 山田 |"
    assert _values(text) == [("DATE_OF_BIRTH", "1988-11-02"), ("POSTAL_CODE", "150-0002")]


def test_zip_column_needs_address_column() -> None:
    archive = "file,size,zip\nreport.pdf,2048,10115\n"
    customers = "name,address,city,zip\nAnna,\"Main St 1, apt 2\",Berlin,10115\n"
    assert _values(archive) == []
    assert _values(customers) == [("POSTAL_CODE", "10115")]


def test_zip_column_beside_a_birth_date_column() -> None:
    applicants = "| ref | born | zip | gender |\n|---|---|---|---|\n| A-17 | 1988-11-02 | 10115 | female |"
    assert _values(applicants) == [("DATE_OF_BIRTH", "1988-11-02"), ("POSTAL_CODE", "10115")]


def test_values_of_wrong_shape_skipped() -> None:
    text = ("| date of birth | postcode | account no |\n|---|---|---|\n"
            "| n/a | Berlin | 12345 |\n| 1988 | - | none |")
    assert _values(text) == []


def test_table_ends_at_blank_line() -> None:
    text = "name,dob\nAnna,1988-11-02\n\nBob,1990-01-01\n"
    assert _values(text) == [("DATE_OF_BIRTH", "1988-11-02")]


def test_csv_row_with_other_cell_count_ends_table() -> None:
    text = "name,dob\nAnna,1988-11-02\nsee also, the log, 1990-01-01\n"
    assert _values(text) == [("DATE_OF_BIRTH", "1988-11-02")]


def test_phone_column_without_separators() -> None:
    text = ("| name | phone | phone model |\n|---|---|---|\n| Anna | 2025550147 | X1 2000000 |\n"
            "| Lee | +44 (0)20 7946 0958 | |\n| Som | ext. 12 | |")
    assert _values(text) == [("PHONE_NUMBER", "2025550147"), ("PHONE_NUMBER", "+44 (0)20 7946 0958")]


def test_other_date_columns_skipped() -> None:
    text = "| created_at | order_date | date |\n|---|---|---|\n| 2024-01-02 | 2024-01-03 | 2024-01-04 |"
    assert _values(text) == []


# --- form lines ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("line", "expected"), [
    ("birth_date: 1988-11-02", ("DATE_OF_BIRTH", "1988-11-02")),
    ("date-of-birth: 2 Nov 1988", ("DATE_OF_BIRTH", "2 Nov 1988")),
    ("**Date of birth:** 1988/11/02", ("DATE_OF_BIRTH", "1988/11/02")),
    ("dateOfBirth: 19881102", ("DATE_OF_BIRTH", "19881102")),
    ("birth_date: 2/11/88", ("DATE_OF_BIRTH", "2/11/88")),
    ("zip_code: 94105-1234", ("POSTAL_CODE", "94105-1234")),
    ("postal_code: 10115 Berlin", ("POSTAL_CODE", "10115")),
    ("account_no: 1234-5678-90", ("BANK_ACCOUNT", "1234-5678-90")),
    ("- bank_account: MUFG 0123456", ("BANK_ACCOUNT", "0123456")),
    ("วันเกิด: 2 พ.ย. 2531", ("DATE_OF_BIRTH", "2 พ.ย. 2531")),
])
def test_form_line_variants(line: str, expected: tuple[str, str]) -> None:
    assert _values(f"Applicant\n{line}\nThanks") == [expected]


def test_form_line_with_several_fields() -> None:
    assert _values("dob: 1988-11-02, zip_code: 10115") == [("DATE_OF_BIRTH", "1988-11-02"),
                                                          ("POSTAL_CODE", "10115")]
    assert _values("name: Anna; account_no: 12345678") == [("BANK_ACCOUNT", "12345678")]
    assert _values("氏名:山田、郵便番号:150-0002") == [("POSTAL_CODE", "150-0002")]
    assert _values("Note: see page 3, version: 2.1") == []


def test_form_line_needs_value_shape() -> None:
    assert _values("birth_date: unknown\naccount_no: see HR\npostal_code: -") == []


# --- masking -------------------------------------------------------------------------------------


def test_masker_masks_ingested_csv(masker: Masker) -> None:
    text = ("name: Anna Berg\ndate_of_birth: 1988-11-02\npostal_code: 10115\njob_title: Head of Treasury\n\n"
            "name: Kenji Sato\ndate_of_birth: 1979-08-23\npostal_code: 150-0002\njob_title: 経理部長")
    assert masker.mask(text).text == (
        "name: [PERSON_1]\ndate_of_birth: [DATE_OF_BIRTH_1]\npostal_code: [POSTAL_CODE_1]\n"
        "job_title: Head of Treasury\n\n"
        "name: [PERSON_2]\ndate_of_birth: [DATE_OF_BIRTH_2]\npostal_code: [POSTAL_CODE_2]\njob_title: 経理部長")


def test_masker_masks_markdown_row(masker: Masker) -> None:
    masked = masker.mask(APPLICANTS_MD).text
    assert masked.endswith("| A-17 | [DATE_OF_BIRTH_1] | [POSTAL_CODE_1] | Head of Treasury | female |")


def test_masker_masks_payroll_accounts(masker: Masker) -> None:
    assert ("BANK_ACCOUNT", "31926819") in _found(masker, PAYROLL_SHEET)
    assert ("BANK_ACCOUNT", "1029384") in _found(masker, PAYROLL_SHEET)
    assert "5000" in masker.mask(PAYROLL_SHEET).text


def test_masker_masks_phone_column(masker: Masker) -> None:
    text = "| name | phone |\n|---|---|\n| Anna | 2025550147 |\n| Somchai | 0812345678 |"
    assert masker.mask(text).text == ("| name | phone |\n|---|---|\n| [PERSON_1] | [PHONE_NUMBER_1] |\n"
                                      "| [PERSON_2] | [PHONE_NUMBER_2] |")


def test_full_width_values_mapped_back(masker: Masker) -> None:
    text = "| 氏名 | 生年月日 |\n|---|---|\n| 山田 | １９８８－１１－０２ |"
    assert ("DATE_OF_BIRTH", "１９８８－１１－０２") in _found(masker, text)


@pytest.mark.parametrize("recognizer_class",
                         [DateOfBirthColumnRecognizer, PostalCodeColumnRecognizer,
                          BankAccountColumnRecognizer, PhoneNumberColumnRecognizer])
def test_error_withholds_the_text(masker: Masker, recognizer_class, monkeypatch: pytest.MonkeyPatch,
                                  caplog: pytest.LogCaptureFixture) -> None:
    recognizers = masker._analyzer.registry.recognizers
    recognizer = next(item for item in recognizers if type(item) is recognizer_class)

    def broken(*args, **kwargs):
        raise RuntimeError("could not parse 31926819")

    monkeypatch.setattr(recognizer, "_result", broken)
    text = PAYROLL_SHEET + "\n\ndate_of_birth: 1988-11-02\npostal_code: 10115\nphone: 2025550147"
    with caplog.at_level(logging.WARNING):
        assert masker.mask(text).text == "[REDACTED]"
    assert any(recognizer.name in record.getMessage() for record in caplog.records)
    assert not any("31926819" in record.getMessage() for record in caplog.records)


# --- re-identification ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def quasi() -> QuasiIdentifiers:
    config = ReidentificationConfig()
    return QuasiIdentifiers(config.combinations, config.job_titles)


def test_csv_rows_flagged_by_header(quasi: QuasiIdentifiers) -> None:
    flags = quasi.flags(PEOPLE_CSV, [])
    assert [(flag.record, flag.types) for flag in flags] == [
        (0, ("DATE_OF_BIRTH", "JOB_TITLE", "POSTAL_CODE")),
        (1, ("DATE_OF_BIRTH", "JOB_TITLE", "POSTAL_CODE"))]


def test_csv_header_with_underscores_pairs_gender(quasi: QuasiIdentifiers) -> None:
    text = "customer_id;birth_date;sex\nC-1;1988;F\nC-2;;M\n"
    assert [(flag.record, flag.types) for flag in quasi.flags(text, [])] == [(0, ("DATE_OF_BIRTH", "GENDER"))]


def test_form_block_with_underscored_names_flagged(quasi: QuasiIdentifiers) -> None:
    text = "name: [PERSON_1]\ndate_of_birth: 1988\nzip_code: 10115\n"
    assert [flag.types for flag in quasi.flags(text, [])] == [("DATE_OF_BIRTH", "POSTAL_CODE")]


def test_markdown_header_with_underscores_flagged(quasi: QuasiIdentifiers) -> None:
    text = "| id | date_of_birth | job_title |\n|---|---|---|\n| A-17 | 1988 | Widget maker |\n"
    assert [flag.types for flag in quasi.flags(text, [])] == [("DATE_OF_BIRTH", "JOB_TITLE")]


def test_sentence_with_commas_no_header(quasi: QuasiIdentifiers) -> None:
    # The second cell is longer than a header cell, so the first line is a sentence and 1988 names nothing.
    text = ("We store the date of birth, postcode and gender of each applicant in the HR system, as needed.\n"
            "1988, 10115, female\n")
    assert quasi.flags(text, []) == []


# --- the whole stage -----------------------------------------------------------------------------


def test_csv_masked_and_flagged_by_stages(tmp_path: Path) -> None:
    root = tmp_path / "input"
    (root / "hr").mkdir(parents=True)
    (root / "people.csv").write_text(PEOPLE_CSV, encoding="utf-8")
    (root / "hr" / "applicants.md").write_text(APPLICANTS_MD + "\n", encoding="utf-8")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Payroll"
    sheet.append(["Name", "Account No.", "口座番号", "Amount"])
    sheet.append(["Anna Berg", 31926819, "1029384", 5000])
    workbook.save(root / "payroll.xlsx")
    workspace = Workspace(tmp_path / "workspace")
    config = RunConfig.model_validate({"workspace": str(workspace.root),
                                       "ingest": {"input": str(root), "workers": 1}})

    ingest_stage.run(config, workspace)
    protect_stage.run(config, workspace)

    folder = workspace.stage_dir("protect")
    chunks = {chunk["source"]: chunk["text"] for chunk in read_jsonl(folder / "chunks.jsonl")}
    assert chunks["people.csv"] == (
        "name: [PERSON_1]\ndate_of_birth: [DATE_OF_BIRTH_1]\npostal_code: [POSTAL_CODE_1]\n"
        "job_title: Head of Treasury\n\n"
        "name: [PERSON_2]\ndate_of_birth: [DATE_OF_BIRTH_2]\npostal_code: [POSTAL_CODE_2]\njob_title: 経理部長")
    applicant = "| A-17 | [DATE_OF_BIRTH_1] | [POSTAL_CODE_1] | Head of Treasury | female |"
    assert applicant in chunks["hr/applicants.md"]
    assert "| [PERSON_1] | [BANK_ACCOUNT_1] | [BANK_ACCOUNT_2] | 5000 |" in chunks["payroll.xlsx"]
    for text in chunks.values():
        for value in ("1988-11-02", "1979-08-23", "10115", "150-0002", "31926819", "1029384"):
            assert value not in text

    report = read_json(folder / "privacy_report.json")
    flagged = report["reidentification"]["documents"]
    assert report["reidentification"]["flagged_documents"] == 2
    assert {entry["source"] for entry in flagged.values()} == {"people.csv", "hr/applicants.md"}
    people = next(entry for entry in flagged.values() if entry["source"] == "people.csv")
    assert people["flagged_records"] == 2
    assert people["combinations"] == [{"types": ["DATE_OF_BIRTH", "JOB_TITLE", "POSTAL_CODE"], "records": 2}]
