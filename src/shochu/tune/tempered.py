"""Soft labels at another temperature, derived from the stored ones without running the teacher.

The label stage stores, per supervised token, the teacher's top-k log-probabilities
at its temperature T0: ``l_i = z_i / T0 - log Z(T0)``. Scaling them by
``s = T0 / T`` gives ``z_i / T`` up to a constant shared by the token's ids.
Renormalising ``s * l_i`` over the k ids therefore gives the teacher's distribution
at T conditioned on those ids, exact up to the float16 rounding of the stored values.

The mass outside the k ids at T cannot be derived: it depends on the logits of
every other token, which were not stored. Derived labels therefore carry a rest
mass of 0, and training on them must use ``train.topk_convention: renormalised``,
which compares teacher and student over the k ids only and ignores the rest.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from shochu.distill.labels import SoftLabels, label_fingerprints
from shochu.workspace import atomic_path, fingerprint_json, read_json, write_json


def temper_logprobs(logprobs: torch.Tensor, stored_temperature: float, temperature: float) -> torch.Tensor:
    """Return log-probabilities at ``temperature``, renormalised over the k stored ids, shape ``(tokens, k)``."""
    scaled = logprobs.float() * (stored_temperature / temperature)
    return scaled - scaled.logsumexp(dim=-1, keepdim=True)


def derive_labels(source: Path, destination: Path, temperature: float) -> Path:
    """Write a copy of the label folder ``source`` at ``temperature`` into ``destination``; return it.

    The copy has the same shards, example ids and tokenizer. Its index records
    the new temperature, the stored one (``derived_from``) and a fingerprint that
    differs from the source's, so that labels at different temperatures never pass for each other.
    An existing complete copy at the same temperature is reused.
    """
    index = read_json(source / "index.json")
    stored_temperature = float(index["temperature"])
    done = destination / "index.json"
    if done.is_file() and read_json(done).get("derived_from", {}).get("fingerprint") == index["fingerprint"] \
            and float(read_json(done)["temperature"]) == float(temperature):
        return destination
    if destination.exists():
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    shutil.copytree(source / "tokenizer", destination / "tokenizer")

    tokenizer = SoftLabels(source, "train").load_tokenizer()
    fields = label_fingerprints(tokenizer, temperature, int(index["top_k"]))
    fingerprint = fingerprint_json({"derived_from": index["fingerprint"], "temperature": repr(float(temperature)),
                                    "method": "top-k renormalised"})
    for shards in index["splits"].values():
        for shard in shards:
            _derive_shard(source / shard["file"], destination / shard["file"], stored_temperature, temperature,
                          {"temperature": fields["temperature"], "fingerprint": fingerprint})

    derived = {**index, "temperature": float(temperature), "fingerprint": fingerprint,
               "derived_from": {"fingerprint": index["fingerprint"], "temperature": stored_temperature,
                                "method": "top-k log-probabilities scaled by T0/T and renormalised over the k "
                                          "ids; rest mass unknown and set to 0"}}
    if "fingerprints" in derived:
        derived["fingerprints"] = {**derived["fingerprints"], "temperature": fields["temperature"]}
    # The index is written last: a copy without it is incomplete and is rebuilt.
    write_json(destination / "index.json", derived)
    return destination


def _derive_shard(source: Path, destination: Path, stored_temperature: float, temperature: float,
                  metadata_updates: dict[str, str]) -> None:
    with safe_open(source, framework="pt") as handle:
        tensors = {name: handle.get_tensor(name) for name in handle.keys()}
        metadata = dict(handle.metadata() or {})
    tensors["logprobs"] = temper_logprobs(tensors["logprobs"], stored_temperature, temperature).to(torch.float16)
    tensors["rest"] = torch.zeros_like(tensors["rest"])
    metadata.update({key: value for key, value in metadata_updates.items() if key in metadata or key == "fingerprint"})
    metadata["derived_from"] = json.dumps({"file": source.name, "temperature": stored_temperature})
    with atomic_path(destination) as temporary:
        save_file(tensors, str(temporary), metadata=metadata)
