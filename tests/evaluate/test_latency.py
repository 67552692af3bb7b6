"""Latency probe and peak-memory measurement on a tiny model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from shochu.evaluate.latency import PeakMemory, TokenClock, measure_latency
from shochu.models import load_model, load_tokenizer

CONVERSATIONS = [
    [{"role": "user", "content": "VPN?"}],
    [{"role": "user", "content": "社外秘の文書は共有フォルダに保存しないでください。理由は？"}],
]


@pytest.fixture(scope="module")
def teacher(tiny_model_dir: Path):
    return load_model(tiny_model_dir), load_tokenizer(tiny_model_dir, padding_side="left")


def test_latency_fields(teacher) -> None:
    model, tokenizer = teacher
    latency = measure_latency(model, tokenizer, CONVERSATIONS, new_tokens=5)
    assert latency["prompts"] == 2
    assert latency["new_tokens_per_prompt"] == 5
    assert latency["mean_prompt_tokens"] > 5
    assert 0 < latency["time_to_first_token_ms_median"] <= latency["time_to_first_token_ms_max"]
    assert latency["decode_tokens_per_second"] > 0
    assert latency["dtype"] == "float32"


def test_latency_without_prompts(teacher) -> None:
    model, tokenizer = teacher
    assert measure_latency(model, tokenizer, [], new_tokens=5) is None


def test_clock_sees_every_token(teacher) -> None:
    model, tokenizer = teacher
    encoded = tokenizer(["hello there"], return_tensors="pt")
    clock = TokenClock()
    model.generate(**encoded, max_new_tokens=6, min_new_tokens=6, do_sample=False, streamer=clock,
                   pad_token_id=tokenizer.pad_token_id)
    # One hand-over of the prompt, then one call per new token.
    assert len(clock.times) == 7
    assert clock.times == sorted(clock.times)


def test_peak_memory_counts_allocation() -> None:
    size = 64 * 2**20
    with PeakMemory(torch.device("cpu")) as memory:
        block = torch.ones(size // 4, dtype=torch.float32)
        del block
    if memory.result["bytes"] is None:
        pytest.skip("this kernel does not allow resetting the peak RSS")
    assert memory.result["bytes"] >= size * 0.9
    assert memory.result["method"].startswith("peak RSS")


def test_peak_memory_excludes_earlier_use() -> None:
    earlier = torch.ones(64 * 2**20 // 4)
    del earlier
    with PeakMemory(torch.device("cpu")) as memory:
        small = torch.ones(1024)
        del small
    if memory.result["bytes"] is None:
        pytest.skip("this kernel does not allow resetting the peak RSS")
    assert memory.result["bytes"] < 32 * 2**20
