"""Hand-written gradients of the full-vocabulary loss against torch.autograd on plain formulas.

The chunked loss computes d(loss)/d(logits) by hand for a teacher given as logits or as
hidden states with an output weight. Each case here runs that loss and a float64 textbook
implementation differentiated by autograd, and compares the loss and both gradients.
"""

import pytest
import torch
import torch.nn.functional as F

from shochu.distill.losses import LossSettings, TeacherHidden, distillation_loss

# (divergence, jsd_beta, skew_alpha): every divergence, mixtures away from 0.5 and 0.1, and the endpoints.
CASES = [
    ("forward_kl", 0.5, 0.1),
    ("reverse_kl", 0.5, 0.1),
    ("jsd", 0.3, 0.1),
    ("jsd", 0.0, 0.1),
    ("jsd", 1.0, 0.1),
    ("skew_kl", 0.5, 0.25),
    ("skew_kl", 0.5, 0.0),
    ("skew_reverse_kl", 0.5, 0.25),
    ("skew_reverse_kl", 0.5, 0.0),
]


def _kl(a, b):
    return (a * (a.log() - b.log())).sum(-1)


def _reference_divergence(teacher_scaled, student_scaled, name, jsd_beta, skew_alpha):
    """D(p || q) per row, written from probabilities as textbooks state it."""
    p, q = teacher_scaled.softmax(-1), student_scaled.softmax(-1)
    if name == "forward_kl" or (name == "jsd" and jsd_beta == 0.0):
        return _kl(p, q)
    if name == "reverse_kl" or (name == "jsd" and jsd_beta == 1.0):
        return _kl(q, p)
    if name == "jsd":
        m = jsd_beta * p + (1 - jsd_beta) * q
        return jsd_beta * _kl(p, m) + (1 - jsd_beta) * _kl(q, m)
    if name == "skew_kl":
        return _kl(p, skew_alpha * p + (1 - skew_alpha) * q)
    return _kl(q, skew_alpha * q + (1 - skew_alpha) * p)


def _inputs(seed: int):
    generator = torch.Generator().manual_seed(seed)
    hidden = torch.randn(3, 7, 8, generator=generator, dtype=torch.float64)
    weight = torch.randn(40, 8, generator=generator, dtype=torch.float64)
    targets = torch.randint(0, 40, (3, 7), generator=generator)
    targets[0, :2] = -100
    mask = torch.ones(3, 7, dtype=torch.bool)
    mask[2, 5:] = False
    teacher_hidden = torch.randn(3, 7, 6, generator=generator, dtype=torch.float64)
    teacher_weight = torch.randn(40, 6, generator=generator, dtype=torch.float64) * 0.8
    return hidden, weight, targets, mask, teacher_hidden, teacher_weight


@pytest.mark.parametrize("temperature", [1.0, 2.0])
@pytest.mark.parametrize("form", ["logits", "hidden"])
@pytest.mark.parametrize(("name", "jsd_beta", "skew_alpha"), CASES)
def test_full_teacher_gradients_match_autograd(name, jsd_beta, skew_alpha, form, temperature):
    hidden, weight, targets, mask, teacher_hidden, teacher_weight = _inputs(seed=11)
    teacher_logits = teacher_hidden @ teacher_weight.t()  # (3, 7, 40), one row per position
    teacher = teacher_logits if form == "logits" else TeacherHidden(teacher_hidden.reshape(21, 6), teacher_weight)
    settings = LossSettings(kd_ratio=0.6, temperature=temperature, divergence=name, jsd_beta=jsd_beta,
                            skew_alpha=skew_alpha, chunk_size=4)
    supervised = mask & (targets != -100)
    count = int(supervised.sum())
    num_supervised = count + 5  # as if another micro-batch of the optimizer step held 5 more tokens

    inputs, projection = hidden.clone().requires_grad_(), weight.clone().requires_grad_()
    output = distillation_loss(inputs, teacher, settings, weight=projection, labels=targets, mask=mask,
                               num_supervised=num_supervised)
    output.loss.backward()

    reference_inputs, reference_projection = hidden.clone().requires_grad_(), weight.clone().requires_grad_()
    logits = (reference_inputs @ reference_projection.t())[supervised]
    kd = _reference_divergence(teacher_logits[supervised] / temperature, logits / temperature, name, jsd_beta,
                               skew_alpha)
    ce = F.cross_entropy(logits, targets[supervised], reduction="none")
    reference = (0.6 * temperature**2 * kd + 0.4 * ce).sum() / num_supervised
    reference.backward()

    assert output.tokens == count
    assert output.loss.item() == pytest.approx(reference.item(), rel=1e-9)
    assert output.kd_sum.item() == pytest.approx(kd.sum().item(), rel=1e-9)
    assert torch.allclose(inputs.grad, reference_inputs.grad, rtol=1e-7, atol=1e-12)
    assert torch.allclose(projection.grad, reference_projection.grad, rtol=1e-7, atol=1e-12)
    assert inputs.grad[~supervised].abs().max().item() == 0.0


@pytest.mark.parametrize("temperature", [1.0, 2.0])
@pytest.mark.parametrize(("name", "jsd_beta", "skew_alpha"), CASES)
def test_given_logits_gradient_matches_autograd(name, jsd_beta, skew_alpha, temperature):
    # Student logits passed directly: the gradient must not overwrite the caller's tensor.
    generator = torch.Generator().manual_seed(12)
    student = torch.randn(9, 30, generator=generator, dtype=torch.float64)
    teacher = torch.randn(9, 30, generator=generator, dtype=torch.float64)
    targets = torch.randint(0, 30, (9,), generator=generator)
    settings = LossSettings(kd_ratio=0.3, temperature=temperature, divergence=name, jsd_beta=jsd_beta,
                            skew_alpha=skew_alpha, chunk_size=4)

    inputs = student.clone().requires_grad_()
    output = distillation_loss(inputs, teacher, settings, labels=targets)
    output.loss.backward()

    reference_inputs = student.clone().requires_grad_()
    kd = _reference_divergence(teacher / temperature, reference_inputs / temperature, name, jsd_beta, skew_alpha)
    ce = F.cross_entropy(reference_inputs, targets, reduction="none")
    (0.3 * temperature**2 * kd + 0.7 * ce).mean().backward()

    assert torch.equal(inputs.detach(), student)
    assert torch.allclose(inputs.grad, reference_inputs.grad, rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize(("name", "jsd_beta", "skew_alpha"), CASES)
def test_identical_teacher_gives_zero_kd_gradient(name, jsd_beta, skew_alpha):
    hidden, weight, _, _, _, _ = _inputs(seed=13)
    hidden = hidden.float().reshape(21, 8)
    weight = weight.float()
    settings = LossSettings(kd_ratio=1.0, temperature=2.0, divergence=name, jsd_beta=jsd_beta,
                            skew_alpha=skew_alpha)
    inputs = hidden.clone().requires_grad_()
    output = distillation_loss(inputs, TeacherHidden(hidden, weight), settings, weight=weight)
    output.loss.backward()

    assert abs(output.loss.item()) < 1e-6
    assert inputs.grad.abs().max().item() < 1e-6


def test_bfloat16_teacher_logits_gradient_matches_float64():
    generator = torch.Generator().manual_seed(14)
    student = torch.randn(6, 3_000, generator=generator) * 2.0
    teacher = (student + 0.05 * torch.randn(6, 3_000, generator=generator)).to(torch.bfloat16)
    settings = LossSettings(kd_ratio=1.0, temperature=2.0, chunk_size=4)

    inputs = student.clone().requires_grad_()
    distillation_loss(inputs, teacher, settings).loss.backward()
    reference_inputs = student.double().requires_grad_()
    kd = _reference_divergence(teacher.double() / 2.0, reference_inputs / 2.0, "forward_kl", 0.5, 0.1)
    (4.0 * kd).mean().backward()

    assert inputs.grad.dtype == torch.float32
    assert torch.allclose(inputs.grad.double(), reference_inputs.grad, rtol=1e-4, atol=1e-9)
