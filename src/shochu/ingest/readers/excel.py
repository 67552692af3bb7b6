"""Excel (.xlsx, .xlsm) workbooks, read with openpyxl: one Markdown table per sheet."""

from __future__ import annotations

import warnings
from typing import Any

import openpyxl

from shochu.ingest.readers.base import InputFile, ReadOptions, Reader
from shochu.ingest.readers.markdown import markdown_table
from shochu.ingest.readers.sensitivity import office_labels


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
            sections.append(f"## {sheet.title}\n\n{markdown_table(rows)}")
    return sections, names


def _non_empty(rows: list[tuple[Any, ...]]) -> list[list[Any]]:
    """Drop rows and columns that hold no value at all."""
    rows = [row for row in rows if any(_has_value(value) for value in row)]
    width = max((len(row) for row in rows), default=0)
    padded = [list(row) + [None] * (width - len(row)) for row in rows]
    columns = [index for index in range(width) if any(_has_value(row[index]) for row in padded)]
    return [[row[index] for index in columns] for row in padded]


def _has_value(value: Any) -> bool:
    return value is not None and str(value).strip() != ""
