"""Model shapes from file headers, the memory and disk estimates, verdicts and suggestions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from transformers import AutoModelForCausalLM

import gguf_files
from shochu.models import prune_layers
from shochu.preflight import plan
from shochu.preflight.plan import GIB, MIB, PlanSettings
from shochu.preflight.shapes import ModelShape, ShapeError, read_shape

# SmolLM2-135M-Instruct as its GGUF header describes it.
SMOLLM2 = ModelShape(parameters=134_515_008, layer_parameters=3_540_096, layers=30, hidden=576,
                     intermediate=1536, heads=9, kv_heads=3, head_dim=64, vocab=49_152,
                     weight_bytes=98_362_432, format="gguf")
STUDENT = SMOLLM2.pruned(8)
DEMO = PlanSettings(label_batch=8, train_batch=4, grad_accum=1, max_seq_len=640, response_tokens=81, top_k=32,
                    student_layers=8)


# --- shapes -------------------------------------------------------------------


def test_folder_shape_counts_parameters(tiny_model_dir: Path) -> None:
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    shape = read_shape(tiny_model_dir)
    assert shape.parameters == sum(p.numel() for p in model.parameters())
    assert shape.layers == 4
    assert shape.kv_heads == 2


def test_folder_shape_layer_parameters(tiny_model_dir: Path) -> None:
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    layer = sum(p.numel() for p in model.model.layers[0].parameters())
    assert read_shape(tiny_model_dir).layer_parameters == layer


def test_optimizer_file_not_counted(tiny_model_dir: Path, tmp_path: Path) -> None:
    folder = shutil.copytree(tiny_model_dir, tmp_path / "checkpoint")
    shutil.copy(folder / "model.safetensors", folder / "optimizer.safetensors")
    assert read_shape(folder).parameters == read_shape(tiny_model_dir).parameters


def test_pruned_shape_matches_pruned_model(tiny_model_dir: Path, tmp_path: Path) -> None:
    student = prune_layers(tiny_model_dir, 2, tmp_path / "student")
    assert read_shape(tiny_model_dir).pruned(2).parameters == read_shape(student).parameters


def test_gguf_shape(tmp_path: Path) -> None:
    shape = read_shape(tmp_path, gguf_files.write_tiny_gguf(tmp_path / "tiny.gguf").name)
    assert shape.parameters == gguf_files.PARAMETERS
    assert shape.layer_parameters == gguf_files.LAYER_PARAMETERS
    assert shape.kv_heads == gguf_files.KV_HEADS
    assert shape.head_dim == gguf_files.HEAD_DIM
    assert shape.vocab == gguf_files.VOCAB


def test_config_without_dimensions_rejected(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"model_type": "bert"}', encoding="utf-8")
    with pytest.raises(ShapeError, match="no `num_attention_heads`"):
        read_shape(tmp_path)


def test_folder_without_safetensors_rejected(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(
        '{"num_attention_heads": 2, "hidden_size": 8, "num_hidden_layers": 1, "intermediate_size": 16, '
        '"vocab_size": 32}', encoding="utf-8")
    with pytest.raises(ShapeError, match="no \\*.safetensors"):
        read_shape(tmp_path)


# --- memory per phase ---------------------------------------------------------


def test_label_hidden_states_part() -> None:
    phase = plan.label_phase(SMOLLM2, batch=8, seq_len=640, response_tokens=81)
    assert phase.parts["final hidden states (batch x seq x hidden)"] == 8 * 640 * 576 * 4


def test_label_total_for_demo() -> None:
    phase = plan.label_phase(SMOLLM2, batch=8, seq_len=640, response_tokens=81)
    assert round(phase.total / MIB) == 1392


def test_train_state_sixteen_bytes() -> None:
    parts = plan.train_phase(STUDENT, batch=4, seq_len=640, response_tokens=81).parts
    state = parts["student weights (float32)"] + parts["gradients"] + parts["AdamW moments"]
    assert state == 16 * STUDENT.parameters


def test_train_activations_per_token_layer() -> None:
    one = plan.activation_bytes(STUDENT, batch=1, seq_len=1, response_tokens=1)
    per_layer = (6 * 576 + 5 * 576 + 4 * 1536) * 4
    assert one == 8 * per_layer + 4 * 576 * 4


def test_train_total_for_demo() -> None:
    assert round(plan.train_phase(STUDENT, 4, 640, 81).total / MIB) == 2500


def test_small_batch_train_peak_is_checkpoint() -> None:
    parts = plan.train_phase(STUDENT, batch=1, seq_len=16, response_tokens=4).parts
    assert "checkpoint copy of the AdamW moments" in parts


def test_import_of_gguf_converts_and_rebuilds() -> None:
    parts = plan.import_phase(SMOLLM2).parts
    assert parts["source file (memory-mapped)"] == 98_362_432
    assert parts["loaded weights (float32)"] == 4 * SMOLLM2.parameters
    assert parts["rebuilt model (float32)"] == 4 * SMOLLM2.parameters


def test_import_of_float32_folder_maps_weights() -> None:
    float32 = ModelShape(**{**SMOLLM2.as_dict(), "weight_bytes": 4 * SMOLLM2.parameters, "format": "safetensors"})
    assert "loaded weights (float32)" not in plan.import_phase(float32).parts


def test_lora_smaller_than_full() -> None:
    full = plan.train_phase(STUDENT, 4, 640, 81)
    lora = plan.lora_phase(STUDENT, 4, 640, 81, rank=16)
    assert lora.parts["activations"] == full.parts["activations"]
    assert lora.total < full.total


def test_lora_parameters_per_layer() -> None:
    shape = ModelShape(parameters=0, layer_parameters=0, layers=1, hidden=8, intermediate=16, heads=2, kv_heads=1,
                       head_dim=4, vocab=32, weight_bytes=0, format="test")
    # q and o: 8 + 8; k and v: 8 + 4; gate, up and down: 8 + 16; times rank 2.
    assert plan.lora_parameters(shape, rank=2) == 2 * (16 * 2 + 12 * 2 + 24 * 3)


@pytest.mark.parametrize("quantization, block_bytes", [("Q4_0", 18), ("Q8_0", 34), ("F16", 64)])
def test_quantized_bytes_per_32_weights(quantization: str, block_bytes: int) -> None:
    assert plan.quantized_bytes(32, quantization) == block_bytes


def test_serving_kv_cache_float16() -> None:
    phase = plan.serving_phase(STUDENT, "Q4_0", context=1000, sequences=2)
    assert phase.parts["KV cache (float16, 2 x 1000 tokens)"] == 2 * 8 * 192 * 1000 * 2 * 2


# --- disk ---------------------------------------------------------------------


def test_soft_label_bytes() -> None:
    # 10 examples x 5 tokens x (32 x (2 + 4) + 4) bytes, plus one int64 offset per example.
    assert plan.soft_label_bytes(10, 5, 32) == 50 * 196 + 80


def test_disk_without_example_count_skips_labels() -> None:
    parts = plan.disk_parts(SMOLLM2, STUDENT, None, 81, 32)
    assert not any(name.startswith("label shards") for name in parts)


def test_disk_counts_train_last_twice() -> None:
    parts = plan.disk_parts(SMOLLM2, STUDENT, 100, 81, 32)
    assert parts["train/last, twice during a save"] == 24 * STUDENT.parameters


# --- verdicts and suggestions -------------------------------------------------


@pytest.mark.parametrize("need, available, total, expected", [
    (9 * GIB, 10 * GIB, 16 * GIB, plan.FITS),
    (10 * GIB, 10 * GIB, 16 * GIB, plan.TIGHT),
    (16 * GIB, 10 * GIB, 16 * GIB, plan.TIGHT),
    (17 * GIB, 10 * GIB, 16 * GIB, plan.DOES_NOT_FIT),
])
def test_verdict(need: int, available: int, total: int, expected: str) -> None:
    assert plan.verdict(need, available, total) == expected


def test_train_suggestion_halves_batch_keeps_step() -> None:
    two = plan.train_phase(STUDENT, 2, 640, 81).total
    found = plan.train_suggestions(STUDENT, DEMO, available=int(two * 1.15), pruned_from=SMOLLM2)
    assert found[0] == "train.batch_size: 2 with train.grad_accum: 2 (keeps about 4 examples per optimizer step)"


def test_train_suggestion_fewer_layers() -> None:
    six = plan.train_phase(SMOLLM2.pruned(6), 4, 640, 81).total
    found = plan.train_suggestions(STUDENT, DEMO, available=int(six * 1.15), pruned_from=SMOLLM2)
    assert "student.layers: 6" in found


def test_label_suggestion_halves_batch() -> None:
    four = plan.label_phase(SMOLLM2, 4, 640, 81).total
    assert plan.label_suggestion(SMOLLM2, DEMO, available=int(four * 1.15)) == "label.batch_size: 4"


def test_label_suggestion_none_when_nothing_fits() -> None:
    assert plan.label_suggestion(SMOLLM2, DEMO, available=100 * MIB) is None


def test_tiny_model_fits_anywhere(tiny_model_dir: Path) -> None:
    shape = read_shape(tiny_model_dir)
    assert plan.train_phase(shape, 4, 256, 17).total < 1 * GIB


def test_online_teacher_counted_in_train_and_label_phase_dropped() -> None:
    from dataclasses import replace

    from shochu.preflight.stage import _memory_phases

    stored = {phase.name: phase for phase in _memory_phases(SMOLLM2, STUDENT, DEMO, None)}
    online = {phase.name: phase for phase in _memory_phases(SMOLLM2, STUDENT, replace(DEMO, online_teacher=True),
                                                             None)}
    assert "label" in stored
    assert "label" not in online
    added = online["train"].total - stored["train"].total
    # Weights: 134,515,008 x 4 bytes; one no-grad layer of 4 x 640 tokens: 2,560 x (4 x 576 + 3 x 1,536) x 4;
    # final hidden states: 2,560 x 576 x 4.
    assert added == 134_515_008 * 4 + 2_560 * (4 * 576 + 3 * 1_536) * 4 + 2_560 * 576 * 4
    assert any("online" in note for note in online["train"].notes)
