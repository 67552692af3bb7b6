"""Batched greedy generation with left padding, timed for throughput.

Shochu's tokenizers may pad on the right and use ``<|im_end|>`` as both EOS
and padding. Generation appends new tokens after the last column, so prompts
are padded on the left here, and attention masks come from prompt lengths,
never from comparing token ids with the pad id.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from shochu.distill.data import render_prompt
from shochu.models import END_OF_TURN


@dataclass
class Generation:
    """Decoded answers in prompt order, with the token count and time spent generating."""

    texts: list[str]
    generated_tokens: int
    seconds: float


def stop_token_ids(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """Return the ids that end an answer: the model's EOS ids, the tokenizer's EOS and ``<|im_end|>``."""
    configured = model.generation_config.eos_token_id
    if configured is None:
        configured = []
    ids = set(configured if isinstance(configured, list) else [configured])
    ids.add(tokenizer.eos_token_id)
    end_of_turn = tokenizer.convert_tokens_to_ids(END_OF_TURN)
    if isinstance(end_of_turn, int) and end_of_turn != tokenizer.unk_token_id:
        ids.add(end_of_turn)
    ids.discard(None)
    return sorted(ids)


def left_pad(prompts: Sequence[list[int]], pad_token_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad token id lists on the left; return ``input_ids`` and ``attention_mask``, shape ``(batch, seq)``."""
    width = max(len(ids) for ids in prompts)
    input_ids = torch.full((len(prompts), width), pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, ids in enumerate(prompts):
        if ids:
            input_ids[row, width - len(ids):] = torch.tensor(ids, dtype=torch.long)
            attention_mask[row, width - len(ids):] = 1
    return input_ids, attention_mask


def _cut_at_stop(tokens: list[int], stop_ids: set[int]) -> tuple[list[int], int]:
    """Return the answer tokens before the first stop id, and the count generated including it."""
    for index, token in enumerate(tokens):
        if token in stop_ids:
            return tokens[:index], index + 1
    return tokens, len(tokens)


@torch.inference_mode()
def generate_batch(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, prompts: Sequence[list[int]],
                   max_new_tokens: int) -> tuple[list[list[int]], int]:
    """Greedily extend token id prompts; return each answer's tokens and the tokens generated in all.

    The pad id of the tokenizer fills both the left padding and the rows that
    finished early; those filler tokens are not counted.
    """
    stop_ids = stop_token_ids(model, tokenizer)
    input_ids, attention_mask = left_pad(prompts, tokenizer.pad_token_id)
    device = model.device
    output = model.generate(
        input_ids=input_ids.to(device), attention_mask=attention_mask.to(device),
        max_new_tokens=max_new_tokens, do_sample=False, num_beams=1, repetition_penalty=1.0,
        eos_token_id=stop_ids, pad_token_id=tokenizer.pad_token_id,
    )
    new_tokens = output[:, input_ids.shape[1]:].cpu().tolist()

    answers, generated = [], 0
    for row in new_tokens:
        answer, count = _cut_at_stop(row, set(stop_ids))
        answers.append(answer)
        generated += count
    return answers, generated


def encode_prompts(tokenizer: PreTrainedTokenizerBase, conversations: Sequence[list[dict[str, str]]]
                   ) -> list[list[int]]:
    """Render each conversation with the chat template up to the assistant turn and tokenise it."""
    texts = [render_prompt(tokenizer, messages) for messages in conversations]
    return [tokenizer(text, add_special_tokens=False)["input_ids"] for text in texts]


def generate_answers(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                     conversations: Sequence[list[dict[str, str]]], max_new_tokens: int, batch_size: int,
                     on_batch: Callable[[int], None] | None = None) -> Generation:
    """Generate one greedy answer per conversation, ``batch_size`` prompts per call.

    ``on_batch`` receives the number of prompts after each batch (for progress
    bars). The time counted is the wall time of the ``generate`` calls only.
    """
    prompts = encode_prompts(tokenizer, conversations)
    texts, generated, seconds = [], 0, 0.0
    for start in range(0, len(prompts), batch_size):
        batch = prompts[start:start + batch_size]

        started = time.perf_counter()
        answers, count = generate_batch(model, tokenizer, batch, max_new_tokens)
        seconds += time.perf_counter() - started

        texts.extend(tokenizer.decode(answer, skip_special_tokens=True).strip() for answer in answers)
        generated += count
        if on_batch is not None:
            on_batch(len(batch))
    return Generation(texts, generated, seconds)
