"""The export stage on a tiny workspace: folder contract, model card, lineage, EOS fix."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
import yaml
from transformers import AutoModelForCausalLM, AutoTokenizer

from shochu.config import RunConfig
from shochu.export import stage
from shochu.workspace import Workspace, fingerprint_file, read_json, write_json

IM_END = "<|im_end|>"
MODEL_FILES = {"config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
               "tokenizer_config.json", "chat_template.jinja", "README.md", "lineage.json"}

EVAL_RESULTS = {
    "models": {name: {"path": path, "parameters": size, "tokens_per_second": 12.5}
               for name, path, size in [("teacher", "models/teacher", 46752),
                                        ("student_init", "models/student-init", 28192),
                                        ("student", "train/best", 28192)]},
    "tasks": {"qa": {"examples": 3, "metrics": {}}},
    "summary": {"teacher": {"kl_to_teacher": 0.0, "rouge_l": 0.61, "accuracy": None},
                "student_init": {"kl_to_teacher": 0.42, "rouge_l": 0.2, "accuracy": None},
                "student": {"kl_to_teacher": 0.13, "rouge_l": 0.45, "accuracy": None}},
}


def _finish(workspace: Workspace, stage_name: str, config: dict, counts: dict) -> None:
    workspace.stage_dir(stage_name).mkdir(parents=True, exist_ok=True)
    workspace.finish(stage_name, config, {"upstream": f"{stage_name}-input"}, counts, time.time())


def make_workspace(root: Path, student_dir: Path, with_eval: bool = True) -> Workspace:
    """Build a workspace finished up to train (and eval) whose train/best contains files export must skip."""
    workspace = Workspace(root)
    write_json(workspace.models_dir / "teacher" / "shochu_model.json",
               {"licence": "Apache-2.0", "source": "/models/tiny-teacher.gguf", "kind": "teacher"})
    write_json(workspace.models_dir / "student-init" / "shochu_model.json",
               {"kind": "student", "init": "layer-pruned teacher", "kept_layers": [0, 3]})
    best = workspace.stage_dir("train") / "best"
    shutil.copytree(student_dir, best)
    (best / "optimizer.safetensors").write_bytes(b"optimizer state")
    (best / "pytorch_model.bin").write_bytes(b"pickle")
    write_json(best / "training_state.json", {"step": 5})

    _finish(workspace, "ingest", {"chunk_chars": 1500}, {"documents": 3})
    _finish(workspace, "protect", {"entities": ["PERSON", "EMAIL_ADDRESS"]}, {"entities": {"PERSON": 2}})
    _finish(workspace, "build", {"tasks": ["qa"]}, {"test": 3})
    _finish(workspace, "label", {"top_k": 32}, {"examples": 10})
    _finish(workspace, "train", {"kd_ratio": 0.5, "max_steps": 10},
            {"best_step": 5, "best_val_loss": 2.6, "steps_run": 10, "stopped_early": False})
    if with_eval:
        write_json(workspace.stage_dir("eval") / "results.json", EVAL_RESULTS)
        _finish(workspace, "eval", {"max_new_tokens": 8}, {"examples": {"qa": 3}})
    return workspace


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, tiny_student_dir: Path):
    root = tmp_path_factory.mktemp("export-workspace")
    workspace = make_workspace(root, tiny_student_dir)
    manifest = stage.run(RunConfig(workspace=str(root)), workspace)
    return workspace, manifest


def _card(workspace: Workspace) -> str:
    return (workspace.stage_dir("export") / "model" / "README.md").read_text(encoding="utf-8")


def _front_matter(card: str) -> dict:
    _, header, _ = card.split("---\n", 2)
    return yaml.safe_load(header)


def test_export_top_level_files(exported) -> None:
    workspace, _ = exported
    assert {path.name for path in workspace.stage_dir("export").iterdir()} == {"model", "lineage.json",
                                                                               "manifest.json"}


def test_export_model_files(exported) -> None:
    workspace, _ = exported
    assert {path.name for path in (workspace.stage_dir("export") / "model").iterdir()} == MODEL_FILES


def test_weights_copied_unchanged(exported, tiny_student_dir: Path) -> None:
    workspace, _ = exported
    exported_weights = workspace.stage_dir("export") / "model" / "model.safetensors"
    assert fingerprint_file(exported_weights) == fingerprint_file(tiny_student_dir / "model.safetensors")


def test_generation_stops_at_im_end(exported) -> None:
    workspace, _ = exported
    folder = workspace.stage_dir("export") / "model"
    end_of_turn = AutoTokenizer.from_pretrained(folder).convert_tokens_to_ids(IM_END)
    assert end_of_turn in read_json(folder / "generation_config.json")["eos_token_id"]


def test_card_front_matter_licence(exported) -> None:
    workspace, _ = exported
    metadata = _front_matter(_card(workspace))
    assert metadata["license"] == "apache-2.0"
    assert "base_model" not in metadata
    assert "knowledge-distillation" in metadata["tags"]


def test_card_names_licence(exported) -> None:
    workspace, _ = exported
    assert "| licence | Apache-2.0 |" in _card(workspace)


def test_card_names_teacher_file_without_its_folder(exported) -> None:
    workspace, _ = exported
    card = _card(workspace)
    assert "| source | tiny-teacher.gguf |" in card
    assert "/models/" not in card


def test_model_folder_files_readable_by_others(exported) -> None:
    workspace, _ = exported
    for path in (workspace.stage_dir("export") / "model").iterdir():
        assert path.stat().st_mode & 0o777 == 0o644, path.name


def test_model_folder_carries_lineage(exported) -> None:
    workspace, _ = exported
    export = workspace.stage_dir("export")
    assert read_json(export / "model" / "lineage.json") == read_json(export / "lineage.json")


SECTIONS = ["## What it is", "## Teacher", "## Student initialisation", "## Training", "## Data fingerprints",
            "## Evaluation", "## Intended use and limits", "## How to load it"]


@pytest.mark.parametrize("heading", SECTIONS)
def test_card_sections(exported, heading: str) -> None:
    workspace, _ = exported
    assert heading in _card(workspace)


def test_card_facts(exported) -> None:
    workspace, _ = exported
    card = _card(workspace)
    assert "| kd_ratio | 0.5 |" in card
    assert "| best_step | 5 |" in card
    assert f"| train | `{workspace.output_fingerprint('train')}` |" in card
    assert "| student | 28,192 | 12.5 | 0.1300 | 0.4500 | n/a |" in card
    assert "PERSON, EMAIL_ADDRESS" in card
    assert "Not red-teamed yet" in card


def test_card_has_no_links(exported) -> None:
    workspace, _ = exported
    assert "http" not in _card(workspace)


def test_lineage_facts(exported) -> None:
    workspace, _ = exported
    lineage = read_json(workspace.stage_dir("export") / "lineage.json")
    assert lineage["licence"] == "Apache-2.0"
    assert lineage["model"]["parameters"] == 28192
    assert lineage["data"]["protect"]["inputs"] == {"upstream": "protect-input"}
    assert lineage["data"]["train"]["fingerprint"] == workspace.output_fingerprint("train")
    assert lineage["eval"] == EVAL_RESULTS


def test_lineage_is_plain_json(exported) -> None:
    workspace, _ = exported
    text = (workspace.stage_dir("export") / "lineage.json").read_text(encoding="utf-8")
    assert json.loads(text)["training"]["config"] == {"kd_ratio": 0.5, "max_steps": 10}


def test_manifest_counts(exported) -> None:
    _, manifest = exported
    assert manifest["counts"] == {"parameters": 28192, "eos_token_id_fixed": False, "files": len(MODEL_FILES)}
    assert set(manifest["inputs"]) == {"train", "eval"}


def test_exported_model_generates(exported) -> None:
    workspace, _ = exported
    folder = workspace.stage_dir("export") / "model"
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder)
    inputs = tokenizer.apply_chat_template([{"role": "user", "content": "VPN?"}], add_generation_prompt=True,
                                           return_tensors="pt", return_dict=True)
    output = model.generate(**inputs, max_new_tokens=3, do_sample=False)
    assert output.shape[1] > inputs["input_ids"].shape[1]


def test_missing_im_end_is_fixed(tmp_path: Path, tiny_student_dir: Path) -> None:
    workspace = make_workspace(tmp_path, tiny_student_dir, with_eval=False)
    write_json(workspace.stage_dir("train") / "best" / "generation_config.json", {"eos_token_id": 0})

    manifest = stage.run(RunConfig(workspace=str(tmp_path)), workspace)

    end_of_turn = AutoTokenizer.from_pretrained(tiny_student_dir).convert_tokens_to_ids(IM_END)
    saved = read_json(workspace.stage_dir("export") / "model" / "generation_config.json")
    assert manifest["counts"]["eos_token_id_fixed"] is True
    assert saved["eos_token_id"] == sorted({0, end_of_turn})
    assert "The eval stage had not run" in _card(workspace)


def test_pickle_only_checkpoint_rejected(tmp_path: Path, tiny_student_dir: Path) -> None:
    workspace = make_workspace(tmp_path, tiny_student_dir, with_eval=False)
    (workspace.stage_dir("train") / "best" / "model.safetensors").unlink()

    with pytest.raises(FileNotFoundError, match="never pickle"):
        stage.run(RunConfig(workspace=str(tmp_path)), workspace)
    assert not workspace.is_complete("export")


def test_config_licence_fallback(tmp_path: Path, tiny_student_dir: Path) -> None:
    workspace = make_workspace(tmp_path, tiny_student_dir, with_eval=False)
    description = {"source": "/models/t", "licence": None}
    write_json(workspace.models_dir / "teacher" / "shochu_model.json", description)
    config = RunConfig(workspace=str(tmp_path), teacher={"path": "/models/t", "licence": "MIT"})

    stage.run(config, workspace)

    assert _front_matter(_card(workspace))["license"] == "mit"
    assert "| licence | MIT |" in _card(workspace)


def test_unknown_licence_is_other(tmp_path: Path, tiny_student_dir: Path) -> None:
    workspace = make_workspace(tmp_path, tiny_student_dir, with_eval=False)
    write_json(workspace.models_dir / "teacher" / "shochu_model.json", {"source": "/models/t"})

    stage.run(RunConfig(workspace=str(tmp_path)), workspace)

    assert _front_matter(_card(workspace))["license"] == "other"
    assert "| licence | unknown |" in _card(workspace)
