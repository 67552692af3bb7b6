import time

import pytest

from shochu.workspace import Workspace, atomic_path, read_jsonl, write_jsonl


def test_atomic_path_leaves_target_untouched_on_error(tmp_path):
    target = tmp_path / "data.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as temporary:
            temporary.write_text("new, half written")
            raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_stage_fresh_only_with_same_config_and_inputs(tmp_path):
    workspace = Workspace(tmp_path)
    workspace.reset("ingest")
    workspace.finish("ingest", {"chunk_chars": 1000}, {"documents": "abc"}, {}, time.time())
    assert workspace.is_fresh("ingest", {"chunk_chars": 1000}, {"documents": "abc"})
    assert not workspace.is_fresh("ingest", {"chunk_chars": 900}, {"documents": "abc"})
    assert not workspace.is_fresh("ingest", {"chunk_chars": 1000}, {"documents": "abd"})


def test_require_names_command_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="run `shochu ingest FOLDER --workspace"):
        Workspace(tmp_path).require("ingest", "protect")


def test_require_names_later_command_without_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="run `shochu protect --workspace"):
        Workspace(tmp_path).require("protect", "build")


def test_jsonl_round_trip_keeps_japanese(tmp_path):
    records = [{"text": "社外秘"}, {"text": "ลับ"}]
    write_jsonl(tmp_path / "a.jsonl", records)
    assert read_jsonl(tmp_path / "a.jsonl") == records


def test_malformed_jsonl_line_named(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"a": 1}\n{"b": \n')
    with pytest.raises(ValueError, match="a.jsonl:2"):
        read_jsonl(path)


def test_stale_reasons_name_changed_settings_and_inputs(tmp_path) -> None:
    workspace = Workspace(tmp_path / "ws")
    assert workspace.stale_reasons("train", {}, {}) == ["it has not finished before"]
    workspace.finish("train", {"max_steps": 10, "lora": {"rank": 8}, "seed": 0}, {"label": "a", "build": "b"},
                     {}, time.time())

    assert workspace.stale_reasons("train", {"max_steps": 10, "lora": {"rank": 8}, "seed": 0},
                                   {"label": "a", "build": "b"}) == []
    assert workspace.stale_reasons("train", {"max_steps": 20, "lora": {"rank": 16}, "seed": 0},
                                   {"label": "c", "build": "b"}) == [
        "settings changed: lora.rank, max_steps", "inputs changed: label"]
