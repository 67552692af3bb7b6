"""LoRA adapters through PEFT: wrap the student, count what trains, merge for saving.

Only the adapter matrices train; the base weights stay frozen. Checkpoints in
``train/best`` hold merged weights (W + scale * B A), so evaluation and export
read a plain Hugging Face model. Merging works on a copy, because merging and
unmerging in place would round the frozen base weights and break exact resume.
"""

from __future__ import annotations

import copy

import torch

from shochu.config import LoraConfig


def add_adapter(model: torch.nn.Module, settings: LoraConfig) -> torch.nn.Module:
    """Return ``model`` wrapped with a fresh LoRA adapter on ``settings.target_modules``."""
    from peft import LoraConfig as PeftLoraConfig
    from peft import get_peft_model

    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    missing = [name for name in settings.target_modules if name not in present]
    if missing:
        raise ValueError(f"train.lora.target_modules names {missing}, which the student does not have; "
                         f"its linear layers include {sorted(_linear_names(model))}")
    output = model.get_output_embeddings()
    output_names = {name.rsplit(".", 1)[-1] for name, module in model.named_modules() if module is output}
    if output_names & set(settings.target_modules):
        # The chunked loss projects with the output weight directly, which would skip an adapter there.
        raise ValueError(f"train.lora.target_modules includes the output projection {sorted(output_names)}, "
                         f"which LoRA training does not support; remove it")
    peft_config = PeftLoraConfig(r=settings.rank, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                                 target_modules=list(settings.target_modules), bias="none", task_type="CAUSAL_LM")
    return get_peft_model(model, peft_config)


def is_adapter_model(model: torch.nn.Module) -> bool:
    from peft import PeftModel

    return isinstance(model, PeftModel)


def merged_copy(model: torch.nn.Module) -> torch.nn.Module:
    """A plain transformers model with the adapter folded into its weights; ``model`` is unchanged."""
    return copy.deepcopy(model).merge_and_unload()


def _linear_names(model: torch.nn.Module) -> set[str]:
    return {name.rsplit(".", 1)[-1] for name, module in model.named_modules() if isinstance(module, torch.nn.Linear)}
