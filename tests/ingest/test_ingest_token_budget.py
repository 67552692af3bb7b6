"""The ingest stage with a token budget: token counts in the outputs, staleness on a new tokenizer,
and the HTML title heading and archive member logging fixes."""

from __future__ import annotations

import io
import logging
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
from tiny_models import build_tiny_model

from ingest_files import read_output

from shochu.config import ConfigError, RunConfig, load_config
from shochu.ingest import stage
from shochu.ingest.tokens import load_token_counter, tokenizer_fingerprint
from shochu.workspace import Workspace

MANUAL = "\n\n".join([
    "# Pump manual",
    "## Service",
    "The pump is serviced every ninety days by the maintenance team. " * 12,
    "## 保管",
    "予備のシールは二階の倉庫に保管してください。" * 10,
    "## การบำรุงรักษา",
    " ".join(["ปั๊มต้องได้รับการตรวจสอบทุกเก้าสิบวัน"] * 12),
])

WIKI_PAGE = """\
<html><head><title>Pump maintenance - ACME Wiki</title></head><body>
<div id="header"><a href="/">ACME Wiki</a> <a href="/search">Search</a></div>
<h1 id="firstHeading">Pump maintenance</h1>
<article>
<p>The pump is serviced every ninety days by the maintenance team. Book the next slot in the
calendar before the current one ends.</p>
<p>Every service is logged in the maintenance book with the date and the technician's name.</p>
</article>
<div id="footer">Last edited 2024-06-03</div>
</body></html>
"""


@pytest.fixture(scope="module")
def teacher(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("teacher") / "tiny")


@pytest.fixture(scope="module")
def other_tokenizer_teacher(tmp_path_factory: pytest.TempPathFactory, teacher: Path) -> Path:
    """A copy of ``teacher`` whose tokenizer has one added token; the weights are the same files."""
    from transformers import AutoTokenizer

    folder = tmp_path_factory.mktemp("teacher") / "tiny-added-token"
    shutil.copytree(teacher, folder)
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    tokenizer.add_tokens(["pump"])
    tokenizer.save_pretrained(folder)
    return folder


def make_config(workspace: Path, folder: Path, teacher: Path, **ingest: Any) -> RunConfig:
    return RunConfig.model_validate({"workspace": str(workspace), "teacher": {"path": str(teacher)},
                                     "ingest": {"input": str(folder), **ingest}})


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "manual.md").write_text(MANUAL, encoding="utf-8")
    (folder / "wiki.html").write_text(WIKI_PAGE, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory, teacher: Path) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("budget")
    folder = write_corpus(root / "docs")
    workspace = Workspace(root / "workspace")
    config = make_config(workspace.root, folder, teacher, chunk_tokens=96, min_chunk_tokens=16)
    manifest = stage.run(config, workspace)
    return {"manifest": manifest, "config": config, "workspace": workspace,
            "chunks": read_output(workspace.stage_dir("ingest"), "chunks")}


def test_chunk_tokens_within_budget(ingested: dict[str, Any], teacher: Path) -> None:
    chunks = ingested["chunks"]
    counts = load_token_counter(str(teacher)).count([chunk["text"] for chunk in chunks])
    assert len(chunks) > 4
    assert [chunk["tokens"] for chunk in chunks] == counts
    assert max(counts) <= 96


def test_manifest_counts_tokens(ingested: dict[str, Any]) -> None:
    counts = ingested["manifest"]["counts"]
    tokens = [chunk["tokens"] for chunk in ingested["chunks"]]
    assert counts["tokens"] == sum(tokens)
    assert counts["max_chunk_tokens"] == max(tokens)


def test_tokenizer_fingerprint_in_inputs(ingested: dict[str, Any], teacher: Path) -> None:
    assert ingested["manifest"]["inputs"]["tokenizer"] == tokenizer_fingerprint(str(teacher))


def test_new_tokenizer_makes_ingest_stale(ingested: dict[str, Any], other_tokenizer_teacher: Path) -> None:
    config, workspace = ingested["config"], ingested["workspace"]
    assert workspace.is_fresh("ingest", stage.settings(config), stage.inputs(config, workspace))

    changed = config.model_copy(deep=True)
    changed.teacher.path = str(other_tokenizer_teacher)
    assert tokenizer_fingerprint(str(other_tokenizer_teacher)) != ingested["manifest"]["inputs"]["tokenizer"]
    assert not workspace.is_fresh("ingest", stage.settings(changed), stage.inputs(changed, workspace))


def test_new_weights_keep_ingest_fresh(ingested: dict[str, Any], tmp_path: Path, teacher: Path) -> None:
    retrained = build_tiny_model(tmp_path / "retrained", seed=1)
    assert (retrained / "model.safetensors").read_bytes() != (teacher / "model.safetensors").read_bytes()
    config, workspace = ingested["config"], ingested["workspace"]
    changed = config.model_copy(deep=True)
    changed.teacher.path = str(retrained)
    assert workspace.is_fresh("ingest", stage.settings(changed), stage.inputs(changed, workspace))


def test_new_tokenizer_reuses_extraction(tmp_path: Path, teacher: Path, other_tokenizer_teacher: Path) -> None:
    folder = write_corpus(tmp_path / "docs")
    workspace = Workspace(tmp_path / "workspace")
    first = stage.run(make_config(workspace.root, folder, teacher, chunk_tokens=96, min_chunk_tokens=16), workspace)
    second = stage.run(make_config(workspace.root, folder, other_tokenizer_teacher, chunk_tokens=96,
                                   min_chunk_tokens=16), workspace)
    assert first["counts"]["extracted"] == 2
    assert second["counts"]["reused"] == 2
    assert second["counts"]["extracted"] == 0
    assert second["inputs"]["tokenizer"] != first["inputs"]["tokenizer"]


def test_character_budget_rejected(tmp_path: Path) -> None:
    config_file = tmp_path / "run.yaml"
    config_file.write_text("workspace: ws\ningest:\n  chunk_chars: 1000\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(config_file)
    assert "chunk_chars and min_chunk_chars were replaced by chunk_tokens" in str(raised.value)


def test_minimum_above_budget_rejected() -> None:
    with pytest.raises(ValueError, match=r"min_chunk_tokens \(200\) must be less than chunk_tokens \(100\)"):
        RunConfig.model_validate({"workspace": "ws", "ingest": {"chunk_tokens": 100, "min_chunk_tokens": 200}})


def test_default_minimum_scaled_to_budget() -> None:
    config = RunConfig.model_validate({"workspace": "ws", "ingest": {"chunk_tokens": 64}})
    assert config.ingest.min_chunk_tokens is None
    assert config.ingest.chunk_minimum() == 9
    assert RunConfig(workspace="ws").ingest.chunk_minimum() == 90


def test_html_title_heading_kept(ingested: dict[str, Any]) -> None:
    wiki = [chunk for chunk in ingested["chunks"] if chunk["source"] == "wiki.html"]
    assert wiki[0]["heading"] == "Pump maintenance"
    assert wiki[0]["text"].startswith("# Pump maintenance\n\nThe pump is serviced")
    assert sum(chunk["text"].count("Pump maintenance") for chunk in wiki) == 1


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_rejected_member_logged_by_name(tmp_path: Path, teacher: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "bundle.zip").write_bytes(zip_bytes({
        "guide.md": b"# Guide\n\nThe pump is serviced every ninety days.\n",
        "../../escaped.md": b"escaped\n",
        "notes.txt": b"Spare seals are kept in the store room.\n",
    }))
    workspace = Workspace(tmp_path / "workspace")
    with caplog.at_level(logging.WARNING, logger="shochu.ingest.stage"):
        manifest = stage.run(make_config(workspace.root, folder, teacher), workspace)

    lines = [record.getMessage() for record in caplog.records if "unsafe_archive_path" in record.getMessage()]
    assert lines == ["ingest: bundle.zip/../../escaped.md not ingested: unsafe_archive_path; the rest of "
                     "bundle.zip was read and gave 2 ingested documents"]
    assert manifest["counts"]["documents"] == 2
    errors = read_output(workspace.stage_dir("ingest"), "errors")
    assert [error["source"] for error in errors] == ["bundle.zip/../../escaped.md"]


@pytest.mark.integration
def test_packaged_teacher_budget(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "docs")
    workspace = Workspace(tmp_path / "workspace")
    config = RunConfig.model_validate({"workspace": str(workspace.root),
                                       "ingest": {"input": str(folder), "chunk_tokens": 64, "min_chunk_tokens": 8}})
    manifest = stage.run(config, workspace)
    chunks = read_output(workspace.stage_dir("ingest"), "chunks")
    counts = load_token_counter("packaged:smollm2").count([chunk["text"] for chunk in chunks])
    assert [chunk["tokens"] for chunk in chunks] == counts
    assert manifest["counts"]["max_chunk_tokens"] <= 64
