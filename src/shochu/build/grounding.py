"""How well a generated answer is supported by its source chunk.

Two measures:

- ``overlap``: the share of the answer's content units that occur in the
  chunk. Units are lower-cased words of two or more letters (or any number)
  for space-separated scripts, and character bigrams for Japanese, Chinese,
  Thai and Lao, which are written without spaces.
- ``likelihood_gain``: the teacher's mean log-probability per answer token
  with the chunk in the prompt, minus the same without the chunk, in nats.
  An answer that draws on the chunk becomes more likely when the model sees
  the chunk; an off-topic answer does not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from shochu.distill.data import TruncatedExample, collate, encode_example

_PLACEHOLDER = re.compile(r"\[([A-Z_]+_\d+|REDACTED)\]")
_WORD = re.compile(r"[^\W\d_]{2,}|\d+", re.UNICODE)
_UNSPACED = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f\u0e00-\u0eff]+")

# Function words carry no evidence of grounding.
_STOPWORDS = frozenset("""
a an and are as at be been but by can could did do does for from had has have he her his how i if in into is
it its may might must not of on or our she should so such than that the their them then there these they this
those to was we were what when where which who why will with would you your about also all any each more most
no other out some up yes
""".split())


def content_units(text: str) -> set[str]:
    """Return the content units of ``text``: words, numbers and unspaced-script bigrams."""
    # A placeholder such as [PERSON_1] is one unit, matched exactly.
    units: set[str] = {match.lower() for match in _PLACEHOLDER.findall(text)}
    text = _PLACEHOLDER.sub(" ", text)
    for run in _UNSPACED.findall(text):
        units.update(run[i : i + 2] for i in range(len(run) - 1))
        if len(run) == 1:
            units.add(run)
    spaced = _UNSPACED.sub(" ", text).casefold()
    units.update(word for word in _WORD.findall(spaced) if word not in _STOPWORDS)
    return units


def new_units(answer: str, known: str = "") -> set[str]:
    """Content units of ``answer`` that are not in ``known`` (the question an answer may restate)."""
    return content_units(answer) - content_units(known) if known else content_units(answer)


def overlap(answer: str, source: str, known: str = "") -> float:
    """Share of the answer's new content units found in ``source``; 0.0 for an answer without any.

    An answer that restates its question ("The code for X is ...") would
    score on the question's words alone, so those are left out via ``known``.
    """
    answer_units = new_units(answer, known)
    if not answer_units:
        return 0.0
    return len(answer_units & content_units(source)) / len(answer_units)


@torch.no_grad()
def mean_logprobs(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                  conversations: Sequence[list[dict[str, str]]], responses: Sequence[str],
                  max_seq_len: int = 2048, batch_size: int = 8) -> list[float | None]:
    """Mean log-probability per response token of each response after its conversation.

    Returns None for a pair longer than ``max_seq_len`` tokens.
    """
    encoded = []
    for index, (messages, response) in enumerate(zip(conversations, responses, strict=True)):
        try:
            encoded.append((index, encode_example(tokenizer, str(index), messages, response, max_seq_len)))
        except (TruncatedExample, ValueError):
            continue
    results: list[float | None] = [None] * len(responses)
    encoded.sort(key=lambda item: item[1].length)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    for first in range(0, len(encoded), batch_size):
        chunk = encoded[first : first + batch_size]
        batch = collate([example for _, example in chunk], pad_id)
        logits = model(input_ids=batch.input_ids.to(model.device),
                       attention_mask=batch.attention_mask.to(model.device)).logits.float()
        logprobs = torch.log_softmax(logits, dim=-1)  # (batch, seq, vocab)
        token_logprobs = logprobs.gather(-1, batch.targets.to(model.device).unsqueeze(-1)).squeeze(-1)
        mask = batch.target_mask.to(model.device)
        means = (token_logprobs * mask).sum(-1) / mask.sum(-1).clamp(min=1)
        for (index, _), value in zip(chunk, means.tolist(), strict=True):
            results[index] = value
    return results


def likelihood_gains(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                     grounded: Sequence[list[dict[str, str]]], ungrounded: Sequence[list[dict[str, str]]],
                     responses: Sequence[str], max_seq_len: int = 2048,
                     batch_size: int = 8) -> list[float | None]:
    """Mean log-probability gain of each response from the grounded over the ungrounded prompt, in nats."""
    with_source = mean_logprobs(model, tokenizer, grounded, responses, max_seq_len, batch_size)
    without_source = mean_logprobs(model, tokenizer, ungrounded, responses, max_seq_len, batch_size)
    return [None if a is None or b is None else a - b for a, b in zip(with_source, without_source, strict=True)]
