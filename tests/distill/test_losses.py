import pytest
import torch
import torch.nn.functional as F

from shochu.distill.losses import LossSettings, TopKLabels, distillation_loss, topk_distributions, divergence


def _soft_labels(teacher_logits: torch.Tensor, temperature: float, k: int) -> TopKLabels:
    logprobs = F.log_softmax(teacher_logits / temperature, dim=-1)
    values, ids = logprobs.topk(k, dim=-1)
    return TopKLabels(values, ids, 1.0 - values.exp().sum(-1))


def _full_kl(teacher: torch.Tensor, student: torch.Tensor, temperature: float) -> torch.Tensor:
    return F.kl_div(F.log_softmax(student / temperature, -1), F.log_softmax(teacher / temperature, -1),
                    log_target=True, reduction="none").sum(-1)


def _rest_kl(student: torch.Tensor, labels: TopKLabels, temperature: float) -> torch.Tensor:
    teacher_logprobs, student_logprobs = topk_distributions(student / temperature, labels, "rest")
    return divergence(teacher_logprobs, student_logprobs)


def test_identical_distributions_give_zero_kl():
    logits = torch.randn(5, 50)
    kl = _rest_kl(logits, _soft_labels(logits, 2.0, 8), 2.0)
    assert torch.allclose(kl, torch.zeros(5), atol=1e-5)


def test_full_vocabulary_topk_equals_exact_kl():
    torch.manual_seed(0)
    teacher, student = torch.randn(4, 20), torch.randn(4, 20)
    kl = _rest_kl(student, _soft_labels(teacher, 1.5, 20), 1.5)
    assert torch.allclose(kl, _full_kl(teacher, student, 1.5), atol=1e-5)


def test_rest_kl_never_exceeds_full_kl():
    torch.manual_seed(1)
    teacher, student = torch.randn(16, 100), torch.randn(16, 100)
    coarse = _rest_kl(student, _soft_labels(teacher, 2.0, 8), 2.0)
    assert bool((coarse <= _full_kl(teacher, student, 2.0) + 1e-5).all())
    assert bool((coarse >= -1e-6).all())


def test_ce_only_matches_cross_entropy():
    torch.manual_seed(3)
    weight = torch.randn(30, 8)
    hidden, targets = torch.randn(6, 8), torch.randint(0, 30, (6,))
    output = distillation_loss(hidden, torch.randn(6, 30), LossSettings(kd_ratio=0.0), weight=weight,
                               labels=targets)
    expected = F.cross_entropy(hidden @ weight.t(), targets)
    assert torch.allclose(output.loss, expected, atol=1e-5)
    assert torch.allclose(output.ce_sum, expected * 6, atol=1e-4)


def test_ce_not_computed_when_kd_ratio_is_one():
    output = distillation_loss(torch.randn(3, 5), torch.randn(3, 5), LossSettings(kd_ratio=1.0),
                               labels=torch.tensor([1, 2, 3]))
    assert output.ce_sum is None


def test_ce_weight_without_labels_raises():
    with pytest.raises(ValueError, match="labels are required"):
        distillation_loss(torch.randn(3, 5), torch.randn(3, 5), LossSettings(kd_ratio=0.5))


def test_label_outside_vocabulary_raises():
    with pytest.raises(ValueError, match="label id 9 is outside the 5 logit columns"):
        distillation_loss(torch.randn(2, 5), torch.randn(2, 5), LossSettings(kd_ratio=0.5),
                          labels=torch.tensor([1, 9]))


def test_teacher_row_count_mismatch_raises():
    with pytest.raises(ValueError, match="the teacher has 3 rows"):
        distillation_loss(torch.randn(4, 5), torch.randn(3, 5), LossSettings(kd_ratio=1.0),
                          mask=torch.tensor([1, 1, 0, 0]))


def test_num_supervised_below_batch_count_raises():
    with pytest.raises(ValueError, match="num_supervised=1 is below"):
        distillation_loss(torch.randn(2, 5), torch.randn(2, 5), LossSettings(kd_ratio=1.0), num_supervised=1)


@pytest.mark.parametrize(
    "field, value",
    [("kd_ratio", 1.5), ("temperature", 0.0), ("divergence", "kl"), ("jsd_beta", -0.1), ("skew_alpha", 1.0),
     ("topk_convention", "tail"), ("chunk_size", 0)],
)
def test_invalid_settings_name_the_field(field, value):
    with pytest.raises(ValueError, match=f"{field}="):
        LossSettings(**{field: value})


@pytest.mark.parametrize("kd_ratio", [0.0, 0.5, 1.0])
def test_kd_ratio_weights_terms_with_temperature_squared(kd_ratio):
    torch.manual_seed(4)
    student, teacher, targets = torch.randn(5, 7), torch.randn(5, 7), torch.randint(0, 7, (5,))
    output = distillation_loss(student, teacher, LossSettings(kd_ratio=kd_ratio, temperature=2.0), labels=targets)
    kd = _full_kl(teacher, student, 2.0).mean()
    ce = F.cross_entropy(student, targets)
    expected = kd_ratio * 4.0 * kd + (1 - kd_ratio) * ce
    assert output.loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert output.kd_sum.item() == pytest.approx(kd.item() * 5, rel=1e-5)
