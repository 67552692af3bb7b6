"""Percentile bootstrap confidence intervals over test examples.

Each metric is a ``Statistic``: per-example data and a way to compute the metric
from any multiset of example indices. A ``Resampling`` draws the index sets once
per task, and every model and metric of that task uses the same draws. That
makes a difference between two models (teacher minus student) a paired
bootstrap, whose interval is narrower than what two separate intervals suggest.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


class Statistic:
    """A metric over test examples that can be recomputed on a resample of them."""

    def value(self) -> float | None:
        """Return the metric on all examples, or None when it is undefined (no scored example)."""
        raise NotImplementedError

    def resampled(self, indices: np.ndarray) -> np.ndarray:
        """Return the metric for each row of ``indices`` (shape ``(resamples, examples)``), NaN where undefined."""
        raise NotImplementedError


class Mean(Statistic):
    """Mean of one value per example (accuracy, ROUGE-L, exact match)."""

    def __init__(self, values: Sequence[float]) -> None:
        self.values = np.asarray(values, dtype=np.float64)

    def value(self) -> float | None:
        return float(self.values.mean()) if self.values.size else None

    def resampled(self, indices: np.ndarray) -> np.ndarray:
        return self.values[indices].mean(axis=1)


class Ratio(Statistic):
    """Sum of a numerator over the sum of a denominator, each one number per example.

    Token-level means (KL per token, top-1 agreement) and micro-averaged
    precision and recall have this form. ``transform`` maps the ratio, for
    example ``np.exp`` turns a mean negative log-likelihood into perplexity.
    """

    def __init__(self, numerators: Sequence[float], denominators: Sequence[float],
                 transform: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        self.numerators = np.asarray(numerators, dtype=np.float64)
        self.denominators = np.asarray(denominators, dtype=np.float64)
        self.transform = transform

    def _apply(self, numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan)
        return self.transform(ratio) if self.transform is not None else ratio

    def value(self) -> float | None:
        result = float(self._apply(np.asarray(self.numerators.sum()), np.asarray(self.denominators.sum())))
        return None if np.isnan(result) else result

    def resampled(self, indices: np.ndarray) -> np.ndarray:
        return self._apply(self.numerators[indices].sum(axis=1), self.denominators[indices].sum(axis=1))


class Function(Statistic):
    """Any metric computed by a function of the example indices (macro-F1, percentiles, user metrics)."""

    def __init__(self, size: int, compute: Callable[[np.ndarray], float | None]) -> None:
        self.size = size
        self.compute = compute

    def value(self) -> float | None:
        return self.compute(np.arange(self.size))

    def resampled(self, indices: np.ndarray) -> np.ndarray:
        values = [self.compute(row) for row in indices]
        return np.array([np.nan if value is None else value for value in values], dtype=np.float64)


@dataclass
class Resampling:
    """Bootstrap index sets for one task: ``indices[r]`` is resample ``r`` of the example positions."""

    indices: np.ndarray
    confidence: float

    @classmethod
    def draw(cls, size: int, resamples: int, seed: int, task: str, confidence: float = 0.95) -> Resampling:
        """Draw ``resamples`` sets of ``size`` positions with replacement, seeded by ``seed`` and the task name."""
        generator = np.random.default_rng([seed, zlib.crc32(task.encode("utf-8"))])
        dtype = np.int32 if size < 2**31 else np.int64
        indices = generator.integers(0, size, size=(resamples, size), dtype=dtype) if size else \
            np.zeros((resamples, 0), dtype=dtype)
        return cls(indices, confidence)

    @property
    def resamples(self) -> int:
        return self.indices.shape[0]

    def interval(self, values: np.ndarray) -> list[float] | None:
        """Return the percentile interval ``[low, high]`` of resampled values, ignoring undefined (NaN) ones."""
        defined = values[~np.isnan(values)]
        if self.resamples == 0 or defined.size == 0:
            return None
        tail = (1 - self.confidence) / 2 * 100
        low, high = np.percentile(defined, [tail, 100 - tail])
        return [float(low), float(high)]


@dataclass
class Estimate:
    """A metric's value on all examples, its interval and the resampled values behind the interval."""

    value: float | None
    interval: list[float] | None
    resampled: np.ndarray


def estimate(statistic: Statistic, resampling: Resampling) -> Estimate:
    value = statistic.value()
    if value is None or resampling.resamples == 0:
        return Estimate(value, None, np.full(resampling.resamples, np.nan))
    resampled = statistic.resampled(resampling.indices)
    return Estimate(value, resampling.interval(resampled), resampled)


def difference(first: Estimate, second: Estimate, resampling: Resampling) -> tuple[float | None, list[float] | None]:
    """Return ``first - second`` and its paired-bootstrap interval (both from the same index sets)."""
    if first.value is None or second.value is None:
        return None, None
    return first.value - second.value, resampling.interval(first.resampled - second.resampled)
