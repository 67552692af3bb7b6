"""Model dimensions and parameter counts, read from local file headers only.

A Hugging Face folder gives its dimensions in ``config.json`` and its parameter
count in the safetensors headers (the first 8 bytes give the header length, the
JSON header gives each tensor's dtype and shape), so no weights are read. A GGUF
file gives both in its metadata and tensor table. Nothing is fetched from a hub.
"""

from __future__ import annotations

import functools
import json
import math
import struct
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

# Tensor name prefixes of the first decoder layer, per format.
_FIRST_LAYER = {"safetensors": "model.layers.0.", "gguf": "blk.0."}


class ShapeError(ValueError):
    """A model whose files do not give the dimensions that the memory plan needs."""


@dataclass(frozen=True)
class ModelShape:
    """The dimensions of a decoder-only transformer that decide its memory use."""

    parameters: int
    layer_parameters: int
    layers: int
    hidden: int
    intermediate: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    weight_bytes: int
    format: str

    @property
    def query_dim(self) -> int:
        return self.heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * self.head_dim

    def pruned(self, layers: int) -> ModelShape:
        """Return the shape of a copy that keeps ``layers`` decoder layers (embeddings unchanged)."""
        removed = (self.layers - layers) * self.layer_parameters
        return replace(self, layers=layers, parameters=self.parameters - removed,
                       weight_bytes=(self.parameters - removed) * 4, format="pruned")

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def read_shape(folder: Path, gguf_file: str | None = None) -> ModelShape:
    """Read a model's shape from a Hugging Face folder or from a GGUF file inside ``folder``."""
    if gguf_file:
        return _gguf_shape(folder / gguf_file)
    return _folder_shape(folder)


# --- Hugging Face folders ---------------------------------------------------


def _folder_shape(folder: Path) -> ModelShape:
    config_path = folder / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    # Multimodal configs keep the language model's dimensions under text_config.
    if "hidden_size" not in config and isinstance(config.get("text_config"), dict):
        config = config["text_config"]

    def need(key: str) -> int:
        if config.get(key) is None:
            raise ShapeError(f"{config_path} has no `{key}`, which the memory plan needs; "
                             f"the model is not a decoder-only transformer that Shochu can plan for")
        return int(config[key])

    heads = need("num_attention_heads")
    hidden = need("hidden_size")
    tensors = safetensors_tensors(folder)
    if not tensors:
        raise ShapeError(f"{folder} has no *.safetensors weights; Shochu reads only safetensors or GGUF models")
    parameters = sum(count for count, _ in tensors.values())
    return ModelShape(
        parameters=parameters,
        layer_parameters=sum(count for name, (count, _) in tensors.items()
                             if name.startswith(_FIRST_LAYER["safetensors"])),
        layers=need("num_hidden_layers"),
        hidden=hidden,
        intermediate=need("intermediate_size"),
        heads=heads,
        kv_heads=int(config.get("num_key_value_heads") or heads),
        head_dim=int(config.get("head_dim") or hidden // heads),
        vocab=need("vocab_size"),
        weight_bytes=sum(size for _, size in tensors.values()),
        format="safetensors",
    )


_DTYPE_BYTES = {"F64": 8, "I64": 8, "U64": 8, "F32": 4, "I32": 4, "U32": 4, "F16": 2, "BF16": 2,
                "I16": 2, "U16": 2, "F8_E4M3": 1, "F8_E5M2": 1, "I8": 1, "U8": 1, "BOOL": 1}


def weight_files(folder: Path) -> list[Path]:
    """Return the model's safetensors files: those of the index, else ``model.safetensors``, else all of them.

    A training checkpoint folder also contains ``optimizer.safetensors``, which is not part of the model.
    """
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        shards = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        return [folder / shard for shard in shards]
    single = folder / "model.safetensors"
    return [single] if single.is_file() else sorted(folder.glob("*.safetensors"))


def safetensors_tensors(folder: Path) -> dict[str, tuple[int, int]]:
    """Return ``{tensor name: (elements, bytes)}`` for the model's safetensors files, from headers only."""
    tensors: dict[str, tuple[int, int]] = {}
    for path in weight_files(folder):
        with open(path, "rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            header = json.loads(handle.read(length))
        for name, entry in header.items():
            if name == "__metadata__":
                continue
            elements = math.prod(entry["shape"])
            tensors[name] = (elements, elements * _DTYPE_BYTES.get(entry["dtype"], 4))
    return tensors


# --- GGUF files -------------------------------------------------------------


def gguf_reader(path: Path) -> Any:
    """Return a ``gguf.GGUFReader`` for ``path``, shared by the licence and shape checks of one run.

    The reader parses the tokenizer's arrays too: 3 s for the packaged SmolLM2 file on 2 busy CPU cores.
    """
    stat = path.stat()
    return _cached_reader(path.resolve(), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _cached_reader(path: Path, modified_ns: int, size: int) -> Any:
    from gguf import GGUFReader

    return GGUFReader(path)


def _gguf_shape(path: Path) -> ModelShape:
    reader = gguf_reader(path)

    def value(key: str, required: bool = True) -> Any:
        field = reader.fields.get(key)
        if field is None:
            if required:
                raise ShapeError(f"{path}: GGUF metadata has no `{key}`, which the memory plan needs")
            return None
        return field.contents()

    arch = value("general.architecture")
    heads = int(value(f"{arch}.attention.head_count"))
    hidden = int(value(f"{arch}.embedding_length"))
    vocab = value(f"{arch}.vocab_size", required=False)
    if vocab is None:
        vocab = len(value("tokenizer.ggml.tokens"))
    head_dim = value(f"{arch}.attention.key_length", required=False) or hidden // heads
    return ModelShape(
        parameters=sum(int(tensor.n_elements) for tensor in reader.tensors),
        layer_parameters=sum(int(tensor.n_elements) for tensor in reader.tensors
                             if tensor.name.startswith(_FIRST_LAYER["gguf"])),
        layers=int(value(f"{arch}.block_count")),
        hidden=hidden,
        intermediate=int(value(f"{arch}.feed_forward_length")),
        heads=heads,
        kv_heads=int(value(f"{arch}.attention.head_count_kv", required=False) or heads),
        head_dim=int(head_dim),
        vocab=int(vocab),
        weight_bytes=path.stat().st_size,
        format="gguf",
    )
