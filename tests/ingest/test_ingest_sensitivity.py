"""Sensitivity markings from headers, footers and page edges, and Purview labels from Office files."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from ingest_files import write_docx, write_xlsx

from shochu.ingest.readers.mail import MailReader
from shochu.ingest.readers.pdf import PdfReader
from shochu.ingest.readers.powerpoint import PowerPointReader
from shochu.ingest.readers.sensitivity import markings_in
from shochu.ingest.readers.word import WordReader

JAPANESE_FONT = "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"
LABEL_ID = "a1b2c3d4-0000-4000-8000-123456789abc"
SITE_ID = "0f0e0d0c-1111-4222-8333-444455556666"


@pytest.mark.parametrize(("line", "expected"), [
    ("【社外秘】2024年度 予算計画", ["社外秘"]),
    ("関係者外秘 - 人事部", ["関係者外秘"]),
    ("機密区分: 機密", ["機密"]),
    ("ACME Corp - CONFIDENTIAL", ["Confidential"]),
    ("Strictly Confidential - Board only", ["Strictly Confidential"]),
    ("Confidentiality agreement template", []),
    ("เอกสารลับ ฝ่ายบุคคล", ["ลับ"]),
    ("ชั้นความลับ: ลับมาก", ["ลับมาก"]),
    ("กรุณากลับมาที่สำนักงาน", []),
    ("Quarterly report", []),
])
def test_markings_in_line(line: str, expected: list[str]) -> None:
    assert markings_in([line]) == expected


def write_pdf_with_header(path: Path, header: str, pages: list[list[str]]) -> Path:
    """Write a PDF in the IPA Gothic font with ``header`` at the top of every page."""
    from fpdf import FPDF

    if not Path(JAPANESE_FONT).is_file():
        pytest.skip("IPA Gothic font is not installed")

    class MarkedPdf(FPDF):
        def header(self) -> None:
            self.set_font("ipag", size=9)
            self.cell(0, 8, header)
            self.ln(12)

    pdf = MarkedPdf()
    pdf.add_font("ipag", fname=JAPANESE_FONT)
    for lines in pages:
        pdf.add_page()
        pdf.set_font("ipag", size=11)
        for line in lines:
            pdf.cell(0, 6, line)
            pdf.ln(6)
    pdf.output(str(path))
    return path


def test_pdf_running_header_marking_kept(tmp_path: Path) -> None:
    pages = [["予算の概要です。", "来期の計画を示します。"], ["人員計画です。", "採用は春に行います。"],
             ["設備投資です。", "工場を拡張します。"]]
    path = write_pdf_with_header(tmp_path / "budget.pdf", "社外秘 - 経営企画部", pages)
    extraction = PdfReader().extract(path)
    assert "社外秘" not in extraction.text  # the running header itself is removed...
    assert extraction.metadata["sensitivity_markings"] == ["社外秘"]  # ...but its marking is kept


def test_pdf_mid_page_mention_ignored(tmp_path: Path) -> None:
    body = [f"第{number}条 規程の本文です。" for number in range(1, 7)]
    body[5:5] = ["機密情報の取り扱いは第9条で定めます。"]
    body += [f"第{number}条 規程の本文です。" for number in range(7, 13)]
    path = write_pdf_with_header(tmp_path / "rules.pdf", "就業規則", [body])
    extraction = PdfReader().extract(path)
    assert "機密情報の取り扱いは第9条で定めます。" in extraction.text
    assert "sensitivity_markings" not in extraction.metadata


def with_custom_properties(data: bytes, properties: dict[str, str]) -> bytes:
    """Add a docProps/custom.xml part, as Office writes for Purview labels, to an OOXML package."""
    entries = "".join(
        f'<property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="{pid}" name="{name}">'
        f"<vt:lpwstr>{value}</vt:lpwstr></property>"
        for pid, (name, value) in enumerate(properties.items(), start=2))
    custom = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
              '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
              'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
              f"{entries}</Properties>")
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "[Content_Types].xml":
                content = content.replace(b"</Types>", b'<Override PartName="/docProps/custom.xml" '
                                          b'ContentType="application/vnd.openxmlformats-officedocument.'
                                          b'custom-properties+xml"/></Types>')
            if item.filename == "_rels/.rels":
                content = content.replace(b"</Relationships>", b'<Relationship Id="rIdCustom" '
                                          b'Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                                          b'relationships/custom-properties" Target="docProps/custom.xml"/>'
                                          b"</Relationships>")
            target.writestr(item, content)
        target.writestr("docProps/custom.xml", custom)
    return buffer.getvalue()


MSIP_PROPERTIES = {
    f"MSIP_Label_{LABEL_ID}_Enabled": "true",
    f"MSIP_Label_{LABEL_ID}_Name": "Highly Confidential",
    f"MSIP_Label_{LABEL_ID}_Method": "Privileged",
    f"MSIP_Label_{LABEL_ID}_SiteId": SITE_ID,
    "Department": "Finance",
}
EXPECTED_LABEL = {"id": LABEL_ID, "enabled": "true", "name": "Highly Confidential", "method": "Privileged",
                  "site_id": SITE_ID}


def test_docx_purview_label(tmp_path: Path) -> None:
    path = tmp_path / "labelled.docx"
    path.write_bytes(with_custom_properties(write_docx(tmp_path / "plain.docx").read_bytes(), MSIP_PROPERTIES))
    extraction = WordReader().extract(path)
    assert extraction.metadata["sensitivity_labels"] == [EXPECTED_LABEL]
    assert "Wear gloves in the workshop at all times." in extraction.text


def test_xlsx_purview_label(tmp_path: Path) -> None:
    from shochu.ingest.readers.excel import ExcelReader

    path = tmp_path / "labelled.xlsx"
    path.write_bytes(with_custom_properties(write_xlsx(tmp_path / "plain.xlsx").read_bytes(), MSIP_PROPERTIES))
    assert ExcelReader().extract(path).metadata["sensitivity_labels"] == [EXPECTED_LABEL]


def test_docx_without_label(tmp_path: Path) -> None:
    metadata = WordReader().extract(write_docx(tmp_path / "plain.docx")).metadata
    assert "sensitivity_labels" not in metadata
    assert "sensitivity_markings" not in metadata


def test_docx_page_header_marking(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.sections[0].header.paragraphs[0].text = "関係者外秘"
    document.add_paragraph("The budget for next year is attached.")
    document.save(str(tmp_path / "memo.docx"))
    extraction = WordReader().extract(tmp_path / "memo.docx")
    assert extraction.text == "The budget for next year is attached."
    assert extraction.metadata["sensitivity_markings"] == ["関係者外秘"]


def test_pptx_running_footer_marking(tmp_path: Path) -> None:
    import pptx
    from pptx.util import Inches

    presentation = pptx.Presentation()
    for title in ("Plan", "Budget", "Hiring"):
        slide = presentation.slides.add_slide(presentation.slide_layouts[5])
        slide.shapes.title.text = title
        body = slide.shapes.add_textbox(Inches(1), Inches(2), Inches(6), Inches(1))
        body.text_frame.text = f"{title} details for the board."
        footer = slide.shapes.add_textbox(Inches(0.5), Inches(7), Inches(6), Inches(0.4))
        footer.text_frame.text = "เอกสารลับ"
    presentation.save(str(tmp_path / "board.pptx"))
    extraction = PowerPointReader().extract(tmp_path / "board.pptx")
    assert "เอกสารลับ" not in extraction.text
    assert extraction.metadata["sensitivity_markings"] == ["ลับ"]


def test_mail_subject_marking(tmp_path: Path) -> None:
    path = tmp_path / "budget.eml"
    path.write_bytes("From: a@example.com\nTo: b@example.com\nSubject: 【社外秘】予算計画\n"
                     "Content-Type: text/plain; charset=utf-8\n\n来期の予算案を送ります。\n".encode())
    extraction = MailReader().extract(path)
    assert extraction.text == "来期の予算案を送ります。"
    assert extraction.metadata["sensitivity_markings"] == ["社外秘"]


def test_long_edge_line_mention_ignored(tmp_path: Path) -> None:
    from shochu.ingest.readers.text import TextReader

    path = tmp_path / "printing.txt"
    path.write_text("Printer setup\n\nInstall the driver from the portal.\n\nNote: printing of documents "
                    "labelled Strictly Confidential is logged with the user name.\n", encoding="utf-8")
    assert "sensitivity_markings" not in TextReader().extract(path).metadata


def test_table_row_at_edge_ignored(tmp_path: Path) -> None:
    from shochu.ingest.readers.text import TextReader

    path = tmp_path / "levels.md"
    path.write_text("| Level | Meaning |\n|---|---|\n| Confidential | Internal only |\n", encoding="utf-8")
    assert "sensitivity_markings" not in TextReader().extract(path).metadata


def test_short_stamp_at_end_kept(tmp_path: Path) -> None:
    from shochu.ingest.readers.text import TextReader

    path = tmp_path / "memo.txt"
    path.write_text("The merger talks continue next week.\n\nCONFIDENTIAL\n", encoding="utf-8")
    assert TextReader().extract(path).metadata["sensitivity_markings"] == ["Confidential"]


def test_level_list_at_edge_ignored(tmp_path: Path) -> None:
    from shochu.ingest.readers.text import TextReader

    path = tmp_path / "levels.txt"
    path.write_text("Action Internal Confidential Strictly Confidential\nEmail allowed allowed never\n",
                    encoding="utf-8")
    assert "sensitivity_markings" not in TextReader().extract(path).metadata
