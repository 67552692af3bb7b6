import pytest

from shochu.distill.data import TruncatedExample, collate, encode_example
from shochu.models import load_tokenizer


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    return load_tokenizer(tiny_model_dir, padding_side="right")


def test_response_span_covers_answer_and_end_of_turn(tokenizer):
    example = encode_example(tokenizer, "a", [{"role": "user", "content": "What rotates?"}], "Passwords rotate.", 200)
    supervised = tokenizer.decode(example.input_ids[example.response_start:])
    assert supervised == "Passwords rotate.<|im_end|>"


def test_prompt_excludes_response(tokenizer):
    example = encode_example(tokenizer, "a", [{"role": "user", "content": "What rotates?"}], "Passwords rotate.", 200)
    prompt = tokenizer.decode(example.input_ids[: example.response_start])
    assert prompt.endswith("<|im_start|>assistant\n")


def test_one_token_response_gets_answer_and_eos(tokenizer):
    example = encode_example(tokenizer, "a", [{"role": "user", "content": "Pick"}], "B", 200)
    assert example.response_tokens == 2


def test_japanese_response_span(tokenizer):
    response = "社外秘の文書は共有しない。"
    example = encode_example(tokenizer, "a", [{"role": "user", "content": "要約して"}], response, 200)
    assert tokenizer.decode(example.input_ids[example.response_start:]) == response + "<|im_end|>"


def test_too_long_example_raises(tokenizer):
    with pytest.raises(TruncatedExample):
        encode_example(tokenizer, "a", [{"role": "user", "content": "word " * 100}], "answer", 20)


def test_collate_masks_from_lengths_not_token_values(tokenizer):
    # The pad token equals the end-of-turn token, so masks must come from lengths.
    assert tokenizer.pad_token_id == tokenizer.eos_token_id
    short = encode_example(tokenizer, "s", [{"role": "user", "content": "Pick"}], "B", 200)
    long = encode_example(tokenizer, "l", [{"role": "user", "content": "Pick one of many"}], "Hardware", 200)
    batch = collate([short, long], tokenizer.pad_token_id)

    assert batch.target_mask[0].sum().item() == short.response_tokens
    assert batch.target_mask[1].sum().item() == long.response_tokens
    assert batch.attention_mask[0].sum().item() == short.length


def test_collate_targets_are_next_tokens(tokenizer):
    example = encode_example(tokenizer, "a", [{"role": "user", "content": "Pick"}], "Hardware", 200)
    batch = collate([example], tokenizer.pad_token_id)
    targets = batch.targets[0][batch.target_mask[0]].tolist()
    assert targets == example.input_ids[example.response_start:]
