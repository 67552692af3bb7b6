"""LoRA training through PEFT: only adapters train, and saved checkpoints hold the merged weights."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from trainer_fixtures import build_labelled, copy_labelled
from shochu.config import LoraConfig
from shochu.distill import train
from shochu.distill.lora import add_adapter, merged_copy
from shochu.models import load_model

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"), pytest.mark.filterwarnings("ignore::FutureWarning")]


@pytest.fixture(scope="module")
def template(tmp_path_factory, tiny_model_dir, tiny_student_dir):
    return build_labelled(tmp_path_factory.mktemp("labelled"), tiny_model_dir, tiny_student_dir)


@pytest.fixture()
def trained(template, tmp_path, tiny_model_dir, tiny_student_dir):
    config, workspace = copy_labelled(
        template, tmp_path / "ws", tiny_model_dir, tiny_student_dir, max_steps=4, eval_every=4,
        learning_rate=5e-2, warmup_steps=1,
        lora={"rank": 4, "alpha": 8.0, "dropout": 0.0, "target_modules": ["q_proj", "v_proj", "down_proj"]})
    folder = workspace.stage_dir("train")
    folder.mkdir()
    trainer = train.Trainer(config, workspace.models_dir / "student-init", workspace.stage_dir("build"),
                            workspace.stage_dir("label"), folder)
    assert trainer.fit()
    return trainer, workspace


def test_lora_trains_only_the_adapter(trained):
    trainer, workspace = trained
    initial = load_file(str(workspace.models_dir / "student-init" / "model.safetensors"))
    changed_adapters = 0
    for name, parameter in trainer.model.named_parameters():
        if "lora_" in name:
            assert parameter.requires_grad, name
            # lora_B starts at zero; training must have moved it.
            changed_adapters += int("lora_B" in name and bool(parameter.abs().max() > 0))
            continue
        assert not parameter.requires_grad, name
        base_name = name.removeprefix("base_model.model.").replace(".base_layer", "")
        assert torch.equal(parameter.detach(), initial[base_name]), name
    assert changed_adapters == 6  # q_proj, v_proj and down_proj in each of the 2 layers
    assert trainer.trainable_parameters == sum(p.numel() for n, p in trainer.model.named_parameters() if "lora_" in n)


def test_merged_checkpoint_matches_the_adapter_model(trained):
    trainer, workspace = trained
    best = workspace.stage_dir("train") / "best"
    saved = load_model(best)
    initial = load_file(str(workspace.models_dir / "student-init" / "model.safetensors"))
    merged_weights = load_file(str(best / "model.safetensors"))
    # A plain transformers checkpoint: the base model's names, no adapter tensors.
    assert set(merged_weights) == set(initial)
    assert not torch.equal(merged_weights["model.layers.0.self_attn.q_proj.weight"],
                           initial["model.layers.0.self_attn.q_proj.weight"])

    input_ids = torch.tensor([[1, 40, 41, 42, 43, 44, 2], [1, 50, 51, 52, 53, 54, 2]])
    trainer.model.eval()
    with torch.no_grad():
        adapter_logits = trainer.model(input_ids=input_ids).logits
        merged_logits = merged_copy(trainer.model)(input_ids=input_ids).logits
        saved_logits = saved(input_ids=input_ids).logits
    assert (merged_logits - adapter_logits).abs().max() < 1e-5
    assert (saved_logits - adapter_logits).abs().max() < 1e-5
    # The merge worked on a copy: the training model still has its adapter.
    assert any("lora_" in name for name, _ in trainer.model.named_parameters())


def test_unknown_target_module_is_refused(tiny_student_dir):
    with pytest.raises(ValueError, match=r"target_modules names \['query_key_value'\]"):
        add_adapter(load_model(tiny_student_dir), LoraConfig(target_modules=["query_key_value"]))


def test_adapter_on_the_output_projection_is_refused(tiny_student_dir):
    with pytest.raises(ValueError, match=r"includes the output projection \['lm_head'\]"):
        add_adapter(load_model(tiny_student_dir), LoraConfig(target_modules=["q_proj", "lm_head"]))
