"""Hidden-state alignment: exact term values, projections, pairs, config errors and training on tiny models."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pytest
import torch
from pydantic import ValidationError
from safetensors import safe_open
from safetensors.torch import load_file

from tiny_models import tiny_run_config
from trainer_fixtures import check_stop_and_resume, write_built_examples
from shochu.config import TrainConfig
from shochu.distill import train
from shochu.distill.alignment import HiddenAlignment, alignment_distance, capture_layer_outputs, resolve_pairs
from shochu.models import load_model, prepare_models, prune_layers
from shochu.workspace import Workspace, read_jsonl

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


# --- the term on small tensors ------------------------------------------------------------------


def test_distance_mse_exact_values():
    projected = torch.tensor([[1.0, 2.0], [0.0, 3.0]])
    target = torch.tensor([[1.0, 0.0], [0.0, 4.0]])
    assert alignment_distance(projected, target, "mse").tolist() == [2.0, 0.5]


def test_distance_cosine_exact_values():
    projected = torch.tensor([[1.0, 2.0], [0.0, 3.0], [1.0, 0.0]])
    target = torch.tensor([[1.0, 0.0], [0.0, 4.0], [-2.0, 0.0]])
    distance = alignment_distance(projected, target, "cosine")
    assert distance[0].item() == pytest.approx(1 - 1 / math.sqrt(5))
    assert distance[1].item() == pytest.approx(0.0, abs=1e-7)
    assert distance[2].item() == pytest.approx(2.0)


def test_distance_rejects_unknown_loss():
    with pytest.raises(ValueError, match="'l1' must be one of mse, cosine"):
        alignment_distance(torch.zeros(1, 2), torch.zeros(1, 2), "l1")


def test_alignment_sums_supervised_rows_and_averages_pairs():
    alignment = HiddenAlignment([(0, 1), (1, 2)], student_hidden=2, teacher_hidden=2, loss="mse")
    # Student layer 0 and 1 outputs, batch 1, length 3.
    student = {0: torch.tensor([[[1.0, 2.0], [0.0, 3.0], [5.0, 5.0]]]),
               1: torch.tensor([[[0.0, 0.0], [1.0, 1.0], [9.0, 9.0]]])}
    teacher = [torch.tensor([[[1.0, 0.0], [0.0, 4.0], [0.0, 0.0]]]),  # teacher layer 1
               torch.tensor([[[0.0, 2.0], [1.0, 1.0], [0.0, 0.0]]])]  # teacher layer 2
    supervised = torch.tensor([[True, True, False]])
    # Pair (0, 1): rows 2.0 + 0.5; pair (1, 2): rows 2.0 + 0.0; the mean over the two pairs.
    assert alignment(student, teacher, supervised).item() == pytest.approx((2.5 + 2.0) / 2)


def test_alignment_without_supervised_rows_is_zero():
    alignment = HiddenAlignment([(0, 0)], student_hidden=2, teacher_hidden=2, loss="cosine")
    value = alignment({0: torch.ones(1, 2, 2)}, [torch.ones(1, 2, 2)], torch.zeros(1, 2, dtype=torch.bool))
    assert value.item() == 0.0


def test_projection_starts_as_identity_when_sizes_match():
    alignment = HiddenAlignment([(0, 0), (1, 3)], student_hidden=8, teacher_hidden=8, loss="mse")
    for projection in alignment.projections:
        assert torch.equal(projection.weight, torch.eye(8))
        assert projection.bias is None


def test_projection_between_sizes_is_seeded_and_orthogonal():
    first = HiddenAlignment([(0, 0)], student_hidden=4, teacher_hidden=8, loss="mse", seed=3)
    again = HiddenAlignment([(0, 0)], student_hidden=4, teacher_hidden=8, loss="mse", seed=3)
    weight = first.projections[0].weight
    assert weight.shape == (8, 4)
    assert torch.equal(weight, again.projections[0].weight)
    # Orthonormal columns: the projection keeps the norm of a student state.
    assert torch.allclose(weight.t() @ weight, torch.eye(4), atol=1e-5)


def test_projection_gets_gradients():
    alignment = HiddenAlignment([(0, 0)], student_hidden=3, teacher_hidden=3, loss="mse")
    student_state = torch.tensor([[[1.0, 2.0, 3.0]]], requires_grad=True)
    value = alignment({0: student_state}, [torch.zeros(1, 1, 3)], torch.ones(1, 1, dtype=torch.bool))
    value.backward()
    # d/dW mean((W s)^2) at W = I is 2 s s^T / 3.
    expected = 2 * torch.outer(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 2.0, 3.0])) / 3
    assert torch.allclose(alignment.projections[0].weight.grad, expected)
    assert torch.allclose(student_state.grad, 2 * student_state.detach() / 3)


# --- layer pairs --------------------------------------------------------------------------------


def test_auto_pairs_follow_the_pruning_record(tmp_path, tiny_model_dir):
    student_dir = prune_layers(tiny_model_dir, 2, tmp_path / "student")
    assert resolve_pairs("auto", student_dir, student_layers=2, teacher_layers=4) == [(0, 0), (1, 3)]


def test_auto_pairs_need_a_pruning_record(tiny_student_dir):
    with pytest.raises(ValueError, match="no pruning record") as error:
        resolve_pairs("auto", tiny_student_dir, student_layers=2, teacher_layers=4)
    assert "[[0, 0], [1, 3]]" in str(error.value)


def test_explicit_pairs_outside_the_models_are_rejected(tiny_student_dir):
    assert resolve_pairs([[0, 1], [1, 2]], tiny_student_dir, 2, 4) == [(0, 1), (1, 2)]
    with pytest.raises(ValueError, match=r"pairs \[\[2, 1\]\] are outside the student's 2"):
        resolve_pairs([[0, 1], [2, 1]], tiny_student_dir, 2, 4)
    with pytest.raises(ValueError, match=r"pairs \[\[1, 4\]\]"):
        resolve_pairs([[1, 4]], tiny_student_dir, 2, 4)


def test_captured_outputs_are_before_the_final_norm(tiny_model_dir):
    model = load_model(tiny_model_dir)
    input_ids = torch.tensor([[5, 9, 17, 3]])
    with capture_layer_outputs(model, [1, 3]) as captured:
        output = model.get_decoder()(input_ids=input_ids, output_hidden_states=True)
    assert sorted(captured) == [1, 3]
    # transformers reports layer i's output at index i + 1, the last one after the final norm.
    assert torch.equal(captured[1], output.hidden_states[2])
    assert torch.allclose(model.get_decoder().norm(captured[3]), output.last_hidden_state, atol=1e-6)
    assert not torch.allclose(captured[3], output.last_hidden_state)


# --- config errors ------------------------------------------------------------------------------


def test_config_alignment_needs_online_teacher():
    with pytest.raises(ValidationError) as error:
        TrainConfig(hidden_alignment={"weight": 0.5})
    assert "train.hidden_alignment" in str(error.value)
    assert "train.teacher" in str(error.value)
    assert TrainConfig(teacher="online", hidden_alignment={}).hidden_alignment.layers == "auto"


@pytest.mark.parametrize(("layers", "message"), [
    ([], "is empty"),
    ([[0, -1]], "negative layer numbers"),
    ([[0, 1], [0, 1]], r"lists \[\[0, 1\]\] more than once"),
    ("first", "auto"),
])
def test_config_rejects_bad_layer_pairs(layers, message):
    with pytest.raises(ValidationError, match=message):
        TrainConfig(teacher="online", hidden_alignment={"layers": layers})


@pytest.mark.parametrize(("field", "value"), [("weight", 0.0), ("loss", "l2")])
def test_config_rejects_bad_weight_and_loss(field, value):
    with pytest.raises(ValidationError, match=field):
        TrainConfig(teacher="online", hidden_alignment={field: value})


# --- training -----------------------------------------------------------------------------------


def _pruned_workspace(root: Path, teacher: Path, **train_settings):
    """A workspace whose student is pruned from the teacher (layers 0 and 3), with built examples."""
    config = tiny_run_config(root, teacher, teacher,
                             train={"teacher": "online", "max_steps": 4, "eval_every": 2, **train_settings})
    config.student.path = None
    config.student.layers = 2
    workspace = Workspace(Path(config.workspace))
    write_built_examples(workspace.root)
    return config, workspace


def test_training_logs_align_and_keeps_projections_out_of_export(tmp_path, tiny_model_dir, caplog):
    plain_config, plain = _pruned_workspace(tmp_path / "plain", tiny_model_dir)
    train.run(plain_config, plain)
    aligned_config, aligned = _pruned_workspace(tmp_path / "aligned", tiny_model_dir,
                                                hidden_alignment={"loss": "mse", "weight": 0.5})
    with caplog.at_level(logging.INFO, logger="shochu.distill.train"):
        manifest = train.run(aligned_config, aligned)
    assert manifest["counts"]["steps_run"] == 4

    records = read_jsonl(aligned.stage_dir("train") / "metrics.jsonl")
    steps = [r for r in records if r["split"] == "train"]
    assert [r["step"] for r in steps] == [1, 2, 3, 4]
    temperature = aligned_config.label.temperature
    for record in steps + [r for r in records if r["split"] == "validation"]:
        assert record["align_loss"] > 0
        assert record["loss"] == pytest.approx(0.5 * temperature**2 * record["kd_loss"] + 0.5 * record["ce_loss"]
                                               + 0.5 * record["align_loss"])
    assert any("| align " in message for message in caplog.messages)
    assert all("align_loss" not in r for r in read_jsonl(plain.stage_dir("train") / "metrics.jsonl"))

    def names(folder: Path) -> set[str]:
        with safe_open(folder / "best" / "model.safetensors", framework="pt") as handle:
            return set(handle.keys())

    assert names(aligned.stage_dir("train")) == names(plain.stage_dir("train"))
    assert not any("align" in name for name in names(aligned.stage_dir("train")))
    resume_weights = load_file(str(aligned.stage_dir("train") / "last" / "trainable.safetensors"))
    projections = sorted(name for name in resume_weights if name.startswith(train.ALIGNMENT_PREFIX))
    assert projections == ["hidden_alignment.projections.0.weight", "hidden_alignment.projections.1.weight"]
    # Four steps of training moved the projections away from the identity.
    assert not torch.equal(resume_weights[projections[0]], torch.eye(32))


def test_trainer_projections_get_gradients(tmp_path, tiny_model_dir):
    config, workspace = _pruned_workspace(tmp_path / "ws", tiny_model_dir, hidden_alignment={"loss": "cosine"})
    teacher_dir, student_dir = prepare_models(config.teacher.path, None, 2, workspace.models_dir)
    trainer = train.Trainer(config, student_dir, workspace.stage_dir("build"), workspace.stage_dir("label"),
                            tmp_path / "out", teacher_dir=teacher_dir)
    assert trainer.alignment.pairs == [(0, 0), (1, 3)]
    loss, _, _ = trainer.student(**trainer._loss_inputs(trainer._micro_batch(0), None))
    loss.backward()
    assert float(trainer.student.align_sum) > 0
    for projection in trainer.alignment.projections:
        assert projection.weight.grad is not None
        assert float(projection.weight.grad.abs().sum()) > 0
    assert any(parameter is trainer.alignment.projections[0].weight for parameter in trainer.trainable)


def test_alignment_resume_gives_the_same_weights(tmp_path, tiny_model_dir):
    config, workspace = _pruned_workspace(tmp_path / "ws", tiny_model_dir, max_steps=6, grad_accum=2, batch_size=3,
                                          hidden_alignment={"loss": "mse"})
    check_stop_and_resume(config, workspace)
