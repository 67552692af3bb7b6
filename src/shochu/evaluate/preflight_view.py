"""The preflight part of the report: licence verdicts, memory and disk plan, cost break-even.

It reads the data of ``check/report.json`` (written by ``shochu check`` and at the start of
``shochu run``) and reshapes it into rows for the report page and ``report.json``. The
numbers are the check's own; nothing is estimated again here.
"""

from __future__ import annotations

from typing import Any

from shochu.preflight.licence import ACCEPTED
from shochu.workspace import fingerprint_json


def licence_rows(licences: dict[str, Any]) -> list[dict[str, Any]]:
    """Return one row per model and licence: id, name, category, status and the acceptance that allowed it."""
    rows = []
    for model in licences["models"]:
        if model.get("inherits"):
            rows.append({"model": model["role"], "location": model["location"],
                         "licence": None, "name": f"same as the {model['inherits']}", "category": None,
                         "status": None, "accepted_by": None, "sources": []})
        for finding in model["findings"]:
            accepted = finding["status"] == ACCEPTED
            rows.append({
                "model": model["role"],
                "location": model["location"],
                "licence": finding["id"],
                "name": finding["name"],
                "category": finding["category"],
                "status": finding["status"],
                "accepted_by": f"--accept-licence {finding['id']}" if accepted else None,
                "sources": list(finding["sources"]),
            })
    return rows


def memory_rows(memory: dict[str, Any]) -> list[dict[str, Any]]:
    """Return every memory estimate (phases, LoRA, serving) with the memory it is compared against.

    A phase fits when its estimate is within the RAM free at check time with a 10% margin, and
    is ``tight`` when it fits only in the total RAM; serving estimates also carry a verdict
    against the largest GPU.
    """
    if "phases" not in memory:
        return []
    machine = memory["machine"]
    rows = []
    for phase in [*memory["phases"], memory["lora"], *memory["serving"]]:
        row = {
            "item": phase["name"],
            "description": phase["description"],
            "needed_bytes": phase["bytes"],
            "available_bytes": machine["ram_available"],
            "total_bytes": machine["ram_total"],
            "verdict": phase["verdict"],
            "gpu_verdict": phase.get("gpu_verdict"),
        }
        rows.append(row)
    return rows


def disk_row(memory: dict[str, Any]) -> dict[str, Any] | None:
    disk = memory.get("disk")
    if disk is None:
        return None
    return {"needed_bytes": disk["bytes"], "free_bytes": disk["free"], "path": disk["path"],
            "verdict": disk["verdict"], "parts": dict(disk["parts"])}


def cost_view(cost: dict[str, Any] | None) -> dict[str, Any] | None:
    if cost is None:
        return None
    result = cost["result"]
    keys = ("currency", "break_even_months", "onprem_per_million", "api_per_million", "utilisation",
            "api_per_month", "onprem_per_month", "running_per_month", "monthly_saving")
    return {**{key: result[key] for key in keys},
            "amortisation_months": cost["inputs"]["amortisation_months"], "summary": cost["summary"]}


def preflight_section(check: dict[str, Any] | None) -> dict[str, Any] | None:
    """Reshape a check report for the report page; None when the workspace has none."""
    if check is None:
        return None
    memory = check["memory"]
    machine = memory.get("machine")
    return {
        "checked_at": check["checked_at"],
        "passed": check["passed"],
        "problems": list(check["problems"]),
        "warnings": list(check["warnings"]),
        "licence_table_checked": check["licences"]["table_checked"],
        "commercial_use": check["licences"]["commercial_use"],
        "licences": licence_rows(check["licences"]),
        "machine": None if machine is None else {
            "ram_total_bytes": machine["ram_total"],
            "ram_available_bytes": machine["ram_available"],
            "gpus": [{"name": gpu["name"], "total_bytes": gpu["total"]} for gpu in machine["gpus"]],
        },
        "memory": memory_rows(memory),
        "disk": disk_row(memory),
        "cost": cost_view(check["cost"]),
    }


def stable_fingerprint(check: dict[str, Any] | None) -> str | None:
    """Fingerprint the parts of a check report that depend on the config only (licences and cost).

    The memory figures change with every run because free memory does, so they are left out and a
    new check alone does not make the report stage run again.
    """
    if check is None:
        return None
    return fingerprint_json({"licences": check["licences"], "cost": check["cost"]})
