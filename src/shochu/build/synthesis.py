"""Teacher generation for the build stage: several candidates per prompt, cached as they finish.

Candidate 0 is the greedy answer; candidates 1..n-1 are sampled at
``build.sampling_temperature`` with a seed derived from the run seed, the
candidate number and the prompt, so a re-run draws the same samples. Every
finished batch is appended to the generation cache, so a killed build resumes
at the first chunk whose candidates are missing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from shochu.build import prompts
from shochu.generation import Generation, Sampling, generate
from shochu.workspace import fingerprint_json

# Nucleus mass of sampled candidates: cuts the long tail that makes a small teacher derail.
_TOP_P = 0.95


class GenerationCache:
    """Append-only JSONL of finished teacher generations, keyed by prompt, candidate and settings."""

    def __init__(self, path: Path, teacher_fingerprint: str, build: Any, inference_dtype: str) -> None:
        self.path = path
        self.salt = fingerprint_json({"teacher": teacher_fingerprint, "max_new_tokens": build.max_new_tokens,
                                      "repetition_penalty": build.repetition_penalty,
                                      "penalty_scope": "generated tokens", "dtype": inference_dtype})
        self.sampling = {"temperature": build.sampling_temperature, "top_p": _TOP_P}
        self.entries: dict[str, str] = {}
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    # A line cut short by a killed run: everything before it is intact.
                    break
                self.entries[record["key"]] = record["text"]

    def key(self, content: str, candidate: int = 0) -> str:
        # Candidate 0 keeps the key of the single-candidate build, so older caches stay valid.
        value: dict[str, Any] = {"salt": self.salt, "content": content}
        if candidate:
            value.update(candidate=candidate, sampling=self.sampling)
        return fingerprint_json(value)

    def add(self, items: list[tuple[str, str]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            for key, text in items:
                self.entries[key] = text
                handle.write(json.dumps({"key": key, "text": text}, ensure_ascii=False) + "\n")


def _finished_text(generation: Generation) -> str:
    return generation.text if generation.finished else prompts.trim_to_sentence(generation.text)


def generate_candidates(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, contents: Sequence[str],
                        cache: GenerationCache, max_new_tokens: int, build: Any, seed: int, description: str,
                        dtype: torch.dtype, n_candidates: int = 1) -> list[list[str]]:
    """Return ``n_candidates`` responses per user message, generating only those not cached."""
    results: list[list[str]] = [[] for _ in contents]
    for candidate in range(n_candidates):
        keys = [cache.key(content, candidate) for content in contents]
        missing = [index for index, key in enumerate(keys) if key not in cache.entries]
        if missing:
            generate(model, tokenizer, [[{"role": "user", "content": contents[i]}] for i in missing],
                     max_new_tokens=max_new_tokens, batch_size=build.batch_size,
                     repetition_penalty=build.repetition_penalty, description=description,
                     on_batch=_cache_writer(cache, [keys[i] for i in missing]), dtype=dtype,
                     sampling=_candidate_sampling(candidate, build, seed, keys[missing[0]]))
        for index, key in enumerate(keys):
            results[index].append(cache.entries[key])
    return results


def _candidate_sampling(candidate: int, build: Any, seed: int, first_key: str) -> Sampling | None:
    """Return None (greedy) for candidate 0, else sampling seeded by the run seed and the first missing prompt."""
    if candidate == 0:
        return None
    return Sampling(temperature=build.sampling_temperature, seed=int(first_key[:8], 16) ^ seed, top_p=_TOP_P)


def _cache_writer(cache: GenerationCache, keys: list[str]) -> Callable[[list[int], list[Generation]], None]:
    """Return an ``on_batch`` callback that appends each finished batch to the cache under ``keys``."""
    def persist(indices: list[int], batch: list[Generation]) -> None:
        cache.add([(keys[index], _finished_text(generation))
                   for index, generation in zip(indices, batch, strict=True)])

    return persist
