"""User metrics listed in ``eval.metrics``, loaded from the user's own code.

An entry is ``module:function`` (a module importable from the working folder or the
Python path) or ``path/to/file.py:function``. The function is called as
``function(predictions, references)`` with two lists of strings of one task and one
model, and returns a float, a dict of named floats, or None when it does not apply to
that task. A float is reported under the function's name, a dict entry as
``<function>.<key>``. Bootstrap intervals call the function once per resample.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shochu.evaluate.bootstrap import Function, Statistic


@dataclass
class UserMetric:
    entry: str
    name: str
    function: Callable[[list[str], list[str]], Any]


def _import_module(entry: str, module: str) -> Any:
    if module.endswith(".py"):
        path = Path(module)
        if not path.is_file():
            raise ValueError(f"eval.metrics entry {entry!r}: file {path} not found")
        spec = importlib.util.spec_from_file_location(f"shochu_user_metrics.{path.stem}", path)
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
        return loaded
    working = str(Path.cwd())
    added = working not in sys.path
    if added:
        sys.path.insert(0, working)
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ValueError(f"eval.metrics entry {entry!r}: cannot import module {module!r} ({error}); run "
                         f"Shochu from the folder that contains it, or give the file as path/to/file.py:function"
                         ) from error
    finally:
        if added:
            sys.path.remove(working)


def metric_source(entry: str) -> Path | None:
    """Return the file that defines an ``eval.metrics`` entry, without importing the module itself.

    A ``module:function`` entry is looked up the way ``load_metrics`` imports it
    (working folder first; a dotted name imports its parent package). The result
    is None when the module cannot be found or has no source file, such as a
    built-in module. The eval stage fingerprints this file, so that
    editing the metric makes its results stale.
    """
    module = entry.rpartition(":")[0]
    if module.endswith(".py"):
        return Path(module)
    working = str(Path.cwd())
    added = working not in sys.path
    if added:
        sys.path.insert(0, working)
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    finally:
        if added:
            sys.path.remove(working)
    if spec is None or not spec.has_location or not spec.origin:
        return None
    return Path(spec.origin)


def load_metrics(entries: Sequence[str]) -> list[UserMetric]:
    """Import every ``eval.metrics`` entry; raise ``ValueError`` naming the entry that fails."""
    metrics = []
    for entry in entries:
        module, separator, name = entry.rpartition(":")
        if not separator or not module or not name.isidentifier():
            raise ValueError(f"eval.metrics entry {entry!r} must be 'module:function' or 'path/to/file.py:function'")
        function = getattr(_import_module(entry, module), name, None)
        if not callable(function):
            raise ValueError(f"eval.metrics entry {entry!r}: {module} has no function {name!r}")
        metrics.append(UserMetric(entry, name, function))
    return metrics


def _as_scores(metric: UserMetric, task: str, output: Any) -> dict[str, float] | None:
    """Check one return value and name its scores; raise ``TypeError`` naming the metric and task."""
    if output is None:
        return None
    if isinstance(output, int | float) and not isinstance(output, bool):
        return {metric.name: float(output)}
    if isinstance(output, dict) and all(isinstance(key, str) and isinstance(value, int | float)
                                        and not isinstance(value, bool) for key, value in output.items()):
        return {f"{metric.name}.{key}": float(value) for key, value in output.items()}
    raise TypeError(f"eval.metrics entry {metric.entry!r} returned {type(output).__name__} on task {task!r}; "
                    f"it must return a float, a dict of str to float, or None")


def metric_statistics(metric: UserMetric, task: str, predictions: Sequence[str],
                      references: Sequence[str]) -> dict[str, Statistic]:
    """Return one statistic per score the metric gives on this task; empty when it returns None.

    Each resample calls the function once and caches its dict, so a metric that
    returns several scores is not called once per score.
    """
    predictions, references = list(predictions), list(references)
    scores = _as_scores(metric, task, metric.function(predictions, references))
    if scores is None:
        return {}
    cache: dict[bytes, dict[str, float] | None] = {}

    def scores_for(rows: np.ndarray) -> dict[str, float] | None:
        key = hashlib.blake2b(np.ascontiguousarray(rows).tobytes(), digest_size=16).digest()
        if key not in cache:
            output = metric.function([predictions[i] for i in rows], [references[i] for i in rows])
            cache[key] = _as_scores(metric, task, output)
        return cache[key]

    def reader(name: str) -> Callable[[np.ndarray], float | None]:
        def compute(rows: np.ndarray) -> float | None:
            found = scores_for(rows)
            value = None if found is None else found.get(name)
            return None if value is None or math.isnan(value) else value
        return compute

    return {name: Function(len(predictions), reader(name)) for name in scores}
