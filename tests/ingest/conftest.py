"""Fixtures for the ingest tests: every input file is generated here, in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest_files import (
    EMAIL_WITH_REPLY,
    HANDBOOK_PAGES,
    HTML_PAGE,
    JAPANESE_TEXT,
    write_blank_pdf,
    write_docx,
    write_pdf,
    write_pptx,
    write_random_bytes,
    write_xlsx,
)


@pytest.fixture
def handbook_pdf(tmp_path: Path) -> Path:
    """Three pages with a running header and footer; a sentence runs from page 2 onto page 3."""
    return write_pdf(tmp_path / "handbook.pdf", HANDBOOK_PAGES)


@pytest.fixture
def scan_pdf(tmp_path: Path) -> Path:
    return write_blank_pdf(tmp_path / "scan.pdf")


@pytest.fixture
def corrupt_pdf(tmp_path: Path) -> Path:
    return write_random_bytes(tmp_path / "broken.pdf")


@pytest.fixture
def safety_docx(tmp_path: Path) -> Path:
    return write_docx(tmp_path / "safety.docx")


@pytest.fixture
def prices_xlsx(tmp_path: Path) -> Path:
    return write_xlsx(tmp_path / "prices.xlsx")


@pytest.fixture
def results_pptx(tmp_path: Path) -> Path:
    return write_pptx(tmp_path / "results.pptx")


@pytest.fixture
def returns_html(tmp_path: Path) -> Path:
    path = tmp_path / "returns.html"
    path.write_text(HTML_PAGE, encoding="utf-8")
    return path


@pytest.fixture
def pump_eml(tmp_path: Path) -> Path:
    path = tmp_path / "pump.eml"
    path.write_text(EMAIL_WITH_REPLY, encoding="utf-8")
    return path


@pytest.fixture
def shift_jis_txt(tmp_path: Path) -> Path:
    path = tmp_path / "rules-ja.txt"
    path.write_bytes(JAPANESE_TEXT.encode("shift_jis"))
    return path


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A folder with one file of every supported format, plus broken, unsupported,
    duplicate and hidden files."""
    return build_corpus(tmp_path / "docs")


@pytest.fixture(scope="session")
def shared_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same folder as ``corpus``, built once per session (treat as read-only)."""
    return build_corpus(tmp_path_factory.mktemp("shared") / "docs")


def build_corpus(folder: Path) -> Path:
    (folder / "manuals").mkdir(parents=True)
    (folder / "mail").mkdir()
    (folder / ".git").mkdir()

    write_pdf(folder / "manuals" / "handbook.pdf", HANDBOOK_PAGES)
    write_docx(folder / "manuals" / "safety.docx")
    write_xlsx(folder / "prices.xlsx")
    write_pptx(folder / "results.pptx")
    (folder / "returns.html").write_text(HTML_PAGE, encoding="utf-8")
    (folder / "mail" / "pump.eml").write_text(EMAIL_WITH_REPLY, encoding="utf-8")
    (folder / "rules-ja.txt").write_bytes(JAPANESE_TEXT.encode("shift_jis"))
    (folder / "guide.md").write_text("# Guide\n\nStart the machine with the green button.\n",
                                     encoding="utf-8")
    (folder / "tickets.csv").write_text("ticket_id,subject,body\n1,Printer jam,Paper stuck in tray 2\n",
                                        encoding="utf-8")

    write_random_bytes(folder / "broken.pdf")
    (folder / "notes.xyz").write_text("not a supported format", encoding="utf-8")
    (folder / "zz-copy-of-guide.md").write_text("# Guide\n\nStart the machine with the green button.\n",
                                                encoding="utf-8")
    (folder / ".secret.txt").write_text("hidden file", encoding="utf-8")
    (folder / ".git" / "config.txt").write_text("hidden folder", encoding="utf-8")
    return folder
