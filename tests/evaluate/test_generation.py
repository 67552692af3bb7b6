"""Batched greedy generation with left padding, and the teacher-forced KL pass."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from shochu.distill.data import encode_records
from shochu.evaluate.generation import encode_prompts, generate_answers, generate_batch, left_pad
from shochu.evaluate.teacher_forcing import teacher_forced_kl
from shochu.models import load_model, load_tokenizer

CONVERSATIONS = [
    [{"role": "user", "content": "VPN?"}],
    [{"role": "user", "content": "Passwords rotate every 90 days and must have at least 12 characters. Why?"}],
    [{"role": "user", "content": "社外秘の文書は共有フォルダに保存しないでください。"}],
    [{"role": "user", "content": "Expense claims are filed within 30 days."}],
]

RECORDS = [
    {"id": "qa-1", "messages": CONVERSATIONS[0], "response": "The VPN must be used outside the office."},
    {"id": "qa-2", "messages": CONVERSATIONS[1], "response": "Passwords rotate every 90 days."},
    {"id": "qa-3", "messages": CONVERSATIONS[2], "response": "共有フォルダに保存しないでください。"},
]


@pytest.fixture(scope="module")
def teacher(tiny_model_dir: Path):
    return load_model(tiny_model_dir), load_tokenizer(tiny_model_dir, padding_side="left")


@pytest.fixture()
def varied_teacher(tiny_model_dir: Path):
    """The tiny teacher with larger random weights, so that greedy answers vary with the context.

    At the default init scale the tiny model repeats one token whatever the
    prompt, and a padding bug would go unnoticed.
    """
    model = load_model(tiny_model_dir)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "norm" not in name:
                parameter.copy_(0.3 * torch.randn(parameter.shape, generator=generator))
    return model, load_tokenizer(tiny_model_dir, padding_side="left")


@pytest.fixture(scope="module")
def student(tiny_student_dir: Path):
    return load_model(tiny_student_dir)


def test_left_pad_masks_from_lengths() -> None:
    input_ids, attention_mask = left_pad([[5, 6, 7], [9]], pad_token_id=9)
    assert input_ids.tolist() == [[5, 6, 7], [9, 9, 9]]
    assert attention_mask.tolist() == [[1, 1, 1], [0, 0, 1]]


def test_prompts_differ_in_length(teacher) -> None:
    _, tokenizer = teacher
    lengths = {len(ids) for ids in encode_prompts(tokenizer, CONVERSATIONS)}
    assert len(lengths) == len(CONVERSATIONS)


def test_varied_answers_differ(varied_teacher) -> None:
    model, tokenizer = varied_teacher
    answers, _ = generate_batch(model, tokenizer, encode_prompts(tokenizer, CONVERSATIONS), max_new_tokens=6)
    assert len({tuple(answer) for answer in answers}) == len(CONVERSATIONS)


def test_batched_equals_one_at_a_time(varied_teacher) -> None:
    model, tokenizer = varied_teacher
    prompts = encode_prompts(tokenizer, CONVERSATIONS)

    batched, _ = generate_batch(model, tokenizer, prompts, max_new_tokens=8)
    single = [generate_batch(model, tokenizer, [prompt], max_new_tokens=8)[0][0] for prompt in prompts]

    for index in range(len(prompts)):
        assert batched[index] == single[index], f"prompt {index}"


def test_answer_stops_at_eos(varied_teacher) -> None:
    model, tokenizer = varied_teacher
    prompts = encode_prompts(tokenizer, CONVERSATIONS)
    free, _ = generate_batch(model, tokenizer, prompts, max_new_tokens=6)
    model.generation_config.eos_token_id = [tokenizer.eos_token_id, free[0][2]]

    stopped, generated = generate_batch(model, tokenizer, prompts[:1], max_new_tokens=6)

    assert stopped[0] == free[0][:2]
    assert generated == 3


def test_generation_counts_tokens(teacher) -> None:
    model, tokenizer = teacher
    generation = generate_answers(model, tokenizer, CONVERSATIONS, max_new_tokens=5, batch_size=3)
    assert len(generation.texts) == len(CONVERSATIONS)
    assert 0 < generation.generated_tokens <= 5 * len(CONVERSATIONS)
    assert generation.seconds > 0


def test_kl_of_teacher_to_itself_is_zero(teacher) -> None:
    model, tokenizer = teacher
    examples, _ = encode_records(tokenizer, RECORDS, max_seq_len=256)
    total = teacher_forced_kl(model, model, examples, tokenizer.pad_token_id, batch_size=2)
    assert total.mean == pytest.approx(0.0, abs=1e-6)


def test_kl_counts_response_tokens(teacher) -> None:
    model, tokenizer = teacher
    examples, _ = encode_records(tokenizer, RECORDS, max_seq_len=256)
    total = teacher_forced_kl(model, model, examples, tokenizer.pad_token_id, batch_size=2)
    assert total.tokens == sum(example.response_tokens for example in examples)


def test_kl_of_other_model_is_positive(teacher, student) -> None:
    model, tokenizer = teacher
    examples, _ = encode_records(tokenizer, RECORDS, max_seq_len=256)
    total = teacher_forced_kl(model, student, examples, tokenizer.pad_token_id, batch_size=2)
    assert total.mean > 0.0


def test_kl_independent_of_batch_size(teacher, student) -> None:
    model, tokenizer = teacher
    examples, _ = encode_records(tokenizer, RECORDS, max_seq_len=256)
    batched = teacher_forced_kl(model, student, examples, tokenizer.pad_token_id, batch_size=3)
    single = teacher_forced_kl(model, student, examples, tokenizer.pad_token_id, batch_size=1)
    assert batched.mean == pytest.approx(single.mean, rel=1e-4)


def test_kl_without_examples_is_none(teacher) -> None:
    model, tokenizer = teacher
    assert teacher_forced_kl(model, model, [], tokenizer.pad_token_id, batch_size=2).mean is None


def test_inference_leaves_grad_enabled(teacher) -> None:
    model, tokenizer = teacher
    generate_answers(model, tokenizer, CONVERSATIONS[:1], max_new_tokens=2, batch_size=1)
    assert torch.is_grad_enabled()
