"""Generation and teacher forcing as the eval stage uses them.

The eval stage generates through ``shochu.generation.generate``. These tests
pin two properties that its scores depend on. Left-padded batches give the
same tokens as one prompt at a time, and the KL pass sums over exactly the
response tokens.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from shochu.distill.data import encode_records
from shochu.evaluate.teacher_forcing import teacher_forced_kl
from shochu.generation import generate
from shochu.models import load_model, load_tokenizer

CONVERSATIONS = [
    [{"role": "user", "content": "VPN?"}],
    [{"role": "user",
      "content": "Passwords rotate every 90 days and must have at least 12 characters. Why?"}],
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


@pytest.fixture(scope="module")
def student(tiny_student_dir: Path):
    return load_model(tiny_student_dir)


def _token_ids(tokenizer, conversation) -> list[int]:
    return tokenizer.apply_chat_template(conversation, add_generation_prompt=True, tokenize=True,
                                         return_dict=False)


def test_prompts_differ_in_length(teacher) -> None:
    _, tokenizer = teacher
    lengths = {len(_token_ids(tokenizer, conversation)) for conversation in CONVERSATIONS}
    assert len(lengths) == len(CONVERSATIONS)


def test_varied_answers_differ(varied_teacher) -> None:
    model, tokenizer = varied_teacher
    answers, _ = generate(model, tokenizer, CONVERSATIONS, max_new_tokens=6, batch_size=4)
    assert len({answer.text for answer in answers}) == len(CONVERSATIONS)


def test_batched_equals_one_at_a_time(varied_teacher) -> None:
    model, tokenizer = varied_teacher
    batched, _ = generate(model, tokenizer, CONVERSATIONS, max_new_tokens=8, batch_size=4)
    single = [generate(model, tokenizer, [conversation], max_new_tokens=8, batch_size=1)[0][0]
              for conversation in CONVERSATIONS]
    for index in range(len(CONVERSATIONS)):
        assert batched[index] == single[index], f"prompt {index}"


def test_generation_counts_tokens(teacher) -> None:
    model, tokenizer = teacher
    answers, seconds = generate(model, tokenizer, CONVERSATIONS, max_new_tokens=5, batch_size=3)
    assert len(answers) == len(CONVERSATIONS)
    assert all(0 < answer.new_tokens <= 5 for answer in answers)
    assert seconds > 0


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


def test_kl_matches_manual_positions(teacher, student) -> None:
    model, tokenizer = teacher
    examples, _ = encode_records(tokenizer, RECORDS[:1], max_seq_len=256)
    example = examples[0]
    ids = torch.tensor([example.input_ids])

    # Logits at position t - 1 predict token t, for every response token t.
    with torch.no_grad():
        positions = slice(example.response_start - 1, example.length - 1)
        teacher_log_probs = model(ids).logits[0, positions].log_softmax(-1)
        student_log_probs = student(ids).logits[0, positions].log_softmax(-1)
    expected = (teacher_log_probs.exp() * (teacher_log_probs - student_log_probs)).sum(-1).mean().item()

    total = teacher_forced_kl(model, student, examples, tokenizer.pad_token_id, batch_size=1)
    assert total.mean == pytest.approx(expected, rel=1e-5)


def test_right_padded_tokenizer_generates_left(varied_teacher, tiny_model_dir: Path) -> None:
    model, _ = varied_teacher
    tokenizer = load_tokenizer(tiny_model_dir, padding_side="right")
    batched, _ = generate(model, tokenizer, CONVERSATIONS, max_new_tokens=8, batch_size=4)
    assert tokenizer.padding_side == "left"
    single = [generate(model, tokenizer, [conversation], max_new_tokens=8, batch_size=1)[0][0]
              for conversation in CONVERSATIONS]
    assert batched == single


def test_cut_character_dropped_from_unfinished(tiny_model_dir: Path) -> None:
    from shochu.generation import decode_generated
    from shochu.models import load_tokenizer

    tokenizer = load_tokenizer(tiny_model_dir)
    ids = tokenizer.encode("年次有給", add_special_tokens=False)
    # Find a prefix that ends inside a character: byte-level tokens split the 3-byte kanji.
    cut = next(length for length in range(1, len(ids))
               if tokenizer.decode(ids[:length]).endswith("\ufffd"))
    partial = tokenizer.decode(ids[:cut])
    assert decode_generated(tokenizer, ids[:cut], finished=False) == partial.rstrip("\ufffd")
    assert "\ufffd" not in decode_generated(tokenizer, ids[:cut], finished=False)
    assert decode_generated(tokenizer, ids, finished=False) == "年次有給"


def test_batches_logged_without_terminal(teacher, caplog: pytest.LogCaptureFixture) -> None:
    # Under pytest stderr is no terminal, as in a run whose output goes to a log file.
    model, tokenizer = teacher
    with caplog.at_level(logging.INFO, logger="shochu.generation"):
        generate(model, tokenizer, CONVERSATIONS, max_new_tokens=3, batch_size=3, description="test answers")
    lines = [record.getMessage() for record in caplog.records if record.name == "shochu.generation"]
    total = len(CONVERSATIONS)
    assert [line.split(",")[0] for line in lines] == [
        f"test answers: {min(done, total)} of {total} answers" for done in range(3, total + 3, 3)]
