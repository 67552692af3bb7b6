"""Export the user evaluation sets (``eval.extra_sets``) as lm-evaluation-harness tasks.

Each task of each set (``<file stem>/<kind>``, as the eval stage names it)
becomes two files in the output folder. ``<task>.jsonl`` contains one document
per example. ``<task>.yaml`` is a task config in the harness's YAML format (as
its ``docs/task_guide.md`` describes for v0.4), which loads the documents with
the ``json`` dataset builder. Every task carries the tag ``shochu``, so
``lm_eval --include_path DIR --tasks shochu`` runs them all.

- qa, summary and extract become ``generate_until`` tasks: greedy generation
  up to ``eval.max_new_tokens`` tokens, stopped at the end-of-turn token,
  scored with ``exact_match`` (case and punctuation ignored) and ``chrf``.
- classify becomes a ``multiple_choice`` task scored with ``acc``: the harness
  compares the likelihood of each choice, whereas Shochu generates an answer
  and computes macro F1, so the two figures differ in kind. A line without
  ``choices`` gets the sorted labels of its task.

Shochu prompts through the chat template, so cross-checks should pass
``--apply_chat_template`` to ``lm_eval``. The YAML files name the data files by
absolute path, so moving the folder means exporting again.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from shochu.config import RunConfig
from shochu.evaluate.extra_sets import load_extra_set
from shochu.evaluate.task_metrics import CLASSIFY
from shochu.models import END_OF_TURN
from shochu.workspace import write_jsonl, write_text

TAG = "shochu"
SPLIT = "test"


def task_name(task: str) -> str:
    """Return the harness task name of a Shochu task: ``shochu_`` and the name in lower-case letters,
    digits and underscores (``faq/qa`` becomes ``shochu_faq_qa``)."""
    return f"{TAG}_" + re.sub(r"[^a-z0-9]+", "_", task.lower()).strip("_")


def documents(records: list[dict[str, Any]], kind: str, source: Path) -> list[dict[str, Any]]:
    """Return the data file's documents: id, input and reference, and for classify the choices and gold index."""
    labels = sorted({record["response"] for record in records})
    rows = []
    for record in records:
        row = {"id": record["id"], "input": record["messages"][0]["content"], "reference": record["response"]}
        if kind == CLASSIFY:
            choices = record.get("choices") or labels
            if record["response"] not in choices:
                raise ValueError(f"{source}: line {record['id']!r} has reference {record['response']!r}, which is "
                                 f"not one of its choices {choices}; add it to the choices or fix the reference")
            row["choices"] = list(choices)
            row["gold"] = choices.index(record["response"])
        rows.append(row)
    return rows


def task_config(name: str, kind: str, data_file: Path, max_new_tokens: int) -> dict[str, Any]:
    """Return the harness task config for one exported task."""
    config: dict[str, Any] = {
        "task": name,
        "tag": [TAG],
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {SPLIT: str(data_file.resolve())}},
        "test_split": SPLIT,
        "doc_to_text": "{{input}}",
    }
    if kind == CLASSIFY:
        # doc_to_choice names the list column, and doc_to_target the column with the reference's index in it.
        config.update({"output_type": "multiple_choice", "doc_to_choice": "choices", "doc_to_target": "gold",
                       "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}]})
    else:
        config.update({
            "output_type": "generate_until",
            "doc_to_target": "{{reference}}",
            "generation_kwargs": {"until": [END_OF_TURN], "max_gen_toks": max_new_tokens, "do_sample": False},
            "metric_list": [{"metric": "exact_match", "aggregation": "mean", "higher_is_better": True,
                             "ignore_case": True, "ignore_punctuation": True},
                            {"metric": "chrf", "aggregation": "chrf", "higher_is_better": True}],
        })
    config["metadata"] = {"version": 1.0, "shochu_kind": kind}
    return config


def export_lm_eval(config: RunConfig, output: Path) -> list[Path]:
    """Write a task YAML and a JSONL data file per task of every set in ``eval.extra_sets``; return the YAML paths.

    Raises ValueError when no set is configured or when two tasks get the same harness name.
    """
    if not config.eval.extra_sets:
        raise ValueError("eval.extra_sets is empty, so there is nothing to export; list your JSONL evaluation "
                         "sets there (see the README section on evaluation sets)")
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    sources: dict[str, str] = {}
    for value in config.eval.extra_sets:
        source = Path(value)
        for task, records in load_extra_set(source).items():
            name = task_name(task)
            if name in sources:
                raise ValueError(f"{source} task {task!r} and {sources[name]} both export as {name!r}; "
                                 f"rename one of the files")
            sources[name] = f"{source} task {task!r}"
            kind = records[0]["kind"]
            data_file = output / f"{name}.jsonl"
            write_jsonl(data_file, documents(records, kind, source))
            path = output / f"{name}.yaml"
            text = yaml.safe_dump(task_config(name, kind, data_file, config.eval.max_new_tokens),
                                  allow_unicode=True, sort_keys=False)
            write_text(path, text)
            written.append(path)
    return written
