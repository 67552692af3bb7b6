"""Hand-written eval results and check report for the report tests, in the formats the stages write.

A plain module, not a conftest.py, for the reason given in ``evaluate_workspace``.
"""

from __future__ import annotations

import time

from evaluate_workspace import TEST_RECORDS

from shochu.workspace import Workspace, write_json, write_jsonl

PLANTED_OUTPUT = "<b onmouseover=alert(1)>bold</b>"

MODEL_PATHS = [("teacher", "models/teacher"), ("student_init", "models/student-init"), ("student", "train/best")]
EVAL_RESULTS = {
    "models": {name: {"path": path, "parameters": 1000, "tokens_per_second": 50.0, "load_seconds": 0.1,
                      "latency": {"prompts": 2, "new_tokens_per_prompt": 32, "mean_prompt_tokens": 20.0,
                                  "time_to_first_token_ms_median": 12.5 * (index + 1),
                                  "time_to_first_token_ms_max": 30.0, "decode_tokens_per_second": 80.0 + index,
                                  "dtype": "float32"},
                      "peak_memory": {"bytes": (index + 1) * 300 * 2**20, "device": "cpu",
                                      "method": "peak RSS (VmHWM, reset before loading) minus RSS before loading"}}
               for index, (name, path) in enumerate(MODEL_PATHS)},
    "tasks": {
        "qa": {"kind": "qa", "source": "build/test.jsonl", "examples": 3, "kl_examples": 3, "metrics": {
            "teacher": {"rouge_l": 0.6, "kl_to_teacher": 0.0},
            "student_init": {"rouge_l": 0.1, "kl_to_teacher": 0.9},
            "student": {"rouge_l": 0.4, "kl_to_teacher": 0.3}},
            "intervals": {
            "teacher": {"rouge_l": [0.5, 0.7], "kl_to_teacher": [0.0, 0.0]},
            "student_init": {"rouge_l": [0.0, 0.2], "kl_to_teacher": [0.8, 1.0]},
            "student": {"rouge_l": [0.3, 0.5], "kl_to_teacher": None}}},
        "classify": {"kind": "classify", "source": "build/test.jsonl", "examples": 2, "metrics": {
            name: {"accuracy": 0.5, "macro_f1": 0.25 + 0.25 * (name == "teacher"), "valid_choice_share": 1.0}
            for name in ("teacher", "student_init", "student")},
            "intervals": {name: {"accuracy": [0.0, 1.0], "macro_f1": [0.0, 1.0], "valid_choice_share": [1.0, 1.0]}
                          for name in ("teacher", "student_init", "student")},
            "confusion": {name: {"classes": ["billing", "network"], "columns": ["billing", "network", "(other)"],
                                 "counts": [[1, 0, 0], [0, 0, 1]]}
                          for name in ("teacher", "student_init", "student")}},
    },
    "summary": {"teacher": {"kl_to_teacher": 0.0, "rouge_l": 0.6, "accuracy": 0.5, "macro_f1": 0.5},
                "student_init": {"kl_to_teacher": 0.9, "rouge_l": 0.1, "accuracy": 0.5, "macro_f1": 0.25},
                "student": {"kl_to_teacher": 0.3, "rouge_l": 0.4, "accuracy": 0.5, "macro_f1": 0.25}},
    "capacity_gap": [
        {"task": "classify", "kind": "classify", "metric": "macro_f1", "teacher": 0.5, "student": 0.25,
         "gap": 0.25, "interval": [0.0, 0.5], "gap_closed": 0.0},
        {"task": "qa", "kind": "qa", "metric": "rouge_l", "teacher": 0.6, "student": 0.4, "gap": 0.2,
         "interval": [0.1, 0.3], "gap_closed": 0.6},
    ],
    "bootstrap": {"resamples": 1000, "confidence": 0.95, "seed": 0,
                  "method": "percentile bootstrap over test examples"},
}


def finish_eval(workspace: Workspace) -> None:
    """Write eval predictions and results and close the eval stage, as if it had run."""
    predictions = [{"id": r["id"], "task": r["task"], "model": model,
                    "prediction": PLANTED_OUTPUT if model == "teacher" else f"answer {r['id']}"}
                   for r in TEST_RECORDS for model in ("teacher", "student_init", "student")]
    write_jsonl(workspace.stage_dir("eval") / "predictions.jsonl", predictions)
    write_json(workspace.stage_dir("eval") / "results.json", EVAL_RESULTS)
    workspace.finish("eval", {"max_new_tokens": 6}, {}, {"examples": {"qa": 3}}, time.time())



GIB = 1 << 30
MIB = 1 << 20


def _phase(name: str, size: int, verdict: str, **extra) -> dict:
    return {"name": name, "description": f"{name} estimate", "bytes": size, "parts": {"weights": size},
            "notes": [], "verdict": verdict, **extra}


def _finding(licence_id: str, name: str, category: str, status: str, sources: list[str]) -> dict:
    return {"id": licence_id, "name": name, "category": category, "status": status, "sources": sources,
            "conditions": [], "rule": "a rule"}


CHECK_REPORT = {
    "passed": False,
    "checked_at": "2026-12-01T10:00:00+0000",
    "problems": ["memory: train needs about 20.0 GiB"],
    "warnings": ["offline mode is off"],
    "licences": {
        "table_checked": "2026-11-30",
        "commercial_use": True,
        "models": [
            {"role": "teacher", "location": "/models/teacher", "inherits": None, "findings": [
                _finding("llama3.1", "Llama 3.1 Community License", "conditional", "accepted", ["LICENSE"]),
                _finding("Apache-2.0", "Apache License 2.0", "permissive", "allowed", ["README.md front matter"]),
            ]},
            {"role": "student", "location": "/models/student", "inherits": None, "findings": [
                _finding("CC-BY-NC-4.0", "Creative Commons Attribution Non Commercial 4.0", "non-commercial",
                         "blocked", ["config.json"]),
            ]},
        ],
        "accepted": [{"licence": "llama3.1", "name": "Llama 3.1 Community License", "model": "teacher",
                      "conditions": []}],
        "data_from_api": [],
    },
    "memory": {
        "machine": {"ram_total": 16 * GIB, "ram_available": 12 * GIB, "cpus": 2, "disk_path": "/data",
                    "disk_free": 100 * GIB, "cgroup_limit": None,
                    "gpus": [{"name": "Test GPU", "total": 24 * GIB, "free": 20 * GIB}]},
        "phases": [_phase("label", 3 * GIB, "fits"), _phase("train", 20 * GIB, "does not fit")],
        "lora": _phase("train (LoRA)", 14 * GIB, "tight"),
        "serving": [_phase("serve Q4_0", 300 * MIB, "fits", gpu_verdict="fits")],
        "disk": {"parts": {"models/teacher (float32)": 2 * GIB}, "bytes": 5 * GIB, "free": 100 * GIB,
                 "path": "/data", "examples": 1000, "soft_labels_per_1000_examples": 19020000,
                 "verdict": "fits", "message": "disk: fine"},
        "suggestions": {},
    },
    "cost": {
        "inputs": {"currency": "USD", "amortisation_months": 36},
        "result": {"currency": "USD", "api_per_month": 1350.0, "power_per_month": 153.3,
                   "running_per_month": 153.3, "onprem_per_month": 986.6333, "api_per_million": 5.4,
                   "onprem_per_million": 3.9465333, "monthly_saving": 1196.7, "break_even_months": 25.0689,
                   "utilisation": 0.1902587},
        "summary": "break-even after 25.1 months, within the 36-month amortisation period",
    },
    "offline": {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "huggingface_hub_offline": True},
}


def write_check_report(workspace: Workspace) -> None:
    write_json(workspace.stage_dir("check") / "report.json", CHECK_REPORT)
