"""The check stage: licence gate, memory and disk plan, cost break-even and offline settings.

``shochu check`` runs it on its own and ``shochu run`` runs it before the first stage. It
writes ``check/report.json`` and ``check/manifest.json`` and raises ``PreflightError`` when
it finds a problem that must stop a run: a licence that is blocked or not yet accepted, or
(with ``check.stop_on_shortfall``) a memory or disk estimate beyond this machine. Unlike the
pipeline stages it runs every time, because the machine and the acceptances can change
between runs, and it never makes a later stage run again.
"""

from __future__ import annotations

import csv
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shochu.config import RunConfig
from shochu.preflight import cost as cost_module
from shochu.preflight import licence, plan
from shochu.preflight.machine import Machine, probe
from shochu.preflight.shapes import ModelShape, read_shape
from shochu.workspace import Workspace, read_json, write_json

if TYPE_CHECKING:
    from shochu.models import ModelSource

logger = logging.getLogger(__name__)

NAME = "check"
REPORT_FILE = "report.json"
QUANTIZATIONS = ("Q4_0", "Q8_0", "F16")
OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


class PreflightError(ValueError):
    """Problems that stop a run; the message lists each one with the setting or flag that resolves it."""


@dataclass
class CheckReport:
    """Everything the check found, as written to ``check/report.json``."""

    licences: dict[str, Any]
    memory: dict[str, Any]
    cost: dict[str, Any] | None
    offline: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "checked_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "problems": self.problems, "warnings": self.warnings, "licences": self.licences,
                "memory": self.memory, "cost": self.cost, "offline": self.offline}


def settings(config: RunConfig) -> dict[str, Any]:
    return {**config.section("check"), "teacher": config.section("teacher"), "student": config.section("student")}


# --- the stage --------------------------------------------------------------


def run(config: RunConfig, workspace: Workspace | None, log_warnings: bool = True) -> CheckReport:
    """Run every check and, with a workspace, write the report and the manifest.

    Problems found are returned in the report; ``enforce`` raises for them. Warnings are logged
    unless ``log_warnings`` is false, for a caller that prints the report itself.
    """
    started = time.time()
    from shochu.models import resolve_source

    teacher = resolve_source(config.teacher.path)
    student = resolve_source(config.student.path) if config.student.path else None

    licences, licence_problems, licence_warnings = check_licences(config, teacher, student)
    memory, memory_problems, memory_warnings = check_memory(config, teacher, student, workspace)
    offline, offline_warnings = check_offline()
    input_problems = check_inputs(config)
    protect_problems, protect_warnings = check_protect(config)
    report = CheckReport(
        licences=licences,
        memory=memory,
        cost=check_cost(config),
        offline=offline,
        problems=input_problems + protect_problems + licence_problems + memory_problems,
        warnings=licence_warnings + memory_warnings + offline_warnings + protect_warnings,
    )
    for warning in report.warnings if log_warnings else []:
        logger.warning("check: %s", warning)
    if workspace is not None:
        _write(config, workspace, report, started)
    return report


def enforce(report: CheckReport) -> None:
    """Raise ``PreflightError`` listing the report's problems, if it has any."""
    if report.passed:
        return
    raise PreflightError(f"the preflight check found {len(report.problems)} problem(s) that stop the run:\n"
                         + "\n".join(f"- {problem}" for problem in report.problems)
                         + "\nRun `shochu check` for the full report.")


def _write(config: RunConfig, workspace: Workspace, report: CheckReport, started: float) -> None:
    folder = workspace.stage_dir(NAME)
    data = report.as_dict()
    write_json(folder / REPORT_FILE, data)
    counts = {"problems": len(report.problems), "warnings": len(report.warnings),
              "accepted_licences": len(report.licences["accepted"])}
    workspace.finish(NAME, settings(config), {}, counts, started)


def read_report(workspace: Workspace) -> dict[str, Any] | None:
    """Return the last check report of a workspace, or None when ``shochu check`` has not written one."""
    path = workspace.stage_dir(NAME) / REPORT_FILE
    return read_json(path) if path.is_file() else None


# --- inputs -----------------------------------------------------------------


def check_inputs(config: RunConfig) -> list[str]:
    """Return problems with the configured document folder and tickets file, found before any stage runs."""
    problems = []
    folder = Path(config.ingest.input) if config.ingest.input else None
    if folder is not None:
        if not folder.exists():
            problems.append(f"ingest.input {folder} does not exist; set it to the folder of documents to ingest")
        elif not folder.is_dir():
            problems.append(f"ingest.input {folder} is a file; set it to the folder that contains the documents")
        elif not os.access(folder, os.R_OK | os.X_OK):
            problems.append(f"ingest.input {folder} cannot be read by this user; grant read access or copy it")
    if config.build.tickets is not None:
        problems.extend(_ticket_problems(config))
    return problems


def _ticket_problems(config: RunConfig) -> list[str]:
    tickets = config.build.tickets
    path = Path(tickets.path)
    if not path.is_file():
        return [f"build.tickets.path {path} is not a file; set it to the CSV of labelled tickets or remove "
                f"build.tickets"]
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError):
        # The protect stage reads the file with encoding detection and reports what it cannot read.
        return []
    wanted = {"build.tickets.text_columns": tickets.text_columns, "build.tickets.label_column": [tickets.label_column],
              "build.tickets.id_column": [tickets.id_column]}
    problems = []
    for setting, columns in wanted.items():
        missing = [column for column in columns if column not in header]
        if missing:
            problems.append(f"{path}: no column {', '.join(repr(c) for c in missing)} for {setting}; the header has "
                            f"{', '.join(repr(c) for c in header)}. Set {setting} to the file's column name")
    return problems


# --- protect settings ---------------------------------------------------------

def check_protect(config: RunConfig) -> tuple[list[str], list[str]]:
    """Return problems and warnings of the protect settings that are found before any document is read.

    The keys that the pseudonym and hash operators and the reversible mapping
    need are checked here, so that a missing key stops ``shochu run`` before
    ingest, not after it. Key values are never shown.
    """
    from shochu.protect.analyzer import SUPPORTED_ENTITIES
    from shochu.protect.masker import threshold_warning
    from shochu.protect.operators import Operators
    from shochu.protect.vault import mapping_key

    problems = []
    try:
        Operators.from_config(config.protect, SUPPORTED_ENTITIES)
    except ValueError as error:
        problems.append(str(error))
    if config.protect.reversible_mapping:
        try:
            mapping_key()
        except ValueError as error:
            problems.append(str(error))

    warning = threshold_warning(config.protect.score_threshold)
    return problems, [warning] if warning else []


# --- licences ---------------------------------------------------------------


def check_licences(config: RunConfig, teacher: ModelSource, student: ModelSource | None
                   ) -> tuple[dict[str, Any], list[str], list[str]]:
    """Classify the teacher's and the student's licences; return the record, the problems and the warnings."""
    table = licence.load_table()
    accepted = {name.strip().lower() for name in config.check.accept_licences}
    commercial = config.check.commercial_use

    teacher_evidence = licence.read_evidence(teacher.folder, teacher.gguf_file, config.teacher.licence,
                                             "config teacher.licence")
    models = [_model_record("teacher", teacher.label, teacher_evidence, table, accepted, commercial)]
    if student is not None:
        student_evidence = licence.read_evidence(student.folder, student.gguf_file)
        models.append(_model_record("student", student.label, student_evidence, table, accepted, commercial))
    else:
        models.append({"role": "student", "location": f"{config.student.layers} layers pruned from the teacher",
                       "inherits": "teacher", "findings": []})

    problems = [licence.describe_problem(model["role"], model["location"], licence.Finding(**finding))
                for model in models for finding in model["findings"]
                if finding["status"] in (licence.NEEDS_ACCEPTANCE, licence.BLOCKED)]
    record = {
        "table_checked": table.checked,
        "commercial_use": commercial,
        "models": models,
        "accepted": [{"licence": finding["id"], "name": finding["name"], "model": model["role"],
                      "conditions": finding["conditions"]}
                     for model in models for finding in model["findings"] if finding["status"] == licence.ACCEPTED],
        "data_from_api": list(config.check.data_from_api),
    }
    return record, problems, licence.api_data_warnings(config.check.data_from_api)


def _model_record(role: str, location: str, evidence: list[licence.Evidence], table: licence.LicenceTable,
                  accepted: set[str], commercial: bool) -> dict[str, Any]:
    findings = licence.findings_for(evidence, table, accepted, commercial)
    logger.info("check: %s licence(s): %s", role, ", ".join(f"{f.id} ({f.status})" for f in findings))
    return {"role": role, "location": location, "inherits": None, "findings": [f.as_dict() for f in findings]}


# --- memory and disk --------------------------------------------------------


def plan_settings(config: RunConfig) -> plan.PlanSettings:
    return plan.PlanSettings(
        label_batch=config.label.batch_size,
        train_batch=config.train.batch_size,
        grad_accum=config.train.grad_accum,
        max_seq_len=config.label.max_seq_len,
        response_tokens=min(config.build.max_new_tokens + 1, config.label.max_seq_len),
        top_k=config.label.top_k,
        lora_rank=config.check.lora_rank,
        student_layers=None if config.student.path else config.student.layers,
        online_teacher=config.train.teacher == "online",
    )


def check_memory(config: RunConfig, teacher: ModelSource, student: ModelSource | None,
                 workspace: Workspace | None) -> tuple[dict[str, Any], list[str], list[str]]:
    """Estimate every phase, compare with this machine and suggest settings that fit."""
    teacher_shape = read_shape(teacher.folder, teacher.gguf_file)
    if student is not None:
        student_shape = read_shape(student.folder, student.gguf_file)
    elif config.student.layers > teacher_shape.layers:
        problem = (f"student.layers is {config.student.layers}, but the teacher has only {teacher_shape.layers} "
                   f"layers; set student.layers to at most {teacher_shape.layers}")
        return {"teacher": teacher_shape.as_dict()}, [problem], []
    else:
        student_shape = teacher_shape.pruned(config.student.layers)

    sizes = plan_settings(config)
    machine = probe(workspace.root if workspace else None)
    phases = _memory_phases(teacher_shape, student_shape, sizes, workspace)
    problems, warnings = [], []
    phase_records = []
    for phase in phases:
        outcome = plan.verdict(phase.total, machine.ram_available, machine.ram_total)
        phase_records.append({**phase.as_dict(), "verdict": outcome})
        message = _shortfall(phase, outcome, machine)
        if outcome == plan.DOES_NOT_FIT and config.check.stop_on_shortfall:
            problems.append(message)
        elif outcome != plan.FITS:
            warnings.append(message)

    suggestions = _suggestions(phase_records, teacher_shape, student_shape, sizes, machine,
                               pruned_from=None if student is not None else teacher_shape)
    disk = _disk(config, teacher_shape, student_shape, sizes, machine, workspace)
    if disk["verdict"] == plan.DOES_NOT_FIT:
        (problems if config.check.stop_on_shortfall else warnings).append(disk["message"])

    record = {
        "machine": machine.as_dict(),
        "settings": sizes.__dict__,
        "teacher": teacher_shape.as_dict(),
        "student": student_shape.as_dict(),
        "phases": phase_records,
        "lora": lora_record(student_shape, sizes, machine),
        "serving": serving_records(config, student_shape, machine),
        "disk": disk,
        "suggestions": suggestions,
    }
    if problems and suggestions:
        problems.append("settings that would fit: " + "; ".join(_flatten(suggestions)))
    return record, problems, warnings


def _memory_phases(teacher: ModelShape, student: ModelShape, sizes: plan.PlanSettings,
                   workspace: Workspace | None) -> list[plan.Phase]:
    phases = []
    imported = workspace is not None and (workspace.models_dir / "teacher" / "shochu_model.json").is_file()
    if not imported:
        phases.append(plan.import_phase(teacher))
    train = plan.train_phase(student, sizes.train_batch, sizes.max_seq_len, sizes.response_tokens)
    if sizes.online_teacher:
        # The label stage does not run. The teacher runs inside every training step instead.
        train.parts.update(plan.online_teacher_parts(teacher, sizes.train_batch, sizes.max_seq_len))
        train.notes.append("train.teacher is 'online': the teacher's weights and forward pass are counted here.")
    else:
        phases.append(plan.label_phase(teacher, sizes.label_batch, sizes.max_seq_len, sizes.response_tokens))
    phases.append(train)
    return phases


def _shortfall(phase: plan.Phase, outcome: str, machine: Machine) -> str:
    need = phase.total / plan.GIB
    if outcome == plan.DOES_NOT_FIT:
        return (f"memory: {phase.name} needs about {need:.1f} GiB ({phase.description}), but this machine has "
                f"{machine.ram_total / plan.GIB:.1f} GiB of RAM")
    return (f"memory: {phase.name} needs about {need:.1f} GiB and {machine.ram_available / plan.GIB:.1f} GiB "
            f"is free now; close other programs or use the suggested settings")


def _suggestions(phase_records: list[dict[str, Any]], teacher: ModelShape, student: ModelShape,
                 sizes: plan.PlanSettings, machine: Machine, pruned_from: ModelShape | None
                 ) -> dict[str, list[str]]:
    """Suggest settings for each phase that does not fit comfortably in the memory free now."""
    short = {record["name"] for record in phase_records if record["verdict"] != plan.FITS}
    suggestions: dict[str, list[str]] = {}
    if "label" in short:
        found = plan.label_suggestion(teacher, sizes, machine.ram_available)
        suggestions["label"] = [found] if found else []
    if "train" in short:
        suggestions["train"] = plan.train_suggestions(student, sizes, machine.ram_available, pruned_from)
    if "import" in short:
        suggestions["import"] = ["no setting lowers the import; import the teacher on a machine with more "
                                 "memory and copy WORKSPACE/models here"]
    return suggestions


def _flatten(suggestions: dict[str, list[str]]) -> list[str]:
    return [f"{phase}: {text}" for phase, texts in suggestions.items() for text in texts]


def lora_record(student: ModelShape, sizes: plan.PlanSettings, machine: Machine) -> dict[str, Any]:
    phase = plan.lora_phase(student, sizes.train_batch, sizes.max_seq_len, sizes.response_tokens,
                            sizes.lora_rank)
    return {**phase.as_dict(), "verdict": plan.verdict(phase.total, machine.ram_available, machine.ram_total)}


def serving_records(config: RunConfig, student: ModelShape, machine: Machine) -> list[dict[str, Any]]:
    """Estimate serving the student per quantization, against RAM and the largest GPU."""
    context = config.check.serve_context or config.label.max_seq_len
    largest_gpu = max(machine.gpus, key=lambda gpu: gpu.total, default=None)
    records = []
    for quantization in QUANTIZATIONS:
        phase = plan.serving_phase(student, quantization, context, config.check.serve_sequences)
        record = {**phase.as_dict(), "verdict": plan.verdict(phase.total, machine.ram_available, machine.ram_total)}
        if largest_gpu is not None:
            record["gpu_verdict"] = plan.verdict(phase.total, largest_gpu.free, largest_gpu.total)
        records.append(record)
    return records


def _disk(config: RunConfig, teacher: ModelShape, student: ModelShape, sizes: plan.PlanSettings,
          machine: Machine, workspace: Workspace | None) -> dict[str, Any]:
    examples = planned_examples(config, workspace)
    parts = plan.disk_parts(teacher, student, examples, sizes.response_tokens, sizes.top_k)
    need = sum(parts.values())
    outcome = plan.verdict(need, machine.disk_free, machine.disk_free)
    message = (f"disk: the workspace needs about {need / plan.GIB:.1f} GiB and {machine.disk_path} has "
               f"{machine.disk_free / plan.GIB:.1f} GiB free; free space or move the workspace")
    per_thousand = plan.soft_label_bytes(1000, sizes.response_tokens, sizes.top_k)
    return {"parts": parts, "bytes": need, "free": machine.disk_free, "path": machine.disk_path,
            "examples": examples, "soft_labels_per_1000_examples": per_thousand, "verdict": outcome,
            "message": message}


def planned_examples(config: RunConfig, workspace: Workspace | None) -> int | None:
    """Return how many examples the label stage will store: exact after build, else an upper bound or None."""
    if workspace is not None and workspace.is_complete("build"):
        examples = workspace.manifest("build")["counts"].get("examples")
        if isinstance(examples, dict):
            return int(examples.get("train", 0)) + int(examples.get("validation", 0))

    build = config.build
    generated = len([task for task in build.tasks if task in ("qa", "summary")])
    chunks = build.max_chunks
    if chunks is None and workspace is not None and workspace.is_complete("ingest"):
        chunks = workspace.manifest("ingest")["counts"].get("chunks")
    if generated and chunks is None:
        return None
    total = generated * (chunks or 0) + _ticket_count(config)
    return round(total * (1 - build.split.test))


def _ticket_count(config: RunConfig) -> int:
    build = config.build
    if "classify" not in build.tasks or build.tickets is None:
        return 0
    path = Path(build.tickets.path)
    if not path.is_file():
        return build.max_tickets or 0
    with open(path, encoding="utf-8", newline="") as handle:
        rows = max(sum(1 for _ in csv.reader(handle)) - 1, 0)
    return min(rows, build.max_tickets or rows)


# --- cost and offline -------------------------------------------------------


def check_cost(config: RunConfig) -> dict[str, Any] | None:
    cost = config.check.cost
    if cost is None:
        return None
    result = cost_module.break_even(cost)
    return {"inputs": cost.model_dump(mode="json"), "result": result.as_dict(),
            "summary": cost_module.summary(result, cost.amortisation_months)}


def check_offline() -> tuple[dict[str, Any], list[str]]:
    """Report the offline switches that transformers and huggingface_hub read when they are imported."""
    from huggingface_hub import constants

    state = {name: os.environ.get(name) for name in OFFLINE_VARIABLES}
    state["huggingface_hub_offline"] = bool(constants.HF_HUB_OFFLINE)
    warnings = []
    if not state["huggingface_hub_offline"] or state["TRANSFORMERS_OFFLINE"] != "1":
        warnings.append(f"offline mode is off ({', '.join(f'{k}={v}' for k, v in state.items())}); Shochu still "
                        f"loads only local files, but unset these variables to keep every library offline")
    return state, warnings
