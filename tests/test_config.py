import pytest

from shochu.config import ConfigError, load_config


def _write(tmp_path, text):
    path = tmp_path / "shochu.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_relative_paths_resolve_against_config_folder(tmp_path):
    config = load_config(_write(tmp_path, "workspace: ws\ningest:\n  input: docs\n"))
    assert config.workspace == str(tmp_path / "ws")
    assert config.ingest.input == str(tmp_path / "docs")


def test_packaged_teacher_path_unchanged(tmp_path):
    config = load_config(_write(tmp_path, "workspace: ws\n"))
    assert config.teacher.path == "packaged:smollm2"


def test_all_invalid_fields_reported_at_once(tmp_path):
    path = _write(tmp_path, "workspace: ws\ntrain:\n  kd_ratio: 1.5\n  max_steps: 0\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert "train.kd_ratio" in message
    assert "train.max_steps" in message
    assert "1.5" in message


def test_unknown_field_rejected(tmp_path):
    with pytest.raises(ConfigError, match="train.learning_rat"):
        load_config(_write(tmp_path, "workspace: ws\ntrain:\n  learning_rat: 0.1\n"))


def test_mapping_for_list_named_with_fix(tmp_path):
    path = _write(tmp_path, "workspace: ws\ningest:\n  tickets:\n    files: 'exports/*.csv'\n    id_column: id\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = " ".join(str(error.value).split())
    assert ("ingest.tickets: Input should be a valid list (got a mapping with keys files, id_column; "
            "put '- ' before its first key to make it a list item)") in message


def test_split_shares_must_leave_training_data(tmp_path):
    with pytest.raises(ConfigError, match="must be below 1.0"):
        load_config(_write(tmp_path, "workspace: ws\nbuild:\n  split:\n    validation: 0.5\n    test: 0.5\n"))


def test_missing_file_named(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "absent.yaml")


def test_invalid_yaml_named(tmp_path):
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(_write(tmp_path, "workspace: [unclosed\n"))


def test_hub_id_teacher_kept_as_written(tmp_path):
    config = load_config(_write(tmp_path, "workspace: ws\nteacher:\n  path: HuggingFaceTB/SmolLM2-135M-Instruct\n"))
    assert config.teacher.path == "HuggingFaceTB/SmolLM2-135M-Instruct"


def test_existing_relative_model_folder_resolved(tmp_path):
    (tmp_path / "models" / "teacher").mkdir(parents=True)
    config = load_config(_write(tmp_path, "workspace: ws\nteacher:\n  path: models/teacher\n"))
    assert config.teacher.path == str(tmp_path / "models" / "teacher")


def test_progressive_chain_refuses_online_teacher(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("workspace: ws\ntrain:\n  teacher: online\nprogressive:\n  chain: [16, 8]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = " ".join(str(caught.value).split())
    assert "progressive.chain trains every step from stored soft labels" in message
    assert "set train.teacher to 'labels' or remove progressive.chain" in message


def test_tune_refuses_online_teacher(tmp_path):
    from shochu.config import RunConfig
    from shochu.tune.search import run_tune
    from shochu.workspace import Workspace

    config = RunConfig(workspace=str(tmp_path / "ws"), train={"teacher": "online"})
    with pytest.raises(ValueError, match="shochu tune scores trials trained from stored soft labels"):
        run_tune(config, Workspace(tmp_path / "ws"))


def test_workspace_option_stands_in_for_missing_key(tmp_path):
    path = _write(tmp_path, "train:\n  max_steps: 5\n")
    with pytest.raises(ConfigError, match="workspace"):
        load_config(path)
    config = load_config(path, tmp_path / "ws")
    assert config.workspace == str((tmp_path / "ws").resolve())
    assert config.train.max_steps == 5
