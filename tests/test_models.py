import logging
import shutil

import pytest
import torch
from transformers import AutoConfig

from shochu.models import (
    ModelSourceError,
    evenly_spaced_layers,
    import_model,
    load_model,
    prune_layers,
    read_model_description,
    resolve_source,
)


def test_hub_id_rejected_with_local_path_advice():
    with pytest.raises(ModelSourceError, match="never downloads models") as error:
        resolve_source("HuggingFaceTB/SmolLM2-135M-Instruct")
    assert "--local-dir" in str(error.value)


def test_missing_path_rejected():
    with pytest.raises(ModelSourceError, match="model path not found"):
        resolve_source("/nonexistent/model/folder/here")


def test_folder_without_config_rejected(tmp_path):
    with pytest.raises(ModelSourceError, match="no config.json"):
        resolve_source(str(tmp_path))


def test_gguf_file_resolves_to_its_folder(tmp_path):
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    source = resolve_source(str(gguf))
    assert source.folder == tmp_path
    assert source.gguf_file == "model.gguf"


@pytest.mark.parametrize("total, keep, expected", [
    (30, 8, [0, 4, 8, 12, 17, 21, 25, 29]),
    (4, 2, [0, 3]),
    (5, 5, [0, 1, 2, 3, 4]),
    (6, 1, [5]),
])
def test_evenly_spaced_layers(total, keep, expected):
    assert evenly_spaced_layers(total, keep) == expected


def test_evenly_spaced_layers_rejects_too_many():
    with pytest.raises(ValueError, match="student.layers must be between 1"):
        evenly_spaced_layers(4, 5)


def test_pruned_student_copies_chosen_layers(tiny_model_dir, tmp_path):
    teacher = import_model(resolve_source(str(tiny_model_dir)), tmp_path / "teacher")
    student_dir = prune_layers(teacher, 2, tmp_path / "student")
    teacher_model, student_model = load_model(teacher), load_model(student_dir)

    assert student_model.config.num_hidden_layers == 2
    teacher_last = teacher_model.model.layers[3].mlp.down_proj.weight
    assert torch.equal(student_model.model.layers[1].mlp.down_proj.weight, teacher_last)
    assert torch.equal(student_model.model.embed_tokens.weight, teacher_model.model.embed_tokens.weight)


def test_imported_model_stops_at_end_of_turn(tiny_model_dir, tmp_path):
    folder = import_model(resolve_source(str(tiny_model_dir)), tmp_path / "teacher")
    model = load_model(folder)
    assert 2 in list(model.generation_config.eos_token_id)


def test_pruned_student_rebuilt_when_layer_count_changes(tiny_model_dir, tmp_path):
    teacher = import_model(resolve_source(str(tiny_model_dir)), tmp_path / "teacher")
    prune_layers(teacher, 2, tmp_path / "student")
    reused = prune_layers(teacher, 2, tmp_path / "student")
    assert read_model_description(reused)["kept_layers"] == [0, 3]

    prune_layers(teacher, 3, tmp_path / "student")
    assert read_model_description(tmp_path / "student")["kept_layers"] == [0, 2, 3]
    assert AutoConfig.from_pretrained(tmp_path / "student").num_hidden_layers == 3


def test_pruned_student_reused_after_the_teacher_folder_moves(tiny_model_dir, tmp_path, caplog):
    teacher = import_model(resolve_source(str(tiny_model_dir)), tmp_path / "teacher")
    student = prune_layers(teacher, 2, tmp_path / "student")
    written = (student / "model.safetensors").stat().st_mtime_ns

    # A copied workspace: the same weight files, with their times kept, under another path.
    moved = shutil.copytree(teacher, tmp_path / "copy" / "teacher")
    with caplog.at_level(logging.INFO, logger="shochu.models"):
        prune_layers(moved, 2, student)
    assert (student / "model.safetensors").stat().st_mtime_ns == written
    assert "again" not in caplog.text

    with caplog.at_level(logging.INFO, logger="shochu.models"):
        prune_layers(moved, 3, student)
    assert "pruned with other kept layers; pruning 3 of 4 teacher layers again" in caplog.text
    assert "initialised from 3 of the teacher's 4 layers (layer indices 0, 2, 3)" in caplog.text


def test_teacher_reimported_when_source_changes(tiny_model_dir, tmp_path):
    import_model(resolve_source(str(tiny_model_dir)), tmp_path / "teacher")
    other = shutil.copytree(tiny_model_dir, tmp_path / "other-teacher")
    import_model(resolve_source(str(other)), tmp_path / "teacher")
    assert read_model_description(tmp_path / "teacher")["source"] == str(other)
