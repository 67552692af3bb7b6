"""Sampled generation through ``shochu.generation.generate``: seeded, and the same padding and penalty as greedy."""

from __future__ import annotations

import pytest

from shochu.generation import Sampling, generate

CONVERSATIONS = [
    [{"role": "user", "content": "VPN?"}],
    [{"role": "user", "content": "Passwords rotate every 90 days and must have at least 12 characters. Why?"}],
    [{"role": "user", "content": "社外秘の文書は共有フォルダに保存しないでください。"}],
    [{"role": "user", "content": "ส่งใบเบิกค่าใช้จ่ายภายใน 30 วัน"}],
]


def _texts(model, tokenizer, sampling, batch_size=2, repetition_penalty=1.0) -> list[str]:
    answers, _ = generate(model, tokenizer, CONVERSATIONS, max_new_tokens=8, batch_size=batch_size,
                          repetition_penalty=repetition_penalty, sampling=sampling)
    return [answer.text for answer in answers]


def test_same_seed_same_samples(varied_teacher) -> None:
    model, tokenizer = varied_teacher
    first = _texts(model, tokenizer, Sampling(temperature=1.5, seed=7))
    second = _texts(model, tokenizer, Sampling(temperature=1.5, seed=7))
    assert first == second


def test_other_seed_other_samples(varied_teacher) -> None:
    model, tokenizer = varied_teacher
    first = _texts(model, tokenizer, Sampling(temperature=1.5, seed=7))
    second = _texts(model, tokenizer, Sampling(temperature=1.5, seed=8))
    assert first != second


def test_samples_differ_from_greedy(varied_teacher) -> None:
    model, tokenizer = varied_teacher
    greedy = _texts(model, tokenizer, None)
    sampled = _texts(model, tokenizer, Sampling(temperature=1.5, seed=7))
    assert sampled != greedy


@pytest.mark.parametrize("repetition_penalty", [1.0, 10.0])
def test_cold_sampling_equals_greedy(varied_teacher, repetition_penalty) -> None:
    # Near temperature 0 sampling picks the top token, so any difference from greedy would come from
    # the padding or the penalty that both paths share.
    model, tokenizer = varied_teacher
    greedy = _texts(model, tokenizer, None, batch_size=4, repetition_penalty=repetition_penalty)
    cold = _texts(model, tokenizer, Sampling(temperature=1e-4, seed=3), batch_size=4,
                  repetition_penalty=repetition_penalty)
    assert cold == greedy


def test_sampling_keeps_input_order(varied_teacher) -> None:
    model, tokenizer = varied_teacher
    sampling = Sampling(temperature=1e-4, seed=0)
    together = _texts(model, tokenizer, sampling, batch_size=4)
    for index, conversation in enumerate(CONVERSATIONS):
        alone, _ = generate(model, tokenizer, [conversation], max_new_tokens=8, batch_size=1, sampling=sampling)
        assert alone[0].text == together[index], f"prompt {index}"


@pytest.mark.parametrize(("values", "message"), [({"temperature": 0.0, "seed": 0}, "temperature must be above 0"),
                                                 ({"temperature": 1.0, "seed": 0, "top_p": 0.0},
                                                  r"top_p must lie in \(0, 1\]")])
def test_sampling_rejects_bad_settings(values, message) -> None:
    with pytest.raises(ValueError, match=message):
        Sampling(**values)
