"""Rich tables for ``shochu check``: licences, memory plan, disk, cost and the overall verdict."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from shochu.preflight.plan import DOES_NOT_FIT, FITS, GIB, MIB

_STYLES = {"allowed": "green", "accepted": "yellow", "needs acceptance": "red", "blocked": "bold red",
           FITS: "green", "tight": "yellow", DOES_NOT_FIT: "bold red"}


def _styled(value: str) -> str:
    style = _STYLES.get(value)
    return f"[{style}]{value}[/]" if style else value


def _gib(value: float) -> str:
    """Format bytes in GiB, or in MiB below 1 GiB so that small parts do not show as zero."""
    return f"{value / GIB:.2f} GiB" if value >= GIB else f"{value / MIB:.1f} MiB"


def licence_table(licences: dict[str, Any]) -> Table:
    table = Table(title=f"Licences (table checked {licences['table_checked']}, "
                        f"commercial use: {'yes' if licences['commercial_use'] else 'no'})")
    for column in ("model", "licence", "category", "status", "found in"):
        table.add_column(column)
    for model in licences["models"]:
        if model["inherits"]:
            table.add_row(model["role"], f"same as the {model['inherits']}", "", "", model["location"])
        for finding in model["findings"]:
            table.add_row(model["role"], f"{finding['id']} ({finding['name']})", finding["category"],
                          _styled(finding["status"]), ", ".join(finding["sources"]) or "-")
    return table


def memory_table(memory: dict[str, Any]) -> Table:
    machine = memory["machine"]
    gpus = ", ".join(f"{gpu['name']} {_gib(gpu['total'])}" for gpu in machine["gpus"]) or "none"
    table = Table(title=f"Memory plan (RAM {_gib(machine['ram_total'])}, {_gib(machine['ram_available'])} free; "
                        f"GPU: {gpus})")
    for column in ("phase", "estimate", "verdict", "largest parts"):
        table.add_column(column)
    rows = [*memory.get("phases", []), memory["lora"], *memory["serving"]] if "lora" in memory else []
    for phase in rows:
        largest = sorted(phase["parts"].items(), key=lambda item: -item[1])[:3]
        verdict = _styled(phase["verdict"])
        if "gpu_verdict" in phase:
            verdict += f" (GPU: {_styled(phase['gpu_verdict'])})"
        table.add_row(phase["name"], _gib(phase["bytes"]), verdict,
                      ", ".join(f"{name} {_gib(size)}" for name, size in largest))
    return table


def disk_table(disk: dict[str, Any]) -> Table:
    table = Table(title=f"Disk plan ({_gib(disk['free'])} free at {disk['path']})")
    table.add_column("files")
    table.add_column("estimate")
    for name, size in disk["parts"].items():
        table.add_row(name, _gib(size))
    table.add_row("[bold]total[/]", f"[bold]{_gib(disk['bytes'])}[/] {_styled(disk['verdict'])}")
    return table


def cost_table(cost: dict[str, Any]) -> Table:
    result, currency = cost["result"], cost["result"]["currency"]
    table = Table(title=f"Cost break-even ({currency})")
    table.add_column("item")
    table.add_column("value", justify="right")
    rows = [
        ("API cost per month", result["api_per_month"]),
        ("power per month", result["power_per_month"]),
        ("on-premises running cost per month", result["running_per_month"]),
        ("on-premises cost per month, amortised", result["onprem_per_month"]),
        ("API cost per 1M tokens", result["api_per_million"]),
        ("on-premises cost per 1M tokens", result["onprem_per_million"]),
        ("months to break even", result["break_even_months"]),
    ]
    for name, value in rows:
        table.add_row(name, "n/a" if value is None else f"{value:,.2f}")
    if result["utilisation"] is not None:
        table.add_row("share of serving hours needed", f"{result['utilisation']:.0%}")
    return table


def print_report(report: dict[str, Any], console: Console) -> None:
    """Print every table, then the warnings, the problems and the verdict."""
    console.print(licence_table(report["licences"]))
    memory = report["memory"]
    if "phases" in memory:
        console.print(memory_table(memory))
        console.print(disk_table(memory["disk"]))
    for phase, texts in memory.get("suggestions", {}).items():
        for text in texts:
            console.print(f"[yellow]suggestion[/] {phase}: {text}")
    if report["cost"]:
        console.print(cost_table(report["cost"]))
        console.print(report["cost"]["summary"])
    for warning in report["warnings"]:
        console.print(f"[yellow]warning:[/] {warning}")
    for problem in report["problems"]:
        console.print(f"[bold red]problem:[/] {problem}")
    verdict = "[green]passed[/]" if report["passed"] else f"[bold red]{len(report['problems'])} problem(s)[/]"
    console.print(f"check {verdict}")
