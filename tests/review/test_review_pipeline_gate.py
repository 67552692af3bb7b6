"""The pipeline stops before labelling a dataset whose reviewed sample fell below the threshold."""

from __future__ import annotations

from pathlib import Path

import pytest

from shochu.config import RunConfig
from shochu.pipeline import ReviewGateError, run_stage
from shochu.review.decisions import DECISIONS_FILE, append_decisions
from shochu.review.sample import ensure_sample, review_dir
from shochu.workspace import Workspace


def _review(root: Path, rejected: int) -> RunConfig:
    config = RunConfig(workspace=str(root), review={"min_acceptance": 0.8, "sample_size": 6})
    workspace = Workspace(root)
    sample = ensure_sample(workspace, config.review, config.seed)
    decisions = [{"id": card["id"], "decision": "reject" if index < rejected else "accept",
                  "reason": "off topic" if index < rejected else "", "response": None}
                 for index, card in enumerate(sample)]
    append_decisions(review_dir(root) / DECISIONS_FILE, decisions)
    return config


def test_rejected_sample_stops_label_before_teacher_loads(review_workspace: Path) -> None:
    config = _review(review_workspace, rejected=4)
    with pytest.raises(ReviewGateError) as raised:
        run_stage("label", config, Workspace(review_workspace))
    assert "below review.min_acceptance 80%" in str(raised.value)
    assert not Workspace(review_workspace).stage_dir("label").exists()


def test_gate_does_not_apply_to_other_stages(review_workspace: Path) -> None:
    config = _review(review_workspace, rejected=4)
    # The report stage is not gated: it fails for its own reason (no train stage), not the review.
    with pytest.raises(Exception) as raised:
        run_stage("report", config, Workspace(review_workspace))
    assert not isinstance(raised.value, ReviewGateError)
