"""The report's dataset section: split counts, filter drops and review acceptance from the data card."""

from __future__ import annotations

from pathlib import Path

from evaluate_workspace import make_config, make_workspace

from shochu.evaluate import report
from shochu.workspace import read_json, write_json

CARD = {
    "splits": {"train": {"examples": 40, "documents": 9, "tasks": {"classify": 30, "qa": 10},
                         "languages": {"en": 36, "ja": 4}, "task_language": {}},
               "test": {"examples": 7, "documents": 2, "tasks": {"qa": 7}, "languages": {"en": 7},
                        "task_language": {}}},
    "examples": 47,
    "filters": {"qa": {"examples_in": 24, "kept": 17, "dropped": 7, "drop_share": 0.2917,
                       "drops": {"grounding": {"low_overlap": 5}, "language": {"mismatch": 2}},
                       "pii_masked": {"PERSON": 2, "PHONE_NUMBER": 1}, "pii_copied_from_chunk": {"PERSON": 3}},
                "summary": {"examples_in": 5, "kept": 5, "dropped": 0, "drop_share": 0.0, "drops": {}}},
    "review": {"accept": 8, "edit": 1, "reject": 3, "acceptance_rate": 0.75},
    "general_mixing": {},
    "warnings": {},
    "fingerprints": {},
}


def test_dataset_section_shows_card(tmp_path: Path, tiny_model_dir: Path, tiny_student_dir: Path) -> None:
    workspace = make_workspace(tmp_path, tiny_model_dir, tiny_student_dir)
    write_json(workspace.stage_dir("build") / "data_card.json", CARD)

    report.run(make_config(tmp_path), workspace)

    html = (workspace.stage_dir("report") / "report.html").read_text(encoding="utf-8")
    section = html.split("<h2>Dataset</h2>")[1].split("<h2>")[0]
    assert "47 examples after the quality filters and the review." in section
    assert "<td>classify 30, qa 10</td>" in section
    assert "<td>en 36, ja 4</td>" in section
    assert "<td>grounding/low_overlap 5; language/mismatch 2</td>" in section
    assert "0.29" in section
    assert "<td>PERSON 2, PHONE_NUMBER 1 / PERSON 3</td>" in section
    assert "<td>none / none</td>" in section
    assert "8 accepted, 1 edited,\n3 rejected (acceptance 0.75)" in section
    data = read_json(workspace.stage_dir("report") / "report.json")
    assert data["dataset"]["filters"]["qa"]["dropped"] == 7
