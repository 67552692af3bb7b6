"""Tiny chat models, corpora and run configs for tests, built in the test and never downloaded.

Tests import these as ``from tiny_models import ...``: pyproject.toml puts tests/ on
the import path, and a unique module name cannot collide with the conftest.py files.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

TRAINING_TEXT = [
    "The VPN must be used whenever staff connect from outside the office.",
    "Passwords rotate every 90 days and must have at least 12 characters.",
    "Expense claims are filed within 30 days with receipts attached.",
    "社外秘の文書は共有フォルダに保存しないでください。",
    "Calibration of the AP-200 sensor takes 15 minutes at 25 degrees.",
    "question answer summary category hardware software network account billing",
]


def build_tiny_model(folder: Path, layers: int = 2, hidden: int = 32, seed: int = 0) -> Path:
    """Write a tiny Llama chat model with a byte-level BPE tokenizer to ``folder``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=special,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(TRAINING_TEXT * 4, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|im_start|>",
                                        eos_token="<|im_end|>", pad_token="<|im_end|>",
                                        unk_token="<|endoftext|>")
    tokenizer.chat_template = CHAT_TEMPLATE

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=hidden * 2,
                         num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=512, tie_word_embeddings=True,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(eos_token_id=[tokenizer.eos_token_id],
                                               pad_token_id=tokenizer.pad_token_id, do_sample=False)
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


def write_protected_corpus(root: Path, documents: int = 10, chunks_per_document: int = 3, tickets: int = 30) -> None:
    """Write a finished protect stage (chunks, tickets, manifest) into workspace ``root``."""
    import time

    from shochu.workspace import Workspace, write_jsonl

    chunks = [
        {"chunk_id": f"doc{d}-{i:04d}", "doc_id": f"doc{d}", "source": f"doc{d}.md", "index": i, "heading": None,
         "text": f"Document {d}, part {i}. The VPN must be used whenever staff connect from outside the "
                 f"office. Passwords rotate every {30 + d} days."}
        for d in range(documents) for i in range(chunks_per_document)
    ]
    labels = ["hardware", "software", "network"]
    ticket_records = [
        {"id": str(n), "doc_id": f"ticket-{n}", "text": f"Subject: issue {n}\n\nThe printer on floor {n} fails.",
         "label": labels[n % 3]}
        for n in range(tickets)
    ]
    folder = root / "protect"
    folder.mkdir(parents=True, exist_ok=True)
    write_jsonl(folder / "chunks.jsonl", chunks)
    write_jsonl(folder / "tickets.jsonl", ticket_records)
    Workspace(root).finish("protect", {"test": True}, {}, {"chunks": len(chunks)}, time.time())


def tiny_run_config(root: Path, teacher: Path, student: Path, **sections):
    """A RunConfig for the tiny models, small enough to build, label and train in seconds."""
    from shochu.config import RunConfig

    data = {
        "workspace": str(root),
        "teacher": {"path": str(teacher)},
        "student": {"path": str(student)},
        # A random tiny model repeats one token; the penalty makes it emit varied text. Its text
        # would fail every quality filter, so the filters are off.
        "build": {"max_new_tokens": 16, "batch_size": 4, "repetition_penalty": 10.0,
                  "min_response_chars": 1, "max_repetition": 1.0, "filters": {"enabled": []}},
        "label": {"top_k": 8, "shard_size": 10, "max_seq_len": 256},
        "train": {"max_steps": 12, "eval_every": 4, "batch_size": 4, "warmup_steps": 2, "patience": 10},
        "eval": {"max_new_tokens": 8, "batch_size": 4},
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return RunConfig.model_validate(data)
