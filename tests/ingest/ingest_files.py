"""Input files for the ingest tests, written into temporary folders, and a reader of ingest's outputs.

A plain module, not conftest.py, so that test files can import from it by name.
"""
from __future__ import annotations

import datetime
import random
from pathlib import Path
from typing import Any

from shochu.ingest.store import StoredTable
from shochu.ingest.writer import OUTPUT_FILES
from shochu.workspace import read_jsonl

HANDBOOK_HEADER = "ACME Corp - Internal Handbook"
JAPANESE_TEXT = "社外秘の文書は共有フォルダに保存しないでください。\n経費精算は30日以内に提出してください。"

EMAIL_WITH_REPLY = """\
From: Alice Example <alice@example.com>
To: Bob Example <bob@example.com>
Subject: Pump maintenance schedule
Date: Mon, 03 Jun 2024 10:00:00 +0900
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

The pump is serviced every 90 days.
Please book the next slot in the maintenance calendar.

On Sun, 2 Jun 2024 at 09:00, Bob Example <bob@example.com> wrote:
> When is the pump serviced?
> Thanks

-- 
Alice Example
Maintenance lead
"""

HTML_PAGE = """\
<html><head><title>Returns policy</title></head><body>
<nav><ul><li><a href="/">Careers portal</a></li><li><a href="/shop">Gift shop</a></li></ul></nav>
<article>
<h1>Returns policy</h1>
<p>Customers may return any unused product within thirty days of delivery. The product must be
in its original packaging and come with the receipt or the order number.</p>
<h2>Refunds</h2>
<p>Refunds are paid to the original payment method within five working days after the returned
product has reached our warehouse and passed inspection by the quality team.</p>
</article>
<footer>All rights reserved. Cookie settings.</footer>
</body></html>
"""


def read_output(folder: Path, kind: str) -> list[dict[str, Any]]:
    """Return the records of one ingest output: ``documents``, ``chunks``, ``errors`` or ``duplicates``."""
    if kind in ("documents", "chunks"):
        return list(StoredTable(folder / OUTPUT_FILES[kind]))
    return read_jsonl(folder / OUTPUT_FILES[kind])


def write_pdf(path: Path, pages: list[str], header: str | None = HANDBOOK_HEADER) -> Path:
    """Write a PDF with one page per text, a running header and a "Page N of M" footer."""
    from fpdf import FPDF

    class HandbookPdf(FPDF):
        def header(self) -> None:
            if header:
                self.set_font("helvetica", size=9)
                self.cell(0, 8, header)
                self.ln(12)

        def footer(self) -> None:
            self.set_y(-15)
            self.set_font("helvetica", size=9)
            self.cell(0, 8, f"Page {self.page_no()} of {{nb}}", align="C")

    pdf = HandbookPdf()
    for text in pages:
        pdf.add_page()
        pdf.set_font("helvetica", size=11)
        for line in text.split("\n"):
            pdf.cell(0, 6, line)
            pdf.ln(6)
    pdf.output(str(path))
    return path


def write_blank_pdf(path: Path) -> Path:
    """Write a one-page PDF with a drawing but no text, as a scan would be."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60)
    pdf.output(str(path))
    return path


def write_docx(path: Path) -> Path:
    """Write a DOCX with a heading, a bulleted list and a table whose second row merges two cells."""
    import docx

    document = docx.Document()
    document.add_heading("Safety rules", level=1)
    document.add_paragraph("Wear gloves in the workshop at all times.")
    document.add_paragraph("Check the valve", style="List Bullet")
    document.add_paragraph("Close the lid", style="List Bullet")

    table = document.add_table(rows=3, cols=3)
    for column, value in enumerate(["Item", "Q1", "Q2"]):
        table.cell(0, column).text = value
    merged = table.cell(1, 0).merge(table.cell(1, 1))
    merged.text = "Widgets total"
    table.cell(1, 2).text = "42"
    for column, value in enumerate(["Bolts", "7", "9"]):
        table.cell(2, column).text = value

    document.add_paragraph("Report every incident to the site manager.")
    document.save(str(path))
    return path


def write_xlsx(path: Path) -> Path:
    """Write a workbook with two sheets, "Prices" and "Staff"."""
    import openpyxl

    workbook = openpyxl.Workbook()
    prices = workbook.active
    prices.title = "Prices"
    for row in [("Product", "Price", "Valid from"), ("Widget", 9.5, datetime.datetime(2024, 2, 1)),
                ("Bolt", 2, None)]:
        prices.append(row)
    staff = workbook.create_sheet("Staff")
    for row in [("Name", "Role"), ("Hanako Sato", "Engineer")]:
        staff.append(row)
    workbook.save(str(path))
    return path


def write_pptx(path: Path) -> Path:
    """Write a two-slide deck: a title-and-content slide with notes, and a slide with a table."""
    import pptx
    from pptx.util import Inches

    presentation = pptx.Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[1])
    slide.shapes.title.text = "Quarterly results"
    slide.placeholders[1].text_frame.text = "Revenue grew by twelve percent"
    slide.notes_slide.notes_text_frame.text = "Mention the new plant in Osaka."

    slide = presentation.slides.add_slide(presentation.slide_layouts[5])
    slide.shapes.title.text = "Headcount"
    table = slide.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(4), Inches(1)).table
    for (row, column), value in {(0, 0): "Site", (0, 1): "Staff", (1, 0): "Osaka", (1, 1): "120"}.items():
        table.cell(row, column).text = value

    for number, slide in enumerate(presentation.slides, start=1):
        footer = slide.shapes.add_textbox(Inches(0.5), Inches(7), Inches(6), Inches(0.4))
        footer.text_frame.text = f"ACME - Internal | {number}"
    presentation.save(str(path))
    return path


def write_random_bytes(path: Path, size: int = 4096, seed: int = 0) -> Path:
    path.write_bytes(random.Random(seed).randbytes(size))
    return path


HANDBOOK_PAGES = [
    "Welcome to the handbook.\nRead it before your first shift.",
    "Safety shoes are required on the factory floor.\nThe warranty covers parts and labour for",
    "two full years after delivery.\nContact the service desk for repairs.",
]
