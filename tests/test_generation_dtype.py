import torch

from shochu.generation import generate, resolve_dtype
from shochu.models import load_model, load_tokenizer


def test_explicit_dtypes_resolve():
    cpu = torch.device("cpu")
    assert resolve_dtype("float32", cpu) == torch.float32
    assert resolve_dtype("bfloat16", cpu) == torch.bfloat16


def test_auto_dtype_is_float_type():
    assert resolve_dtype("auto", torch.device("cpu")) in (torch.float32, torch.bfloat16)


def test_penalty_ignores_prompt_tokens(tiny_model_dir):
    # The tiny model repeats a newline that also ends the prompt; a penalty over
    # the prompt would change its first token, one over generated tokens cannot.
    model, tokenizer = load_model(tiny_model_dir), load_tokenizer(tiny_model_dir)
    conversation = [[{"role": "user", "content": "Passwords rotate every 90 days"}]]
    plain, _ = generate(model, tokenizer, conversation, max_new_tokens=1)
    penalised, _ = generate(model, tokenizer, conversation, max_new_tokens=1, repetition_penalty=50.0)
    assert penalised[0].text == plain[0].text
    assert penalised[0].new_tokens == 1


def test_bfloat16_generation_returns_text(tiny_model_dir):
    model, tokenizer = load_model(tiny_model_dir), load_tokenizer(tiny_model_dir)
    results, seconds = generate(model, tokenizer, [[{"role": "user", "content": "Hi"}]], max_new_tokens=3,
                                repetition_penalty=10.0, dtype=torch.bfloat16)
    assert len(results) == 1
    assert results[0].new_tokens == 3
    assert seconds > 0
    assert next(model.parameters()).dtype == torch.float32
