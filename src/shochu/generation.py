"""Batched greedy generation through the chat template, padded on the left."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from rich.progress import Progress
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from shochu.distill.data import render_prompt


@dataclass(frozen=True)
class Generation:
    text: str
    new_tokens: int
    # True when generation stopped at an end token rather than at the length budget.
    finished: bool


def generate(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    conversations: Sequence[list[dict[str, str]]],
    max_new_tokens: int,
    batch_size: int = 8,
    repetition_penalty: float = 1.0,
    description: str = "generating",
    on_batch: Callable[[list[int], list[Generation]], None] | None = None,
) -> tuple[list[Generation], float]:
    """Generate one greedy answer per conversation; return them and the wall time in seconds.

    Prompts are sorted by length before batching, so that a batch wastes little
    padding, and the answers are returned in input order. ``on_batch`` receives
    each batch's input indices and results, for callers that persist progress.
    """
    tokenizer.padding_side = "left"
    prompts = [render_prompt(tokenizer, messages) for messages in conversations]
    order = sorted(range(len(prompts)), key=lambda index: len(prompts[index]))
    results: list[Generation | None] = [None] * len(prompts)
    end_ids = set(_as_list(model.generation_config.eos_token_id))

    started = time.perf_counter()
    with Progress(transient=True) as progress:
        task = progress.add_task(description, total=len(prompts))
        for first in range(0, len(order), batch_size):
            indices = order[first : first + batch_size]
            batch = _generate_batch(model, tokenizer, [prompts[i] for i in indices], max_new_tokens,
                                    repetition_penalty, end_ids)
            for index, generation in zip(indices, batch, strict=True):
                results[index] = generation
            if on_batch is not None:
                on_batch(indices, batch)
            progress.advance(task, len(indices))
    return [result for result in results if result is not None], time.perf_counter() - started


def _as_list(value: int | list[int] | None) -> list[int]:
    if value is None:
        return []
    return [value] if isinstance(value, int) else list(value)


@torch.no_grad()
def _generate_batch(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[str],
    max_new_tokens: int,
    repetition_penalty: float,
    end_ids: set[int],
) -> list[Generation]:
    encoded = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    output = model.generate(
        **encoded,
        max_new_tokens=max_new_tokens,
        do_sample=False,
        repetition_penalty=repetition_penalty,
        pad_token_id=tokenizer.pad_token_id,
    )
    new_tokens = output[:, encoded["input_ids"].shape[1] :]

    generations = []
    for row in new_tokens.tolist():
        # The pad token may equal the end token, so stop at the first end token.
        length = next((position for position, token in enumerate(row) if token in end_ids), None)
        finished = length is not None
        kept = row[:length] if finished else row
        text = tokenizer.decode(kept, skip_special_tokens=True).strip()
        generations.append(Generation(text=text, new_tokens=len(kept) + int(finished), finished=finished))
    return generations
