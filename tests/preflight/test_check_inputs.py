"""The check names a missing document folder or ticket column before any stage runs."""

from __future__ import annotations

from pathlib import Path

from shochu.config import RunConfig
from shochu.preflight.stage import check_inputs


def _config(tmp_path: Path, folder: Path | None, tickets: dict | None = None) -> RunConfig:
    data = {"workspace": str(tmp_path / "ws"), "ingest": {"input": str(folder) if folder else None}}
    if tickets is not None:
        data["build"] = {"tickets": tickets}
    return RunConfig.model_validate(data)


def test_existing_folder_and_tickets_pass(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "tickets.csv").write_text("ticket_id,subject,body,category\nT1,a,b,billing\n", encoding="utf-8")
    config = _config(tmp_path, tmp_path / "docs", {"path": str(tmp_path / "tickets.csv")})
    assert check_inputs(config) == []


def test_missing_folder_is_named(tmp_path: Path) -> None:
    problems = check_inputs(_config(tmp_path, tmp_path / "nowhere"))
    assert len(problems) == 1
    assert f"ingest.input {tmp_path / 'nowhere'} does not exist" in problems[0]


def test_file_given_as_folder(tmp_path: Path) -> None:
    (tmp_path / "one.pdf").write_bytes(b"%PDF-1.4\n")
    problems = check_inputs(_config(tmp_path, tmp_path / "one.pdf"))
    assert problems and "is a file" in problems[0]


def test_missing_ticket_file(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    problems = check_inputs(_config(tmp_path, tmp_path / "docs", {"path": str(tmp_path / "t.csv")}))
    assert len(problems) == 1
    assert "build.tickets.path" in problems[0]


def test_missing_ticket_columns_listed_with_header(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "t.csv").write_text("id,title,text,label\nT1,a,b,c\n", encoding="utf-8")
    problems = check_inputs(_config(tmp_path, tmp_path / "docs", {"path": str(tmp_path / "t.csv")}))
    assert len(problems) == 3
    assert "no column 'subject', 'body' for build.tickets.text_columns" in problems[0]
    assert "the header has 'id', 'title', 'text', 'label'" in problems[0]
    assert "no column 'category' for build.tickets.label_column" in problems[1]
    assert "no column 'ticket_id' for build.tickets.id_column" in problems[2]
