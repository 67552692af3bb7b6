"""Legacy Excel (.xls) workbooks: one Markdown table per sheet, values as Excel shows them."""

import datetime
from pathlib import Path

import pytest
import xlwt

from shochu.config import RunConfig
from shochu.ingest import stage
from shochu.ingest.store import read_chunks, read_documents
from shochu.ingest.readers import InputFile, ReadError, reader_for
from shochu.workspace import Workspace


def write_xls(path: Path) -> Path:
    """Write a workbook with a price sheet, a Japanese sheet with a date and a merged cell, and an empty sheet."""
    book = xlwt.Workbook(encoding="utf-8")
    prices = book.add_sheet("Prices")
    for row, values in enumerate([("Item", "Price", "In stock"), ("Pump", 120, True), ("Valve", 35.5, False)]):
        for column, value in enumerate(values):
            prices.write(row, column, value)

    staff = book.add_sheet("社員")
    staff.write(0, 0, "氏名")
    staff.write(0, 1, "入社日")
    staff.write(0, 2, "部署")
    staff.write(1, 0, "山田")
    staff.write(1, 1, datetime.datetime(2021, 4, 1), xlwt.easyxf(num_format_str="YYYY-MM-DD"))
    staff.write_merge(1, 2, 2, 2, "営業")
    staff.write(2, 0, "佐藤")
    staff.write(2, 1, datetime.datetime(2023, 10, 16), xlwt.easyxf(num_format_str="YYYY-MM-DD"))

    book.add_sheet("Empty")
    book.save(str(path))
    return path


def test_xls_reader_tables(tmp_path: Path) -> None:
    path = write_xls(tmp_path / "staff.xls")
    reader = reader_for(path)
    assert reader is not None
    extraction = reader.extract(path)

    assert extraction.markdown
    assert extraction.text == (
        "## Prices\n\n"
        "| Item | Price | In stock |\n| --- | --- | --- |\n| Pump | 120 | True |\n| Valve | 35.5 | False |\n\n"
        "## 社員\n\n"
        "| 氏名 | 入社日 | 部署 |\n| --- | --- | --- |\n| 山田 | 2021-04-01 | 営業 |\n"
        "| 佐藤 | 2023-10-16 |  |"
    )
    assert extraction.metadata["sheets"] == ["Prices", "社員", "Empty"]


def test_xls_reader_rejects_html(tmp_path: Path) -> None:
    reader = reader_for("export.xls")
    assert reader is not None
    html = b"<html><body><table><tr><td>Pump</td></tr></table></body></html>"
    with pytest.raises(ReadError, match="save it as .xlsx"):
        reader.extract(InputFile("export.xls", html))


def test_xls_stage_document(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    write_xls(folder / "staff.xls")
    workspace = Workspace(tmp_path / "workspace")
    config = RunConfig.model_validate({"workspace": str(workspace.root), "ingest": {"input": str(folder)}})
    manifest = stage.run(config, workspace)

    documents = read_documents(workspace.stage_dir("ingest"))
    assert [(document["source"], document["format"]) for document in documents] == [("staff.xls", "xls")]
    assert manifest["counts"]["errors"] == 0
    chunks = read_chunks(workspace.stage_dir("ingest"))
    assert any("| Pump | 120 | True |" in chunk["text"] for chunk in chunks)
