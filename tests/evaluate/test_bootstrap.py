"""Percentile bootstrap intervals: statistics, seeding, paired differences."""

from __future__ import annotations

import numpy as np
import pytest

from shochu.evaluate.bootstrap import Function, Mean, Ratio, Resampling, difference, estimate


def test_same_seed_same_draws() -> None:
    first = Resampling.draw(10, 50, seed=3, task="qa")
    second = Resampling.draw(10, 50, seed=3, task="qa")
    assert np.array_equal(first.indices, second.indices)


def test_task_name_changes_draws() -> None:
    first = Resampling.draw(10, 50, seed=3, task="qa")
    second = Resampling.draw(10, 50, seed=3, task="summary")
    assert not np.array_equal(first.indices, second.indices)


def test_draw_shape_and_range() -> None:
    resampling = Resampling.draw(7, 30, seed=0, task="qa")
    assert resampling.indices.shape == (30, 7)
    assert resampling.indices.min() >= 0
    assert resampling.indices.max() <= 6


def test_mean_interval_brackets_value() -> None:
    values = [1, 0, 1, 1, 0, 1, 0, 1, 1, 1] * 3
    found = estimate(Mean(values), Resampling.draw(len(values), 1000, seed=0, task="classify"))
    assert found.value == pytest.approx(0.7)
    low, high = found.interval
    assert low < 0.7 < high
    assert 0.0 <= low
    assert high <= 1.0


def test_interval_matches_numpy_percentiles() -> None:
    values = np.array([0.1, 0.5, 0.9, 0.3, 0.7])
    resampling = Resampling.draw(5, 400, seed=1, task="qa", confidence=0.9)
    found = estimate(Mean(values), resampling)
    means = values[resampling.indices].mean(axis=1)
    assert found.interval == pytest.approx(list(np.percentile(means, [5, 95])))


def test_constant_values_give_point_interval() -> None:
    found = estimate(Mean([1.0] * 8), Resampling.draw(8, 100, seed=0, task="qa"))
    assert found.interval == [1.0, 1.0]


def test_more_examples_narrow_interval() -> None:
    generator = np.random.default_rng(0)
    small = generator.random(20)
    large = generator.random(2000)
    narrow = estimate(Mean(large), Resampling.draw(2000, 300, seed=0, task="qa")).interval
    wide = estimate(Mean(small), Resampling.draw(20, 300, seed=0, task="qa")).interval
    assert narrow[1] - narrow[0] < wide[1] - wide[0]


def test_ratio_pools_tokens() -> None:
    # Two examples: 3 nats over 1 token and 1 nat over 3 tokens give 4 / 4, not the mean of 3 and 1/3.
    assert Ratio([3.0, 1.0], [1, 3]).value() == pytest.approx(1.0)


def test_ratio_without_tokens_is_undefined() -> None:
    ratio = Ratio([0.0, 0.0], [0, 0])
    assert ratio.value() is None
    assert estimate(ratio, Resampling.draw(2, 20, seed=0, task="qa")).interval is None


def test_ratio_resample_skips_empty_draws() -> None:
    ratio = Ratio([2.0, 0.0], [1, 0])
    values = ratio.resampled(np.array([[1, 1], [0, 1]]))
    assert np.isnan(values[0])
    assert values[1] == pytest.approx(2.0)


def test_ratio_transform() -> None:
    assert Ratio([2.0], [2], transform=np.exp).value() == pytest.approx(np.e)


def test_function_statistic() -> None:
    values = np.array([4.0, 1.0, 9.0])
    statistic = Function(3, lambda rows: float(values[rows].max()))
    assert statistic.value() == 9.0
    assert list(statistic.resampled(np.array([[0, 1, 1], [2, 2, 0]]))) == [4.0, 9.0]


def test_zero_resamples_give_no_interval() -> None:
    found = estimate(Mean([0.2, 0.4]), Resampling.draw(2, 0, seed=0, task="qa"))
    assert found.value == pytest.approx(0.3)
    assert found.interval is None


def test_paired_difference_narrower_than_separate() -> None:
    generator = np.random.default_rng(5)
    difficulty = generator.random(60)
    teacher = np.clip(difficulty + 0.2, 0, 1)
    student = np.clip(difficulty + 0.1, 0, 1)
    resampling = Resampling.draw(60, 500, seed=0, task="qa")
    teacher_found, student_found = estimate(Mean(teacher), resampling), estimate(Mean(student), resampling)
    gap, interval = difference(teacher_found, student_found, resampling)
    assert gap == pytest.approx(teacher.mean() - student.mean())
    assert interval[0] <= gap <= interval[1]
    separate = (teacher_found.interval[1] - teacher_found.interval[0]) + (
        student_found.interval[1] - student_found.interval[0])
    assert interval[1] - interval[0] < separate / 2
