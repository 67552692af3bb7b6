"""Bad input never stops the ingest stage: each case becomes one errors.jsonl line."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pypdf
import pytest
from ingest_files import HANDBOOK_PAGES, read_output, write_docx, write_pdf

from shochu.config import RunConfig
from shochu.ingest import stage
from shochu.ingest.sniff import sniff_format
from shochu.workspace import Workspace, read_jsonl

GUIDE = "# Guide\n\nStart the machine with the green button.\n"


def make_config(workspace: Path, input_folder: Path, **ingest: Any) -> RunConfig:
    return RunConfig.model_validate({"workspace": str(workspace),
                                     "ingest": {"input": str(input_folder), **ingest}})


def run_stage(folder: Path, workspace_root: Path, **ingest: Any) -> dict[str, Any]:
    workspace = Workspace(workspace_root)
    manifest = stage.run(make_config(workspace.root, folder, **ingest), workspace)
    out = workspace.stage_dir("ingest")
    return {"manifest": manifest, "folder": out,
            **{name: read_output(out, name) for name in ("documents", "chunks", "errors")}}


def errors_by_source(errors: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {record["source"]: record for record in errors}


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


# --- files the current user cannot read ------------------------------------------

# Root reads any file whatever its mode, so the stage runs in a child process
# without the capabilities that let root bypass permission checks.
_UNPRIVILEGED_RUN = """
import json, sys
from shochu.config import RunConfig
from shochu.ingest import stage
from shochu.workspace import Workspace
workspace = Workspace(sys.argv[2])
config = RunConfig.model_validate({"workspace": sys.argv[2], "ingest": {"input": sys.argv[1]}})
print(json.dumps(stage.run(config, workspace)["counts"]))
"""


def run_stage_without_root_powers(folder: Path, workspace_root: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", _UNPRIVILEGED_RUN, str(folder), str(workspace_root)]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv, so file permissions cannot be enforced")
        command = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def locked_corpus(tmp_path: Path):
    folder = tmp_path / "docs"
    (folder / "locked-folder").mkdir(parents=True)
    (folder / "guide.md").write_text(GUIDE, encoding="utf-8")
    (folder / "secret.md").write_text("# Secret\n\nNot readable.\n", encoding="utf-8")
    (folder / "locked-folder" / "inside.md").write_text("# Inside\n\nHidden by the folder.\n",
                                                        encoding="utf-8")
    (folder / "secret.md").chmod(0)
    (folder / "locked-folder").chmod(0)
    yield folder
    (folder / "locked-folder").chmod(0o755)
    (folder / "secret.md").chmod(0o644)


def test_unreadable_file_and_folder_reported(locked_corpus: Path, tmp_path: Path) -> None:
    result = run_stage_without_root_powers(locked_corpus, tmp_path / "workspace")
    assert result.returncode == 0, result.stderr[-3000:]
    errors = errors_by_source(read_jsonl(tmp_path / "workspace" / "ingest" / "errors.jsonl"))
    assert sorted(errors) == ["locked-folder", "secret.md"]
    assert errors["secret.md"]["error"] == "unreadable_file"
    assert "chmod u+r" in errors["secret.md"]["message"]
    assert errors["locked-folder"]["error"] == "unreadable_folder"
    assert "chmod u+rx" in errors["locked-folder"]["message"]


def test_unreadable_file_does_not_stop_others(locked_corpus: Path, tmp_path: Path) -> None:
    result = run_stage_without_root_powers(locked_corpus, tmp_path / "workspace")
    assert result.returncode == 0, result.stderr[-3000:]
    documents = read_output(tmp_path / "workspace" / "ingest", "documents")
    assert [document["source"] for document in documents] == ["guide.md"]
    assert json.loads(result.stdout.strip().splitlines()[-1])["errors"] == 2


# --- the walk ----------------------------------------------------------------------


def test_dangling_symlink_reported(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "guide.md").write_text(GUIDE, encoding="utf-8")
    (folder / "gone.md").symlink_to(tmp_path / "missing.md")
    errors = errors_by_source(run_stage(folder, tmp_path / "ws")["errors"])
    assert errors["gone.md"]["error"] == "dangling_symlink"
    assert str(tmp_path / "missing.md") in errors["gone.md"]["message"]


def test_linked_folder_reported_not_followed(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "guide.md").write_text(GUIDE, encoding="utf-8")
    (folder / "loop").symlink_to(folder)
    result = run_stage(folder, tmp_path / "ws")
    assert errors_by_source(result["errors"])["loop"]["error"] == "linked_folder"
    assert [document["source"] for document in result["documents"]] == ["guide.md"]


def test_only_problems_still_runs(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "gone.md").symlink_to(tmp_path / "missing.md")
    result = run_stage(folder, tmp_path / "ws")
    assert result["manifest"]["counts"]["errors"] == 1
    assert result["documents"] == []


# --- broken files --------------------------------------------------------------------


@pytest.fixture
def broken_corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "guide.md").write_text(GUIDE, encoding="utf-8")
    (folder / "empty.pdf").write_bytes(b"")
    handbook = write_pdf(tmp_path / "handbook.pdf", HANDBOOK_PAGES).read_bytes()
    (folder / "truncated.pdf").write_bytes(handbook[: len(handbook) // 2])
    writer = pypdf.PdfWriter(clone_from=tmp_path / "handbook.pdf")
    writer.encrypt(user_password="open-sesame", owner_password="owner", algorithm="AES-128")
    writer.write(folder / "locked.pdf")
    (folder / "big.md").write_text("# Big\n\n" + "word " * 400_000, encoding="utf-8")
    return folder


@pytest.fixture
def broken(broken_corpus: Path, tmp_path: Path) -> dict[str, Any]:
    return run_stage(broken_corpus, tmp_path / "ws", max_file_mb=1)


def test_broken_files_one_line_each(broken: dict[str, Any]) -> None:
    sources = [record["source"] for record in broken["errors"]]
    assert sorted(sources) == ["big.md", "empty.pdf", "locked.pdf", "truncated.pdf"]
    assert [document["source"] for document in broken["documents"]] == ["guide.md"]


@pytest.mark.parametrize(("source", "error", "advice"), [
    ("empty.pdf", "empty_file", "0 bytes"),
    ("truncated.pdf", "ReadError", "truncated"),
    ("locked.pdf", "EncryptedError", "password"),
    ("big.md", "too_large", "ingest.max_file_mb"),
])
def test_broken_file_reason(broken: dict[str, Any], source: str, error: str, advice: str) -> None:
    record = errors_by_source(broken["errors"])[source]
    assert record["error"] == error
    assert advice in record["message"]
    assert record["severity"] == "error"


def test_end_log_points_to_errors_file(broken_corpus: Path, tmp_path: Path,
                                       caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="shochu.ingest"):
        run_stage(broken_corpus, tmp_path / "ws", max_file_mb=1)
    # Other loggers (the workspace's "stage finished") may log after it once a test has set the root level.
    last = [record for record in caplog.records if record.name.startswith("shochu.ingest")][-1].getMessage()
    assert "4 files or folders not ingested" in last
    assert str(tmp_path / "ws" / "ingest" / "errors.jsonl") in last


def test_logs_name_paths_not_text(broken_corpus: Path, tmp_path: Path,
                                  caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="shochu.ingest"):
        run_stage(broken_corpus, tmp_path / "ws", max_file_mb=1)
    messages = "\n".join(record.getMessage() for record in caplog.records)
    assert "guide.md read as markdown" in messages
    assert "green button" not in messages


# --- names that lie about the content -------------------------------------------


def test_docx_named_pdf_read_as_docx(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    write_docx(tmp_path / "safety.docx")
    shutil.copy(tmp_path / "safety.docx", folder / "safety.pdf")
    result = run_stage(folder, tmp_path / "ws")
    [document] = result["documents"]
    assert document["format"] == "docx"
    assert "Wear gloves in the workshop at all times." in result["chunks"][0]["text"]
    [warning] = result["errors"]
    assert (warning["error"], warning["severity"]) == ("wrong_extension", "warning")
    assert "rename it to .docx" in warning["message"]


def test_pdf_named_txt_read_as_pdf(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    write_pdf(folder / "handbook.txt", HANDBOOK_PAGES)
    result = run_stage(folder, tmp_path / "ws")
    assert result["documents"][0]["format"] == "pdf"
    assert "Safety shoes are required on the factory floor." in result["chunks"][0]["text"]


def test_text_named_pdf_rejected(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "report.pdf").write_text("just some text, not a PDF", encoding="utf-8")
    [error] = run_stage(folder, tmp_path / "ws")["errors"]
    assert error["error"] == "wrong_content"
    assert "does not start like a PDF file" in error["message"]


def test_ole_named_docx_reported_as_protected(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "salaries.docx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1024))
    [error] = run_stage(folder, tmp_path / "ws")["errors"]
    assert error["error"] == "encrypted_or_legacy"
    assert "password" in error["message"]


@pytest.mark.parametrize(("data", "expected"), [
    (b"%PDF-1.7\n", "pdf"),
    (b"\x89PNG\r\n\x1a\n0000", "png"),
    (b"\xff\xd8\xff\xe0", "jpeg"),
    (b"II*\x00", "tiff"),
    (b"  <!DOCTYPE html><html>", "html"),
    (b"plain words", None),
])
def test_sniff_format(data: bytes, expected: str | None) -> None:
    assert sniff_format(data) == expected


def test_sniff_tells_docx_from_zip(tmp_path: Path) -> None:
    assert sniff_format(write_docx(tmp_path / "a.docx").read_bytes()) == "docx"
    assert sniff_format(zip_bytes({"notes.md": b"# Notes"})) == "zip"


# --- archives --------------------------------------------------------------------------


@pytest.fixture
def archive_corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox" / "docs"
    folder.mkdir(parents=True)
    docx = write_docx(tmp_path / "safety.docx").read_bytes()
    inner = zip_bytes({"guide.md": GUIDE.encode()})
    (folder / "bundle.zip").write_bytes(zip_bytes({
        "policies/safety.docx": docx,
        "nested/inner.zip": inner,
        "../../escaped.md": b"# Escaped\n\nWritten outside.\n",
        "/etc/absolute.md": b"# Absolute\n\nWritten at the root.\n",
        "C:/Windows/drive.md": b"# Drive\n\nWritten on a drive.\n",
        "__MACOSX/._safety.docx": b"resource fork",
    }))
    return folder


@pytest.fixture
def archived(archive_corpus: Path, tmp_path: Path) -> dict[str, Any]:
    return run_stage(archive_corpus, tmp_path / "ws")


def test_archive_members_read_recursively(archived: dict[str, Any]) -> None:
    formats = {document["source"]: document["format"] for document in archived["documents"]}
    assert formats == {"bundle.zip/policies/safety.docx": "docx", "bundle.zip/nested/inner.zip/guide.md": "markdown"}
    texts = {chunk["source"]: chunk["text"] for chunk in archived["chunks"]}
    assert texts["bundle.zip/nested/inner.zip/guide.md"] == GUIDE.strip()


def test_archive_traversal_members_rejected(archived: dict[str, Any], tmp_path: Path) -> None:
    messages = [error["message"] for error in archived["errors"] if error["error"] == "unsafe_archive_path"]
    assert len(messages) == 3
    assert any("'../../escaped.md'" in message and "'..'" in message for message in messages)
    assert any("'/etc/absolute.md'" in message and "absolute" in message for message in messages)
    assert any("drive letter" in message for message in messages)
    assert not list(tmp_path.rglob("escaped.md"))
    assert not Path("/etc/absolute.md").exists()


def test_archive_members_counted(archived: dict[str, Any]) -> None:
    counts = archived["manifest"]["counts"]
    assert counts["files"] == 1
    assert counts["archive_members"] == 3
    assert counts["errors"] == 3


def test_decompression_bomb_bounded(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    bomb = zip_bytes({"zeros.txt": bytes(64 * 2**20), "guide.md": GUIDE.encode()})
    assert len(bomb) < 2**20  # a small file on disk...
    (folder / "bomb.zip").write_bytes(bomb)
    result = run_stage(folder, tmp_path / "ws", max_file_mb=4)
    errors = errors_by_source(result["errors"])
    assert errors["bomb.zip/zeros.txt"]["error"] == "too_large"  # ...that would expand to 64 MiB
    assert [document["source"] for document in result["documents"]] == ["bomb.zip/guide.md"]


def test_archive_budget_stops_expansion(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    members = {f"part{number}.md": f"# Part {number}\n\n".encode() + bytes(range(48, 58)) * 60_000
               for number in range(3)}
    (folder / "parts.zip").write_bytes(zip_bytes(members))
    result = run_stage(folder, tmp_path / "ws", max_archive_mb=1)
    errors = errors_by_source(result["errors"])
    assert [document["source"] for document in result["documents"]] == ["parts.zip/part0.md"]
    assert errors["parts.zip/part1.md"]["error"] == "archive_limit"
    assert errors["parts.zip/part2.md"]["error"] == "archive_limit"


def test_damaged_archive_reported(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "guide.md").write_text(GUIDE, encoding="utf-8")
    (folder / "cut.zip").write_bytes(zip_bytes({"guide2.md": b"# Two\n\nText."})[:30])
    result = run_stage(folder, tmp_path / "ws")
    assert errors_by_source(result["errors"])["cut.zip"]["error"] == "ReadError"
    assert len(result["documents"]) == 1


def test_shift_jis_file_name_decoded(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    name = "顧客台帳.md".encode("cp932")
    with open(os.path.join(os.fsencode(folder), name), "wb") as handle:
        handle.write(GUIDE.encode())
    result = run_stage(folder, tmp_path / "ws")
    assert [document["source"] for document in result["documents"]] == ["顧客台帳.md"]
