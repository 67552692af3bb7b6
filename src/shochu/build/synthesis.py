"""Teacher generation for the build stage: several candidates per prompt, cached as they finish.

Candidate 0 is the greedy answer; candidates 1..n-1 are sampled at
``build.sampling_temperature`` with a seed derived from the run seed, the
candidate number and the prompt, so a re-run draws the same samples. Every
finished batch is appended to the generation cache, so a killed build resumes
at the first chunk whose candidates are missing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase, RepetitionPenaltyLogitsProcessor

from shochu.build import prompts
from shochu.distill.data import render_prompt
from shochu.generation import Generation, generate
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
        if missing and candidate == 0:
            def persist(indices: list[int], batch: list[Generation]) -> None:
                cache.add([(keys[missing[i]], _finished_text(generation))
                           for i, generation in zip(indices, batch, strict=True)])

            generate(model, tokenizer, [[{"role": "user", "content": contents[i]}] for i in missing],
                     max_new_tokens=max_new_tokens, batch_size=build.batch_size,
                     repetition_penalty=build.repetition_penalty, description=description, on_batch=persist,
                     dtype=dtype)
        elif missing:
            for first in range(0, len(missing), build.batch_size):
                indices = missing[first : first + build.batch_size]
                texts = sample_batch(model, tokenizer, [contents[i] for i in indices], max_new_tokens,
                                     build.repetition_penalty, build.sampling_temperature,
                                     seed=int(keys[indices[0]][:8], 16) ^ seed, dtype=dtype)
                cache.add([(keys[i], text) for i, text in zip(indices, texts, strict=True)])
        for index, key in enumerate(keys):
            results[index].append(cache.entries[key])
    return results


@torch.no_grad()
def sample_batch(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, contents: list[str],
                 max_new_tokens: int, repetition_penalty: float, temperature: float, seed: int,
                 dtype: torch.dtype = torch.float32) -> list[str]:
    """Sample one response per user message, padded on the left, with the penalty on generated tokens only."""
    tokenizer.padding_side = "left"
    texts = [render_prompt(tokenizer, [{"role": "user", "content": content}]) for content in contents]
    encoded = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    encoded = {name: tensor.to(model.device) for name, tensor in encoded.items()}
    prompt_width = encoded["input_ids"].shape[1]
    processors = []
    if repetition_penalty != 1.0:
        processors.append(RepetitionPenaltyLogitsProcessor(float(repetition_penalty),
                                                           prompt_ignore_length=prompt_width))
    end_ids = model.generation_config.eos_token_id
    end_ids = set([end_ids] if isinstance(end_ids, int) else (end_ids or []))

    torch.manual_seed(seed)
    autocast = torch.autocast(device_type=model.device.type, dtype=dtype, enabled=dtype != torch.float32)
    with autocast:
        output = model.generate(**encoded, max_new_tokens=max_new_tokens, do_sample=True,
                                temperature=temperature, top_p=_TOP_P, top_k=0, logits_processor=processors,
                                pad_token_id=tokenizer.pad_token_id)
    responses = []
    for row in output[:, prompt_width:].tolist():
        # The pad token may equal the end token, so stop at the first end token.
        length = next((position for position, token in enumerate(row) if token in end_ids), None)
        text = tokenizer.decode(row[:length] if length is not None else row, skip_special_tokens=True).strip()
        responses.append(text if length is not None else prompts.trim_to_sentence(text))
    return responses
