"""Label stage: the teacher's top-k soft labels for every train and validation example.

Each shard is one safetensors file holding, for the shard's examples in order,
one row per supervised response token:

- ``logprobs`` ``(tokens, k)`` float16: teacher log-probabilities at temperature T;
- ``ids`` ``(tokens, k)`` int32: the token ids of those entries;
- ``rest`` ``(tokens,)`` float32: teacher probability mass outside the top k;
- ``offsets`` ``(examples + 1,)`` int64: example i owns rows ``offsets[i]:offsets[i+1]``.

Each shard's metadata records the fingerprints that training checks
(``FINGERPRINT_FIELDS``): the tokenizer's vocabulary and special tokens, its
chat template, T, k, and per example its id and a hash of its token ids.
``index.json`` lists the shards and records the same fields, the teacher and
its logit column count. ``tokenizer/`` keeps a copy of the teacher tokenizer,
so that training can name the first token on which a student's tokenizer
differs. A shard is written atomically, so a killed run resumes at the first
missing shard.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from rich.progress import Progress
from safetensors import safe_open
from safetensors.torch import save_file

from shochu.config import RunConfig
from shochu.distill import distributed
from shochu.distill.data import EncodedExample, collate, encode_records
from shochu.models import load_model, load_tokenizer, model_fingerprint, prepare_models
from shochu.workspace import Workspace, atomic_path, fingerprint_json, read_jsonl, write_json

logger = logging.getLogger(__name__)

NAME = "label"
LABEL_SPLITS = ("train", "validation")
# Fields that training compares with its own tokenisation before it uses the labels.
FINGERPRINT_FIELDS = ("tokenizer", "chat_template", "temperature", "top_k", "example_ids", "token_ids")


class LabelMismatch(ValueError):
    """Soft labels that were made for other data, another tokenizer or other settings."""


def settings(config: RunConfig) -> dict[str, Any]:
    return {**config.section("label"), "teacher": config.teacher.path}


def inputs(config: RunConfig, workspace: Workspace) -> dict[str, str]:
    return {"build": workspace.output_fingerprint("build")}


def label_fingerprints(tokenizer, temperature: float, top_k: int) -> dict[str, str]:
    """Fingerprints of the settings that decide the labels, by field; examples are hashed one by one."""
    return {
        "tokenizer": fingerprint_json({"vocab": sorted(tokenizer.get_vocab().items()),
                                       "special": tokenizer.all_special_tokens}),
        "chat_template": fingerprint_json({"chat_template": tokenizer.chat_template}),
        "temperature": repr(float(temperature)),
        "top_k": str(int(top_k)),
    }


def example_fingerprint(example: EncodedExample) -> str:
    """Hash of an example's token ids and response start: what its label rows are aligned to."""
    encoded = json.dumps([example.input_ids, example.response_start]).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]


def run(config: RunConfig, workspace: Workspace) -> dict[str, Any]:
    started = time.time()
    build_dir = workspace.require("build", NAME)
    with distributed.main_first():
        teacher_dir, _ = prepare_models(config.teacher.path, config.student.path, config.student.layers,
                                        workspace.models_dir, config.teacher.licence)
    label = config.label
    folder = workspace.stage_dir(NAME)

    # A manifest from an earlier run means the folder is stale: start over.
    # Shards without a manifest belong to an interrupted run and are reused
    # when their fingerprint matches.
    if distributed.is_main():
        if workspace.is_complete(NAME):
            folder = workspace.reset(NAME)
        folder.mkdir(parents=True, exist_ok=True)
    distributed.barrier()
    # Under `accelerate launch` with N processes, process r writes the shards whose number is r modulo N.
    rank, processes = distributed.rank(), distributed.world_size()

    tokenizer = load_tokenizer(teacher_dir, padding_side="right")
    teacher = load_model(teacher_dir).to(distributed.accelerator().device)
    # Columns past the tokenizer's size are padding rows; the labels cover real tokens only.
    vocab_size = len(tokenizer)
    teacher_columns = teacher.get_output_embeddings().weight.shape[0]
    if teacher_columns < vocab_size:
        raise ValueError(f"the teacher in {teacher_dir} has {teacher_columns} logit columns, fewer than the "
                         f"{vocab_size} tokens of its tokenizer")
    fields = label_fingerprints(tokenizer, label.temperature, label.top_k)
    fingerprint = fingerprint_json({**fields, "teacher": model_fingerprint(teacher_dir),
                                    "max_seq_len": label.max_seq_len, "vocab_size": vocab_size})
    if distributed.is_main():
        _save_tokenizer(tokenizer, folder / "tokenizer")

    index: dict[str, Any] = {"fingerprint": fingerprint, "temperature": label.temperature, "top_k": label.top_k,
                             "teacher": config.teacher.path, "vocab_size": vocab_size,
                             "teacher_columns": teacher_columns, "fingerprints": fields, "splits": {}}
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
            mine = number % processes == rank
            if mine and _shard_matches(path, fingerprint, shard_examples):
                counts["shards_reused"] += 1
            elif mine:
                _write_shard(path, teacher, tokenizer, shard_examples, label,
                             {**fields, "fingerprint": fingerprint, "rank": str(rank)}, vocab_size,
                             f"{split} shard {number}")
            shards.append({"file": path.name, "examples": len(shard_examples),
                           "tokens": sum(e.response_tokens for e in shard_examples)})
        index["splits"][split] = shards
        counts["examples"][split] = len(examples)
        counts["tokens"][split] = sum(e.response_tokens for e in examples)
        counts["truncated"][split] = len(dropped)

    # The index and manifest come last, from the main process, once every process has written its shards.
    (counts["shards_reused"],) = [int(total) for total in distributed.reduce_sum([counts["shards_reused"]])]
    counts["processes"] = processes
    distributed.barrier()
    if distributed.is_main():
        write_json(folder / "index.json", index)
        workspace.finish(NAME, settings(config), inputs(config, workspace), counts, started,
                         outputs={"fingerprint": fingerprint})
    distributed.barrier()
    return workspace.manifest(NAME)


def _shard_matches(path: Path, fingerprint: str, examples: list[EncodedExample]) -> bool:
    if not path.exists():
        return False
    with safe_open(path, framework="pt") as shard:
        metadata = shard.metadata() or {}
    return (metadata.get("fingerprint") == fingerprint
            and json.loads(metadata.get("example_ids", "[]")) == [e.example_id for e in examples]
            and json.loads(metadata.get("token_fingerprints", "[]")) == [example_fingerprint(e) for e in examples])


def _save_tokenizer(tokenizer, destination: Path) -> None:
    temporary = destination.with_name(destination.name + ".partial")
    if temporary.exists():
        shutil.rmtree(temporary)
    tokenizer.save_pretrained(temporary)
    if destination.exists():
        shutil.rmtree(destination)
    os.replace(temporary, destination)


@torch.no_grad()
def teacher_topk(teacher, batch_examples: list[EncodedExample], pad_token_id: int, temperature: float,
                 top_k: int, vocab_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[int]]:
    """Return top-k log-probabilities, ids, rest mass and per-example row counts for one batch.

    Only the first ``vocab_size`` logit columns (the tokenizer's tokens) take part; the rest are padding rows.
    """
    batch = collate(batch_examples, pad_token_id)
    device = teacher.get_output_embeddings().weight.device
    batch.input_ids, batch.attention_mask = batch.input_ids.to(device), batch.attention_mask.to(device)
    batch.target_mask = batch.target_mask.to(device)

    # Project only the supervised positions to the vocabulary: full logits for
    # a batch would take batch x length x vocab floats (about 1 GiB at the demo's sizes).
    hidden = teacher.get_decoder()(input_ids=batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state
    selected = teacher.get_output_embeddings()(hidden[batch.target_mask])[:, :vocab_size]  # (tokens, vocab)
    selected = selected.float() / temperature
    logprobs = F.log_softmax(selected, dim=-1)
    values, ids = logprobs.topk(top_k, dim=-1)
    rest = (1.0 - values.exp().sum(-1)).clamp(min=0.0)

    values, ids, rest = values.cpu(), ids.cpu(), rest.cpu()
    rows = batch.target_mask.sum(dim=1).tolist()
    expected = [example.response_tokens for example in batch_examples]
    # One soft label per supervised token, read at the position that predicts it.
    assert rows == expected, f"soft-label rows {rows} differ from response token counts {expected}"
    return values, ids, rest, rows


def _write_shard(path: Path, teacher, tokenizer, examples: list[EncodedExample], label, fingerprints: dict[str, str],
                 vocab_size: int, description: str) -> None:
    logprobs, ids, rests, offsets = [], [], [], [0]
    with Progress(transient=True) as progress:
        task = progress.add_task(f"teacher labels: {description}", total=len(examples))
        for first in range(0, len(examples), label.batch_size):
            batch = examples[first : first + label.batch_size]
            values, top_ids, rest, rows = teacher_topk(teacher, batch, tokenizer.pad_token_id,
                                                       label.temperature, label.top_k, vocab_size)
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
    metadata = {**fingerprints, "example_ids": json.dumps([e.example_id for e in examples]),
                "token_fingerprints": json.dumps([example_fingerprint(e) for e in examples])}
    with atomic_path(path) as temporary:
        save_file(tensors, str(temporary), metadata=metadata)
    logger.info("wrote %s: %d examples, %d tokens", path.name, len(examples), int(tensors["offsets"][-1]))


class SoftLabels:
    """Read access to one split's soft labels, by example id."""

    def __init__(self, folder: Path, split: str) -> None:
        self.folder = folder
        self.split = split
        index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
        if "fingerprints" not in index:
            raise LabelMismatch(f"the soft labels in {folder} were written without fingerprints by an earlier "
                                f"version of Shochu; re-run `shochu label`")
        self.temperature = float(index["temperature"])
        self.top_k = int(index["top_k"])
        self.fingerprints: dict[str, str] = index["fingerprints"]
        self.teacher_name = str(index["teacher"])
        self.vocab_size = int(index["vocab_size"])
        self.teacher_columns = int(index["teacher_columns"])
        self.example_ids: list[str] = []
        self._token_fingerprints: dict[str, str] = {}
        self._rows: dict[str, tuple[int, int, int]] = {}
        self._shards: list[dict[str, torch.Tensor]] = []
        for shard_number, shard in enumerate(index["splits"].get(split, [])):
            with safe_open(folder / shard["file"], framework="pt") as handle:
                tensors = {name: handle.get_tensor(name) for name in handle.keys()}
                metadata = handle.metadata()
            example_ids = json.loads(metadata["example_ids"])
            self._shards.append(tensors)
            self.example_ids.extend(example_ids)
            self._token_fingerprints.update(zip(example_ids, json.loads(metadata["token_fingerprints"]), strict=True))
            offsets = tensors["offsets"].tolist()
            for position, example_id in enumerate(example_ids):
                self._rows[example_id] = (shard_number, offsets[position], offsets[position + 1])

    def __contains__(self, example_id: str) -> bool:
        return example_id in self._rows

    def get(self, example_id: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        shard_number, start, end = self._rows[example_id]
        shard = self._shards[shard_number]
        return shard["logprobs"][start:end], shard["ids"][start:end], shard["rest"][start:end]

    def load_tokenizer(self):
        """Load the copy of the tokenizer that produced the labels."""
        return load_tokenizer(self.folder / "tokenizer", padding_side="right")

    def check_settings(self, tokenizer, temperature: float, top_k: int) -> None:
        """Raise ``LabelMismatch``, naming each differing field, unless tokenizer, template, T and k match."""
        expected = label_fingerprints(tokenizer, temperature, top_k)
        problems = []
        for field in ("tokenizer", "chat_template", "temperature", "top_k"):
            found = self.fingerprints.get(field)
            if found != expected[field]:
                problems.append(f"{field} differs (labels {found}, training {expected[field]})")
        self._raise(problems)

    def check_examples(self, examples: list[EncodedExample]) -> None:
        """Raise ``LabelMismatch`` unless the labels cover exactly these examples, tokenised the same way."""
        problems = []
        training_ids = {example.example_id for example in examples}
        unlabelled = [example.example_id for example in examples if example.example_id not in self._rows]
        unused = [example_id for example_id in self.example_ids if example_id not in training_ids]
        if unlabelled or unused:
            problems.append(f"example_ids differ ({len(unlabelled)} training examples have no labels, "
                            f"first {unlabelled[:1]}; {len(unused)} labelled examples are not in the training "
                            f"data, first {unused[:1]})")
        changed = [example.example_id for example in examples if example.example_id in self._rows
                   and self._token_fingerprints[example.example_id] != example_fingerprint(example)]
        if changed:
            problems.append(f"token_ids differ for {len(changed)} examples, first {changed[0]!r}")
        self._raise(problems)

    def _raise(self, problems: list[str]) -> None:
        if problems:
            raise LabelMismatch(f"the {self.split} soft labels in {self.folder} do not match the training data: "
                                + "; ".join(problems) + ". Re-run `shochu label` for the current data and settings")
