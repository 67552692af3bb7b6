import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from report_page import render_minimal_report
from tune_fixtures import build_labelled, copy_labelled
from shochu.distill.labels import SoftLabels
from shochu.pipeline import save_resolved_config
from shochu.tune.search import RESULTS_FILE, TuneSettingsChanged, run_tune
from shochu.tune.tempered import derive_labels, temper_logprobs

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

TUNE = {"trials": 3, "steps_per_trial": 4, "eval_every": 2, "startup_trials": 1,
        "temperature": {"low": 1.0, "high": 3.0}, "kd_ratio": {"low": 0.2, "high": 0.8},
        "learning_rate": {"low": 1e-4, "high": 1e-2, "log": True}}


@pytest.fixture(scope="module")
def labelled_template(tmp_path_factory, tiny_model_dir, tiny_student_dir):
    return build_labelled(tmp_path_factory.mktemp("tune-template") / "ws", tiny_model_dir, tiny_student_dir)


@pytest.fixture()
def tune_workspace(labelled_template, tmp_path, tiny_model_dir, tiny_student_dir):
    return copy_labelled(labelled_template, tmp_path / "ws", tiny_model_dir, tiny_student_dir, tune=TUNE)


def test_tempered_labels_match_full_softmax():
    torch.manual_seed(0)
    logits = torch.randn(5, 40) * 3
    stored = torch.log_softmax(logits / 2.0, dim=-1).topk(8, dim=-1)
    expected = torch.log_softmax(logits.gather(-1, stored.indices) / 0.7, dim=-1)
    derived = temper_logprobs(stored.values, 2.0, 0.7)
    assert torch.allclose(derived, expected, atol=1e-5)
    assert torch.allclose(derived.exp().sum(-1), torch.ones(5), atol=1e-6)


def test_derived_labels_pass_training_checks(tune_workspace, tmp_path):
    config, workspace = tune_workspace
    source = workspace.stage_dir("label")
    derived = derive_labels(source, tmp_path / "t3", 3.0)
    labels = SoftLabels(derived, "train")
    original = SoftLabels(source, "train")
    tokenizer = labels.load_tokenizer()
    labels.check_settings(tokenizer, 3.0, config.label.top_k)
    example_id = original.example_ids[0]
    logprobs, ids, rest = labels.get(example_id)
    assert torch.equal(ids, original.get(example_id)[1])
    assert torch.count_nonzero(rest) == 0
    expected = temper_logprobs(original.get(example_id)[0], config.label.temperature, 3.0)
    assert torch.allclose(logprobs.float(), expected, atol=2e-3)
    index = json.loads((derived / "index.json").read_text())
    assert index["derived_from"]["temperature"] == config.label.temperature
    assert index["fingerprint"] != json.loads((source / "index.json").read_text())["fingerprint"]


def test_tune_writes_three_trials(tune_workspace):
    config, workspace = tune_workspace
    results = run_tune(config, workspace)
    saved = json.loads((workspace.root / "tune" / RESULTS_FILE).read_text())
    assert saved == json.loads(json.dumps(results))
    trials = saved["trials"]
    assert len(trials) == 3
    assert saved["metric"] == "val_ce_loss"
    assert saved["direction"] == "minimize"
    for trial in trials:
        assert 1.0 <= trial["params"]["temperature"] <= 3.0
        assert 0.2 <= trial["params"]["kd_ratio"] <= 0.8
        assert 1e-4 <= trial["params"]["learning_rate"] <= 1e-2
        assert trial["state"] in ("complete", "pruned")
        assert trial["score"] is not None and trial["score"] > 0
        assert trial["steps"] in (2, 4)
        assert trial["wall_time_s"] > 0
    complete = [trial for trial in trials if trial["state"] == "complete"]
    assert saved["best"]["score"] == min(trial["score"] for trial in complete)
    assert f"kd_ratio: {saved['best']['params']['kd_ratio']:.3g}" in saved["config_lines"]
    assert not (workspace.root / "train").exists()
    assert not (workspace.root / "tune" / "trial-0" / "last").exists()
    assert (workspace.root / "tune" / "trial-0" / "metrics.jsonl").is_file()

    page = render_minimal_report(workspace.root)
    assert "<h2>Hyperparameter search</h2>" in page
    assert f"<td>{saved['best']['number']} (best)</td>" in page
    assert page.count("<td>complete</td>") + page.count("<td>pruned</td>") == 3
    assert saved["config_lines"].splitlines()[0] in page


def test_tune_resumes_after_kill(tune_workspace):
    config, workspace = tune_workspace
    data = config.model_dump(mode="json")
    data["tune"].update({"trials": 4, "steps_per_trial": 8, "eval_every": 2, "startup_trials": 5})
    config = config.model_validate(data)
    save_resolved_config(config, workspace)
    command = [sys.executable, "-m", "shochu", "tune", "--workspace", str(workspace.root)]
    results_path = workspace.root / "tune" / RESULTS_FILE
    second_trial = workspace.root / "tune" / "trial-1" / "metrics.jsonl"

    # Kill the process during its second trial, after the first finished.
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.time() + 240
    while time.time() < deadline and not second_trial.exists():
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    before = json.loads(results_path.read_text())
    assert [trial["number"] for trial in before["trials"]] == [0]

    data["tune"].update({"trials": 3, "steps_per_trial": 4})
    with pytest.raises(TuneSettingsChanged, match="--restart"):
        run_tune(config.model_validate(data), workspace)

    data["tune"]["steps_per_trial"] = 8
    data["tune"]["trials"] = 2
    resumed = config.model_validate(data)
    result = subprocess.run([*command, "--trials", "2"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    after = json.loads(results_path.read_text())
    states = {trial["number"]: trial["state"] for trial in after["trials"]}
    assert states[0] == before["trials"][0]["state"]
    assert states[1] == "fail"
    assert len(after["trials"]) == 3
    finished = [trial for trial in after["trials"] if trial["state"] in ("complete", "pruned")]
    assert len(finished) == resumed.tune.trials
    params = [tuple(sorted(trial["params"].items())) for trial in finished]
    assert len(set(params)) == len(params)
    assert after["trials"][0] == before["trials"][0]
