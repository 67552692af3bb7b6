from pathlib import Path

import openpyxl
import pytest

from shochu.ingest.readers.excel import ExcelReader
from shochu.ingest.readers.powerpoint import PowerPointReader
from shochu.ingest.readers.word import WordReader


@pytest.fixture
def safety(safety_docx: Path) -> str:
    return WordReader().extract(safety_docx).text


@pytest.fixture
def prices(prices_xlsx: Path) -> str:
    return ExcelReader().extract(prices_xlsx).text


@pytest.fixture
def results(results_pptx: Path) -> str:
    return PowerPointReader().extract(results_pptx).text


def test_docx_heading_as_markdown(safety: str) -> None:
    assert safety.startswith("# Safety rules\n\n")


def test_docx_list_items(safety: str) -> None:
    assert "- Check the valve\n- Close the lid" in safety


def test_docx_merged_cell_keeps_columns(safety: str) -> None:
    assert "| Widgets total |  | 42 |" in safety.split("\n")


def test_docx_table_header_row(safety: str) -> None:
    assert "| Item | Q1 | Q2 |\n| --- | --- | --- |" in safety


def test_docx_table_in_document_order(safety: str) -> None:
    assert safety.index("Close the lid") < safety.index("| Item |")
    assert safety.index("| Bolts | 7 | 9 |") < safety.index("Report every incident")


def test_xlsx_sheet_headings(prices: str) -> None:
    assert "## Prices\n\n| Product | Price | Valid from |" in prices
    assert "## Staff\n\n| Name | Role |" in prices


def test_xlsx_values(prices: str) -> None:
    assert "| Widget | 9.5 | 2024-02-01 |" in prices
    assert "| Bolt | 2 |  |" in prices


def test_xlsx_sheet_names_metadata(prices_xlsx: Path) -> None:
    assert ExcelReader().extract(prices_xlsx).metadata["sheets"] == ["Prices", "Staff"]


def test_pptx_slide_heading(results: str) -> None:
    assert results.startswith("## Slide 1: Quarterly results\n\nRevenue grew by twelve percent")


def test_pptx_speaker_notes_after_text(results: str) -> None:
    assert "Revenue grew by twelve percent\n\nSpeaker notes:\nMention the new plant in Osaka." in results


def test_pptx_running_footer_removed(results: str) -> None:
    assert "ACME - Internal" not in results


def test_pptx_table(results: str) -> None:
    assert "## Slide 2: Headcount\n\n| Site | Staff |\n| --- | --- |\n| Osaka | 120 |" in results


def test_pptx_slide_count_metadata(results_pptx: Path) -> None:
    assert PowerPointReader().extract(results_pptx).metadata["slides"] == 2


def test_xlsx_title_row_goes_before_the_table(tmp_path: Path) -> None:
    # A title in one cell above the header would otherwise head the table, and be the
    # header that every later chunk of a long sheet repeats instead of the column names.
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Payroll"
    for row in (["Payroll March 2026"], [], ["Name", "Account No."], ["Ann Lee", "31926819"]):
        sheet.append(row)
    path = tmp_path / "payroll.xlsx"
    workbook.save(path)
    assert ExcelReader().extract(path).text == ("## Payroll\n\nPayroll March 2026\n\n| Name | Account No. |\n"
                                                "| --- | --- |\n| Ann Lee | 31926819 |")


def test_xlsx_single_column_sheet_stays_a_table(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Hosts"
    for row in (["host"], ["db1"], ["db2"]):
        sheet.append(row)
    path = tmp_path / "hosts.xlsx"
    workbook.save(path)
    assert ExcelReader().extract(path).text == "## Hosts\n\n| host |\n| --- |\n| db1 |\n| db2 |"
