"""Batched generation through the chat template, padded on the left: greedy, or sampled with a seed."""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from dataclasses import dataclass

import torch
from rich.console import Console
from rich.progress import Progress
from transformers import PreTrainedModel, PreTrainedTokenizerBase, RepetitionPenaltyLogitsProcessor

from shochu.distill.data import render_prompt

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sampling:
    """Settings of sampled generation; ``generate`` decodes greedily without them."""

    temperature: float
    seed: int
    # Nucleus mass: tokens outside the smallest set with this probability are never drawn.
    top_p: float = 1.0

    def __post_init__(self) -> None:
        if self.temperature <= 0:
            raise ValueError(f"sampling temperature must be above 0, got {self.temperature}; "
                             f"leave sampling unset for greedy decoding")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must lie in (0, 1], got {self.top_p}")


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
    dtype: torch.dtype = torch.float32,
    sampling: Sampling | None = None,
) -> tuple[list[Generation], float]:
    """Generate one answer per conversation; return them and the wall time in seconds.

    Prompts are sorted by length before batching, so that a batch wastes little
    padding, and the answers are returned in input order. ``on_batch`` receives
    each batch's input indices and results, for callers that persist progress.
    With ``dtype=torch.bfloat16`` the model runs under autocast, weights stay float32.

    Decoding is greedy unless ``sampling`` is given. Sampled batch ``n`` seeds
    torch's global generator with ``sampling.seed + n``, so the same
    conversations, batch size and seed draw the same answers.
    """
    tokenizer.padding_side = "left"
    prompts = [render_prompt(tokenizer, messages) for messages in conversations]
    order = sorted(range(len(prompts)), key=lambda index: len(prompts[index]))
    results: list[Generation | None] = [None] * len(prompts)
    end_ids = set(_as_list(model.generation_config.eos_token_id))

    started = time.perf_counter()
    # Progress goes to stderr. Where that is not a terminal (a log file), rich draws nothing,
    # so each batch is logged instead, to show that a long build or eval is still moving.
    console = Console(stderr=True)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(description, total=len(prompts))
        for number, first in enumerate(range(0, len(order), batch_size)):
            indices = order[first : first + batch_size]
            if sampling is not None:
                torch.manual_seed(sampling.seed + number)
            with _autocast(model.device, dtype):
                batch = _generate_batch(model, tokenizer, [prompts[i] for i in indices], max_new_tokens,
                                        repetition_penalty, end_ids, sampling)
            for index, generation in zip(indices, batch, strict=True):
                results[index] = generation
            if on_batch is not None:
                on_batch(indices, batch)
            progress.advance(task, len(indices))
            if not console.is_terminal:
                logger.info("%s: %d of %d answers, %.0f s", description, min(first + batch_size, len(order)),
                            len(order), time.perf_counter() - started)
    return [result for result in results if result is not None], time.perf_counter() - started


def _autocast(device: torch.device, dtype: torch.dtype) -> contextlib.AbstractContextManager:
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def resolve_dtype(setting: str, device: torch.device) -> torch.dtype:
    """Map the ``inference_dtype`` setting to a torch dtype for ``device``."""
    if setting == "float32":
        return torch.float32
    if setting == "bfloat16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32
    return torch.bfloat16 if _cpu_has_bfloat16() else torch.float32


@functools.cache
def _cpu_has_bfloat16() -> bool:
    """True when the CPU advertises bfloat16 instructions (AVX512-BF16 or AMX-BF16; Linux only)."""
    # NOTE: without these instructions, bfloat16 matrix products on a CPU are
    # emulated and slower than float32, so "auto" falls back to float32.
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        return False
    flags = cpuinfo.read_text(encoding="utf-8", errors="replace")
    return "avx512_bf16" in flags or "amx_bf16" in flags


def decode_generated(tokenizer: PreTrainedTokenizerBase, token_ids: list[int], finished: bool) -> str:
    """Decode generated tokens, dropping a character that the token budget cut in half.

    A byte-level tokenizer may spend the last token of ``max_new_tokens`` on
    the first bytes of a multi-byte character (Japanese, Thai), which decodes
    to U+FFFD. A generation that stopped at its end token is kept as decoded.
    """
    text = tokenizer.decode(token_ids, skip_special_tokens=True)
    if not finished:
        text = text.rstrip("\ufffd")
    return text.strip()


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
    sampling: Sampling | None,
) -> list[Generation]:
    encoded = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    encoded = {name: tensor.to(model.device) for name, tensor in encoded.items()}
    prompt_width = encoded["input_ids"].shape[1]

    # The penalty covers generated tokens only. Applied to the prompt as well
    # (transformers' default), it would penalise copying facts from the
    # document and the end-of-turn token, which every chat prompt contains.
    processors = []
    if repetition_penalty != 1.0:
        processors.append(RepetitionPenaltyLogitsProcessor(float(repetition_penalty),
                                                           prompt_ignore_length=prompt_width))
    # top_k=0 turns off transformers' default top-k filter of 50, so that top_p alone cuts the tail.
    decoding = (dict(do_sample=False) if sampling is None
                else dict(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p, top_k=0))
    output = model.generate(
        **encoded,
        max_new_tokens=max_new_tokens,
        logits_processor=processors,
        pad_token_id=tokenizer.pad_token_id,
        **decoding,
    )
    new_tokens = output[:, prompt_width:]

    generations = []
    for row in new_tokens.tolist():
        # The pad token may equal the end token, so stop at the first end token.
        length = next((position for position, token in enumerate(row) if token in end_ids), None)
        finished = length is not None
        kept = row[:length] if finished else row
        text = decode_generated(tokenizer, kept, finished)
        generations.append(Generation(text=text, new_tokens=len(kept) + int(finished), finished=finished))
    return generations
