import json
import math

import pytest

from tune_fixtures import build_labelled, copy_labelled
from shochu.distill.labels import SoftLabels
from shochu.tune.progressive import RESULTS_FILE, run_progressive

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def progressive_run(tmp_path_factory, tiny_model_dir, tiny_student_dir):
    root = tmp_path_factory.mktemp("progressive")
    template = build_labelled(root / "template", tiny_model_dir, tiny_student_dir)
    config, workspace = copy_labelled(template, root / "ws", tiny_model_dir, tiny_student_dir,
                                      progressive={"chain": [3, 2], "max_steps": 4},
                                      train={"eval_every": 2, "warmup_steps": 1},
                                      eval={"bootstrap_resamples": 200, "max_new_tokens": 4})
    return config, workspace, run_progressive(config, workspace)


def test_progressive_writes_both_steps(progressive_run):
    _, workspace, results = progressive_run
    saved = json.loads((workspace.root / "progressive" / RESULTS_FILE).read_text())
    assert saved["verdict"] == results["verdict"]
    assert [step["name"] for step in saved["steps"]] == ["assistant-3", "progressive-2"]
    assert [step["learns_from"] for step in saved["steps"]] == ["teacher", "assistant-3"]
    assert saved["teacher_layers"] == 4
    assert saved["direct"]["name"] == "direct-2"
    for entry in [*saved["steps"], saved["direct"]]:
        assert entry["train"]["steps_run"] == 4
        assert math.isfinite(entry["train"]["best_metric"])
        assert math.isfinite(entry["metrics"]["kl_to_teacher"])
        assert entry["metrics"]["kl_to_teacher"] > 0
    for name, layers in (("assistant-3", 3), ("progressive-2", 2), ("direct-2", 2)):
        config = json.loads((workspace.root / "progressive" / name / "best" / "config.json").read_text())
        assert config["num_hidden_layers"] == layers


def test_assistant_labels_are_its_own(progressive_run):
    _, workspace, results = progressive_run
    teacher_labels = SoftLabels(workspace.stage_dir("label"), "train")
    assistant_dir = workspace.root / results["steps"][1]["labels"]
    assistant_labels = SoftLabels(assistant_dir, "train")
    assert assistant_labels.example_ids == teacher_labels.example_ids
    assert results["steps"][0]["labelling"]["fingerprint"] != json.loads(
        (workspace.stage_dir("label") / "index.json").read_text())["fingerprint"]
    example_id = teacher_labels.example_ids[0]
    assert not teacher_labels.get(example_id)[0].equal(assistant_labels.get(example_id)[0])


def test_comparison_has_finite_differences(progressive_run):
    _, _, results = progressive_run
    rows = {row["metric"]: row for row in results["comparison"] if row["task"] == "qa"}
    assert set(rows) == {"rouge_l", "kl_to_teacher"}
    kl = rows["kl_to_teacher"]
    assert kl["difference"] == pytest.approx(kl["progressive"] - kl["direct"])
    assert math.isfinite(kl["difference"])
    assert kl["interval"][0] <= kl["difference"] <= kl["interval"][1]
    assert kl["progressive"] == results["steps"][-1]["metrics"]["kl_to_teacher"]
    assert results["verdict"].startswith("progressive-2 against direct-2:")


def test_rerun_skips_finished_steps(progressive_run):
    config, workspace, results = progressive_run
    again = run_progressive(config, workspace)
    for before, after in zip(results["steps"], again["steps"], strict=True):
        assert after["train"] == before["train"]
    assert again["direct"]["train"] == results["direct"]["train"]


def test_report_shows_progressive_comparison(progressive_run):
    from report_page import render_minimal_report

    _, workspace, results = progressive_run
    page = render_minimal_report(workspace.root)
    assert "<h2>Progressive distillation</h2>" in page
    assert "3 → 2 layers from a 4-layer teacher" in page
    for name in ("assistant-3", "progressive-2", "direct-2"):
        assert f"<td>{name}</td>" in page
    assert results["verdict"] in page


@pytest.mark.parametrize(("chain", "message"), [([4, 2], "every entry must be below 4"),
                                                ([3], "needs at least two layer counts")])
def test_progressive_rejects_bad_chain(progressive_run, chain, message):
    config, workspace, _ = progressive_run
    data = config.model_dump(mode="json")
    data["progressive"]["chain"] = chain
    with pytest.raises(ValueError, match=message):
        run_progressive(config.model_validate(data), workspace)


def test_verdict_counts_rows_without_interval() -> None:
    from shochu.tune.progressive import verdict

    rows = [{"task": "qa", "metric": "rouge_l", "difference": 0.1, "interval": [-0.1, 0.3], "helped": None},
            {"task": "qa", "metric": "kl_to_teacher", "difference": None, "interval": None, "helped": None},
            {"task": "summary", "metric": "rouge_l", "difference": 0.2, "interval": None, "helped": None},
            {"task": "classify", "metric": "kl_to_teacher", "difference": 1.1, "interval": [0.8, 1.5],
             "helped": False}]
    assert verdict(rows, "progressive-8", "direct-8") == (
        "progressive-8 against direct-8: better on no metric; worse on classify kl_to_teacher; "
        "no clear difference (interval includes 0) on 1 of 4; no interval or no value on 2.")
