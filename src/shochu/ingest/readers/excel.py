"""Excel workbooks, one Markdown table per sheet: .xlsx and .xlsm with openpyxl, legacy .xls with xlrd."""

from __future__ import annotations

import warnings
from typing import Any

import openpyxl
import xlrd

from shochu.ingest.readers.base import EncryptedError, InputFile, ReadError, ReadOptions, Reader
from shochu.ingest.readers.markdown import markdown_table
from shochu.ingest.readers.sensitivity import office_labels
from shochu.ingest.sniff import OLE_SIGNATURE


class ExcelReader(Reader):
    format = "xlsx"
    suffixes = (".xlsx", ".xlsm")
    markdown = True

    def read(self, file: InputFile, options: ReadOptions) -> tuple[str, dict[str, Any]]:
        # openpyxl warns about workbook features it ignores (data validation,
        # conditional formatting); they do not affect the cell values read here.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # NOTE: data_only returns the value Excel cached for a formula. A
            # workbook saved by a tool that never calculated (openpyxl itself, some
            # exporters) has no cached values, and those cells read as empty.
            workbook = openpyxl.load_workbook(file.stream(), read_only=True, data_only=True)
        try:
            sections, names = _sheet_sections(workbook)
            title = workbook.properties.title
        finally:
            workbook.close()

        metadata: dict[str, Any] = {"sheets": names}
        labels = office_labels(file.data)
        if labels:
            metadata["sensitivity_labels"] = labels
        if title:
            metadata["title"] = title
        return "\n\n".join(sections), metadata


def _sheet_sections(workbook: Any) -> tuple[list[str], list[str]]:
    """Return a "## name" section per non-empty sheet, and the names of all sheets."""
    sections = []
    names = []
    for sheet in workbook.worksheets:
        names.append(sheet.title)
        rows = _non_empty(list(sheet.iter_rows(values_only=True)))
        if rows:
            sections.append(_section(sheet.title, rows))
    return sections, names


def _section(name: str, rows: list[list[Any]]) -> str:
    """Return a sheet as "## name", its title lines, and a Markdown table headed by its header row.

    A sheet often starts with a title or a note in one cell above the real
    header ("Payroll 2026" over "Name | Account No."). Chunking repeats a long
    table's header row in every chunk, and protect masks values by their
    column name, so the header must be the row of column names, not the title.
    Leading rows with a single value therefore become lines before the table,
    when a later row has more values.
    """
    titles = []
    while len(rows) > 1 and sum(_has_value(value) for value in rows[0]) == 1 and any(
            sum(_has_value(value) for value in row) > 1 for row in rows[1:]):
        titles.append(next(str(value).strip() for value in rows[0] if _has_value(value)))
        rows = _non_empty(rows[1:])
    return "\n\n".join([f"## {name}", *titles, markdown_table(rows)])


def _non_empty(rows: list[tuple[Any, ...]] | list[list[Any]]) -> list[list[Any]]:
    """Drop rows and columns that hold no value at all."""
    rows = [row for row in rows if any(_has_value(value) for value in row)]
    width = max((len(row) for row in rows), default=0)
    padded = [list(row) + [None] * (width - len(row)) for row in rows]
    columns = [index for index in range(width) if any(_has_value(row[index]) for row in padded)]
    return [[row[index] for index in columns] for row in padded]


def _has_value(value: Any) -> bool:
    return value is not None and str(value).strip() != ""


class LegacyExcelReader(Reader):
    """Legacy Excel (.xls, BIFF inside an OLE2 container), read with xlrd: one Markdown table per sheet."""

    format = "xls"
    suffixes = (".xls",)
    markdown = True

    def read(self, file: InputFile, options: ReadOptions) -> tuple[str, dict[str, Any]]:
        if not file.data.startswith(OLE_SIGNATURE):
            # Web applications often export HTML or XML tables under an .xls name.
            raise ReadError("the name ends in '.xls' but the content is not a legacy Excel workbook; "
                            "open it in Excel or LibreOffice, save it as .xlsx and re-run")
        try:
            book = xlrd.open_workbook(file_contents=file.data, on_demand=True)
        except xlrd.XLRDError as error:
            if "encrypted" in str(error).lower():
                raise EncryptedError("the workbook is password-protected; remove the password in Excel "
                                     "(File > Info > Protect Workbook), save it and re-run") from error
            raise
        try:
            sections, names = _legacy_sheet_sections(book)
        finally:
            book.release_resources()
        return "\n\n".join(sections), {"sheets": names}


def _legacy_sheet_sections(book: xlrd.Book) -> tuple[list[str], list[str]]:
    """Return a "## name" section per non-empty sheet, and the names of all sheets."""
    sections = []
    names = book.sheet_names()
    for index, name in enumerate(names):
        sheet = book.sheet_by_index(index)
        rows = [[_legacy_value(sheet.cell(row, column), book.datemode) for column in range(sheet.ncols)]
                for row in range(sheet.nrows)]
        rows = _non_empty(rows)
        if rows:
            sections.append(_section(name, rows))
        book.unload_sheet(index)
    return sections, names


def _legacy_value(cell: xlrd.sheet.Cell, datemode: int) -> Any:
    """Return a cell's value as openpyxl would: whole numbers as int, dates as datetime, errors as None."""
    if cell.ctype == xlrd.XL_CELL_NUMBER:
        return int(cell.value) if float(cell.value).is_integer() else cell.value
    if cell.ctype == xlrd.XL_CELL_DATE:
        try:
            return xlrd.xldate_as_datetime(cell.value, datemode)
        except (xlrd.xldate.XLDateError, ValueError, OverflowError):
            return cell.value
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return bool(cell.value)
    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
        return None
    return cell.value
