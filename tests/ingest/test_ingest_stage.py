import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from ingest_files import read_output

from shochu.config import RunConfig
from shochu.ingest import stage
from shochu.ingest.incremental import CACHE_VERSION
from shochu.ingest.tokens import load_token_counter
from shochu.models import PACKAGED_TEACHER
from shochu.ingest.writer import OUTPUT_FILES
from shochu.workspace import Workspace, read_jsonl


def make_config(workspace: Path, input_folder: Path | None, **ingest: Any) -> RunConfig:
    section = {"input": str(input_folder) if input_folder else None, **ingest}
    return RunConfig.model_validate({"workspace": str(workspace), "ingest": section})


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory, shared_corpus: Path) -> dict[str, Any]:
    """Run the stage once over the corpus; return the manifest and every output file's records."""
    workspace = Workspace(tmp_path_factory.mktemp("ingested") / "workspace")
    manifest = stage.run(make_config(workspace.root, shared_corpus), workspace)
    folder = workspace.stage_dir("ingest")
    outputs = {name: read_output(folder, name)
               for name in ("documents", "chunks", "errors", "duplicates")}
    return {"manifest": manifest, "folder": folder, **outputs}


def by_source(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {record["source"]: record for record in records}


def test_stage_reads_every_format(ingested: dict[str, Any]) -> None:
    formats = {record["source"]: record["format"] for record in ingested["documents"]}
    assert formats == {
        "guide.md": "markdown", "mail/pump.eml": "eml", "manuals/handbook.pdf": "pdf",
        "manuals/safety.docx": "docx", "prices.xlsx": "xlsx", "results.pptx": "pptx",
        "returns.html": "html", "rules-ja.txt": "text", "tickets.csv": "csv",
    }


def test_stage_errors_for_broken_and_unsupported(ingested: dict[str, Any]) -> None:
    errors = by_source(ingested["errors"])
    assert sorted(errors) == ["broken.pdf", "notes.xyz"]
    assert errors["notes.xyz"]["error"] == "unsupported"
    assert "'.xyz'" in errors["notes.xyz"]["message"]
    assert errors["broken.pdf"]["error"] != "unsupported"
    assert "re-run" in errors["broken.pdf"]["message"]


def test_stage_drops_exact_duplicate(ingested: dict[str, Any]) -> None:
    guide_id = by_source(ingested["documents"])["guide.md"]["doc_id"]
    assert ingested["duplicates"] == [{
        "doc_id": hashlib.sha256(b"zz-copy-of-guide.md").hexdigest()[:16],
        "source": "zz-copy-of-guide.md", "duplicate_of": guide_id, "duplicate_of_source": "guide.md",
    }]


def test_stage_skips_hidden_files(ingested: dict[str, Any]) -> None:
    sources = {record["source"] for record in ingested["documents"] + ingested["errors"]}
    assert not any(source.startswith(".") for source in sources)


def test_stage_document_record(ingested: dict[str, Any]) -> None:
    record = by_source(ingested["documents"])["rules-ja.txt"]
    assert record["doc_id"] == hashlib.sha256(b"rules-ja.txt").hexdigest()[:16]
    assert record["language"] == "ja"
    assert record["chars"] == len("社外秘の文書は共有フォルダに保存しないでください。\n経費精算は30日以内に提出してください。")
    assert record["metadata"]["encoding"] in ("cp932", "shift_jis")


def test_stage_file_sha256(ingested: dict[str, Any], shared_corpus: Path) -> None:
    record = by_source(ingested["documents"])["guide.md"]
    assert record["sha256"] == hashlib.sha256((shared_corpus / "guide.md").read_bytes()).hexdigest()


def test_stage_email_metadata(ingested: dict[str, Any]) -> None:
    metadata = by_source(ingested["documents"])["mail/pump.eml"]["metadata"]
    assert metadata["subject"] == "Pump maintenance schedule"


def test_stage_chunk_records(ingested: dict[str, Any]) -> None:
    document = by_source(ingested["documents"])["guide.md"]
    chunks = [chunk for chunk in ingested["chunks"] if chunk["doc_id"] == document["doc_id"]]
    text = "# Guide\n\nStart the machine with the green button."
    assert chunks == [{
        "chunk_id": f"{document['doc_id']}-0000", "doc_id": document["doc_id"], "source": "guide.md",
        "index": 0, "heading": "Guide", "text": text, "joint": "",
        "tokens": load_token_counter(PACKAGED_TEACHER).count([text])[0],
        "language": "en", "cluster": f"{document['doc_id']}-0000",
    }]


def test_stage_manifest_counts(ingested: dict[str, Any]) -> None:
    counts = ingested["manifest"]["counts"]
    assert counts["files"] == 12
    assert counts["documents"] == 9
    assert counts["chunks"] == len(ingested["chunks"])
    assert counts["errors"] == 2
    assert counts["duplicates_dropped"] == 1
    assert counts["formats"]["pdf"] == 1
    assert counts["chars"] == sum(record["chars"] for record in ingested["documents"])


def test_stage_manifest_written(ingested: dict[str, Any]) -> None:
    manifest = json.loads((ingested["folder"] / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["stage"] == "ingest"
    assert set(manifest["inputs"]) == {"documents", "tokenizer", "chunks_format", "extraction"}
    assert manifest["inputs"]["extraction"] == str(CACHE_VERSION)


def test_stage_output_deterministic(tmp_path: Path, shared_corpus: Path) -> None:
    outputs = []
    for name in ("first", "second"):
        workspace = Workspace(tmp_path / name)
        stage.run(make_config(workspace.root, shared_corpus), workspace)
        folder = workspace.stage_dir("ingest")
        outputs.append([(folder / OUTPUT_FILES[kind]).read_bytes() for kind in ("documents", "chunks")])
    assert outputs[0] == outputs[1]


def test_stage_fresh_after_run(tmp_path: Path, shared_corpus: Path) -> None:
    workspace = Workspace(tmp_path / "workspace")
    config = make_config(workspace.root, shared_corpus)
    stage.run(config, workspace)
    assert workspace.is_fresh("ingest", stage.settings(config), stage.inputs(config, workspace))


def test_stage_missing_input_names_folder(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    with pytest.raises(FileNotFoundError, match="no-such-folder"):
        stage.run(make_config(tmp_path / "workspace", missing), Workspace(tmp_path / "workspace"))


def test_stage_unset_input(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="ingest.input is not set"):
        stage.run(make_config(tmp_path / "workspace", None), Workspace(tmp_path / "workspace"))


def test_stage_empty_input(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    (empty / ".cache").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="contains no files"):
        stage.run(make_config(tmp_path / "workspace", empty), Workspace(tmp_path / "workspace"))


def test_stage_rejects_workspace_inside_input(corpus: Path) -> None:
    workspace = Workspace(corpus / "workspace")
    with pytest.raises(ValueError, match="inside ingest.input"):
        stage.run(make_config(workspace.root, corpus), workspace)


def test_stage_chunk_settings_used(tmp_path: Path, shared_corpus: Path) -> None:
    workspace = Workspace(tmp_path / "workspace")
    stage.run(make_config(workspace.root, shared_corpus, chunk_tokens=64, min_chunk_tokens=8), workspace)
    chunks = read_output(workspace.stage_dir("ingest"), "chunks")
    assert max(len(chunk["text"]) for chunk in chunks) <= 200 + 20


def test_stage_corrupt_files_recorded(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    noise = bytes(range(256)) * 16
    for name in ("deck.pptx", "report.docx", "sheet.xlsx", "page.html", "mail.eml", "notes.txt"):
        (folder / name).write_bytes(noise)
    (folder / "good.md").write_text("# Good\n\nThis file is fine.\n", encoding="utf-8")

    workspace = Workspace(tmp_path / "workspace")
    manifest = stage.run(make_config(workspace.root, folder), workspace)
    errors = by_source(read_jsonl(workspace.stage_dir("ingest") / "errors.jsonl"))
    assert manifest["counts"]["documents"] == 1
    assert sorted(errors) == ["deck.pptx", "mail.eml", "notes.txt", "page.html", "report.docx", "sheet.xlsx"]
    assert all(record["message"] for record in errors.values())
