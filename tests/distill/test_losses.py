import math

import pytest
import torch
import torch.nn.functional as F

from shochu.distill.losses import LossTerms, distillation_terms, topk_forward_kl


def _soft_labels(teacher_logits: torch.Tensor, temperature: float, k: int):
    logprobs = F.log_softmax(teacher_logits / temperature, dim=-1)
    values, ids = logprobs.topk(k, dim=-1)
    rest = 1.0 - values.exp().sum(-1)
    return values, ids, rest


def test_identical_distributions_give_zero_kl():
    logits = torch.randn(5, 50)
    values, ids, rest = _soft_labels(logits, 2.0, 8)
    kl = topk_forward_kl(logits, values, ids, rest, 2.0)
    assert torch.allclose(kl, torch.zeros(5), atol=1e-5)


def test_full_vocabulary_topk_equals_exact_kl():
    torch.manual_seed(0)
    teacher, student = torch.randn(4, 20), torch.randn(4, 20)
    values, ids, rest = _soft_labels(teacher, 1.5, 20)
    expected = F.kl_div(F.log_softmax(student / 1.5, -1), F.log_softmax(teacher / 1.5, -1),
                        log_target=True, reduction="none").sum(-1)
    assert torch.allclose(topk_forward_kl(student, values, ids, rest, 1.5), expected, atol=1e-5)


def test_topk_kl_never_exceeds_full_kl():
    torch.manual_seed(1)
    teacher, student = torch.randn(16, 100), torch.randn(16, 100)
    values, ids, rest = _soft_labels(teacher, 2.0, 8)
    full = F.kl_div(F.log_softmax(student / 2.0, -1), F.log_softmax(teacher / 2.0, -1),
                    log_target=True, reduction="none").sum(-1)
    coarse = topk_forward_kl(student, values, ids, rest, 2.0)
    assert bool((coarse <= full + 1e-5).all())
    assert bool((coarse >= -1e-6).all())


def test_chunked_equals_unchunked():
    torch.manual_seed(2)
    head = torch.nn.Linear(8, 30, bias=False)
    hidden = torch.randn(37, 8)
    targets = torch.randint(0, 30, (37,))
    values, ids, rest = _soft_labels(torch.randn(37, 30), 2.0, 5)
    whole = distillation_terms(hidden, head, targets, values, ids, rest, 2.0, chunk_size=1000)
    pieces = distillation_terms(hidden, head, targets, values, ids, rest, 2.0, chunk_size=4)
    assert torch.allclose(whole.kd, pieces.kd, atol=1e-5)
    assert torch.allclose(whole.ce, pieces.ce, atol=1e-5)


def test_ce_term_matches_cross_entropy_sum():
    torch.manual_seed(3)
    head = torch.nn.Linear(8, 30, bias=False)
    hidden, targets = torch.randn(6, 8), torch.randint(0, 30, (6,))
    terms = distillation_terms(hidden, head, targets, None, None, None, 1.0)
    expected = F.cross_entropy(head(hidden), targets, reduction="sum")
    assert torch.allclose(terms.ce, expected, atol=1e-5)


def test_no_supervised_tokens_gives_zero_and_finite_gradients():
    head = torch.nn.Linear(8, 30, bias=False)
    hidden = torch.randn(0, 8, requires_grad=True)
    terms = distillation_terms(hidden, head, torch.zeros(0, dtype=torch.long), torch.zeros(0, 4),
                               torch.zeros(0, 4, dtype=torch.int32), torch.zeros(0), 2.0)
    loss = terms.combined(0.5, 2.0)
    loss.backward()
    assert loss.item() == 0.0
    assert terms.tokens == 0
    assert torch.isfinite(head.weight.grad).all()


@pytest.mark.parametrize("kd_ratio", [0.0, 0.5, 1.0])
def test_combined_weights_terms_with_temperature_squared(kd_ratio):
    terms = LossTerms(kd=torch.tensor(2.0), ce=torch.tensor(3.0), tokens=1)
    expected = kd_ratio * 4.0 * 2.0 + (1 - kd_ratio) * 3.0
    assert math.isclose(terms.combined(kd_ratio, 2.0).item(), expected, rel_tol=1e-6)
