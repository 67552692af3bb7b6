from pathlib import Path

import pytest

import pypdf

from shochu.ingest.readers.base import EncryptedError, NoTextError
from shochu.ingest.readers.pdf import PdfReader, join_pages
from shochu.ingest.readers.running import drop_running_lines, running_lines


@pytest.fixture
def handbook(handbook_pdf: Path) -> str:
    return PdfReader().extract(handbook_pdf).text


def test_pdf_running_header_removed(handbook: str) -> None:
    assert "Internal Handbook" not in handbook


def test_pdf_page_footer_removed(handbook: str) -> None:
    assert "of 3" not in handbook


def test_pdf_body_text_kept(handbook: str) -> None:
    assert "Safety shoes are required on the factory floor." in handbook


def test_pdf_paragraph_rejoined_across_pages(handbook: str) -> None:
    assert "parts and labour for\ntwo full years after delivery." in handbook


def test_pdf_sentence_end_starts_new_paragraph(handbook: str) -> None:
    assert "first shift.\n\nSafety shoes" in handbook


def test_pdf_metadata_pages(handbook_pdf: Path) -> None:
    metadata = PdfReader().extract(handbook_pdf).metadata
    assert metadata["pages"] == 3
    assert metadata["pages_without_text"] == []


def test_pdf_without_text_needs_ocr(scan_pdf: Path) -> None:
    with pytest.raises(NoTextError, match="OCR"):
        PdfReader().extract(scan_pdf)


def test_pdf_corrupt_raises(corrupt_pdf: Path) -> None:
    with pytest.raises(Exception):  # noqa: B017 - pypdf's exception class is not part of the contract
        PdfReader().extract(corrupt_pdf)


def encrypt(source: Path, target: Path, user_password: str) -> Path:
    writer = pypdf.PdfWriter(clone_from=source)
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-128")
    writer.write(target)
    return target


def test_pdf_encrypted_with_password_rejected(handbook_pdf: Path, tmp_path: Path) -> None:
    locked = encrypt(handbook_pdf, tmp_path / "locked.pdf", user_password="open-sesame")
    with pytest.raises(EncryptedError, match="decrypt it"):
        PdfReader().extract(locked)


def test_pdf_encrypted_without_user_password_read(handbook_pdf: Path, tmp_path: Path) -> None:
    restricted = encrypt(handbook_pdf, tmp_path / "restricted.pdf", user_password="")
    assert "Safety shoes" in PdfReader().extract(restricted).text


def test_running_lines_ignore_page_numbers() -> None:
    pages = [["Report", f"Page {number} of 9", f"body {letter}"] for number, letter in zip("123", "abc")]
    assert running_lines(pages) == {"Report", "Page 0 of 0"}


def test_running_lines_need_most_pages() -> None:
    pages = [["Chapter 1", "a"], ["Chapter 1", "b"], ["Other", "c"], ["Other", "d"]]
    assert running_lines(pages) == set()


def test_running_line_mid_page_kept() -> None:
    lines = ["Report", "one", "two", "three", "Report", "four", "five", "six", "Page 1"]
    assert drop_running_lines(lines, {"Report"}) == lines[1:]


def test_join_pages_continues_unfinished_sentence() -> None:
    assert join_pages(["The valve is", "closed."]) == "The valve is\nclosed."


def test_join_pages_japanese_sentence_end() -> None:
    assert join_pages(["終わりです。", "次のページ"]) == "終わりです。\n\n次のページ"
