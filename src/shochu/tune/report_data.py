"""The tuning and progressive-distillation parts of the report, read from their results files.

Both are optional: ``shochu tune`` runs outside the pipeline, and the progressive
stage runs only when ``progressive.chain`` is set, so the report shows each only
when its ``results.json`` exists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shochu.workspace import fingerprint_file, read_json

TUNE_RESULTS = Path("tune") / "results.json"
PROGRESSIVE_RESULTS = Path("progressive") / "results.json"


def results_fingerprints(root: Path) -> dict[str, str]:
    """Fingerprints of the results files present, so that the report runs again when one changes."""
    return {path.as_posix(): fingerprint_file(root / path) for path in (TUNE_RESULTS, PROGRESSIVE_RESULTS)
            if (root / path).is_file()}


def tuning_section(root: Path) -> dict[str, Any] | None:
    """Return the trials table, the best trial and its config lines, or None without tune results."""
    path = root / TUNE_RESULTS
    if not path.is_file():
        return None
    results = read_json(path)
    keys = ("metric", "direction", "steps_per_trial", "stored_temperature", "labels", "trials", "counts", "best",
            "config_lines")
    return {key: results.get(key) for key in keys}


def progressive_section(root: Path) -> dict[str, Any] | None:
    """Return each step's training outcome and metrics and the comparison with direct distillation, or None."""
    path = root / PROGRESSIVE_RESULTS
    if not path.is_file():
        return None
    results = read_json(path)
    models = [{"name": entry["name"], "layers": entry["layers"], "learns_from": entry["learns_from"],
               "steps_run": entry["train"]["steps_run"], "wall_time_s": entry["train"]["wall_time_s"],
               "kl_to_teacher": entry["metrics"].get("kl_to_teacher"), "rouge_l": entry["metrics"].get("rouge_l"),
               "macro_f1": entry["metrics"].get("macro_f1")}
              for entry in [*results["steps"], results["direct"]]]
    return {"chain": results["chain"], "teacher_layers": results["teacher_layers"],
            "max_steps": results["max_steps"], "models": models, "comparison": results["comparison"],
            "verdict": results["verdict"]}
