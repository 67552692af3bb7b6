"""Metrics per task kind on hand-made answers: classification, extraction, QA and token-level fidelity."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from shochu.evaluate.metrics import (
    classify_metrics,
    exact_match,
    extraction_counts,
    field_pairs,
    macro_f1,
    parse_json_object,
)
from shochu.evaluate.task_metrics import (
    classification_scores,
    kind_of,
    extraction_statistics,
    score_task,
    token_fidelity,
)
from shochu.evaluate.teacher_forcing import TokenStatistics

CHOICES = ["network", "billing", "hardware"]
LABELS = ["network", "billing", "network", "hardware", "billing"]
PREDICTIONS = ["Network.", "network", "billing", "hardware", "I do not know"]


@pytest.fixture()
def classified():
    return classification_scores(LABELS, PREDICTIONS, [CHOICES] * len(LABELS))


def test_classification_accuracy(classified) -> None:
    assert classified.statistics["accuracy"].value() == pytest.approx(2 / 5)


def test_classification_macro_f1(classified) -> None:
    # network: tp 1, 2 true, 2 predicted -> 0.5; billing: tp 0 -> 0; hardware: tp 1 of 1 -> 1.
    assert classified.statistics["macro_f1"].value() == pytest.approx((0.5 + 0.0 + 1.0) / 3)


def test_classification_confusion(classified) -> None:
    confusion = classified.confusion
    assert confusion["classes"] == ["billing", "hardware", "network"]
    assert confusion["columns"] == ["billing", "hardware", "network", "(other)"]
    assert confusion["counts"] == [[0, 0, 1, 1], [0, 1, 0, 0], [1, 0, 1, 0]]


def test_classification_matches_classify_metrics(classified) -> None:
    reference = classify_metrics(LABELS, PREDICTIONS, [CHOICES] * len(LABELS))
    for name in ("accuracy", "first_mention_accuracy", "valid_choice_share"):
        assert classified.statistics[name].value() == pytest.approx(reference[name]), name


def test_classification_without_choices() -> None:
    scores = classification_scores(["a", "b"], ["a", "a"], [None, None])
    assert scores.statistics["valid_choice_share"].value() is None
    assert scores.confusion["classes"] == ["a", "b"]


def test_macro_f1_matches_per_class_definition() -> None:
    generator = np.random.default_rng(0)
    for _ in range(20):
        labels = generator.integers(0, 4, 30)
        predicted = generator.integers(0, 5, 30)
        scores = []
        for name in sorted(set(labels.tolist())):
            true_positive = sum(1 for t, p in zip(labels, predicted) if t == p == name)
            precision = true_positive / max(sum(predicted == name), 1)
            recall = true_positive / sum(labels == name)
            scores.append(0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall))
        assert macro_f1(labels, predicted) == pytest.approx(sum(scores) / len(scores))


def test_macro_f1_empty() -> None:
    assert macro_f1([], []) is None


@pytest.mark.parametrize(("text", "expected"), [
    ('{"a": 1}', {"a": 1}),
    ('```json\n{"a": 1}\n```', {"a": 1}),
    ('Here it is: {"a": "東京"} done', {"a": "東京"}),
    ("[1, 2]", None),
    ("no json", None),
    ('{"a": ', None),
])
def test_parse_json_object(text: str, expected) -> None:
    assert parse_json_object(text) == expected


def test_field_pairs_flatten() -> None:
    pairs = field_pairs({"a": {"b": 1}, "tags": ["X", "y"], "ok": True, "none": None})
    assert pairs == {("a.b", "1"), ("tags", "x"), ("tags", "y"), ("ok", "true"), ("none", "null")}


def test_extraction_counts() -> None:
    counts = extraction_counts('{"name": "Tanaka", "city": "Osaka"}',
                               '```json\n{"name": "tanaka", "city": "Kyoto", "age": 40}\n```')
    assert (counts.matched, counts.predicted, counts.expected, counts.valid_json) == (1, 3, 2, True)


def test_extraction_rejects_bad_reference() -> None:
    with pytest.raises(ValueError, match="not a JSON object"):
        extraction_counts("Tanaka", "{}")


def test_extraction_statistics() -> None:
    references = ['{"name": "Tanaka", "city": "Osaka"}', '{"name": "Somchai", "city": "กรุงเทพฯ"}']
    predictions = ['{"name": "tanaka", "city": "Kyoto", "age": 40}', "Somchai lives in Bangkok"]
    statistics = extraction_statistics(references, predictions)
    assert statistics["field_precision"].value() == pytest.approx(1 / 3)
    assert statistics["field_recall"].value() == pytest.approx(1 / 4)
    assert statistics["field_f1"].value() == pytest.approx(2 / 7)
    assert statistics["json_validity"].value() == pytest.approx(0.5)


@pytest.mark.parametrize(("reference", "prediction", "expected"), [
    ("Tokyo.", " tokyo", True),
    ("東京です。", "東京です", True),
    ("Passwords rotate every 90 days", "Passwords rotate  every 90 days!", True),
    ("Tokyo", "Kyoto", False),
])
def test_exact_match(reference: str, prediction: str, expected: bool) -> None:
    assert exact_match(reference, prediction) is expected


def test_generative_scores() -> None:
    records = [{"response": "Tokyo."}, {"response": "Passwords rotate every 90 days."}]
    predictions = ["tokyo", "Passwords rotate yearly."]
    teacher = ["tokyo", "Passwords rotate every 90 days."]
    statistics = score_task("qa", records, predictions, teacher).statistics
    assert set(statistics) == {"rouge_l", "exact_match", "teacher_agreement"}
    assert statistics["exact_match"].value() == pytest.approx(0.5)
    assert statistics["rouge_l"].value() == pytest.approx(statistics["teacher_agreement"].value())
    assert 0.5 < statistics["rouge_l"].value() < 1.0


def test_score_task_rejects_length_mismatch() -> None:
    with pytest.raises(ValueError, match="2 records but 1 predictions"):
        score_task("qa", [{"response": "a"}, {"response": "b"}], ["a"], None)


def _token_statistics() -> TokenStatistics:
    return TokenStatistics(tokens=[2, 3], kl_sums=[0.2, 0.9], top1_matches=[2, 1], nll_sums=[1.0, 2.0],
                           probability_gaps=[np.array([0.1, 0.3], dtype=np.float32),
                                             np.array([0.2, 0.5, 0.9], dtype=np.float32)])


def test_token_fidelity_values() -> None:
    statistics = token_fidelity(_token_statistics(), [0, None, 1])
    assert statistics["kl_to_teacher"].value() == pytest.approx(1.1 / 5)
    assert statistics["top1_agreement"].value() == pytest.approx(3 / 5)
    assert statistics["perplexity"].value() == pytest.approx(math.exp(3 / 5))


def test_probability_gap_percentiles() -> None:
    statistics = token_fidelity(_token_statistics(), [0, None, 1])
    # Pooled gaps 0.1 0.2 0.3 0.5 0.9; nearest rank: p50 is the 3rd, p90 and p99 the 5th.
    assert statistics["probability_gap_p50"].value() == pytest.approx(0.3)
    assert statistics["probability_gap_p90"].value() == pytest.approx(0.9)
    assert statistics["probability_gap_p99"].value() == pytest.approx(0.9)


def test_probability_gap_resample_weights_examples() -> None:
    statistic = token_fidelity(_token_statistics(), [0, None, 1])["probability_gap_p50"]
    # Example 0 drawn three times: pooled 0.1 x3, 0.3 x3 -> median (3rd of 6) is 0.1.
    rows = np.array([[0, 0, 0], [1, 1, 1], [2, 2, 2]])
    values = statistic.resampled(rows)
    assert values[0] == pytest.approx(0.1)
    assert np.isnan(values[1])
    assert values[2] == pytest.approx(0.5)


def test_probability_gap_matches_pooled_percentile() -> None:
    generator = np.random.default_rng(2)
    gaps = [generator.random(int(size)).astype(np.float32) for size in generator.integers(1, 6, 8)]
    statistics = TokenStatistics(tokens=[len(g) for g in gaps], kl_sums=[0.0] * 8, top1_matches=[0] * 8,
                                 nll_sums=[0.0] * 8, probability_gaps=gaps)
    statistic = token_fidelity(statistics, list(range(8)))["probability_gap_p90"]
    for rows in itertools.islice(itertools.product(range(8), repeat=4), 0, 4096, 97):
        pooled = np.sort(np.concatenate([gaps[i] for i in rows]))
        expected = pooled[math.ceil(0.9 * len(pooled)) - 1]
        assert statistic.compute(np.array(rows)) == pytest.approx(float(expected))


def test_teacher_agreement_of_equal_empty_answers() -> None:
    statistics = score_task("qa", [{"response": "x"}], ["..."], ["..."]).statistics
    assert statistics["teacher_agreement"].value() == 1.0
    assert statistics["rouge_l"].value() == 0.0


@pytest.mark.parametrize(("task", "kind"), [
    ("qa", "qa"), ("summary", "summary"), ("classify", "classify"), ("extract", "extract"),
    ("extraction", "extract"), ("instructions", "qa"), ("general", "qa"),
])
def test_kind_of_build_tasks(task: str, kind: str) -> None:
    assert kind_of(task) == kind
