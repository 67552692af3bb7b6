"""Label stage: the teacher's top-k soft labels for every train and validation example.

Each shard is one safetensors file holding, for the shard's examples in order,
one row per supervised response token:

- ``logprobs`` ``(tokens, k)`` float16: teacher log-probabilities at temperature T;
- ``ids`` ``(tokens, k)`` int32: the token ids of those entries;
- ``rest`` ``(tokens,)`` float32: teacher probability mass outside the top k;
- ``offsets`` ``(examples + 1,)`` int64: example i owns rows ``offsets[i]:offsets[i+1]``.

The shard's metadata records the example ids, T, k and a fingerprint of the
tokenizer and chat template. ``index.json`` lists the shards. A shard is
written atomically, so a killed run resumes at the first missing shard.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from rich.progress import Progress
from safetensors import safe_open
from safetensors.torch import save_file

from shochu.config import RunConfig
from shochu.distill.data import EncodedExample, collate, encode_records
from shochu.models import load_model, load_tokenizer, model_fingerprint, prepare_models
from shochu.workspace import Workspace, atomic_path, fingerprint_json, read_jsonl, write_json

logger = logging.getLogger(__name__)

NAME = "label"
LABEL_SPLITS = ("train", "validation")


def settings(config: RunConfig) -> dict[str, Any]:
    return {**config.section("label"), "teacher": config.teacher.path}


def inputs(config: RunConfig, workspace: Workspace) -> dict[str, str]:
    return {"build": workspace.output_fingerprint("build")}


def tokenizer_fingerprint(tokenizer) -> str:
    """Fingerprint of what decides token ids: the vocabulary, special tokens and chat template."""
    return fingerprint_json({
        "vocab": sorted(tokenizer.get_vocab().items()),
        "special": tokenizer.all_special_tokens,
        "chat_template": tokenizer.chat_template,
    })


def run(config: RunConfig, workspace: Workspace) -> dict[str, Any]:
    started = time.time()
    build_dir = workspace.require("build", NAME)
    teacher_dir, _ = prepare_models(config.teacher.path, config.student.path, config.student.layers,
                                    workspace.models_dir, config.teacher.licence)
    label = config.label
    folder = workspace.stage_dir(NAME)

    # A manifest from an earlier run means the folder is stale: start over.
    # Shards without a manifest belong to an interrupted run and are reused
    # when their fingerprint matches.
    if workspace.is_complete(NAME):
        folder = workspace.reset(NAME)
    folder.mkdir(parents=True, exist_ok=True)

    tokenizer = load_tokenizer(teacher_dir, padding_side="right")
    teacher = load_model(teacher_dir)
    fingerprint = fingerprint_json({"tokenizer": tokenizer_fingerprint(tokenizer), "temperature": label.temperature,
                                    "top_k": label.top_k, "teacher": model_fingerprint(teacher_dir),
                                    "max_seq_len": label.max_seq_len})

    index: dict[str, Any] = {"fingerprint": fingerprint, "temperature": label.temperature, "top_k": label.top_k,
                             "tokenizer_fingerprint": tokenizer_fingerprint(tokenizer), "splits": {}}
    counts: dict[str, Any] = {"examples": {}, "tokens": {}, "truncated": {}, "shards_reused": 0}
    for split in LABEL_SPLITS:
        records = read_jsonl(build_dir / f"{split}.jsonl")
        examples, dropped = encode_records(tokenizer, records, label.max_seq_len)
        if dropped:
            logger.warning("%s: %d examples exceed max_seq_len=%d and were dropped",
                           split, len(dropped), label.max_seq_len)
        shards = []
        for number, first in enumerate(range(0, len(examples), label.shard_size)):
            shard_examples = examples[first : first + label.shard_size]
            path = folder / f"{split}-{number:05d}.safetensors"
            if _shard_matches(path, fingerprint, shard_examples):
                counts["shards_reused"] += 1
            else:
                _write_shard(path, teacher, tokenizer, shard_examples, label, fingerprint, f"{split} shard {number}")
            shards.append({"file": path.name, "examples": len(shard_examples),
                           "tokens": sum(e.response_tokens for e in shard_examples)})
        index["splits"][split] = shards
        counts["examples"][split] = len(examples)
        counts["tokens"][split] = sum(e.response_tokens for e in examples)
        counts["truncated"][split] = len(dropped)

    write_json(folder / "index.json", index)
    return workspace.finish(NAME, settings(config), inputs(config, workspace), counts, started,
                            outputs={"fingerprint": fingerprint})


def _shard_matches(path: Path, fingerprint: str, examples: list[EncodedExample]) -> bool:
    if not path.exists():
        return False
    with safe_open(path, framework="pt") as shard:
        metadata = shard.metadata() or {}
    return (metadata.get("fingerprint") == fingerprint
            and json.loads(metadata.get("example_ids", "[]")) == [e.example_id for e in examples])


@torch.no_grad()
def teacher_topk(teacher, batch_examples: list[EncodedExample], pad_token_id: int, temperature: float,
                 top_k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[int]]:
    """Return top-k log-probabilities, ids, rest mass and per-example row counts for one batch."""
    batch = collate(batch_examples, pad_token_id)

    # Project only the supervised positions to the vocabulary: full logits for
    # a batch would take batch x length x vocab floats (about 1 GiB at the demo's sizes).
    hidden = teacher.get_decoder()(input_ids=batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state
    selected = teacher.get_output_embeddings()(hidden[batch.target_mask]).float() / temperature  # (tokens, vocab)
    logprobs = F.log_softmax(selected, dim=-1)
    values, ids = logprobs.topk(top_k, dim=-1)
    rest = (1.0 - values.exp().sum(-1)).clamp(min=0.0)

    rows = batch.target_mask.sum(dim=1).tolist()
    expected = [example.response_tokens for example in batch_examples]
    # One soft label per supervised token, read at the position that predicts it.
    assert rows == expected, f"soft-label rows {rows} differ from response token counts {expected}"
    return values, ids, rest, rows


def _write_shard(path: Path, teacher, tokenizer, examples: list[EncodedExample], label, fingerprint: str,
                 description: str) -> None:
    logprobs, ids, rests, offsets = [], [], [], [0]
    with Progress(transient=True) as progress:
        task = progress.add_task(f"teacher labels: {description}", total=len(examples))
        for first in range(0, len(examples), label.batch_size):
            batch = examples[first : first + label.batch_size]
            values, top_ids, rest, rows = teacher_topk(teacher, batch, tokenizer.pad_token_id,
                                                       label.temperature, label.top_k)
            logprobs.append(values.to(torch.float16))
            ids.append(top_ids.to(torch.int32))
            rests.append(rest.to(torch.float32))
            for count in rows:
                offsets.append(offsets[-1] + count)
            progress.advance(task, len(batch))

    tensors = {
        "logprobs": torch.cat(logprobs) if logprobs else torch.zeros((0, label.top_k), dtype=torch.float16),
        "ids": torch.cat(ids) if ids else torch.zeros((0, label.top_k), dtype=torch.int32),
        "rest": torch.cat(rests) if rests else torch.zeros((0,), dtype=torch.float32),
        "offsets": torch.tensor(offsets, dtype=torch.int64),
    }
    metadata = {"fingerprint": fingerprint, "temperature": str(label.temperature), "top_k": str(label.top_k),
                "example_ids": json.dumps([e.example_id for e in examples])}
    with atomic_path(path) as temporary:
        save_file(tensors, str(temporary), metadata=metadata)
    logger.info("wrote %s: %d examples, %d tokens", path.name, len(examples), int(tensors["offsets"][-1]))


class SoftLabels:
    """Read access to one split's soft labels, by example id."""

    def __init__(self, folder: Path, split: str) -> None:
        index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
        self.temperature = float(index["temperature"])
        self.top_k = int(index["top_k"])
        self.tokenizer_fingerprint = index["tokenizer_fingerprint"]
        self._rows: dict[str, tuple[int, int, int]] = {}
        self._shards: list[dict[str, torch.Tensor]] = []
        for shard_number, shard in enumerate(index["splits"].get(split, [])):
            with safe_open(folder / shard["file"], framework="pt") as handle:
                tensors = {name: handle.get_tensor(name) for name in handle.keys()}
                example_ids = json.loads(handle.metadata()["example_ids"])
            self._shards.append(tensors)
            offsets = tensors["offsets"].tolist()
            for position, example_id in enumerate(example_ids):
                self._rows[example_id] = (shard_number, offsets[position], offsets[position + 1])

    def __contains__(self, example_id: str) -> bool:
        return example_id in self._rows

    def get(self, example_id: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        shard_number, start, end = self._rows[example_id]
        shard = self._shards[shard_number]
        return shard["logprobs"][start:end], shard["ids"][start:end], shard["rest"][start:end]
