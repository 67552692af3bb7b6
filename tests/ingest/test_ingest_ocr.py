"""OCR of images and scanned PDF pages, on text rendered into images by the tests."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw, ImageFont

from ingest_files import read_output

from shochu.config import RunConfig
from shochu.ingest import stage
from shochu.ingest.readers.base import OcrUnavailableError, ReadOptions
from shochu.ingest.readers.image import ImageReader
from shochu.ingest.readers.pdf import PdfReader
from shochu.workspace import Workspace

LATIN_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
JAPANESE_FONT = "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"
SCANNED_LINES = ["The warranty covers parts and labour", "for two full years after delivery."]
SCANNED_TEXT = "The warranty covers parts and labour for two full years after delivery."
FIRST_PAGE = "Welcome to the handbook. Read it before your first shift."
ENGLISH = ReadOptions(ocr_languages="eng")


def render_text(lines: list[str], font_path: str = LATIN_FONT, size: int = 36) -> Image.Image:
    """Draw black text on a white greyscale image, as a scanner would deliver a clean page."""
    if not Path(font_path).is_file():
        pytest.skip(f"font {font_path} is not installed")
    font = ImageFont.truetype(font_path, size)
    line_height = int(size * 1.5)
    image = Image.new("L", (size * 24, 60 + line_height * len(lines)), 255)
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        draw.text((40, 30 + number * line_height), line, font=font, fill=0)
    return image


def image_bytes(image: Image.Image | list[Image.Image], format_name: str) -> bytes:
    buffer = io.BytesIO()
    if isinstance(image, list):
        image[0].save(buffer, format=format_name, save_all=True, append_images=image[1:])
    else:
        image.save(buffer, format=format_name)
    return buffer.getvalue()


def flat(text: str) -> str:
    return " ".join(text.split())


def write_mixed_pdf(path: Path, scan: Image.Image) -> Path:
    """Write a two-page PDF: page 1 has a text layer, page 2 is only an image."""
    from fpdf import FPDF

    pdf = FPDF(format=(210, 120))
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(0, 8, "Welcome to the handbook.")
    pdf.ln(8)
    pdf.cell(0, 8, "Read it before your first shift.")
    pdf.add_page()
    pdf.image(scan, x=10, y=10, w=190)
    pdf.output(str(path))
    return path


def write_scanned_pdf(path: Path, scan: Image.Image) -> Path:
    from fpdf import FPDF

    pdf = FPDF(format=(210, 120))
    pdf.add_page()
    pdf.image(scan, x=10, y=10, w=190)
    pdf.output(str(path))
    return path


# --- images -----------------------------------------------------------------------------


@pytest.mark.parametrize("format_name", ["PNG", "JPEG"])
def test_image_text_read(tmp_path: Path, format_name: str) -> None:
    path = tmp_path / f"scan.{format_name.lower()}"
    path.write_bytes(image_bytes(render_text(SCANNED_LINES), format_name))
    extraction = ImageReader().extract(path, ENGLISH)
    assert flat(extraction.text) == SCANNED_TEXT
    assert extraction.metadata == {"pages": 1, "ocr": True}


def test_multipage_tiff_pages(tmp_path: Path) -> None:
    path = tmp_path / "fax.tiff"
    pages = [render_text(["First page of the fax."]), render_text(["Second page of the fax."])]
    path.write_bytes(image_bytes(pages, "TIFF"))
    extraction = ImageReader().extract(path, ENGLISH)
    assert extraction.text == "First page of the fax.\n\nSecond page of the fax."
    assert extraction.metadata["pages"] == 2


def test_japanese_image_text(tmp_path: Path) -> None:
    path = tmp_path / "notice.png"
    path.write_bytes(image_bytes(render_text(["経費精算は30日以内に提出してください。"], JAPANESE_FONT, 40), "PNG"))
    text = ImageReader().extract(path, ReadOptions(ocr_languages="jpn")).text
    assert text == "経費精算は30日以内に提出してください。"


def test_image_without_ocr_rejected(tmp_path: Path) -> None:
    path = tmp_path / "scan.png"
    path.write_bytes(image_bytes(render_text(SCANNED_LINES), "PNG"))
    with pytest.raises(OcrUnavailableError, match="ingest.ocr is false"):
        ImageReader().extract(path, ReadOptions(ocr=False))


def test_missing_language_named(tmp_path: Path) -> None:
    path = tmp_path / "scan.png"
    path.write_bytes(image_bytes(render_text(SCANNED_LINES), "PNG"))
    with pytest.raises(OcrUnavailableError, match="language\\(s\\) xyz"):
        ImageReader().extract(path, ReadOptions(ocr_languages="eng+xyz"))


# --- PDFs ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mixed_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mixed")
    return write_mixed_pdf(folder / "mixed.pdf", render_text(SCANNED_LINES))


def test_mixed_pdf_page_two_read(mixed_pdf: Path) -> None:
    extraction = PdfReader().extract(mixed_pdf)
    assert flat(extraction.text) == f"{FIRST_PAGE} {SCANNED_TEXT}"
    assert extraction.metadata["pages_ocr"] == [2]
    assert extraction.warnings == []


def test_mixed_pdf_without_ocr_warns(mixed_pdf: Path) -> None:
    extraction = PdfReader().extract(mixed_pdf, ReadOptions(ocr=False))
    assert flat(extraction.text) == FIRST_PAGE
    [warning] = extraction.warnings
    assert warning["error"] == "ocr_unavailable"
    assert "page(s) 2 have no text layer" in warning["message"]


def test_scanned_pdf_without_ocr_fails(tmp_path: Path) -> None:
    path = write_scanned_pdf(tmp_path / "scan.pdf", render_text(SCANNED_LINES))
    with pytest.raises(OcrUnavailableError, match="no text layer on page\\(s\\) 1"):
        PdfReader().extract(path, ReadOptions(ocr=False))


def test_text_page_not_ocr(tmp_path: Path) -> None:
    # The page's own text layer is long enough, so its image is not read.
    from fpdf import FPDF

    pdf = FPDF(format=(210, 160))
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(0, 8, "This page has a text layer of its own.")
    pdf.image(render_text(["Logo text"]), x=10, y=30, w=100)
    pdf.output(str(tmp_path / "logo.pdf"))
    extraction = PdfReader().extract(tmp_path / "logo.pdf", ReadOptions(ocr=False))
    assert extraction.text == "This page has a text layer of its own."
    assert "pages_ocr" not in extraction.metadata


# --- the stage ------------------------------------------------------------------------------


def run_stage(folder: Path, workspace_root: Path, **ingest: Any) -> dict[str, Any]:
    workspace = Workspace(workspace_root)
    config = RunConfig.model_validate({"workspace": str(workspace_root),
                                       "ingest": {"input": str(folder), **ingest}})
    stage.run(config, workspace)
    out = workspace.stage_dir("ingest")
    return {name: read_output(out, name) for name in ("documents", "chunks", "errors")}


def test_stage_reports_scans_without_ocr(tmp_path: Path, mixed_pdf: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "mixed.pdf").write_bytes(mixed_pdf.read_bytes())
    (folder / "scan.png").write_bytes(image_bytes(render_text(SCANNED_LINES), "PNG"))
    result = run_stage(folder, tmp_path / "ws", ocr=False)
    errors = {(record["source"], record["severity"]): record for record in result["errors"]}
    assert sorted(errors) == [("mixed.pdf", "warning"), ("scan.png", "error")]
    assert errors[("scan.png", "error")]["error"] == "OcrUnavailableError"
    assert [document["source"] for document in result["documents"]] == ["mixed.pdf"]


def test_stage_reads_scanned_image(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "scan.png").write_bytes(image_bytes(render_text(SCANNED_LINES), "PNG"))
    result = run_stage(folder, tmp_path / "ws", ocr_languages="eng")
    assert result["errors"] == []
    assert result["documents"][0]["format"] == "image"
    assert flat(result["chunks"][0]["text"]) == SCANNED_TEXT
