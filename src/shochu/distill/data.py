"""Tokenisation of chat examples with an exact mask of the supervised positions.

An example is a list of chat messages (the prompt) and the assistant's
response. The supervised tokens are the response and the end-of-turn token
that closes it; the prompt, the template's role markers and padding are not.
Spans come from character offsets in the rendered chat template, never from
searching for a marker's token ids, so they stay right for any template.

Convention shared by labels, training and evaluation: for a sequence of
length L whose response occupies token positions ``[start, L)``, the model's
prediction of token ``t`` is read from logits at position ``t - 1``. The
supervised logits positions are therefore ``start - 1 .. L - 2``, one per
response token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from transformers import PreTrainedTokenizerBase


@dataclass(frozen=True)
class EncodedExample:
    """Token ids of prompt + response, with the response's first token position."""

    example_id: str
    input_ids: list[int]
    response_start: int

    @property
    def length(self) -> int:
        return len(self.input_ids)

    @property
    def response_tokens(self) -> int:
        return len(self.input_ids) - self.response_start


class TruncatedExample(ValueError):
    """An example whose response would not fit in the token limit."""


def render_prompt(tokenizer: PreTrainedTokenizerBase, messages: list[dict[str, str]]) -> str:
    """Render the chat template up to the assistant's turn, as the model sees it at inference."""
    return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)


def encode_example(
    tokenizer: PreTrainedTokenizerBase,
    example_id: str,
    messages: list[dict[str, str]],
    response: str,
    max_seq_len: int,
) -> EncodedExample:
    """Tokenise prompt and response; raise ``TruncatedExample`` when they exceed ``max_seq_len``."""
    prompt_text = render_prompt(tokenizer, messages)
    full_text = tokenizer.apply_chat_template(
        [*messages, {"role": "assistant", "content": response}], tokenize=False
    )
    if not full_text.startswith(prompt_text):
        raise ValueError(
            f"example {example_id}: the chat template renders the prompt differently with and "
            f"without the assistant turn, so the response span cannot be located"
        )

    # The supervised character span: the response and the end-of-turn token after it.
    span_start = len(prompt_text)
    content_at = full_text.find(response, span_start) if response else span_start
    if content_at < 0:
        raise ValueError(f"example {example_id}: the chat template changed the response text")
    span_end = content_at + len(response)
    end_of_turn = tokenizer.eos_token or ""
    if end_of_turn and full_text.startswith(end_of_turn, span_end):
        span_end += len(end_of_turn)

    encoding = tokenizer(full_text, add_special_tokens=False, return_offsets_mapping=True)
    input_ids = list(encoding["input_ids"])
    offsets = encoding["offset_mapping"]
    supervised = [index for index, (start, end) in enumerate(offsets) if end > span_start and start < span_end]
    if not supervised:
        raise ValueError(f"example {example_id}: the response produced no tokens")

    # Everything after the end-of-turn token (a template's trailing newline) is dropped.
    response_start, response_end = supervised[0], supervised[-1] + 1
    input_ids = input_ids[:response_end]
    if response_start == 0:
        raise ValueError(f"example {example_id}: the response starts at position 0; a prompt is required")
    if len(input_ids) > max_seq_len:
        raise TruncatedExample(
            f"example {example_id}: {len(input_ids)} tokens exceed max_seq_len={max_seq_len}"
        )
    return EncodedExample(example_id, input_ids, response_start)


def encode_records(
    tokenizer: PreTrainedTokenizerBase, records: list[dict[str, Any]], max_seq_len: int
) -> tuple[list[EncodedExample], list[str]]:
    """Encode build-stage records; return the examples and the ids dropped by truncation."""
    encoded, dropped = [], []
    for record in records:
        try:
            encoded.append(encode_example(tokenizer, record["id"], record["messages"], record["response"],
                                          max_seq_len))
        except TruncatedExample:
            dropped.append(record["id"])
    return encoded, dropped


@dataclass
class Batch:
    """Right-padded token ids with attention and supervision masks, shape ``(batch, seq)``."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    # True at logits positions whose next token is supervised (see module docstring).
    target_mask: torch.Tensor
    targets: torch.Tensor
    example_ids: list[str]


def collate(examples: list[EncodedExample], pad_token_id: int) -> Batch:
    """Pad on the right; masks come from lengths, never from token values."""
    width = max(example.length for example in examples)
    size = len(examples)
    input_ids = torch.full((size, width), pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((size, width), dtype=torch.long)
    target_mask = torch.zeros((size, width), dtype=torch.bool)
    targets = torch.full((size, width), pad_token_id, dtype=torch.long)

    for row, example in enumerate(examples):
        ids = torch.tensor(example.input_ids, dtype=torch.long)
        input_ids[row, : example.length] = ids
        attention_mask[row, : example.length] = 1
        # Logits at position p predict token p + 1.
        targets[row, : example.length - 1] = ids[1:]
        target_mask[row, example.response_start - 1 : example.length - 1] = True

    return Batch(input_ids, attention_mask, target_mask, targets, [e.example_id for e in examples])
