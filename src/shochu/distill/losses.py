"""Distillation loss against stored top-k teacher soft labels.

For each supervised response token the loss is

    loss = kd_ratio * T^2 * KL(p_teacher(T) || p_student(T)) + (1 - kd_ratio) * CE(y, p_student)

averaged over supervised tokens. T is the soft-label temperature and the T^2
factor keeps the KD gradient on the same scale as CE when T changes.

Top-k convention: the teacher's distribution is stored as its k most likely
token ids with their log-probabilities at temperature T, plus the probability
mass of every other token. Both distributions are compared over k + 1 outcomes
(the k teacher ids and one "rest" bucket): the student's rest mass is one
minus its probability on the k ids. This is the exact KL between the two
coarsened distributions, and it is never larger than the full-vocabulary KL.

Logits are computed only at supervised positions and in chunks of tokens, so
the full ``(tokens, vocab)`` logit matrix never exists at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

# Probabilities below this are treated as zero when taking logs of the rest bucket.
_EPSILON = 1e-12


@dataclass
class LossTerms:
    """Sums over supervised tokens; divide by ``tokens`` for the means that are reported."""

    kd: torch.Tensor
    ce: torch.Tensor
    tokens: int

    def combined(self, kd_ratio: float, temperature: float) -> torch.Tensor:
        return kd_ratio * temperature**2 * self.kd + (1.0 - kd_ratio) * self.ce


def topk_forward_kl(
    student_logits: torch.Tensor,
    teacher_logprobs: torch.Tensor,
    teacher_ids: torch.Tensor,
    teacher_rest: torch.Tensor,
    temperature: float,
) -> torch.Tensor:
    """Per-token KL(teacher || student) over the teacher's top-k ids and a rest bucket.

    Args:
        student_logits: ``(tokens, vocab)`` raw student logits.
        teacher_logprobs: ``(tokens, k)`` teacher log-probabilities at temperature T.
        teacher_ids: ``(tokens, k)`` token ids of those log-probabilities.
        teacher_rest: ``(tokens,)`` teacher probability mass outside the top k.
        temperature: T, applied to the student after the fp32 upcast.

    Returns:
        ``(tokens,)`` KL divergences in nats.
    """
    student_logprobs = F.log_softmax(student_logits.float() / temperature, dim=-1)
    student_topk = student_logprobs.gather(-1, teacher_ids.long())  # (tokens, k)

    teacher_logprobs = teacher_logprobs.float()
    teacher_probs = teacher_logprobs.exp()
    kl_topk = (teacher_probs * (teacher_logprobs - student_topk)).sum(-1)

    teacher_rest = teacher_rest.float().clamp(min=0.0)
    student_rest = (1.0 - student_topk.exp().sum(-1)).clamp(min=_EPSILON)
    rest_term = torch.where(
        teacher_rest > _EPSILON,
        teacher_rest * (teacher_rest.clamp(min=_EPSILON).log() - student_rest.log()),
        torch.zeros_like(teacher_rest),
    )
    return kl_topk + rest_term


def distillation_terms(
    hidden: torch.Tensor,
    lm_head: torch.nn.Module,
    targets: torch.Tensor,
    teacher_logprobs: torch.Tensor | None,
    teacher_ids: torch.Tensor | None,
    teacher_rest: torch.Tensor | None,
    temperature: float,
    chunk_size: int = 1024,
) -> LossTerms:
    """Sum KD and CE over supervised tokens, projecting hidden states to logits chunk by chunk.

    Args:
        hidden: ``(tokens, hidden)`` student hidden states at supervised positions.
        lm_head: the student's output projection.
        targets: ``(tokens,)`` the next-token ids (hard labels).
        teacher_logprobs, teacher_ids, teacher_rest: the soft labels for the same
            tokens, or all None for a CE-only loss.
        temperature: soft-label temperature T.
        chunk_size: tokens per logits chunk.
    """
    tokens = hidden.shape[0]
    kd_sum = hidden.new_zeros((), dtype=torch.float32)
    ce_sum = hidden.new_zeros((), dtype=torch.float32)
    if tokens == 0:
        # Keep the graph connected so that backward() works and gives zero gradients.
        zero = lm_head(hidden).float().sum() * 0.0
        return LossTerms(kd=kd_sum + zero, ce=ce_sum + zero, tokens=0)

    for start in range(0, tokens, chunk_size):
        end = min(start + chunk_size, tokens)
        logits = lm_head(hidden[start:end]).float()  # (chunk, vocab)
        ce_sum = ce_sum + F.cross_entropy(logits, targets[start:end], reduction="sum")
        if teacher_logprobs is not None:
            kd_sum = kd_sum + topk_forward_kl(logits, teacher_logprobs[start:end], teacher_ids[start:end],
                                              teacher_rest[start:end], temperature).sum()
    return LossTerms(kd=kd_sum, ce=ce_sum, tokens=tokens)
