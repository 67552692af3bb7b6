"""Export stage: the distilled student as a Hugging Face folder with a model card and lineage.

``export/model/`` contains the best checkpoint's config and safetensors weights,
the tokenizer as transformers saves it, a ``generation_config.json`` that stops
at ``<|im_end|>``, and ``README.md`` (the model card). ``export/lineage.json``
contains the card's facts as data. Pickle weights are never exported.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any

from safetensors import safe_open
from transformers import AutoTokenizer, GenerationConfig, PreTrainedTokenizerBase

from shochu.config import RunConfig
from shochu.export.card import render_card
from shochu.models import END_OF_TURN, read_model_description
from shochu.preflight.stage import read_report
from shochu.workspace import (
    Workspace,
    fingerprint_file,
    fingerprint_json,
    fingerprint_tree,
    library_versions,
    read_json,
    write_json,
    write_text,
)

logger = logging.getLogger(__name__)

NAME = "export"
MODEL_DIR = "model"
LINEAGE_FILE = "lineage.json"
CARD_FILE = "README.md"
# Stages whose fingerprints the card and lineage record, in pipeline order.
DATA_STAGES = ("ingest", "protect", "build", "label", "train")


def settings(config: RunConfig) -> dict[str, Any]:
    return {"format": "huggingface"}


def inputs(config: RunConfig, workspace: Workspace) -> dict[str, str]:
    fingerprints = {"train": workspace.output_fingerprint("train")}
    # The card shows eval results when they exist, so a new eval run makes the export stale.
    if workspace.is_complete("eval"):
        fingerprints["eval"] = workspace.output_fingerprint("eval")
    # The card lists the licences and acceptances of the last check, so a new acceptance does too.
    check = read_report(workspace)
    if check is not None:
        fingerprints["check"] = fingerprint_json(check["licences"])
    return fingerprints


def weight_files(checkpoint: Path) -> list[Path]:
    """Return the checkpoint's safetensors weights (one file, or an index and its shards)."""
    index = checkpoint / "model.safetensors.index.json"
    if index.is_file():
        shards = sorted(set(read_json(index)["weight_map"].values()))
        return [index, *(checkpoint / shard for shard in shards)]
    single = checkpoint / "model.safetensors"
    if single.is_file():
        return [single]
    raise FileNotFoundError(f"{checkpoint} has no model.safetensors or model.safetensors.index.json; Shochu "
                            f"exports only safetensors weights, never pickle. Re-run `shochu train`")


def count_parameters(weights: list[Path]) -> int:
    """Count parameters from safetensors headers, without loading the tensors."""
    total = 0
    for path in weights:
        if path.suffix != ".safetensors":
            continue
        with safe_open(path, framework="pt") as handle:
            for key in handle.keys():
                total += math.prod(handle.get_slice(key).get_shape())
    return total


def end_of_turn_ids(tokenizer: PreTrainedTokenizerBase) -> set[int]:
    """Return the ids that must stop generation: the tokenizer's EOS and ``<|im_end|>`` when it exists."""
    ids = {tokenizer.eos_token_id}
    end_of_turn = tokenizer.convert_tokens_to_ids(END_OF_TURN)
    if isinstance(end_of_turn, int) and end_of_turn != tokenizer.unk_token_id:
        ids.add(end_of_turn)
    ids.discard(None)
    return ids


def generation_config(checkpoint: Path, tokenizer: PreTrainedTokenizerBase) -> tuple[GenerationConfig, bool]:
    """Return the checkpoint's generation config with the end-of-turn ids added.

    The second value is True when any of those ids was missing.
    """
    if (checkpoint / "generation_config.json").is_file():
        config = GenerationConfig.from_pretrained(checkpoint, local_files_only=True)
    else:
        config = GenerationConfig()
    current = config.eos_token_id if isinstance(config.eos_token_id, list) else [config.eos_token_id]
    present = {token for token in current if token is not None}
    required = end_of_turn_ids(tokenizer)
    if config.pad_token_id is None:
        pad = tokenizer.pad_token_id
        config.pad_token_id = pad if pad is not None else tokenizer.eos_token_id
    if required <= present:
        return config, False
    config.eos_token_id = sorted(present | required)
    return config, True


def write_model_folder(checkpoint: Path, destination: Path) -> bool:
    """Write config, weights, tokenizer and generation config. Return True when the EOS ids were fixed."""
    destination.mkdir(parents=True)
    shutil.copy2(checkpoint / "config.json", destination / "config.json")
    for path in weight_files(checkpoint):
        shutil.copy2(path, destination / path.name)

    tokenizer = AutoTokenizer.from_pretrained(checkpoint, local_files_only=True)
    tokenizer.save_pretrained(destination)
    config, fixed = generation_config(checkpoint, tokenizer)
    if fixed:
        logger.warning("%s: generation_config.json did not stop at %s, so the export sets eos_token_id to %s",
                       checkpoint, END_OF_TURN, config.eos_token_id)
    config.save_pretrained(destination)
    return fixed


def verify_model_folder(folder: Path) -> None:
    """Reload the exported tokenizer and generation config and check that generation stops at end of turn."""
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    config = GenerationConfig.from_pretrained(folder, local_files_only=True)
    stops = set(config.eos_token_id if isinstance(config.eos_token_id, list) else [config.eos_token_id])
    missing = end_of_turn_ids(tokenizer) - stops
    if missing:
        raise RuntimeError(f"{folder}: generation_config.json eos_token_id {sorted(stops)} "
                           f"lacks the end-of-turn ids {sorted(missing)}")


def make_readable(folder: Path) -> None:
    """Give every exported file mode 0644: atomic writes create 0600 temporaries, too strict for a
    folder that is served or copied to other accounts."""
    for path in folder.iterdir():
        if path.is_file():
            path.chmod(0o644)


def collect_lineage(config: RunConfig, workspace: Workspace, parameters: int,
                    eos_fixed: bool) -> dict[str, Any]:
    """Gather the facts of the card: teacher, licences, student init, training, data fingerprints, eval results.

    The licence is the one recorded when the teacher was imported, else ``teacher.licence`` from the
    config, else the first licence that the last ``shochu check`` found in the teacher's files and
    recognised. ``licence_check`` contains that check's licences and the acceptances it recorded.
    """
    teacher = read_model_description(workspace.models_dir / "teacher")
    train = workspace.manifest("train")
    eval_results = workspace.stage_dir("eval") / "results.json"
    protect = workspace.manifest("protect")
    check = read_report(workspace)
    licence_check = check["licences"] if check is not None else None
    return {
        "model": {"path": f"{NAME}/{MODEL_DIR}", "checkpoint": "train/best", "parameters": parameters,
                  "eos_token_id_fixed": eos_fixed},
        "licence": teacher.get("licence") or config.teacher.licence or checked_teacher_licence(licence_check),
        "licence_check": licence_check,
        "teacher": teacher,
        "student_init": read_model_description(workspace.models_dir / "student-init"),
        "training": {key: train.get(key) for key in ("config", "counts", "versions", "wall_time_s")},
        "privacy": {"masked_entity_types": (protect or {}).get("config", {}).get("entities")},
        "data": {stage: {"fingerprint": workspace.output_fingerprint(stage),
                         "inputs": workspace.manifest(stage)["inputs"]}
                 for stage in DATA_STAGES if workspace.is_complete(stage)},
        "eval": read_json(eval_results) if workspace.is_complete("eval") and eval_results.is_file() else None,
        "versions": library_versions(),
    }


def checked_teacher_licence(licence_check: dict[str, Any] | None) -> str | None:
    """Return the id of the first recognised licence that the check found for the teacher."""
    if licence_check is None:
        return None
    for model in licence_check["models"]:
        if model["role"] != "teacher":
            continue
        for finding in model["findings"]:
            if finding["category"] != "unknown":
                return finding["id"]
    return None


def run(config: RunConfig, workspace: Workspace) -> dict[str, Any]:
    """Export ``train/best`` with its model card and lineage, then write the manifest."""
    started = time.time()
    checkpoint = workspace.require("train", NAME) / "best"
    if not (checkpoint / "config.json").is_file():
        raise FileNotFoundError(f"{checkpoint} has no config.json; re-run `shochu train`")
    output = workspace.reset(NAME)

    # Build the folder under a temporary name, so that export/model appears only when complete.
    staging = output / f"{MODEL_DIR}.partial"
    eos_fixed = write_model_folder(checkpoint, staging)
    lineage = collect_lineage(config, workspace, count_parameters(weight_files(staging)), eos_fixed)
    if lineage["licence"] is None:
        logger.warning("the teacher has no recorded licence, so the model card says 'unknown'; "
                       "set teacher.licence to its SPDX id and re-run export")
    write_text(staging / CARD_FILE, render_card(lineage))
    # The card refers to lineage.json, so the folder carries a copy when it is shipped on its own.
    write_json(staging / LINEAGE_FILE, lineage)
    verify_model_folder(staging)
    make_readable(staging)
    os.replace(staging, output / MODEL_DIR)
    write_json(output / LINEAGE_FILE, lineage)

    counts = {"parameters": lineage["model"]["parameters"], "eos_token_id_fixed": eos_fixed,
              "files": len(list((output / MODEL_DIR).iterdir()))}
    produced = {MODEL_DIR: fingerprint_tree(output / MODEL_DIR),
                LINEAGE_FILE: fingerprint_file(output / LINEAGE_FILE)}
    return workspace.finish(NAME, settings(config), inputs(config, workspace), counts, started, produced)
