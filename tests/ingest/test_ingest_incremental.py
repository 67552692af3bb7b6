"""Incremental re-ingest and parallel extraction: reuse, determinism and worker crashes."""

from pathlib import Path
from typing import Any

from ingest_files import (EMAIL_WITH_REPLY, HANDBOOK_PAGES, HTML_PAGE, read_output, write_docx, write_pdf,
                      write_random_bytes)
from ingest_crash_task import extract_or_die, extract_or_hang

from shochu.config import IngestConfig, RunConfig
from shochu.ingest import stage
from shochu.ingest.incremental import CACHE_FOLDER, Job, extract_in_order
from shochu.ingest.ingester import extract_file
from shochu.ingest.writer import OUTPUT_FILES
from shochu.workspace import Workspace

OUTPUT_NAMES = ("documents", "chunks", "errors", "duplicates")


def make_config(workspace: Path, input_folder: Path, **ingest: Any) -> RunConfig:
    return RunConfig.model_validate({"workspace": str(workspace),
                                     "ingest": {"input": str(input_folder), **ingest}})


def run_stage(workspace_root: Path, folder: Path, **ingest: Any) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Run the stage; return the manifest and the bytes of every output file."""
    workspace = Workspace(workspace_root)
    manifest = stage.run(make_config(workspace.root, folder, **ingest), workspace)
    outputs = {name: (workspace.stage_dir("ingest") / OUTPUT_FILES[name]).read_bytes() for name in OUTPUT_NAMES}
    return manifest, outputs


def build_folder(folder: Path) -> Path:
    (folder / "mail").mkdir(parents=True)
    write_pdf(folder / "handbook.pdf", HANDBOOK_PAGES)
    write_docx(folder / "safety.docx")
    (folder / "returns.html").write_text(HTML_PAGE, encoding="utf-8")
    (folder / "mail" / "pump.eml").write_text(EMAIL_WITH_REPLY, encoding="utf-8")
    (folder / "guide.md").write_text("# Guide\n\nStart the machine with the green button.\n", encoding="utf-8")
    (folder / "notes.txt").write_text("The boiler is checked every Monday morning.\n", encoding="utf-8")
    (folder / "copy-of-guide.md").write_text("# Guide\n\nStart the machine with the green button.\n",
                                             encoding="utf-8")
    write_random_bytes(folder / "broken.pdf")
    return folder


def test_reingest_extracts_only_changed(tmp_path: Path) -> None:
    folder = build_folder(tmp_path / "docs")
    first, _ = run_stage(tmp_path / "workspace", folder)
    assert first["counts"]["extracted"] == 8
    assert first["counts"]["reused"] == 0

    (folder / "notes.txt").write_text("The boiler is checked every Friday evening.\n", encoding="utf-8")
    (folder / "mail" / "new.txt").write_text("A new note about the canteen menu.\n", encoding="utf-8")
    (folder / "returns.html").unlink()
    second, incremental = run_stage(tmp_path / "workspace", folder)
    assert second["counts"]["extracted"] == 2
    assert second["counts"]["reused"] == 6
    assert second["counts"]["files"] == 8

    _, scratch = run_stage(tmp_path / "scratch", folder)
    for name in OUTPUT_NAMES:
        assert incremental[name] == scratch[name], name


def test_reingest_drops_deleted_file(tmp_path: Path) -> None:
    folder = build_folder(tmp_path / "docs")
    run_stage(tmp_path / "workspace", folder)
    (folder / "returns.html").unlink()
    _, outputs = run_stage(tmp_path / "workspace", folder)

    sources = {record["source"] for record in read_output(tmp_path / "workspace" / "ingest", "documents")}
    assert "returns.html" not in sources
    assert b"returns.html" not in outputs["chunks"]
    stored = list((tmp_path / "workspace" / "ingest" / CACHE_FOLDER).glob("*.json"))
    assert len(stored) == 7


def test_reingest_uses_changed_text(tmp_path: Path) -> None:
    folder = build_folder(tmp_path / "docs")
    run_stage(tmp_path / "workspace", folder)
    (folder / "notes.txt").write_text("The boiler is checked every Friday evening.\n", encoding="utf-8")
    run_stage(tmp_path / "workspace", folder)

    chunks = read_output(tmp_path / "workspace" / "ingest", "chunks")
    texts = [chunk["text"] for chunk in chunks if chunk["source"] == "notes.txt"]
    assert texts == ["The boiler is checked every Friday evening."]


def test_reingest_chunk_settings_reuse(tmp_path: Path) -> None:
    folder = build_folder(tmp_path / "docs")
    run_stage(tmp_path / "workspace", folder)
    manifest, outputs = run_stage(tmp_path / "workspace", folder, chunk_tokens=64, min_chunk_tokens=8)
    assert manifest["counts"]["extracted"] == 0
    assert manifest["counts"]["reused"] == 8

    _, scratch = run_stage(tmp_path / "scratch", folder, chunk_tokens=64, min_chunk_tokens=8)
    assert outputs["chunks"] == scratch["chunks"]


def test_reingest_ocr_setting_extracts_again(tmp_path: Path) -> None:
    folder = build_folder(tmp_path / "docs")
    run_stage(tmp_path / "workspace", folder)
    manifest, _ = run_stage(tmp_path / "workspace", folder, ocr=False)
    assert manifest["counts"]["extracted"] == 8
    assert manifest["counts"]["reused"] == 0


def test_stage_freshness_with_change(tmp_path: Path) -> None:
    folder = build_folder(tmp_path / "docs")
    workspace = Workspace(tmp_path / "workspace")
    config = make_config(workspace.root, folder)
    stage.run(config, workspace)
    assert workspace.is_fresh("ingest", stage.settings(config), stage.inputs(config, workspace))

    # The worker count does not change the output, so it does not make the stage stale.
    more_workers = make_config(workspace.root, folder, workers=3)
    assert workspace.is_fresh("ingest", stage.settings(more_workers), stage.inputs(more_workers, workspace))

    (folder / "guide.md").write_text("# Guide\n\nStop the machine with the red button.\n", encoding="utf-8")
    assert not workspace.is_fresh("ingest", stage.settings(config), stage.inputs(config, workspace))
    manifest = stage.run(config, workspace)
    assert manifest["counts"]["extracted"] == 1
    assert workspace.is_fresh("ingest", stage.settings(config), stage.inputs(config, workspace))


def test_stage_keeps_only_cache_and_outputs(tmp_path: Path) -> None:
    folder = build_folder(tmp_path / "docs")
    workspace = Workspace(tmp_path / "workspace")
    stage.run(make_config(workspace.root, folder), workspace)
    (workspace.stage_dir("ingest") / "leftover.tmp").write_text("old", encoding="utf-8")
    stage.run(make_config(workspace.root, folder), workspace)

    names = sorted(path.name for path in workspace.stage_dir("ingest").iterdir())
    assert names == sorted([CACHE_FOLDER, "manifest.json", *(OUTPUT_FILES[name] for name in OUTPUT_NAMES)])


def generated_folder(folder: Path, count: int) -> Path:
    """Write ``count`` small files of several formats, some broken, with texts that differ."""
    folder.mkdir(parents=True)
    for index in range(count):
        kind = index % 5
        if kind == 0:
            write_pdf(folder / f"manual-{index:03d}.pdf", [f"Manual {index}.\nTighten bolt {index} by hand.",
                                                            f"Then check valve {index * 7} twice."])
        elif kind == 1:
            (folder / f"note-{index:03d}.md").write_text(f"# Note {index}\n\nRoom {index} opens at {index % 12} "
                                                         f"o'clock.\n", encoding="utf-8")
        elif kind == 2:
            (folder / f"memo-{index:03d}.txt").write_bytes(f"会議室{index}は午前{index % 12}時に開きます。"
                                                           .encode("shift_jis"))
        elif kind == 3:
            (folder / f"page-{index:03d}.html").write_text(HTML_PAGE.replace("thirty", f"{index + 30}"),
                                                           encoding="utf-8")
        else:
            write_random_bytes(folder / f"broken-{index:03d}.pdf", seed=index)
    return folder


def test_workers_output_identical(tmp_path: Path) -> None:
    folder = generated_folder(tmp_path / "docs", 30)
    serial_manifest, serial = run_stage(tmp_path / "serial", folder, workers=1)
    parallel_manifest, parallel = run_stage(tmp_path / "parallel", folder, workers=2)

    for name in OUTPUT_NAMES:
        assert parallel[name] == serial[name], name
    assert parallel_manifest["counts"]["documents"] == 24
    assert parallel_manifest["counts"]["errors"] == 6
    assert parallel_manifest["counts"]["extracted"] == 30


def test_killed_worker_costs_one_file(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    names = [f"note-{index:02d}.txt" for index in range(12)]
    for index, name in enumerate(names):
        (folder / name).write_text(f"Note number {index} about pump {index * 3}.\n", encoding="utf-8")
    (folder / "crash.txt").write_text("This file kills the worker.\n", encoding="utf-8")
    jobs = [Job(folder / name, name, None) for name in sorted([*names, "crash.txt"])]
    config = IngestConfig(input=str(folder))

    results = list(extract_in_order(jobs, config, 2, task=extract_or_die))

    assert len(results) == len(jobs)
    crashed = results[0]
    assert [event["error"] for event in crashed.events] == ["worker_died"]
    assert crashed.events[0]["source"] == "crash.txt"
    assert "re-run" in crashed.events[0]["message"]
    for job, result in zip(jobs[1:], results[1:], strict=True):
        assert result.events == extract_file(job.path, job.source, config).events


def test_killed_worker_keeps_other_text(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "crash.txt").write_text("This file kills the worker.\n", encoding="utf-8")
    (folder / "good.txt").write_text("This file is fine.\n", encoding="utf-8")
    jobs = [Job(folder / "crash.txt", "crash.txt", None), Job(folder / "good.txt", "good.txt", None)]
    results = list(extract_in_order(jobs, IngestConfig(input=str(folder)), 2, task=extract_or_die))

    documents = [event for result in results for event in result.events if event["kind"] == "document"]
    assert [document["source"] for document in documents] == ["good.txt"]
    assert documents[0]["text"] == "This file is fine."


def test_file_over_time_limit_costs_one_file(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    names = [f"note-{index:02d}.txt" for index in range(6)]
    for index, name in enumerate(names):
        (folder / name).write_text(f"Note number {index} about valve {index * 7}.\n", encoding="utf-8")
    (folder / "hang.txt").write_text("Reading this file never ends.\n", encoding="utf-8")
    # The stuck file sits among the others, so files before and after it are in flight with it.
    ordered = [*names[:2], "hang.txt", *names[2:]]
    jobs = [Job(folder / name, name, None) for name in ordered]
    config = IngestConfig(input=str(folder), file_timeout_s=3)

    results = list(extract_in_order(jobs, config, 2, task=extract_or_hang))

    assert len(results) == len(jobs)
    stuck = results[2]
    assert [event["error"] for event in stuck.events] == ["file_timeout"]
    assert stuck.events[0]["source"] == "hang.txt"
    assert "ingest.file_timeout_s (3 s)" in stuck.events[0]["message"]
    for job, result in zip(jobs, results, strict=True):
        if job.source != "hang.txt":
            assert result.events == extract_file(job.path, job.source, config).events


def test_time_limit_enforced_for_a_single_file(tmp_path: Path) -> None:
    # One file would be read in this process, where a stuck reader could not be stopped.
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "hang.txt").write_text("Reading this file never ends.\n", encoding="utf-8")
    config = IngestConfig(input=str(folder), file_timeout_s=2)

    [result] = list(extract_in_order([Job(folder / "hang.txt", "hang.txt", None)], config, 1, task=extract_or_hang))

    assert [event["error"] for event in result.events] == ["file_timeout"]
