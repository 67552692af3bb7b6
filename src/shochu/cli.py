"""The ``shochu`` command: one subcommand per stage, and ``run`` for all of them.

Each stage command works on a workspace folder. Its settings come from, in
order of precedence: the command's options, ``--config FILE``, the resolved
config that an earlier command saved in the workspace, and the defaults.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from pydantic import ValidationError

from shochu.config import ConfigError, RunConfig, format_errors, load_config, resolve_path

app = typer.Typer(
    help="Shochu: distil a private, task-specific student model from your documents and an "
    "open-weight teacher, entirely on this machine.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)

WorkspaceOption = Annotated[Path, typer.Option("--workspace", "-w", help="Workspace folder of the run.")]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML run config; default: the config saved in the workspace."),
]
ForceOption = Annotated[bool, typer.Option("--force", help="Run the stage even when its outputs are up to date.")]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Log debug messages.")]

# Errors caused by input or set-up, shown as one message without a traceback.
USER_ERRORS = (ConfigError, FileNotFoundError, ValueError, NotADirectoryError, PermissionError)


def _setup_logging(verbose: bool) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    # transformers' GGUF conversion and weight loading draw tqdm bars of their
    # own; Shochu's progress bars come from rich.
    os.environ.setdefault("TQDM_DISABLE", "1")
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s",
                        handlers=[RichHandler(console=console, show_path=False)], force=True)
    for noisy in ("transformers", "huggingface_hub", "presidio-analyzer", "urllib3", "filelock"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    try:
        from transformers.utils import logging as transformers_logging

        transformers_logging.set_verbosity_error()
        transformers_logging.disable_progress_bar()
    except ImportError:
        pass


def _fail(error: Exception) -> None:
    console.print(f"[bold red]error:[/] {error}")
    raise typer.Exit(code=2)


def _interrupted(command: str) -> None:
    # Click would print a bare "Aborted!"; say what survives instead.
    console.print(f"[yellow]interrupted.[/] Finished stages are kept, and label and train keep their "
                  f"finished shards and last checkpoint: run `{command}` again with the same options to resume.")
    raise typer.Exit(code=130)


def _config_for(workspace: Path, config_file: Path | None, overrides: dict[str, dict[str, Any]]) -> RunConfig:
    """Combine a config file or the workspace's saved config with command-line overrides."""
    from shochu.pipeline import load_workspace_config

    if config_file is not None:
        config = load_config(config_file, workspace)
    else:
        config = load_workspace_config(workspace) or RunConfig(workspace=str(workspace))
    data = config.model_dump(mode="json")
    data["workspace"] = str(workspace.resolve())
    for section, values in overrides.items():
        for key, value in values.items():
            if value is not None:
                data.setdefault(section, {})
                if data[section] is None:
                    data[section] = {}
                current = data[section].get(key)
                # A nested override (such as the tickets path) keeps the file's other settings
                # (such as its column mapping).
                merged = {**current, **value} if isinstance(current, dict) and isinstance(value, dict) else value
                data[section][key] = merged
    try:
        return RunConfig.model_validate(data)
    except ValidationError as error:
        source = "command-line options" if config_file is None else f"{config_file} with command-line options"
        raise ConfigError(format_errors(source, error)) from None


def _run_one(name: str, config: RunConfig, force: bool, verbose: bool) -> None:
    _setup_logging(verbose)
    from shochu.models import ModelSourceError
    from shochu.pipeline import is_main_process, launched_processes, run_stage, save_resolved_config
    from shochu.workspace import Workspace

    try:
        workspace = Workspace(Path(config.workspace))
        workspace.root.mkdir(parents=True, exist_ok=True)
        save_resolved_config(config, workspace)
        manifest, ran = run_stage(name, config, workspace, force=force)
    except (*USER_ERRORS, ModelSourceError) as error:
        _fail(error)
    except KeyboardInterrupt:
        _interrupted(f"shochu {name}")
    if launched_processes() > 1:
        from shochu.distill import distributed

        distributed.shutdown()
    if not is_main_process():
        # Under accelerate launch every process gets here; the main one speaks for all.
        return
    state = "finished" if ran else "already up to date"
    console.print(f"[green]{name}[/] {state}: {workspace.stage_dir(name)}")
    console.print_json(json.dumps(manifest.get("counts", {}), default=str))


AcceptLicenceOption = Annotated[
    list[str] | None,
    typer.Option("--accept-licence", help="Accept a licence by the id that `shochu check` names, after "
                 "reading it (repeatable); recorded in the model card. Adds to check.accept_licences."),
]


@app.command()
def run(
    config_file: Annotated[Path, typer.Option("--config", "-c", help="YAML run config, e.g. examples/acme/shochu.yaml.")],
    force: Annotated[list[str] | None, typer.Option("--force", help="Re-run this stage (repeatable).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Stop after this stage.")] = None,
    workspace: Annotated[Path | None, typer.Option("--workspace", "-w", help="Workspace folder; "
                                                   "overrides the config's `workspace`.")] = None,
    accept_licence: AcceptLicenceOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Check licences, memory and disk, then run every stage, ingest to report, skipping up-to-date ones."""
    _setup_logging(verbose)
    from shochu.models import ModelSourceError
    from shochu.pipeline import STAGE_MODULES, run_all

    requested = set(force or []) | ({until} if until else set())
    unknown = sorted(requested - set(STAGE_MODULES))
    if unknown:
        _fail(ValueError(f"unknown stage(s) {', '.join(unknown)}; stages are {', '.join(STAGE_MODULES)}"))
    try:
        config = load_config(config_file, workspace)
        if workspace is not None:
            config.workspace = str(workspace.resolve())
        config.check.accept_licences = [*config.check.accept_licences, *(accept_licence or [])]
        summary = run_all(config, force=set(force or []), until=until)
    except (*USER_ERRORS, ModelSourceError) as error:
        _fail(error)
    except KeyboardInterrupt:
        _interrupted("shochu run")
    _print_summary(summary)


def _print_summary(summary: dict[str, Any]) -> None:
    table = Table(title="Shochu run")
    table.add_column("output")
    table.add_column("path")
    for key in ("model", "report", "eval_results"):
        table.add_row(key, summary[key] or "(not produced: its stage has not run)")
    table.add_row("summary", str(Path(summary["workspace"]) / "summary.json"))
    console.print(table)
    for model, metrics in summary.get("eval_summary", {}).items():
        shown = ", ".join(f"{name} {value:.4g}" for name, value in metrics.items() if isinstance(value, int | float))
        console.print(f"  {model}: {shown}")
    if "progressive" in summary:
        console.print(f"progressive distillation: {summary['progressive']['verdict']}")
    console.print(f"total wall time: {summary['wall_time_s']:.0f} s")
    print(json.dumps({key: summary[key] for key in ("model", "report", "eval_results")}, indent=2))


@app.command()
def check(
    config_file: ConfigOption = None,
    workspace: Annotated[Path | None, typer.Option(
        "--workspace", "-w", help="Workspace that receives check/report.json; default: the config's. "
        "Without a workspace or a config, the report is printed only.")] = None,
    teacher: Annotated[str | None, typer.Option(help="Teacher: local folder, .gguf file or 'packaged:smollm2'. "
                                                "(default: the config's, else packaged:smollm2)")] = None,
    student: Annotated[str | None, typer.Option(help="Existing student: local folder or .gguf file. "
                                                "(default: the config's, else a copy pruned from the teacher)")] = None,
    student_layers: Annotated[int | None, typer.Option(help="Teacher layers kept in a pruned student. "
                                                       "(default: the config's, else 8)")] = None,
    accept_licence: AcceptLicenceOption = None,
    non_commercial: Annotated[bool, typer.Option(
        "--non-commercial", help="The student will be used for research or evaluation only; sets "
        "check.commercial_use to false.")] = False,
    data_from_api: Annotated[list[str] | None, typer.Option(
        "--data-from-api", help="Name of a commercial API model whose outputs are in the training data "
        "(repeatable); adds a warning about its provider's terms.")] = None,
    verbose: VerboseOption = False,
) -> None:
    """Check licences, memory, disk, cost and offline settings before a run; exit 1 when a problem would stop it."""
    _setup_logging(verbose)
    from shochu.models import ModelSourceError
    from shochu.preflight import render
    from shochu.preflight import stage as preflight
    from shochu.workspace import Workspace

    try:
        config, write = _check_config(config_file, workspace)
        _apply_check_options(config, teacher, student, student_layers, accept_licence, non_commercial,
                             data_from_api)
        report = preflight.run(config, Workspace(Path(config.workspace)) if write else None, log_warnings=False)
    except (*USER_ERRORS, ModelSourceError) as error:
        _fail(error)
    # The report is the command's output, so it goes to stdout (`shochu check > check.txt`). Logs stay on stderr.
    output = Console()
    render.print_report(report.as_dict(), output)
    if write:
        output.print(f"report: {Path(config.workspace) / preflight.NAME / preflight.REPORT_FILE}")
    if not report.passed:
        raise typer.Exit(code=1)


def _check_config(config_file: Path | None, workspace: Path | None) -> tuple[RunConfig, bool]:
    """Return the config for `shochu check` and whether a report is written into its workspace."""
    from shochu.pipeline import load_workspace_config

    if config_file is not None:
        config = load_config(config_file, workspace)
        if workspace is not None:
            config.workspace = str(workspace.resolve())
        return config, True
    if workspace is not None:
        config = load_workspace_config(workspace) or RunConfig(workspace=str(workspace.resolve()))
        config.workspace = str(workspace.resolve())
        return config, True
    return RunConfig(workspace=str(Path.cwd())), False


def _apply_check_options(config: RunConfig, teacher: str | None, student: str | None, student_layers: int | None,
                         accept_licence: list[str] | None, non_commercial: bool,
                         data_from_api: list[str] | None) -> None:
    # A value that names no local path stays as written, so that a hub id gets the message that explains
    # how to bring the model in.
    if teacher is not None:
        config.teacher.path = resolve_path(teacher, Path.cwd()) if Path(teacher).expanduser().exists() else teacher
    if student is not None:
        config.student.path = resolve_path(student, Path.cwd()) if Path(student).expanduser().exists() else student
    if student_layers is not None:
        config.student.layers = student_layers
    config.check.accept_licences = [*config.check.accept_licences, *(accept_licence or [])]
    if non_commercial:
        config.check.commercial_use = False
    config.check.data_from_api = [*config.check.data_from_api, *(data_from_api or [])]


@app.command()
def ingest(
    folder: Annotated[Path, typer.Argument(help="Folder of documents to ingest (searched recursively).")],
    workspace: WorkspaceOption,
    config_file: ConfigOption = None,
    chunk_tokens: Annotated[int | None, typer.Option(
        help="Maximum tokens in a chunk, counted with the teacher's tokenizer. (default: 640)")] = None,
    force: ForceOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Extract, normalise, de-duplicate and chunk every document in FOLDER."""
    overrides = {"ingest": {"input": str(folder.resolve()), "chunk_tokens": chunk_tokens}}
    _run_one("ingest", _guard(_config_for, workspace, config_file, overrides), force, verbose)


@app.command()
def protect(
    workspace: WorkspaceOption,
    config_file: ConfigOption = None,
    tickets: Annotated[Path | None, typer.Option(help="CSV of labelled support tickets to mask as well.")] = None,
    score_threshold: Annotated[float | None, typer.Option(
        help="Minimum detection score, 0 to 1; above 0.85 only values that a checksum or validator confirms "
             "are masked. (default: 0.4)")] = None,
    reveal: Annotated[str | None, typer.Option(
        help="Print the original value behind this pseudonym, hash or placeholder from protect/mapping.enc "
        "instead of running the stage; needs the key in SHOCHU_MAPPING_KEY.")] = None,
    record: Annotated[str | None, typer.Option(
        help="Chunk id, ticket-<id> or document id that --reveal searches. A numbered placeholder such as "
        "[PERSON_1] is unique only within its record: without this, every record's value is listed.")] = None,
    force: ForceOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Detect and mask personal data in the ingested chunks; write the privacy report."""
    if reveal is not None:
        _reveal(workspace, reveal, record)
        return
    overrides: dict[str, dict[str, Any]] = {"protect": {"score_threshold": score_threshold}}
    if tickets is not None:
        overrides["build"] = {"tickets": {"path": resolve_path(str(tickets), Path.cwd())}}
    _run_one("protect", _guard(_config_for, workspace, config_file, overrides), force, verbose)


def _reveal(workspace: Path, replacement: str, record: str | None) -> None:
    """Print, as JSON lines on stdout, the mapping entries whose replacement is ``replacement``."""
    from shochu.protect.vault import MAPPING_FILE, mapping_key, reveal

    try:
        entries = reveal(workspace / "protect" / MAPPING_FILE, replacement, mapping_key(), record)
    except USER_ERRORS as error:
        _fail(error)
    if not entries:
        where = f" in record {record}" if record else ""
        _fail(ValueError(f"{replacement!r} is not in the mapping{where}; check the spelling, and pass "
                         f"--record for a numbered placeholder"))
    for entry in entries:
        print(json.dumps(entry, ensure_ascii=False))


@app.command()
def build(
    workspace: WorkspaceOption,
    config_file: ConfigOption = None,
    teacher: Annotated[str | None, typer.Option(help="Teacher: local folder, .gguf file or 'packaged:smollm2'.")] = None,
    max_chunks: Annotated[int | None, typer.Option(help="Chunks used for teacher-generated tasks. (default: all)")] = None,
    max_new_tokens: Annotated[int | None, typer.Option(help="Generation budget per response, in tokens. (default: 96)")] = None,
    force: ForceOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Turn protected chunks and tickets into train/validation/test examples, split by document."""
    overrides = {"teacher": {"path": teacher}, "build": {"max_chunks": max_chunks, "max_new_tokens": max_new_tokens}}
    _run_one("build", _guard(_config_for, workspace, config_file, overrides), force, verbose)


@app.command()
def label(
    workspace: WorkspaceOption,
    config_file: ConfigOption = None,
    top_k: Annotated[int | None, typer.Option(help="Teacher log-probabilities kept per token. (default: 32)")] = None,
    temperature: Annotated[float | None, typer.Option(help="Soft-label temperature T. (default: 2.0)")] = None,
    force: ForceOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Store the teacher's top-k soft labels for every train and validation example."""
    overrides = {"label": {"top_k": top_k, "temperature": temperature}}
    _run_one("label", _guard(_config_for, workspace, config_file, overrides), force, verbose)


@app.command()
def train(
    workspace: WorkspaceOption,
    config_file: ConfigOption = None,
    max_steps: Annotated[int | None, typer.Option(help="Optimizer steps at most. (default: 300)")] = None,
    kd_ratio: Annotated[float | None, typer.Option(help="Weight of the KD term, 0 to 1. (default: 0.5)")] = None,
    learning_rate: Annotated[float | None, typer.Option(help="Peak learning rate. (default: 2e-4)")] = None,
    force: ForceOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Distil the student (KD + CE on response tokens), keeping the best checkpoint."""
    overrides = {"train": {"max_steps": max_steps, "kd_ratio": kd_ratio, "learning_rate": learning_rate}}
    _run_one("train", _guard(_config_for, workspace, config_file, overrides), force, verbose)


@app.command(name="eval")
def evaluate(
    workspace: WorkspaceOption,
    config_file: ConfigOption = None,
    max_examples: Annotated[int | None, typer.Option(help="Test examples per task at most. (default: all)")] = None,
    force: ForceOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Compare teacher, initial student and distilled student on the test split."""
    overrides = {"eval": {"max_examples": max_examples}}
    _run_one("eval", _guard(_config_for, workspace, config_file, overrides), force, verbose)


@app.command()
def export(workspace: WorkspaceOption, config_file: ConfigOption = None, force: ForceOption = False,
           verbose: VerboseOption = False) -> None:
    """Write the best student as a Hugging Face folder with a model card."""
    _run_one("export", _guard(_config_for, workspace, config_file, {}), force, verbose)


@app.command()
def report(workspace: WorkspaceOption, config_file: ConfigOption = None, force: ForceOption = False,
           verbose: VerboseOption = False) -> None:
    """Write the self-contained HTML report of the run."""
    _run_one("report", _guard(_config_for, workspace, config_file, {}), force, verbose)


@app.command()
def review(
    workspace: WorkspaceOption,
    config_file: ConfigOption = None,
    port: Annotated[int | None, typer.Option(help="Port of the review page; 0 picks a free one. (default: 8765)")] = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on. Anything but a loopback address "
                                             "exposes the sample to the network. (default: 127.0.0.1)")] = None,
    size: Annotated[int | None, typer.Option(help="Examples in a newly drawn sample. (default: 60)")] = None,
    resample: Annotated[bool, typer.Option("--resample", help="Draw a new sample; decisions are kept.")] = False,
    status: Annotated[bool, typer.Option("--status", help="Print acceptance per stratum and the gate's "
                                         "verdict; exit 1 when the gate fails.")] = False,
    export_file: Annotated[Path | None, typer.Option("--export", help="Write the sample to FILE for offline "
                                                     "review: .jsonl, .csv, or .json for Label Studio tasks.")] = None,
    import_file: Annotated[Path | None, typer.Option("--import", help="Read decisions from a file written by "
                                                     "--export (or a Label Studio export of it).")] = None,
    verbose: VerboseOption = False,
) -> None:
    """Spot-check a stratified sample of the built examples on a local page: accept, reject or edit."""
    config = _guard(_config_for, workspace, config_file, {"review": {"port": port, "sample_size": size}})
    _setup_logging(verbose)
    from shochu.review import command

    try:
        if status:
            result = command.status(config, console)
        elif export_file is not None:
            command.export(config, export_file, resample, console)
            return
        elif import_file is not None:
            result = command.import_file(config, import_file, console)
        else:
            result = command.serve(config, host, port, resample, console)
    except (*USER_ERRORS, OSError) as error:
        _fail(error)
    if status and not result.passed:
        raise typer.Exit(code=1)


@app.command()
def tune(
    workspace: WorkspaceOption,
    config_file: ConfigOption = None,
    trials: Annotated[int | None, typer.Option(help="Finished trials the study should hold; a resumed study "
                                               "runs only the missing ones. (default: 8)")] = None,
    timeout_min: Annotated[float | None, typer.Option(help="Start no new trial after this many minutes. "
                                                      "(default: no limit)")] = None,
    restart: Annotated[bool, typer.Option("--restart", help="Delete the study in WORKSPACE/tune and start "
                                          "a new one.")] = False,
    verbose: VerboseOption = False,
) -> None:
    """Search T, kd_ratio and learning rate with short training runs; print the best values as config lines."""
    config = _guard(_config_for, workspace, config_file, {"tune": {"trials": trials, "timeout_min": timeout_min}})
    _setup_logging(verbose)
    from shochu.models import ModelSourceError
    from shochu.pipeline import save_resolved_config
    from shochu.tune.search import RESULTS_FILE, run_tune
    from shochu.workspace import Workspace

    try:
        space = Workspace(Path(config.workspace))
        save_resolved_config(config, space)
        results = run_tune(config, space, restart=restart)
    except (*USER_ERRORS, ModelSourceError, RuntimeError) as error:
        _fail(error)
    except KeyboardInterrupt:
        _interrupted(f"shochu tune --workspace {workspace}")
    console.print(f"[green]tune[/] finished: {space.root / 'tune' / RESULTS_FILE}")
    console.print(f"trials: {results['counts']}")
    if results["best"] is None:
        _fail(ValueError("no trial completed, so there is no best value; run `shochu tune` again with more "
                         "trials or a longer --timeout-min"))
    best = results["best"]
    console.print(f"best trial {best['number']}: {results['metric']} {best['score']:.4f}")
    console.print("Paste into the run config (labels are made again at the new temperature):")
    print(results["config_lines"], end="")


@app.command()
def progressive(
    workspace: WorkspaceOption,
    config_file: ConfigOption = None,
    max_steps: Annotated[int | None, typer.Option(help="Optimizer steps of each student in the chain and of "
                                                  "the direct student. (default: train.max_steps)")] = None,
    force: ForceOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Distil along progressive.chain (teacher, assistant, student) and compare with direct distillation.

    `shochu run` runs the same stage when progressive.chain is set.
    """
    config = _guard(_config_for, workspace, config_file, {"progressive": {"max_steps": max_steps}})
    _setup_logging(verbose)
    from shochu.models import ModelSourceError
    from shochu.pipeline import run_stage, save_resolved_config
    from shochu.tune.progressive import RESULTS_FILE, read_results
    from shochu.workspace import Workspace

    try:
        space = Workspace(Path(config.workspace))
        save_resolved_config(config, space)
        _, ran = run_stage("progressive", config, space, force=force)
    except (*USER_ERRORS, ModelSourceError) as error:
        _fail(error)
    except KeyboardInterrupt:
        _interrupted(f"shochu progressive --workspace {workspace}")
    state = "finished" if ran else "already up to date"
    console.print(f"[green]progressive[/] {state}: {space.root / 'progressive' / RESULTS_FILE}")
    console.print(read_results(space.root)["verdict"])


@app.command("export-lm-eval")
def export_lm_eval(
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder that receives one task YAML and one "
                                         "JSONL data file per task; created when missing.")],
    workspace: WorkspaceOption,
    config_file: ConfigOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Write the evaluation sets of eval.extra_sets as lm-evaluation-harness task files."""
    config = _guard(_config_for, workspace, config_file, {})
    _setup_logging(verbose)
    from shochu.evaluate.lm_eval_export import TAG
    from shochu.evaluate.lm_eval_export import export_lm_eval as write_tasks

    try:
        paths = write_tasks(config, output)
    except USER_ERRORS as error:
        _fail(error)
    for path in paths:
        console.print(f"wrote {path}")
    console.print(f"run them with: lm_eval --model hf --model_args pretrained=MODEL --apply_chat_template "
                  f"--include_path {output.resolve()} --tasks {TAG}")


def _guard(function, *args):
    """Call ``function``; show a config error as a message instead of a traceback."""
    try:
        return function(*args)
    except ConfigError as error:
        _fail(error)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        console.print("interrupted; re-run the same command to resume")
        sys.exit(130)
