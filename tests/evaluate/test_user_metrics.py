"""User metrics: loading entry points from files and modules, return values, bootstrap reuse."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from shochu.config import load_config
from shochu.evaluate.user_metrics import load_metrics, metric_statistics

METRICS = """
CALLS = []


def mean_length(predictions, references):
    CALLS.append(len(predictions))
    return sum(len(p) for p in predictions) / len(predictions)


def both(predictions, references):
    CALLS.append(len(predictions))
    hits = sum(p == r for p, r in zip(predictions, references))
    return {"hits": hits, "share": hits / len(predictions)}


def nothing(predictions, references):
    return None


def wrong(predictions, references):
    return "high"


NOT_A_FUNCTION = 3
"""


@pytest.fixture()
def metric_file(tmp_path: Path) -> Path:
    path = tmp_path / "team_metrics.py"
    path.write_text(METRICS, encoding="utf-8")
    return path


def test_file_entry_float(metric_file: Path) -> None:
    [metric] = load_metrics([f"{metric_file}:mean_length"])
    statistics = metric_statistics(metric, "qa", ["ab", "abcd"], ["x", "y"])
    assert list(statistics) == ["mean_length"]
    assert statistics["mean_length"].value() == pytest.approx(3.0)


def test_dict_entry_names(metric_file: Path) -> None:
    [metric] = load_metrics([f"{metric_file}:both"])
    statistics = metric_statistics(metric, "qa", ["a", "b", "c"], ["a", "x", "c"])
    assert set(statistics) == {"both.hits", "both.share"}
    assert statistics["both.hits"].value() == 2.0
    assert statistics["both.share"].value() == pytest.approx(2 / 3)


def test_dict_called_once_per_resample(metric_file: Path) -> None:
    [metric] = load_metrics([f"{metric_file}:both"])
    calls = metric.function.__globals__["CALLS"]
    statistics = metric_statistics(metric, "qa", ["a", "b", "c"], ["a", "x", "c"])
    calls.clear()
    rows = np.array([[0, 0, 1], [2, 2, 2], [0, 1, 2], [1, 1, 1]])
    hits = statistics["both.hits"].resampled(rows)
    share = statistics["both.share"].resampled(rows)
    assert list(hits) == [2.0, 3.0, 2.0, 0.0]
    assert share[1] == pytest.approx(1.0)
    assert len(calls) == len(rows)


def test_none_skips_task(metric_file: Path) -> None:
    [metric] = load_metrics([f"{metric_file}:nothing"])
    assert metric_statistics(metric, "classify", ["a"], ["a"]) == {}


def test_wrong_return_type(metric_file: Path) -> None:
    [metric] = load_metrics([f"{metric_file}:wrong"])
    with pytest.raises(TypeError, match=r"returned str on task 'qa'; it must return a float"):
        metric_statistics(metric, "qa", ["a"], ["a"])


def test_module_entry_from_working_folder(metric_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(metric_file.parent)
    monkeypatch.delitem(sys.modules, "team_metrics", raising=False)
    [metric] = load_metrics(["team_metrics:mean_length"])
    assert metric.name == "mean_length"
    assert str(metric_file.parent) not in sys.path


@pytest.mark.parametrize(("entry", "message"), [
    ("no_colon", "must be 'module:function'"),
    ("module:", "must be 'module:function'"),
    ("shochu_missing_module_xyz:f", "cannot import module 'shochu_missing_module_xyz'"),
    ("/nowhere/metrics.py:f", "file /nowhere/metrics.py not found"),
])
def test_bad_entries(entry: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_metrics([entry])


def test_missing_function(metric_file: Path) -> None:
    with pytest.raises(ValueError, match="has no function 'NOT_A_FUNCTION'"):
        load_metrics([f"{metric_file}:NOT_A_FUNCTION"])


def test_config_resolves_metric_file(tmp_path: Path) -> None:
    (tmp_path / "shochu.yaml").write_text(
        "workspace: ws\neval:\n  extra_sets: [sets/faq.jsonl]\n"
        "  metrics: [metrics/team.py:score, package.module:score]\n", encoding="utf-8")
    config = load_config(tmp_path / "shochu.yaml")
    assert config.eval.extra_sets == [str(tmp_path / "sets" / "faq.jsonl")]
    assert config.eval.metrics == [f"{tmp_path / 'metrics' / 'team.py'}:score", "package.module:score"]


def test_module_metric_file_is_an_eval_input(metric_file: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from shochu.evaluate.stage import _user_files
    from shochu.workspace import fingerprint_file

    monkeypatch.chdir(metric_file.parent)
    # An earlier test imported a team_metrics from its own folder; the lookup would find that one.
    monkeypatch.delitem(sys.modules, "team_metrics", raising=False)
    (tmp_path / "shochu.yaml").write_text("workspace: ws\neval:\n  metrics: [team_metrics:both, sys:exit]\n",
                                          encoding="utf-8")
    config = load_config(tmp_path / "shochu.yaml")

    # The module's own file is an input; a built-in module has no file and adds none.
    assert _user_files(config) == [metric_file]
    assert str(metric_file.parent) not in sys.path
    before = fingerprint_file(metric_file)
    metric_file.write_text(METRICS.replace("hits / len(predictions)", "hits / max(1, len(predictions))"),
                           encoding="utf-8")
    assert fingerprint_file(metric_file) != before
