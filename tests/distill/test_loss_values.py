"""Loss values worked out by hand, and equivalence with plain reference implementations.

The hand-worked cases each guard against a known way to get distillation wrong:
averaging over padded positions, dividing by all positions, dropping T^2,
reading the teacher one position off, or losing precision in low-precision logits.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from shochu.distill.data import EncodedExample, collate
from shochu.distill.losses import DIVERGENCES, LossSettings, TeacherHidden, TopKLabels, distillation_loss

KD_ONLY = LossSettings(kd_ratio=1.0, temperature=1.0)

# Two supervised positions followed by two padded ones (V = 3).
MASKED_TEACHER = torch.tensor([[2.0, 0, 0], [0, 2, 0], [0, 0, 0], [0, 0, 0]])
MASKED_STUDENT = torch.tensor([[0.0, 0, 0], [0, 1, 0], [4, 0, 0], [4, 0, 0]])


def _rounded(tensor: torch.Tensor, digits: int = 4) -> float:
    return round(tensor.item(), digits)


# --- plain float64 references, written independently of shochu.distill.losses -----------------


def _plain_divergence(teacher_logits, student_logits, name, jsd_beta=0.5, skew_alpha=0.1):
    """D(p || q) per row from the textbook formulas."""
    p, q = teacher_logits.softmax(-1), student_logits.softmax(-1)
    return _plain_between(p, q, name, jsd_beta, skew_alpha)


def _plain_between(p, q, name, jsd_beta=0.5, skew_alpha=0.1):
    def kl(a, b):
        return (a * (a.log() - b.log())).sum(-1)

    if name == "forward_kl":
        return kl(p, q)
    if name == "reverse_kl":
        return kl(q, p)
    if name == "jsd":
        m = jsd_beta * p + (1 - jsd_beta) * q
        return jsd_beta * kl(p, m) + (1 - jsd_beta) * kl(q, m)
    if name == "skew_kl":
        return kl(p, skew_alpha * p + (1 - skew_alpha) * q)
    return kl(q, skew_alpha * q + (1 - skew_alpha) * p)


def _plain_topk(student_logits, labels: TopKLabels, convention, name):
    """The divergence between coarsened distributions, from probabilities."""
    q = student_logits.softmax(-1)
    ids = labels.ids.long()
    p_topk, q_topk = labels.logprobs.exp(), q.gather(-1, ids)
    if convention == "renormalised":
        p = p_topk / p_topk.sum(-1, keepdim=True)
        return _plain_between(p, q_topk / q_topk.sum(-1, keepdim=True), name)
    p = torch.cat([p_topk, labels.rest.unsqueeze(-1)], -1)
    p = p / p.sum(-1, keepdim=True)
    return _plain_between(p, torch.cat([q_topk, 1 - q_topk.sum(-1, keepdim=True)], -1), name)


def _topk_labels(teacher_logits, temperature, k) -> TopKLabels:
    values, ids = (teacher_logits / temperature).log_softmax(-1).topk(k, dim=-1)
    return TopKLabels(values, ids, 1 - values.exp().sum(-1))


# --- masking and normalisation --------------------------------------------------------------


def test_masked_mean_is_0_2660():
    output = distillation_loss(MASKED_STUDENT, MASKED_TEACHER, KD_ONLY, mask=torch.tensor([1, 1, 0, 0]))
    # 0.9350 would be the mean over all four positions and 0.1330 the sum divided by four.
    assert _rounded(output.loss) == 0.2660
    assert output.tokens == 2


def test_more_padding_keeps_0_2660():
    teacher = torch.cat([MASKED_TEACHER, torch.zeros(5, 3)])
    student = torch.cat([MASKED_STUDENT, torch.tensor([[4.0, 0, 0]] * 5)])
    mask = torch.tensor([1, 1, 0, 0, 0, 0, 0, 0, 0])
    output = distillation_loss(student, teacher, KD_ONLY, mask=mask)
    assert _rounded(output.loss) == 0.2660


def test_ignore_labels_give_0_2660():
    # The padded rows first, so the supervised rows carry labels 17 and 42; they only mark
    # supervision because CE has no weight at kd_ratio = 1.
    order = [2, 3, 0, 1]
    output = distillation_loss(MASKED_STUDENT[order], MASKED_TEACHER[order], KD_ONLY,
                               labels=torch.tensor([-100, -100, 17, 42]))
    assert _rounded(output.loss) == 0.2660


def test_ignore_labels_in_original_order():
    output = distillation_loss(MASKED_STUDENT, MASKED_TEACHER, KD_ONLY, labels=torch.tensor([17, 42, -100, -100]))
    assert _rounded(output.loss) == 0.2660


def test_all_ignored_labels_give_zero():
    student = MASKED_STUDENT.clone().requires_grad_()
    output = distillation_loss(student, MASKED_TEACHER, KD_ONLY, labels=torch.full((4,), -100))
    output.loss.backward()
    assert output.loss.item() == 0.0
    assert output.tokens == 0
    assert torch.isfinite(student.grad).all()
    assert torch.equal(student.grad, torch.zeros(4, 3))


def test_all_ignored_labels_give_zero_weight_gradient():
    hidden = torch.randn(2, 3, 8, requires_grad=True)
    weight = torch.randn(30, 8, requires_grad=True)
    labels = TopKLabels(torch.zeros(0, 4), torch.zeros(0, 4, dtype=torch.int32), torch.zeros(0))
    output = distillation_loss(hidden, labels, LossSettings(kd_ratio=0.5, temperature=2.0), weight=weight,
                               labels=torch.full((2, 3), -100))
    output.loss.backward()
    assert output.loss.item() == 0.0
    assert torch.equal(hidden.grad, torch.zeros_like(hidden))
    assert torch.equal(weight.grad, torch.zeros_like(weight))


def test_num_supervised_divides_across_micro_batches():
    settings = LossSettings(kd_ratio=1.0)
    whole = distillation_loss(MASKED_STUDENT, MASKED_TEACHER, settings, mask=torch.tensor([1, 1, 1, 0]))
    first = distillation_loss(MASKED_STUDENT[:2], MASKED_TEACHER[:2], settings, num_supervised=3)
    second = distillation_loss(MASKED_STUDENT[2:], MASKED_TEACHER[2:], settings, mask=torch.tensor([1, 0]),
                               num_supervised=3)
    assert (first.loss + second.loss).item() == pytest.approx(whole.loss.item(), rel=1e-6)


# --- temperature, kd_ratio and top-k values ------------------------------------------------------


def test_temperature_two_soft_term_is_0_1936():
    settings = LossSettings(kd_ratio=1.0, temperature=2.0)
    output = distillation_loss(torch.tensor([[0.5, 0.5, 0.0]]), torch.tensor([[2.0, 1.0, 0.0]]), settings)
    assert _rounded(output.kd_sum, 5) == 0.04841
    assert _rounded(output.loss) == 0.1936


def test_temperature_one_kl_is_0_1706():
    output = distillation_loss(torch.tensor([[0.5, 0.5, 0.0]]), torch.tensor([[2.0, 1.0, 0.0]]), KD_ONLY)
    assert _rounded(output.loss) == 0.1706


def test_kd_ratio_scales_soft_term_not_ce():
    settings = LossSettings(kd_ratio=0.25, temperature=2.0)
    output = distillation_loss(torch.tensor([[0.5, 0.5, 0.0]]), torch.tensor([[2.0, 1.0, 0.0]]), settings,
                               labels=torch.tensor([0]))
    # CE at T = 1: -log softmax([0.5, 0.5, 0])[0] = 0.95802.
    assert output.ce_sum.item() == pytest.approx(0.95802, abs=1e-5)
    assert output.loss.item() == pytest.approx(0.25 * 4 * output.kd_sum.item() + 0.75 * 0.95802, abs=1e-5)


def test_renormalised_top2_is_0_1109():
    labels = _topk_labels(torch.tensor([[3.0, 2.0, 0.0, -1.0]]), 1.0, 2)
    settings = LossSettings(kd_ratio=1.0, topk_convention="renormalised")
    output = distillation_loss(torch.ones(1, 4), labels, settings)
    assert _rounded(output.loss) == 0.1109


def test_rest_top2_is_0_6080():
    # p = softmax([3, 2, 0, -1]) as (p0, p1, p2 + p3) against (0.25, 0.25, 0.5).
    labels = _topk_labels(torch.tensor([[3.0, 2.0, 0.0, -1.0]]), 1.0, 2)
    output = distillation_loss(torch.ones(1, 4), labels, LossSettings(kd_ratio=1.0, topk_convention="rest"))
    assert _rounded(output.loss) == 0.6080


# --- precision ---------------------------------------------------------------------------------


@pytest.mark.parametrize("temperature", [0.9, 2.0])
@pytest.mark.parametrize("name", DIVERGENCES)
def test_bf16_noisy_teacher_matches_float64(name, temperature):
    generator = torch.Generator().manual_seed(0)
    student = torch.randn(8, 32_000, generator=generator) * 2.0
    teacher = (student + 0.01 * torch.randn(8, 32_000, generator=generator)).to(torch.bfloat16)
    settings = LossSettings(kd_ratio=1.0, temperature=temperature, divergence=name)

    output = distillation_loss(student, teacher, settings)
    per_row = _plain_divergence(teacher.double() / temperature, student.double() / temperature, name)
    expected = per_row.mean().item()

    assert output.kd_sum.item() >= 0.0
    assert expected > 0.0
    assert abs(output.kd_sum.item() / 8 - expected) <= 1e-3 * expected


@pytest.mark.parametrize("temperature", [0.9, 2.0])
@pytest.mark.parametrize("name", DIVERGENCES)
def test_identical_logits_give_zero(name, temperature):
    student = torch.randn(8, 32_000, generator=torch.Generator().manual_seed(1)) * 2.0
    settings = LossSettings(kd_ratio=1.0, temperature=temperature, divergence=name)
    output = distillation_loss(student, student.clone(), settings)
    assert abs(output.loss.item()) < 1e-6


# --- equivalences ------------------------------------------------------------------------------


def _teacher_forms(teacher_logits, temperature):
    """Every teacher form of the same logits; the top-k forms keep 5 of the 40 ids."""
    labels = _topk_labels(teacher_logits, temperature, 5)
    projection = torch.eye(teacher_logits.shape[-1], dtype=teacher_logits.dtype)
    return {
        "logits": (teacher_logits, "rest"),
        "hidden": (TeacherHidden(teacher_logits, projection), "rest"),
        "rest": (labels, "rest"),
        "renormalised": (labels, "renormalised"),
    }


@pytest.mark.parametrize("form", ["logits", "hidden", "rest", "renormalised"])
@pytest.mark.parametrize("name", DIVERGENCES)
def test_chunked_equals_unchunked(name, form):
    generator = torch.Generator().manual_seed(2)
    hidden = torch.randn(37, 8, generator=generator)
    weight = torch.randn(40, 8, generator=generator)
    targets = torch.randint(0, 40, (37,), generator=generator)
    teacher, convention = _teacher_forms(torch.randn(37, 40, generator=generator), 2.0)[form]

    results = []
    for chunk_size in (1000, 4):
        settings = LossSettings(kd_ratio=0.5, temperature=2.0, divergence=name, topk_convention=convention,
                                chunk_size=chunk_size)
        inputs = hidden.clone().requires_grad_()
        projection = weight.clone().requires_grad_()
        output = distillation_loss(inputs, teacher, settings, weight=projection, labels=targets)
        output.loss.backward()
        results.append((output.loss, inputs.grad, projection.grad))

    (whole, hidden_grad, weight_grad), (pieces, hidden_grad_chunked, weight_grad_chunked) = results
    assert torch.allclose(whole, pieces, rtol=1e-5)
    assert torch.allclose(hidden_grad, hidden_grad_chunked, rtol=1e-4, atol=1e-7)
    assert torch.allclose(weight_grad, weight_grad_chunked, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("convention", ["rest", "renormalised"])
@pytest.mark.parametrize("name", DIVERGENCES)
def test_topk_of_whole_vocabulary_equals_full(name, convention):
    generator = torch.Generator().manual_seed(3)
    student, teacher = torch.randn(6, 20, generator=generator), torch.randn(6, 20, generator=generator)
    settings = LossSettings(kd_ratio=1.0, temperature=1.5, divergence=name, topk_convention=convention)
    full = distillation_loss(student, teacher, settings)
    topk = distillation_loss(student, _topk_labels(teacher, 1.5, 20), settings)
    assert topk.loss.item() == pytest.approx(full.loss.item(), rel=1e-5)


def test_jsd_endpoints_are_forward_and_reverse_kl():
    generator = torch.Generator().manual_seed(4)
    student, teacher = torch.randn(6, 20, generator=generator), torch.randn(6, 20, generator=generator)

    def loss(name, **options):
        return distillation_loss(student, teacher, LossSettings(kd_ratio=1.0, divergence=name, **options)).loss.item()

    assert loss("jsd", jsd_beta=0.0) == pytest.approx(loss("forward_kl"), rel=1e-6)
    assert loss("jsd", jsd_beta=1.0) == pytest.approx(loss("reverse_kl"), rel=1e-6)
    # The endpoints are the limits of JSD(beta) / beta and JSD(beta) / (1 - beta).
    assert loss("jsd", jsd_beta=1e-4) / 1e-4 == pytest.approx(loss("forward_kl"), rel=1e-2)
    assert loss("jsd", jsd_beta=1 - 1e-4) / 1e-4 == pytest.approx(loss("reverse_kl"), rel=1e-2)


def test_skew_alpha_zero_is_plain_kl():
    generator = torch.Generator().manual_seed(5)
    student, teacher = torch.randn(6, 20, generator=generator), torch.randn(6, 20, generator=generator)

    def loss(name, **options):
        return distillation_loss(student, teacher, LossSettings(kd_ratio=1.0, divergence=name, **options)).loss.item()

    assert loss("skew_kl", skew_alpha=0.0) == pytest.approx(loss("forward_kl"), rel=1e-6)
    assert loss("skew_reverse_kl", skew_alpha=0.0) == pytest.approx(loss("reverse_kl"), rel=1e-6)
    assert loss("skew_kl", skew_alpha=0.3) < loss("forward_kl")


@pytest.mark.parametrize("form", ["logits", "rest", "renormalised"])
@pytest.mark.parametrize("name", DIVERGENCES)
def test_gradients_match_autograd_reference(name, form):
    generator = torch.Generator().manual_seed(6)
    hidden = torch.randn(2, 9, 8, generator=generator, dtype=torch.float64)
    weight = torch.randn(40, 8, generator=generator, dtype=torch.float64)
    targets = torch.randint(0, 40, (2, 9), generator=generator)
    targets[0, :3] = -100
    supervised = targets != -100
    teacher_logits = torch.randn(int(supervised.sum()), 40, generator=generator, dtype=torch.float64)
    teacher, convention = _teacher_forms(teacher_logits, 2.0)[form]
    settings = LossSettings(kd_ratio=0.7, temperature=2.0, divergence=name, topk_convention=convention, chunk_size=5)

    inputs, projection = hidden.clone().requires_grad_(), weight.clone().requires_grad_()
    output = distillation_loss(inputs, teacher, settings, weight=projection, labels=targets)
    output.loss.backward()

    reference_inputs, reference_projection = hidden.clone().requires_grad_(), weight.clone().requires_grad_()
    logits = (reference_inputs @ reference_projection.t())[supervised]
    if form == "logits":
        kd = _plain_divergence(teacher_logits / 2.0, logits / 2.0, name)
    else:
        kd = _plain_topk(logits / 2.0, teacher, convention, name)
    ce = F.cross_entropy(logits, targets[supervised], reduction="none")
    reference = (0.7 * 4.0 * kd + 0.3 * ce).mean()
    reference.backward()

    assert output.loss.item() == pytest.approx(reference.item(), rel=1e-9)
    assert torch.allclose(inputs.grad, reference_inputs.grad, rtol=1e-7, atol=1e-12)
    assert torch.allclose(projection.grad, reference_projection.grad, rtol=1e-7, atol=1e-12)


def test_padded_student_columns_are_ignored():
    generator = torch.Generator().manual_seed(7)
    student, teacher = torch.randn(4, 10, generator=generator), torch.randn(4, 10, generator=generator)
    padded = torch.cat([student, torch.full((4, 6), 5.0)], dim=-1)
    expected = distillation_loss(student, teacher, KD_ONLY).loss.item()
    assert distillation_loss(padded, teacher, KD_ONLY, vocab_size=10).loss.item() == pytest.approx(expected)


# --- alignment --------------------------------------------------------------------------------

Q1, Q2, A1, A2 = 5, 6, 7, 8
VOCAB = 10


def _logits_with_probability(token: int, logprob: float) -> torch.Tensor:
    """A row of logits (zero elsewhere) whose softmax gives ``token`` the probability exp(logprob)."""
    probability = math.exp(logprob)
    row = torch.zeros(VOCAB, dtype=torch.float64)
    row[token] = math.log(probability * (VOCAB - 1) / (1 - probability))
    return row


def test_answer_positions_pair_with_teacher_rows():
    example = EncodedExample("qa", [Q1, Q2, A1, A2], response_start=2)
    batch = collate([example], pad_token_id=0)
    assert batch.target_mask[0].tolist() == [False, True, True, False]
    assert batch.targets[0][batch.target_mask[0]].tolist() == [A1, A2]

    # Teacher top-1 rows in answer order: log p(a1) = -0.1, then log p(a2) = -2.0.
    logprobs = torch.tensor([[-0.1], [-2.0]], dtype=torch.float64)
    teacher = TopKLabels(logprobs, torch.tensor([[A1], [A2]]), 1 - logprobs.exp().squeeze(-1))
    # The student predicts a1 at position 1 and a2 at position 2 with the teacher's probabilities.
    student = torch.stack([_logits_with_probability(A2, -2.0), _logits_with_probability(A1, -0.1),
                           _logits_with_probability(A2, -2.0), _logits_with_probability(A1, -0.1)]).unsqueeze(0)

    settings = LossSettings(kd_ratio=0.5, temperature=1.0)
    output = distillation_loss(student, teacher, settings, labels=batch.targets, mask=batch.target_mask)
    assert output.tokens == 2
    assert output.kd_sum.item() == pytest.approx(0.0, abs=1e-12)
    # CE of the student's predictions of a1 and a2: 0.1 + 2.0.
    assert output.ce_sum.item() == pytest.approx(2.1, abs=1e-12)

    # Reading the student one position late pairs a1's teacher row with a2's prediction.
    shifted = batch.target_mask.roll(1, dims=1)
    late = distillation_loss(student, teacher, LossSettings(kd_ratio=1.0), mask=shifted)
    assert late.kd_sum.item() > 1.0


def test_one_token_answer_has_one_position():
    example = EncodedExample("one", [Q1, Q2, A1], response_start=2)
    batch = collate([example], pad_token_id=0)
    assert int(batch.target_mask.sum()) == 1
    assert batch.targets[0][batch.target_mask[0]].tolist() == [A1]

    teacher = TopKLabels(torch.tensor([[-0.1]]), torch.tensor([[A1]]), torch.tensor([1 - math.exp(-0.1)]))
    student = torch.zeros(1, 3, VOCAB)
    output = distillation_loss(student, teacher, KD_ONLY, mask=batch.target_mask)
    assert output.tokens == 1

    two_rows = TopKLabels(teacher.logprobs.repeat(2, 1), teacher.ids.repeat(2, 1), teacher.rest.repeat(2))
    with pytest.raises(ValueError, match="the teacher has 2 rows"):
        distillation_loss(student, two_rows, KD_ONLY, mask=batch.target_mask)


def test_rest_bucket_of_peaked_student_matches_reference():
    # The student puts more than 0.99 of its mass on the teacher's top 3 ids in every row but the last.
    generator = torch.Generator().manual_seed(8)
    student = torch.randn(5, 40, generator=generator, dtype=torch.float64)
    labels = _topk_labels(torch.randn(5, 40, generator=generator, dtype=torch.float64), 1.0, 3)
    student[:4].scatter_(-1, labels.ids[:4].long(), 12.0)
    settings = LossSettings(kd_ratio=1.0, topk_convention="rest")

    inputs = student.clone().requires_grad_()
    output = distillation_loss(inputs, labels, settings)
    output.loss.backward()
    reference_inputs = student.clone().requires_grad_()
    reference = _plain_topk(reference_inputs, labels, "rest", "forward_kl").mean()
    reference.backward()

    shares = student.softmax(-1).gather(-1, labels.ids.long()).sum(-1)
    assert bool((shares[:4] > 0.99).all())
    # The summed rest includes a floor of 1e-12 times the total mass, which shifts the loss by about 1e-9.
    assert output.loss.item() == pytest.approx(reference.item(), rel=1e-7)
    assert torch.allclose(inputs.grad, reference_inputs.grad, rtol=1e-6, atol=1e-12)
