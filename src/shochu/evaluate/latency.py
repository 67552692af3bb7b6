"""Latency and peak memory of one model on the machine that runs the eval stage.

The throughput of batched answers (``tokens_per_second`` in the model facts)
mixes prompt processing with decoding, so short answers make a model look slow.
The latency probe therefore times a few prompts one at a time, each decoding a
fixed number of tokens, and reports time to first token (prompt processing
plus the first token) apart from the decode speed of the tokens after it.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase
from transformers.generation.streamers import BaseStreamer

from shochu.distill.data import render_prompt
from shochu.generation import _autocast

_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")


class TokenClock(BaseStreamer):
    """Streamer that records when ``generate`` hands over the prompt and then each new token."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def put(self, value: torch.Tensor) -> None:
        self.times.append(time.perf_counter())

    def end(self) -> None:
        pass


@torch.inference_mode()
def _timed_generation(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, prompt: str,
                      new_tokens: int, dtype: torch.dtype) -> tuple[float, float, int]:
    """Return (seconds to the first token, seconds for the rest, prompt tokens) for one prompt."""
    encoded = tokenizer([prompt], return_tensors="pt", add_special_tokens=False).to(model.device)
    clock = TokenClock()
    started = time.perf_counter()
    with _autocast(model.device, dtype):
        model.generate(**encoded, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                       streamer=clock, pad_token_id=tokenizer.pad_token_id)
    # times[0] is the prompt hand-over, times[1] the first new token, the rest one per decoded token.
    return clock.times[1] - started, clock.times[-1] - clock.times[1], encoded["input_ids"].shape[1]


def measure_latency(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                    conversations: Sequence[list[dict[str, str]]], new_tokens: int,
                    dtype: torch.dtype = torch.float32) -> dict[str, Any] | None:
    """Time each conversation alone (batch size 1) after one untimed warm-up; None without conversations.

    Every prompt decodes exactly ``new_tokens`` tokens (end tokens do not stop it),
    so the decode speed is measured over ``new_tokens - 1`` tokens per prompt.
    """
    if not conversations:
        return None
    prompts = [render_prompt(tokenizer, messages) for messages in conversations]
    _timed_generation(model, tokenizer, prompts[0], 2, dtype)

    first_token, decode, prompt_tokens = [], [], []
    for prompt in prompts:
        to_first, rest, length = _timed_generation(model, tokenizer, prompt, new_tokens, dtype)
        first_token.append(to_first)
        decode.append(rest)
        prompt_tokens.append(length)
    decoded = (new_tokens - 1) * len(prompts)
    return {
        "prompts": len(prompts),
        "new_tokens_per_prompt": new_tokens,
        "mean_prompt_tokens": round(statistics.fmean(prompt_tokens), 1),
        "time_to_first_token_ms_median": round(statistics.median(first_token) * 1000, 2),
        "time_to_first_token_ms_max": round(max(first_token) * 1000, 2),
        "decode_tokens_per_second": round(decoded / sum(decode), 2) if sum(decode) > 0 else None,
        "dtype": str(dtype).removeprefix("torch."),
    }


def _status_bytes(field: str) -> int | None:
    """Return a ``kB`` field of /proc/self/status (VmRSS, VmHWM) in bytes, or None where it is missing."""
    try:
        lines = _STATUS.read_text(encoding="ascii").splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    return None


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak RSS (VmHWM) of this process; False where Linux does not allow it."""
    try:
        _CLEAR_REFS.write_text("5", encoding="ascii")
    except OSError:
        return False
    return True


class PeakMemory:
    """Measure the peak memory that a block adds on top of what the process used before it.

    On CUDA it is the peak of the torch allocator (``torch.cuda.max_memory_allocated``)
    minus what was allocated at the start. On a CPU it is the peak resident set size
    (``VmHWM``, reset through ``/proc/self/clear_refs``) minus the resident set size at the
    start; where the reset is not possible, only the process's peak since start is reported.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.result: dict[str, Any] = {}

    def __enter__(self) -> PeakMemory:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._base = torch.cuda.memory_allocated(self.device)
        else:
            self._reset = _reset_peak_rss()
            self._base = psutil.Process().memory_info().rss
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device)
            self.result = {"bytes": peak - self._base, "method": "torch.cuda.max_memory_allocated minus the "
                           "memory allocated before loading", "device": str(self.device)}
            return
        peak = _status_bytes("VmHWM")
        if self._reset and peak is not None:
            self.result = {"bytes": max(peak - self._base, 0), "method": "peak RSS (VmHWM, reset before "
                           "loading) minus RSS before loading", "device": "cpu"}
        else:
            self.result = {"bytes": None, "process_peak_bytes": peak, "method": "peak RSS could not be reset; "
                           "process_peak_bytes is the peak since the process started", "device": "cpu"}
