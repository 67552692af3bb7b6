"""Render the report page for a workspace that has tune or progressive results but no pipeline stages."""

from __future__ import annotations

from pathlib import Path

from shochu.evaluate.report_html import render_report
from shochu.tune.report_data import progressive_section, tuning_section


def render_minimal_report(root: Path) -> str:
    data = {"workspace": root.name, "written_at": "2026-01-01T00:00:00", "preflight": None,
            "training": {"best_step": None, "best_val_loss": None, "steps_run": None, "stopped_early": None,
                         "train": [], "validation": []},
            "eval": None, "timings": [], "counts": {}, "samples": [], "dataset": None,
            "tuning": tuning_section(root), "progressive": progressive_section(root)}
    return render_report(data, {"training": None, "eval": None, "tasks": None}, ["teacher", "student"])
