"""Held-out general instructions become their own evaluation task, so that forgetting shows."""

from __future__ import annotations

from shochu.config import RunConfig
from shochu.evaluate.stage import GENERAL_TASK, collect_tasks


def _record(task: str, index: int) -> dict:
    return {"id": f"{task}-{index:02d}", "task": task, "messages": [{"role": "user", "content": f"q{index}"}],
            "response": f"a{index}"}


def test_general_records_form_a_qa_task_cut_like_the_others(tmp_path) -> None:
    config = RunConfig(workspace=str(tmp_path), eval={"max_examples": 3})
    test = [_record("qa", index) for index in range(5)]
    general = [_record("general", index) for index in (4, 0, 3, 1, 2)]

    tasks = collect_tasks(test, config, general)

    assert list(tasks.records) == ["qa", GENERAL_TASK]
    assert [record["id"] for record in tasks.records[GENERAL_TASK]] == ["general-00", "general-01", "general-02"]
    assert tasks.kinds[GENERAL_TASK] == "qa"
    assert tasks.sources[GENERAL_TASK] == "build/general_heldout.jsonl"


def test_no_general_task_without_held_out_data(tmp_path) -> None:
    tasks = collect_tasks([_record("qa", 0)], RunConfig(workspace=str(tmp_path)), None)
    assert GENERAL_TASK not in tasks.records
