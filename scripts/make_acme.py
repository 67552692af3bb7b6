#!/usr/bin/env python3
"""Build the Acme Precision Components sample corpus from its text sources.

Each source ``examples/acme/sources/<folder>/<name>.<format>.<ext>`` becomes
``examples/acme/docs/<folder>/<name>.<format>``:

    <name>.pdf.md     Markdown subset with front matter  -> PDF (fpdf2)
    <name>.docx.md    Markdown subset with front matter  -> DOCX (python-docx)
    <name>.pptx.yaml  slides with bullets and notes      -> PPTX (python-pptx)
    <name>.xlsx.yaml  sheets, one table each             -> XLSX (openpyxl)
    <name>.eml.txt    RFC 5322 headers and a plain body   -> EML (email package)
    <name>.html.in    wiki page content with front matter -> HTML wiki export page

``sources/tickets.yaml`` contains the fragment lists from which the seeded
generator writes ``examples/acme/tickets.csv``. Markdown documents are written
by hand directly in ``docs/`` and this script leaves them alone.

Output is byte-reproducible on one machine: document dates come from the
sources, ZIP entries get fixed timestamps, and e-mail boundaries are fixed.
zlib is part of that, so another zlib version may compress DOCX, XLSX and
PPTX parts, and the fonts embedded in the Japanese PDF, to different bytes.

Usage:
    python scripts/make_acme.py            # regenerate docs/ and tickets.csv
    python scripts/make_acme.py --check    # rebuild in a temp folder, compare
    python scripts/make_acme.py --stats    # count documents and text size
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import email.policy
import filecmp
import html
import io
import random
import re
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from html.parser import HTMLParser
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
ACME_ROOT = REPO_ROOT / "examples" / "acme"
SOURCES = ACME_ROOT / "sources"

COMPANY = "Acme Precision Components"
GENERATED_SUFFIXES = {".pdf", ".docx", ".pptx", ".xlsx", ".eml", ".html"}

# Japanese PDFs embed IPAGothic from the Debian package fonts-ipafont-gothic.
CJK_FONT_PATH = Path("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf")
CJK_FONT_PACKAGE = "fonts-ipafont-gothic"

TICKETS_SEED = 20240601
TICKETS_START = dt.datetime(2024, 1, 4)
TICKETS_END = dt.datetime(2024, 9, 27)


# --------------------------------------------------------------------------
# Source parsing


@dataclass
class Block:
    """One block of the Markdown subset used by the PDF and DOCX sources."""

    kind: str  # heading, paragraph, list, table
    text: str = ""
    level: int = 0
    # List items as (nesting level, numbered, text). Bullets and numbers may mix in one list.
    items: list[tuple[int, bool, str]] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


def split_front_matter(text: str, source: Path) -> tuple[dict, str]:
    """Split a ``---`` delimited YAML header from the body of a source file."""
    if not text.startswith("---\n"):
        raise ValueError(f"{source}: missing front matter. The file must start with a '---' line")
    end = text.find("\n---\n", 4)
    if end < 0:
        raise ValueError(f"{source}: front matter has no closing '---' line")
    meta = yaml.safe_load(text[4:end]) or {}
    return meta, text[end + 5 :]


def join_lines(lines: list[str], lang: str) -> str:
    """Join wrapped source lines, without a space between lines of Japanese text."""
    separator = "" if lang == "ja" else " "
    return separator.join(line.strip() for line in lines)


BULLET_RE = re.compile(r"^( *)[-*] (.*)$")
NUMBERED_RE = re.compile(r"^( *)\d+\. (.*)$")
HEADING_RE = re.compile(r"^(#{1,3}) (.*)$")


def parse_blocks(body: str, lang: str) -> list[Block]:
    """Parse the Markdown subset: headings, paragraphs, lists two levels deep, pipe tables.

    An indented list item is on the second level. Consecutive list items form one
    list, even across blank lines, until a heading, paragraph or table.
    """
    blocks: list[Block] = []
    paragraph: list[str] = []

    def flush_paragraph() -> None:
        if paragraph:
            blocks.append(Block("paragraph", text=join_lines(paragraph, lang)))
            paragraph.clear()

    for raw in body.splitlines():
        line = raw.rstrip()
        if not line:
            flush_paragraph()
            continue

        heading = HEADING_RE.match(line)
        bullet = BULLET_RE.match(line)
        numbered = NUMBERED_RE.match(line)

        if heading:
            flush_paragraph()
            blocks.append(Block("heading", text=heading.group(2), level=len(heading.group(1))))
        elif line.startswith("|"):
            flush_paragraph()
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            if all(re.fullmatch(r":?-+:?", cell) for cell in cells):
                continue  # the separator row under the table header
            if not blocks or blocks[-1].kind != "table":
                blocks.append(Block("table"))
            blocks[-1].rows.append(cells)
        elif bullet or numbered:
            flush_paragraph()
            match = bullet or numbered
            level = 1 if match.group(1) else 0
            if not blocks or blocks[-1].kind != "list":
                blocks.append(Block("list"))
            blocks[-1].items.append((level, bool(numbered), match.group(2)))
        elif raw.startswith("  ") and blocks and blocks[-1].kind == "list" and not paragraph:
            # A continuation line of the previous list item.
            level, ordered, text = blocks[-1].items[-1]
            blocks[-1].items[-1] = (level, ordered, join_lines([text, line], lang))
        else:
            paragraph.append(line)

    flush_paragraph()
    return blocks


def document_datetime(meta: dict, source: Path) -> dt.datetime:
    """Return the document date from the front matter as a naive datetime at 09:00."""
    value = meta.get("date")
    if not isinstance(value, dt.date):
        raise ValueError(f"{source}: front matter needs 'date: YYYY-MM-DD', got {value!r}")
    return dt.datetime(value.year, value.month, value.day, 9, 0, 0)


def header_text(meta: dict) -> str:
    return f"{COMPANY} - Internal - Rev {meta['rev']}"


# --------------------------------------------------------------------------
# PDF


def build_pdf(source: Path, target: Path) -> None:
    """Render a Markdown-subset source as a PDF with running header and page footer."""
    from fpdf import FPDF
    from fpdf.enums import WrapMode, XPos, YPos

    meta, body = split_front_matter(source.read_text(encoding="utf-8"), source)
    lang = meta.get("lang", "en")
    blocks = parse_blocks(body, lang)
    when = document_datetime(meta, source)

    class AcmePdf(FPDF):
        def header(self) -> None:
            self.set_font(family, "", 8)
            self.set_text_color(90, 90, 90)
            self.cell(0, 5, header_text(meta), align="L")
            self.set_x(self.l_margin)
            self.cell(0, 5, meta["doc_id"], align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.set_draw_color(150, 150, 150)
            self.line(self.l_margin, self.get_y() + 1, self.w - self.r_margin, self.get_y() + 1)
            self.ln(6)
            self.set_text_color(0, 0, 0)

        def footer(self) -> None:
            self.set_y(-14)
            self.set_font(family, "", 8)
            self.set_text_color(90, 90, 90)
            self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="C")

    pdf = AcmePdf(format="A4")
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(True, margin=20)
    pdf.set_creation_date(when.replace(tzinfo=dt.timezone.utc))
    pdf.set_title(meta["title"])
    pdf.set_author(meta.get("owner", COMPANY))
    pdf.set_subject(meta["doc_id"])
    pdf.set_creator(COMPANY)

    if lang not in ("en", "ja"):
        raise ValueError(f"{source}: PDF sources support lang 'en' or 'ja', got {lang!r}")
    if lang == "en":
        family = "helvetica"
        check_latin1(source)
        wrapmode = WrapMode.WORD
        bullet_mark = "-"
    else:
        if not CJK_FONT_PATH.exists():
            raise SystemExit(
                f"{source}: font {CJK_FONT_PATH} not found, and the Japanese PDF needs it. "
                f"Install it with: apt-get install {CJK_FONT_PACKAGE}"
            )
        family = "ipagothic"
        pdf.add_font(family, "", str(CJK_FONT_PATH))
        pdf.add_font(family, "B", str(CJK_FONT_PATH))  # IPAGothic has no bold face
        wrapmode = WrapMode.CHAR
        bullet_mark = "・"

    pdf.add_page()
    write_pdf_title_block(pdf, family, meta)

    for block in blocks:
        if block.kind == "heading":
            size = {1: 14, 2: 12, 3: 10.5}[block.level]
            pdf.ln(3 if block.level > 1 else 5)
            pdf.set_font(family, "B", size)
            pdf.multi_cell(0, size * 0.55, block.text, wrapmode=wrapmode, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.ln(1.5)
        elif block.kind == "paragraph":
            pdf.set_font(family, "", 10)
            pdf.multi_cell(0, 5, block.text, markdown=True, wrapmode=wrapmode, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.ln(2)
        elif block.kind == "list":
            pdf.set_font(family, "", 10)
            counters = [0, 0]
            for level, ordered, text in block.items:
                counters[level] += 1
                if level == 0:
                    counters[1] = 0
                mark = f"{counters[level]}." if ordered else bullet_mark
                indent = 4 + 6 * level
                pdf.set_x(pdf.l_margin + indent)
                pdf.cell(6, 5, mark)
                width = pdf.w - pdf.r_margin - pdf.get_x()
                pdf.multi_cell(width, 5, text, markdown=True, wrapmode=wrapmode, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
                pdf.ln(0.8)
            pdf.ln(1.5)
        elif block.kind == "table":
            pdf.set_font(family, "", 9)
            widths = table_column_widths(block.rows)
            with pdf.table(col_widths=widths, line_height=4.6, text_align="LEFT", wrapmode=wrapmode) as table:
                for row in block.rows:
                    cells = table.row()
                    for value in row:
                        cells.cell(value)
            pdf.ln(3)

    if pdf.pages_count < 2:
        raise ValueError(f"{source}: renders to {pdf.pages_count} page; corpus PDFs must be multi-page")

    target.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(target))


def write_pdf_title_block(pdf, family: str, meta: dict) -> None:
    from fpdf.enums import XPos, YPos

    pdf.set_font(family, "B", 18)
    pdf.multi_cell(0, 9, meta["title"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.set_font(family, "", 9)
    rows = [
        ("Document ID", meta["doc_id"]),
        ("Revision", str(meta["rev"])),
        ("Effective date", str(meta["date"])),
        ("Owner", meta.get("owner", "")),
        ("Approved by", meta.get("approved_by", "")),
        ("Classification", meta.get("classification", "Internal")),
    ]
    with pdf.table(col_widths=(35, 135), line_height=5, first_row_as_headings=False) as table:
        for label, value in rows:
            cells = table.row()
            cells.cell(label)
            cells.cell(value)
    pdf.ln(4)


def table_column_widths(rows: list[list[str]]) -> tuple[int, ...]:
    """Size columns by their longest cell, capped so no column takes over the page."""
    columns = max(len(row) for row in rows)
    lengths = []
    for index in range(columns):
        longest = max((len(row[index]) for row in rows if index < len(row)), default=1)
        lengths.append(min(max(longest, 6), 60))
    return tuple(lengths)


def check_latin1(source: Path) -> None:
    """Reject characters, in front matter or body, that the PDF core font Helvetica cannot encode."""
    lines = source.read_text(encoding="utf-8").splitlines()
    for line_number, line in enumerate(lines, start=1):
        for char in line:
            if ord(char) > 0xFF:
                raise ValueError(
                    f"{source}:{line_number}: character {char!r} (U+{ord(char):04X}) is outside Latin-1. "
                    "English PDFs use Helvetica, so replace the character or write the document as lang: ja"
                )


# --------------------------------------------------------------------------
# DOCX


def build_docx(source: Path, target: Path) -> None:
    """Render a Markdown-subset source as a Word document with real heading and list styles."""
    from docx import Document
    from docx.oxml.ns import qn
    from docx.shared import Pt

    meta, body = split_front_matter(source.read_text(encoding="utf-8"), source)
    lang = meta.get("lang", "en")
    blocks = parse_blocks(body, lang)
    when = document_datetime(meta, source)

    document = Document()
    properties = document.core_properties
    properties.title = meta["title"]
    properties.author = meta.get("owner", COMPANY)
    properties.last_modified_by = meta.get("owner", COMPANY)
    properties.subject = meta["doc_id"]
    properties.category = meta.get("classification", "Internal")
    properties.keywords = ""
    properties.comments = ""
    properties.revision = int(meta["rev"])
    properties.created = when
    properties.modified = when
    properties.last_printed = when
    properties.language = {"en": "en-US", "ja": "ja-JP", "th": "th-TH"}[lang]

    normal = document.styles["Normal"]
    normal.font.size = Pt(10.5)
    fonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    if lang == "ja":
        fonts.set(qn("w:eastAsia"), "Yu Gothic")
    if lang == "th":
        fonts.set(qn("w:cs"), "Leelawadee UI")

    section = document.sections[0]
    section.header.paragraphs[0].text = header_text(meta)
    section.footer.paragraphs[0].text = f"{meta['doc_id']} - {meta['title']}"

    document.add_heading(meta["title"], 0)
    document.add_paragraph(
        f"Document ID: {meta['doc_id']}  |  Revision: {meta['rev']}  |  "
        f"Effective: {meta['date']}  |  Owner: {meta.get('owner', '')}"
    )

    for block in blocks:
        if block.kind == "heading":
            document.add_heading(block.text, block.level)
        elif block.kind == "paragraph":
            add_docx_runs(document.add_paragraph(), block.text)
        elif block.kind == "list":
            num_id = None
            for level, ordered, text in block.items:
                base = "List Number" if ordered else "List Bullet"
                style = base if level == 0 else f"{base} 2"
                paragraph = document.add_paragraph(style=style)
                add_docx_runs(paragraph, text)
                if ordered and level == 0:
                    num_id = restart_numbering(document, paragraph, num_id)
        elif block.kind == "table":
            add_docx_table(document, block.rows)

    target.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(target))
    normalize_zip(target, when)


def add_docx_runs(paragraph, text: str) -> None:
    """Add text to a paragraph, turning ``**bold**`` spans into bold runs."""
    for index, part in enumerate(re.split(r"\*\*", text)):
        if part:
            paragraph.add_run(part).bold = index % 2 == 1


def restart_numbering(document, paragraph, num_id: int | None) -> int:
    """Make each numbered list start at 1 instead of continuing the previous list.

    python-docx gives every "List Number" paragraph the style's single numbering
    instance, so a second list would go on from where the first stopped. The
    first item of a list gets a new w:num with a start override, and the later
    items reuse that id, which is passed back in ``num_id``.
    """
    numbering = document.part.numbering_part.numbering_definitions._numbering
    if num_id is None:
        style_num_id = document.styles["List Number"].element.pPr.numPr.numId.val
        abstract_id = numbering.num_having_numId(style_num_id).abstractNumId.val
        num = numbering.add_num(abstract_id)
        num.add_lvlOverride(ilvl=0).add_startOverride(1)
        num_id = num.numId
    num_pr = paragraph._p.get_or_add_pPr().get_or_add_numPr()
    num_pr.get_or_add_ilvl().val = 0
    num_pr.get_or_add_numId().val = num_id
    return num_id


def add_docx_table(document, rows: list[list[str]]) -> None:
    table = document.add_table(rows=len(rows), cols=len(rows[0]))
    table.style = "Table Grid"
    for row_index, row in enumerate(rows):
        for column_index, value in enumerate(row):
            cell = table.cell(row_index, column_index)
            cell.text = ""
            run = cell.paragraphs[0].add_run(value)
            run.bold = row_index == 0
    document.add_paragraph()


# --------------------------------------------------------------------------
# PPTX


def build_pptx(source: Path, target: Path) -> None:
    """Render a slide deck from YAML: title slide, bullet slides, table slides, speaker notes."""
    from pptx import Presentation
    from pptx.util import Inches, Pt

    deck = yaml.safe_load(source.read_text(encoding="utf-8"))
    when = document_datetime(deck, source)
    lang = deck.get("lang", "en")

    presentation = Presentation()
    presentation.slide_width = Inches(13.333)
    presentation.slide_height = Inches(7.5)
    properties = presentation.core_properties
    properties.title = deck["title"]
    properties.author = deck["author"]
    properties.last_modified_by = deck["author"]
    properties.subject = deck.get("subtitle", "")
    properties.revision = int(deck.get("rev", 1))
    properties.created = when
    properties.modified = when
    properties.last_printed = when
    properties.keywords = ""
    properties.comments = ""
    properties.category = "Internal"

    title_slide = presentation.slides.add_slide(presentation.slide_layouts[0])
    title_slide.shapes.title.text = deck["title"]
    title_slide.placeholders[1].text = deck.get("subtitle", "")
    set_notes(title_slide, deck.get("notes", ""), lang)

    for number, spec in enumerate(deck["slides"], start=2):
        if "table" in spec:
            slide = presentation.slides.add_slide(presentation.slide_layouts[5])
            slide.shapes.title.text = spec["title"]
            rows = spec["table"]
            shape = slide.shapes.add_table(
                len(rows), len(rows[0]), Inches(0.7), Inches(1.6), Inches(11.9), Inches(0.4) * len(rows)
            )
            for row_index, row in enumerate(rows):
                for column_index, value in enumerate(row):
                    cell = shape.table.cell(row_index, column_index)
                    cell.text = str(value)
                    cell.text_frame.paragraphs[0].font.size = Pt(14)
        else:
            slide = presentation.slides.add_slide(presentation.slide_layouts[1])
            slide.shapes.title.text = spec["title"]
            body = slide.placeholders[1]
            body.left, body.top, body.width, body.height = Inches(0.7), Inches(1.6), Inches(11.9), Inches(5.2)
            frame = body.text_frame
            first = True
            for level, text in flatten_bullets(spec.get("bullets", [])):
                paragraph = frame.paragraphs[0] if first else frame.add_paragraph()
                paragraph.text = text
                paragraph.level = level
                paragraph.font.size = Pt(20 if level == 0 else 16)
                first = False
        add_slide_footer(slide, deck, number)
        set_notes(slide, spec.get("notes", ""), lang)

    target.parent.mkdir(parents=True, exist_ok=True)
    presentation.save(str(target))
    normalize_zip(target, when)


def flatten_bullets(items: list, level: int = 0) -> list[tuple[int, str]]:
    """Flatten YAML bullets. A nested list contains the sub-points of the item before it."""
    flat = []
    for item in items:
        if isinstance(item, list):
            flat.extend(flatten_bullets(item, level + 1))
        else:
            flat.append((level, str(item)))
    return flat


def add_slide_footer(slide, deck: dict, number: int) -> None:
    from pptx.util import Inches, Pt

    box = slide.shapes.add_textbox(Inches(0.5), Inches(7.0), Inches(12.3), Inches(0.35))
    paragraph = box.text_frame.paragraphs[0]
    paragraph.text = f"{COMPANY} - Internal  |  {deck['title']}  |  {number}"
    paragraph.font.size = Pt(10)


def set_notes(slide, notes: str, lang: str) -> None:
    """Set the speaker notes, unwrapping the source's line breaks inside each paragraph."""
    if notes:
        paragraphs = [join_lines(part.splitlines(), lang) for part in notes.strip().split("\n\n")]
        slide.notes_slide.notes_text_frame.text = "\n".join(paragraphs)


# --------------------------------------------------------------------------
# XLSX


def build_xlsx(source: Path, target: Path) -> None:
    """Write a workbook with one Excel table per sheet, starting at A1."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.table import Table, TableStyleInfo
    from openpyxl.writer.excel import ExcelWriter

    book = yaml.safe_load(source.read_text(encoding="utf-8"))
    when = document_datetime(book, source)

    workbook = Workbook()
    workbook.remove(workbook.active)
    workbook.properties.title = book["title"]
    workbook.properties.creator = book["author"]
    workbook.properties.lastModifiedBy = book["author"]
    workbook.properties.created = when
    workbook.properties.modified = when

    for sheet_index, sheet in enumerate(book["sheets"], start=1):
        worksheet = workbook.create_sheet(sheet["name"])
        columns = sheet["columns"]
        worksheet.append(columns)
        for row in sheet["rows"]:
            if len(row) != len(columns):
                raise ValueError(
                    f"{source}: sheet {sheet['name']!r} row {row!r} has {len(row)} cells, expected {len(columns)}"
                )
            worksheet.append(row)
        for cell in worksheet[1]:
            cell.font = Font(bold=True)

        formats = sheet.get("formats", {})
        for column_index, name in enumerate(columns, start=1):
            letter = get_column_letter(column_index)
            values = [name] + [row[column_index - 1] for row in sheet["rows"]]
            width = max(display_width(value) for value in values)
            worksheet.column_dimensions[letter].width = min(max(width + 2, 8), 60)
            if name in formats:
                for cell in worksheet[letter][1:]:
                    cell.number_format = formats[name]

        last = f"{get_column_letter(len(columns))}{len(sheet['rows']) + 1}"
        table = Table(displayName=sheet.get("table", f"Table{sheet_index}"), ref=f"A1:{last}")
        table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
        worksheet.add_table(table)
        worksheet.freeze_panes = "A2"

    # ExcelWriter directly, because openpyxl's save() overwrites the modified date with now.
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).save()
    normalize_zip(target, when)


def display_width(value) -> int:
    """Approximate a cell's width in characters, counting CJK characters double."""
    text = str(value) if value is not None else ""
    return sum(2 if ord(char) > 0x2E80 else 1 for char in text)


# --------------------------------------------------------------------------
# EML

PSEUDO_HEADERS = ("X-Build-Html", "X-Build-Attach")


def build_eml(source: Path, target: Path) -> None:
    """Build an RFC 5322 message from a header block and a plain-text body.

    Two build-only headers are removed from the output: ``X-Build-Html: yes``
    adds an HTML alternative of the body, and ``X-Build-Attach: NAME`` attaches
    ``sources/mail/attachments/NAME``.
    """
    raw = source.read_text(encoding="utf-8")
    head, _, body = raw.partition("\n\n")
    headers = []
    for line in head.splitlines():
        if line.startswith((" ", "\t")) and headers:
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
        else:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
    pseudo = {name: value for name, value in headers if name in PSEUDO_HEADERS}

    message = EmailMessage(policy=email.policy.default)
    for name, value in headers:
        if name not in PSEUDO_HEADERS:
            message[name] = value
    if "Date" not in message or "Message-ID" not in message:
        raise ValueError(f"{source}: Date and Message-ID headers are required for reproducible output")
    message["MIME-Version"] = "1.0"

    body = body.strip("\n") + "\n"
    message.set_content(body, charset="utf-8")
    stem = source.name.split(".")[0]
    if pseudo.get("X-Build-Html", "").lower() == "yes":
        message.add_alternative(plain_to_html(body), subtype="html", charset="utf-8")
        message.set_boundary(f"==acme-alt-{stem}==")
    if "X-Build-Attach" in pseudo:
        name = pseudo["X-Build-Attach"]
        data = (source.parent / "attachments" / name).read_bytes()
        maintype, subtype = ("text", "csv") if name.endswith(".csv") else ("application", "octet-stream")
        if maintype == "text":
            message.add_attachment(data.decode("utf-8"), subtype=subtype, filename=name, charset="utf-8")
        else:
            message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
        message.set_boundary(f"==acme-mixed-{stem}==")
        for part in message.iter_parts():
            if part.get_content_type() == "multipart/alternative":
                part.set_boundary(f"==acme-alt-{stem}==")

    # Headers are written unfolded. With the default 78-column policy, Python 3.11 moves
    # a long value to a continuation line and splits display names into encoded words
    # that its own parser then joins with a stray space. Bodies were already encoded
    # with the default policy, so their base64 and quoted-printable lines stay short.
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(message.as_bytes(policy=email.policy.default.clone(max_line_length=998)))


def plain_to_html(body: str) -> str:
    """Render a plain e-mail body as simple HTML, quoted lines in a blockquote."""
    parts = ['<html><body style="font-family: Arial, sans-serif; font-size: 10pt">']
    in_quote = False
    for line in body.splitlines():
        quoted = line.startswith(">")
        if quoted and not in_quote:
            parts.append('<blockquote style="border-left: 2px solid #ccc; padding-left: 8px">')
        if not quoted and in_quote:
            parts.append("</blockquote>")
        in_quote = quoted
        text = line[1:].lstrip() if quoted else line
        parts.append(f"{html.escape(text)}<br>")
    if in_quote:
        parts.append("</blockquote>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------------
# HTML wiki pages

WIKI_NAME = "Acme Kumo Wiki"

WIKI_TEMPLATE = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<title>{title} - {space} - {wiki}</title>
<meta name="generator" content="Kumo Wiki 4.2.1">
<link rel="stylesheet" href="/static/kumo.css">
</head>
<body>
<div id="cookie-banner">This wiki uses cookies to remember your language and sidebar settings. <a href="/help/cookies">Learn more</a> <button>OK</button></div>
<header id="top">
  <a class="logo" href="/">{wiki}</a>
  <form class="search" action="/search"><input type="text" name="q" placeholder="Search the wiki"><button>Search</button></form>
  <span class="user">Signed in as <a href="/user/me">My profile</a> | <a href="/logout">Sign out</a></span>
</header>
<nav id="main-menu">
  <ul>
    <li><a href="/spaces/home">Home</a></li>
    <li><a href="/spaces/it-helpdesk">IT Helpdesk</a></li>
    <li><a href="/spaces/products">Products</a></li>
    <li><a href="/spaces/hr">HR and General Affairs</a></li>
    <li><a href="/spaces/quality">Quality</a></li>
    <li><a href="/spaces/bangkok">Bangkok Plant</a></li>
    <li><a href="/spaces/vientiane">Vientiane Office</a></li>
  </ul>
</nav>
<div id="breadcrumb"><a href="/">Home</a> &gt; <a href="/spaces/{space_slug}">{space}</a> &gt; {title}</div>
<aside id="sidebar">
  <h3>Pages in this space</h3>
  <ul>
{sidebar}
  </ul>
  <h3>Quick links</h3>
  <ul>
    <li><a href="/help/editing">How to edit a page</a></li>
    <li><a href="/help/templates">Page templates</a></li>
    <li><a href="/recent">Recently changed</a></li>
  </ul>
</aside>
<main id="content">
{content}
</main>
<div class="page-meta">Last edited by {editor} on {edited} | Page ID {page_id} | <a href="/history/{page_id}">View history</a> | <a href="/edit/{page_id}">Edit</a></div>
<div class="feedback">Was this page helpful? <button>Yes</button> <button>No</button></div>
<footer id="site-footer">
  <p>&copy; 2024 Acme Precision Components Co., Ltd. Internal use only. Do not forward outside the company.</p>
  <p><a href="/help/contact">Contact the wiki team</a> | <a href="/help/privacy">Privacy notice</a> | <a href="/help/accessibility">Accessibility</a> | Powered by Kumo Wiki 4.2.1</p>
</footer>
</body>
</html>
"""


def read_wiki_page(source: Path) -> tuple[dict, str]:
    """Read a ``.html.in`` source: YAML front matter inside the leading HTML comment, then content."""
    text = source.read_text(encoding="utf-8")
    match = re.match(r"<!--\n(.*?)\n-->\n", text, re.DOTALL)
    if not match:
        raise ValueError(f"{source}: a wiki source must start with a '<!--' comment holding its front matter")
    return yaml.safe_load(match.group(1)), text[match.end() :]


def build_wiki_pages(sources: list[Path], targets: list[Path]) -> None:
    """Wrap each wiki page's content in the wiki's navigation, sidebar and footer boilerplate."""
    pages = [(source, target, *read_wiki_page(source)) for source, target in zip(sources, targets)]
    for source, target, meta, content in pages:
        same_space = [
            f'    <li><a href="{other_target.name}">{html.escape(other_meta["title"])}</a></li>'
            for _, other_target, other_meta, _ in pages
            if other_meta["space"] == meta["space"]
        ]
        page = WIKI_TEMPLATE.format(
            lang=meta["lang"],
            title=html.escape(meta["title"]),
            space=html.escape(meta["space"]),
            space_slug=re.sub(r"[^a-z]+", "-", meta["space"].lower()).strip("-"),
            wiki=WIKI_NAME,
            sidebar="\n".join(same_space),
            content=content.strip("\n"),
            editor=html.escape(meta["editor"]),
            edited=meta["edited"],
            page_id=meta["page_id"],
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(page, encoding="utf-8", newline="\n")


# --------------------------------------------------------------------------
# Tickets


def build_tickets(source: Path, target: Path) -> None:
    """Generate the support-ticket CSV from seeded fragment lists.

    Each category gets an equal share of the ``total`` tickets. The ``japanese``
    tickets are spread evenly over the categories, and remainders go to the
    first categories. A ticket takes one issue of its category, which gives the
    subject and the main sentence. The body is 1 to 4 sentences: an optional
    opening, the issue, an optional detail, an optional closing. ``{site}`` is
    filled from the customer's own sites.
    """
    spec = yaml.safe_load(source.read_text(encoding="utf-8"))
    rng = random.Random(TICKETS_SEED)
    categories = list(spec["categories"])
    total = spec["total"]

    plan: list[tuple[str, str]] = []
    for index, category in enumerate(categories):
        count = even_share(total, len(categories), index)
        japanese = even_share(spec["japanese"], len(categories), index)
        plan += [(category, "ja")] * japanese + [(category, "en")] * (count - japanese)
    rng.shuffle(plan)

    created = sorted(random_office_time(rng) for _ in plan)
    seen_bodies: set[str] = set()
    rows = []
    for number, ((category, lang), when) in enumerate(zip(plan, created), start=1):
        fragments = spec["categories"][category][lang]
        shared = spec["shared"][lang]
        separator = " " if lang == "en" else ""
        for _ in range(50):
            customer = rng.choice(spec["customers"][lang])
            slots = {name: rng.choice(values) for name, values in spec["slots"].items()}
            slots.update({name: rng.choice(values) for name, values in spec["slots_" + lang].items()})
            slots["site"] = rng.choice(customer["sites"])
            issue = rng.choice(fragments["issues"])
            subject = fill(rng.choice(issue["subjects"]), slots)
            sentences = []
            if rng.random() < 0.45:
                sentences.append(rng.choice(shared["openings"]))
            sentences.append(issue["text"])
            if rng.random() < 0.75:
                sentences.append(rng.choice(issue.get("details", []) + fragments["details"]))
            if rng.random() < 0.4:
                sentences.append(rng.choice(shared["closings"]))
            body = fill(separator.join(sentences), slots)
            if body not in seen_bodies:
                break
        seen_bodies.add(body)
        rows.append(
            {
                "ticket_id": f"T-2024-{number:04d}",
                "created": when.strftime("%Y-%m-%d %H:%M"),
                "customer": customer["name"],
                "subject": subject,
                "body": body,
                "category": category,
                "lang": lang,
            }
        )

    # A few tickets get personal data that a customer typed in. The seed picks which tickets.
    for planted in spec["planted"]:
        lang = planted.get("lang", "en")
        candidates = [
            row for row in rows if row["category"] == planted["category"] and row["lang"] == lang and "planted" not in row
        ]
        row = rng.choice(candidates)
        row["body"] = row["body"] + (" " if lang == "en" else "") + planted["text"]
        row["planted"] = True

    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=["ticket_id", "created", "customer", "subject", "body", "category"], extrasaction="ignore"
        )
        writer.writeheader()
        writer.writerows(rows)


def random_office_time(rng: random.Random) -> dt.datetime:
    """Draw a ticket time: mostly Monday to Saturday between 07:00 and 19:00, some at night."""
    days = (TICKETS_END - TICKETS_START).days
    while True:
        day = TICKETS_START + dt.timedelta(days=rng.randrange(days + 1))
        if day.weekday() < 6 or rng.random() < 0.15:
            break
    hour = rng.randrange(7, 19) if rng.random() < 0.9 else rng.choice([0, 2, 5, 20, 21, 22, 23])
    return day.replace(hour=hour, minute=rng.randrange(60))


def even_share(total: int, parts: int, index: int) -> int:
    """Return part ``index`` of ``total`` split into ``parts`` near-equal integers."""
    return total // parts + (1 if index < total % parts else 0)


def fill(template: str, slots: dict[str, str]) -> str:
    try:
        return template.format(**slots)
    except KeyError as error:
        raise ValueError(f"ticket fragment {template!r} uses slot {error} that tickets.yaml does not define") from None


# --------------------------------------------------------------------------
# ZIP normalization


def normalize_zip(path: Path, when: dt.datetime) -> None:
    """Rewrite an Office ZIP with fixed entry timestamps and a fixed dcterms:modified.

    python-docx, python-pptx and openpyxl stamp ZIP entries with the current time.
    The entry order and contents are kept.
    """
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(path) as archive:
        entries = [(info.filename, archive.read(info.filename)) for info in archive.infolist()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            if name == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                    rb"\g<1>" + stamp.encode() + rb"\g<2>",
                    data,
                )
            info = zipfile.ZipInfo(name, date_time=when.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0
            archive.writestr(info, data)
    path.write_bytes(buffer.getvalue())


# --------------------------------------------------------------------------
# Driver

BUILDERS = {"pdf": build_pdf, "docx": build_docx, "pptx": build_pptx, "xlsx": build_xlsx, "eml": build_eml}


def source_target(source: Path, docs: Path) -> tuple[str, Path]:
    """Map ``sources/<folder>/<name>.<format>.<ext>`` to its format and ``docs/<folder>/<name>.<format>``."""
    name, fmt, _ = source.name.rsplit(".", 2)
    folder = source.parent.relative_to(SOURCES)
    return fmt, docs / folder / f"{name}.{fmt}"


def build_all(out_root: Path) -> list[Path]:
    """Build every document and the ticket CSV under ``out_root`` and return the written paths."""
    docs = out_root / "docs"
    if docs.exists():
        for stale in docs.rglob("*"):
            if stale.is_file() and stale.suffix in GENERATED_SUFFIXES:
                stale.unlink()

    written = []
    wiki_sources, wiki_targets = [], []
    for source in sorted(SOURCES.rglob("*.*.*")):
        if "attachments" in source.parts:
            continue
        fmt, target = source_target(source, docs)
        if fmt == "html":
            wiki_sources.append(source)
            wiki_targets.append(target)
        elif fmt in BUILDERS:
            BUILDERS[fmt](source, target)
        else:
            raise ValueError(f"{source}: unknown target format {fmt!r}; expected one of {sorted(BUILDERS)} or html")
        written.append(target)
    build_wiki_pages(wiki_sources, wiki_targets)

    tickets = out_root / "tickets.csv"
    build_tickets(SOURCES / "tickets.yaml", tickets)
    written.append(tickets)
    return written


def check_reproducible() -> int:
    """Rebuild into a temporary folder and compare every generated file with the committed one."""
    with tempfile.TemporaryDirectory() as temp:
        written = build_all(Path(temp))
        differing = []
        for path in written:
            committed = ACME_ROOT / path.relative_to(temp)
            if not committed.exists() or not filecmp.cmp(path, committed, shallow=False):
                differing.append(committed.relative_to(REPO_ROOT))
    for path in differing:
        print(f"differs from a fresh build: {path}")
    print(f"{len(written) - len(differing)} of {len(written)} generated files match a fresh build")
    return 1 if differing else 0


# --------------------------------------------------------------------------
# Text extraction for --stats


class MainTextParser(HTMLParser):
    """Collect the text inside <main> of a wiki page, skipping tags."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "main" or self.depth:
            self.depth += 1 if tag not in ("br", "img", "hr", "input") else 0

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.parts.append(data)


def extract_text(path: Path) -> str:
    """Extract the readable text of one corpus document, only the <main> element of wiki pages."""
    suffix = path.suffix
    if suffix == ".md":
        return path.read_text(encoding="utf-8")
    if suffix == ".pdf":
        from pypdf import PdfReader

        return "\n".join(page.extract_text() for page in PdfReader(path).pages)
    if suffix == ".docx":
        from docx import Document

        document = Document(str(path))
        texts = [paragraph.text for paragraph in document.paragraphs]
        for table in document.tables:
            texts += [cell.text for row in table.rows for cell in row.cells]
        return "\n".join(texts)
    if suffix == ".pptx":
        from pptx import Presentation

        texts = []
        for slide in Presentation(str(path)).slides:
            for shape in slide.shapes:
                if shape.has_text_frame:
                    texts.append(shape.text_frame.text)
                if shape.has_table:
                    texts += [cell.text for row in shape.table.rows for cell in row.cells]
            if slide.has_notes_slide:
                texts.append(slide.notes_slide.notes_text_frame.text)
        return "\n".join(texts)
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        texts = []
        for worksheet in load_workbook(path, read_only=True).worksheets:
            for row in worksheet.iter_rows(values_only=True):
                texts.append("\t".join("" if value is None else str(value) for value in row))
        return "\n".join(texts)
    if suffix == ".eml":
        message = BytesParser(policy=email.policy.default).parse(path.open("rb"))
        texts = [str(message["Subject"])]
        for part in message.walk():
            if part.get_content_type() == "text/plain" and not part.is_attachment():
                texts.append(part.get_content())
        return "\n".join(texts)
    if suffix == ".html":
        parser = MainTextParser()
        parser.feed(path.read_text(encoding="utf-8"))
        return "".join(parser.parts)
    raise ValueError(f"{path}: no text extractor for {suffix}")


def detect_language(text: str) -> str:
    """Label text ja or th when at least 10% of its letters are in that script, else en."""
    letters = [char for char in text if char.isalpha()]
    if not letters:
        return "en"
    japanese = sum(1 for char in letters if "\u3040" <= char <= "\u30ff" or "\u4e00" <= char <= "\u9fff")
    thai = sum(1 for char in letters if "\u0e00" <= char <= "\u0e7f")
    if thai / len(letters) >= 0.1:
        return "th"
    if japanese / len(letters) >= 0.1:
        return "ja"
    return "en"


def print_stats() -> None:
    """Print documents per format and language and the extracted text size."""
    docs = ACME_ROOT / "docs"
    by_format: dict[str, list[int]] = {}
    by_language: dict[str, int] = {}
    total_chars = total_bytes = 0
    paths = sorted(path for path in docs.rglob("*") if path.is_file())
    for path in paths:
        text = extract_text(path)
        counts = by_format.setdefault(path.suffix.lstrip("."), [0, 0, 0])
        counts[0] += 1
        counts[1] += len(text)
        counts[2] += len(text.encode("utf-8"))
        language = detect_language(text)
        by_language[language] = by_language.get(language, 0) + 1
        total_chars += len(text)
        total_bytes += len(text.encode("utf-8"))

    print(f"{'format':<8}{'documents':>10}{'characters':>12}{'UTF-8 KB':>10}")
    for fmt, (count, chars, size) in sorted(by_format.items()):
        print(f"{fmt:<8}{count:>10}{chars:>12}{size / 1024:>10.1f}")
    print(f"{'total':<8}{len(paths):>10}{total_chars:>12}{total_bytes / 1024:>10.1f}")
    print("languages: " + ", ".join(f"{language} {count}" for language, count in sorted(by_language.items())))

    with (ACME_ROOT / "tickets.csv").open(encoding="utf-8", newline="") as handle:
        tickets = list(csv.DictReader(handle))
    per_category: dict[str, int] = {}
    for ticket in tickets:
        per_category[ticket["category"]] = per_category.get(ticket["category"], 0) + 1
    japanese = sum(1 for ticket in tickets if detect_language(ticket["body"]) == "ja")
    print(
        f"tickets.csv: {len(tickets)} tickets, {japanese} in Japanese; "
        + ", ".join(f"{name} {count}" for name, count in sorted(per_category.items()))
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="rebuild in a temporary folder and compare with the committed docs/ and tickets.csv")
    parser.add_argument("--stats", action="store_true", help="print document counts and extracted text size")
    args = parser.parse_args()

    if args.check:
        return check_reproducible()
    if not args.stats:
        written = build_all(ACME_ROOT)
        print(f"wrote {len(written)} files under {ACME_ROOT.relative_to(REPO_ROOT)}")
    if args.stats:
        print_stats()
    return 0


if __name__ == "__main__":
    sys.exit(main())
