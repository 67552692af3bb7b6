"""Teacher-forced KL of a model to the teacher on reference responses.

Both models read the same right-padded batches from ``distill.data.collate``.
Right padding is safe here because nothing is generated. Each position
attends only to earlier tokens, and only the supervised positions
(``target_mask``) are scored, following the logits-position convention of
``distill.data``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass

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


@torch.inference_mode()
def teacher_forced_kl(teacher: PreTrainedModel, model: PreTrainedModel, examples: Sequence[EncodedExample],
                      pad_token_id: int, batch_size: int,
                      on_batch: Callable[[int], None] | None = None) -> KLTotal:
    """Return the summed KL(p_teacher || p_model) over every supervised response token.

    ``examples`` were encoded with the teacher's tokenizer, which the model
    must share. The result's ``mean`` is the token-level mean over all examples.
    """
    total = KLTotal()
    for start in range(0, len(examples), batch_size):
        batch = collate(list(examples[start:start + batch_size]), pad_token_id)

        teacher_logits = _supervised_logits(teacher, batch.input_ids, batch.attention_mask, batch.target_mask)
        model_logits = _supervised_logits(model, batch.input_ids, batch.attention_mask, batch.target_mask)
        per_token = kl_divergence(teacher_logits, model_logits.to(teacher_logits.device))

        total.kl_sum += per_token.sum().item()
        total.tokens += per_token.numel()
        if on_batch is not None:
            on_batch(len(batch.example_ids))
    return total
