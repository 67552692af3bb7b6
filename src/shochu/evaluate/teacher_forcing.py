"""Teacher-forced comparison of a model with the teacher on reference responses.

Per example and over the supervised response tokens, ``token_statistics`` sums
the KL to the teacher, the tokens where both models rank the same token first,
the model's negative log-likelihood of the reference token (for perplexity),
and keeps each token's gap between the probabilities the two models give the
reference token. Both models read the same right-padded batches from ``distill.data.collate``.
Right padding is safe here because nothing is generated. Each position
attends only to earlier tokens, and only the supervised positions
(``target_mask``) are scored, following the logits-position convention of
``distill.data``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from transformers import PreTrainedModel

from shochu.distill.data import EncodedExample, collate
from shochu.evaluate.metrics import kl_divergence


@dataclass
class KLTotal:
    """Sum of per-token KL (nats) over the supervised response tokens, and their count."""

    kl_sum: float = 0.0
    tokens: int = 0

    @property
    def mean(self) -> float | None:
        return self.kl_sum / self.tokens if self.tokens else None


def _accepts_boolean_logits_to_keep(model: PreTrainedModel) -> bool:
    return "logits_to_keep" in inspect.signature(model.forward).parameters


def _supervised_logits(model: PreTrainedModel, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                       target_mask: torch.Tensor) -> torch.Tensor:
    """Return the logits at supervised positions, shape ``(tokens, vocab)``, in ``target_mask`` order.

    Models whose forward takes ``logits_to_keep`` project only the supervised
    positions onto the vocabulary, which avoids a ``(batch, seq, vocab)``
    tensor. In transformers 5.25 ``slice_logits_to_keep`` takes a boolean mask
    and returns the kept rows flattened. Any other model computes every
    position, and the mask is applied afterwards.
    """
    device = model.device
    mask = target_mask.to(device)
    inputs = {"input_ids": input_ids.to(device), "attention_mask": attention_mask.to(device)}
    if _accepts_boolean_logits_to_keep(model):
        logits = model(**inputs, logits_to_keep=mask).logits
        if logits.dim() == 2:
            return logits
    return model(**inputs).logits[mask]


@dataclass
class TokenStatistics:
    """Sums over each example's supervised response tokens, one entry per example in input order."""

    tokens: list[int] = field(default_factory=list)
    kl_sums: list[float] = field(default_factory=list)
    top1_matches: list[int] = field(default_factory=list)
    # The model's negative log-likelihood of the reference tokens, in nats.
    nll_sums: list[float] = field(default_factory=list)
    # Per token: |p_teacher(reference token) - p_model(reference token)|.
    probability_gaps: list[np.ndarray] = field(default_factory=list)


def teacher_forced_kl(teacher: PreTrainedModel, model: PreTrainedModel, examples: Sequence[EncodedExample],
                      pad_token_id: int, batch_size: int,
                      on_batch: Callable[[int], None] | None = None) -> KLTotal:
    """Return the summed KL(p_teacher || p_model) over every supervised response token.

    ``examples`` were encoded with the teacher's tokenizer, which the model
    must share. The result's ``mean`` is the token-level mean over all examples.
    """
    statistics = token_statistics(teacher, model, examples, pad_token_id, batch_size, on_batch)
    return KLTotal(kl_sum=sum(statistics.kl_sums), tokens=sum(statistics.tokens))


@torch.inference_mode()
def token_statistics(teacher: PreTrainedModel, model: PreTrainedModel, examples: Sequence[EncodedExample],
                     pad_token_id: int, batch_size: int,
                     on_batch: Callable[[int], None] | None = None) -> TokenStatistics:
    """Compare ``model`` with ``teacher`` token by token on the reference responses of ``examples``.

    When ``model`` is the teacher, one forward pass serves both sides.
    """
    statistics = TokenStatistics()
    for start in range(0, len(examples), batch_size):
        batch = collate(list(examples[start:start + batch_size]), pad_token_id)

        teacher_logits = _supervised_logits(teacher, batch.input_ids, batch.attention_mask, batch.target_mask)
        if model is teacher:
            model_logits = teacher_logits
        else:
            model_logits = _supervised_logits(model, batch.input_ids, batch.attention_mask,
                                              batch.target_mask).to(teacher_logits.device)
        targets = batch.targets[batch.target_mask].to(teacher_logits.device)
        _add_batch(statistics, teacher_logits, model_logits, targets, batch.target_mask.sum(dim=1).tolist())
        if on_batch is not None:
            on_batch(len(batch.example_ids))
    return statistics


def _add_batch(statistics: TokenStatistics, teacher_logits: torch.Tensor, model_logits: torch.Tensor,
               targets: torch.Tensor, counts: list[int]) -> None:
    """Score one batch's tokens, shape ``(tokens, vocab)``, and split the sums by example."""
    vocab = min(teacher_logits.shape[-1], model_logits.shape[-1])
    teacher_log_probs = torch.log_softmax(teacher_logits[..., :vocab].float(), dim=-1)
    model_log_probs = torch.log_softmax(model_logits[..., :vocab].float(), dim=-1)

    kl = kl_divergence(teacher_logits, model_logits)
    top1 = teacher_log_probs.argmax(dim=-1) == model_log_probs.argmax(dim=-1)
    model_target = model_log_probs.gather(-1, targets[:, None]).squeeze(-1)
    teacher_target = teacher_log_probs.gather(-1, targets[:, None]).squeeze(-1)
    gaps = (teacher_target.exp() - model_target.exp()).abs()

    for kl_part, top1_part, nll_part, gap_part in zip(kl.split(counts), top1.split(counts),
                                                      (-model_target).split(counts), gaps.split(counts),
                                                      strict=True):
        statistics.tokens.append(kl_part.numel())
        statistics.kl_sums.append(kl_part.sum().item())
        statistics.top1_matches.append(int(top1_part.sum().item()))
        statistics.nll_sums.append(nll_part.sum().item())
        statistics.probability_gaps.append(gap_part.cpu().numpy().astype(np.float32))
