"""Several candidates per prompt: greedy first, then seeded samples, all resumable from the cache."""

import pytest

from shochu.build.synthesis import GenerationCache, generate_candidates
from shochu.config import BuildConfig
from shochu.models import load_model, load_tokenizer

import torch

PROMPTS = ["The VPN must be used outside the office.", "Passwords rotate every 90 days.",
           "社外秘の文書は共有フォルダに保存しないでください。"]


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    return load_model(tiny_model_dir), load_tokenizer(tiny_model_dir)


def _run(tiny, path, n_candidates, seed=0):
    model, tokenizer = tiny
    build = BuildConfig(max_new_tokens=8, batch_size=2, repetition_penalty=10.0, n_candidates=n_candidates)
    cache = GenerationCache(path, "tiny", build, "float32")
    return generate_candidates(model, tokenizer, PROMPTS, cache, 8, build, seed, "test", torch.float32,
                               n_candidates)


def test_candidates_cached_and_resumed(tiny, tmp_path):
    path = tmp_path / "cache.jsonl"
    first = _run(tiny, path, 3)
    assert [len(candidates) for candidates in first] == [3, 3, 3]
    assert path.read_text(encoding="utf-8").count("\n") == 9

    again = _run(tiny, path, 3)
    assert again == first
    assert path.read_text(encoding="utf-8").count("\n") == 9


def test_sampled_candidates_repeat_per_seed(tiny, tmp_path):
    first = _run(tiny, tmp_path / "a.jsonl", 2, seed=5)
    second = _run(tiny, tmp_path / "b.jsonl", 2, seed=5)
    assert first == second


def test_more_candidates_reuse_the_first(tiny, tmp_path):
    path = tmp_path / "cache.jsonl"
    single = _run(tiny, path, 1)
    double = _run(tiny, path, 2)
    assert [candidates[0] for candidates in double] == [candidates[0] for candidates in single]
    assert path.read_text(encoding="utf-8").count("\n") == 6
