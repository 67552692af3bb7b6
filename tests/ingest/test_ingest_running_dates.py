"""Running footers that carry a spelled-out date: month and weekday names change per page."""

from pathlib import Path

from fpdf import FPDF

from shochu.ingest.readers import reader_for
from shochu.ingest.readers.running import drop_running_lines, line_key, running_lines

FOOTERS = ["Monday, 3 June 2024", "Tuesday, 4 June 2024", "Friday, 2 August 2024"]
BODIES = ["The pump is serviced every ninety days.", "Safety shoes are required on the floor.",
          "Report every incident to the site manager."]


def test_line_key_ignores_date_words() -> None:
    assert line_key("Monday, 3 June 2024") == line_key("Fri, 14 Sep. 2025")
    assert line_key("2024年6月3日（月）") == line_key("2024年6月4日（火）")
    assert line_key("Mayor's office") != line_key("Junior's office")


def test_running_dates_dropped() -> None:
    pages = [[body, footer] for body, footer in zip(BODIES, FOOTERS, strict=True)]
    running = running_lines(pages)
    assert [drop_running_lines(lines, running) for lines in pages] == [[body] for body in BODIES]


def test_pdf_date_footer_removed(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.set_auto_page_break(False)
    for body, footer in zip(BODIES, FOOTERS, strict=True):
        pdf.add_page()
        pdf.set_font("helvetica", size=11)
        pdf.cell(0, 6, body)
        pdf.set_y(-15)
        pdf.cell(0, 6, footer, align="C")
    path = tmp_path / "dated.pdf"
    pdf.output(str(path))

    reader = reader_for(path)
    assert reader is not None
    assert reader.extract(path).text == "\n\n".join(BODIES)
