"""A tiny GGUF file written with gguf.GGUFWriter: llama metadata, an optional licence and two layers of tensors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from gguf import GGUFWriter

HIDDEN = 8
INTERMEDIATE = 16
VOCAB = 32
LAYERS = 2
HEADS = 2
KV_HEADS = 1
HEAD_DIM = HIDDEN // HEADS

# Tensor name -> shape (rows, columns) of one decoder layer, llama.cpp naming.
LAYER_TENSORS = {
    "attn_norm.weight": (HIDDEN,),
    "attn_q.weight": (HIDDEN, HIDDEN),
    "attn_k.weight": (KV_HEADS * HEAD_DIM, HIDDEN),
    "attn_v.weight": (KV_HEADS * HEAD_DIM, HIDDEN),
    "attn_output.weight": (HIDDEN, HIDDEN),
    "ffn_norm.weight": (HIDDEN,),
    "ffn_gate.weight": (INTERMEDIATE, HIDDEN),
    "ffn_up.weight": (INTERMEDIATE, HIDDEN),
    "ffn_down.weight": (HIDDEN, INTERMEDIATE),
}
LAYER_PARAMETERS = sum(int(np.prod(shape)) for shape in LAYER_TENSORS.values())
# Token embeddings, the final norm and every layer; the output projection is tied.
PARAMETERS = VOCAB * HIDDEN + HIDDEN + LAYERS * LAYER_PARAMETERS


def write_tiny_gguf(path: Path, licence: str | None = None, licence_name: str | None = None) -> Path:
    writer = GGUFWriter(path, arch="llama")
    writer.add_name("Tiny Test Model")
    if licence is not None:
        writer.add_license(licence)
    if licence_name is not None:
        writer.add_license_name(licence_name)
    writer.add_block_count(LAYERS)
    writer.add_embedding_length(HIDDEN)
    writer.add_feed_forward_length(INTERMEDIATE)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    writer.add_vocab_size(VOCAB)
    writer.add_tensor("token_embd.weight", np.zeros((VOCAB, HIDDEN), dtype=np.float32))
    writer.add_tensor("output_norm.weight", np.ones(HIDDEN, dtype=np.float32))
    for layer in range(LAYERS):
        for name, shape in LAYER_TENSORS.items():
            writer.add_tensor(f"blk.{layer}.{name}", np.zeros(shape, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
