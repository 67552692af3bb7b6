"""Print the review summary in the terminal: acceptance per stratum and the gate's verdict."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from shochu.review.gate import GateResult


def print_summary(result: GateResult, console: Console) -> None:
    table = Table(title="Review: acceptance per stratum")
    for column in ("stratum", "sampled", "reviewed", "accepted", "edited", "rejected", "acceptance"):
        table.add_column(column, justify="left" if column == "stratum" else "right")
    for name, counts in [*result.strata.items(), ("all", result.overall)]:
        rate = "-" if counts.acceptance is None else f"{counts.acceptance:.0%}"
        below = counts.acceptance is not None and counts.acceptance < result.min_acceptance
        numbers = (counts.sampled, counts.decided, counts.accepted, counts.edited, counts.rejected)
        table.add_row(name, *map(str, numbers), f"[red]{rate}[/]" if below else rate)
    console.print(table)

    verdict = "[green]passes[/]" if result.passed else "[bold red]fails[/]"
    console.print(f"gate {verdict} (review.min_acceptance {result.min_acceptance:.0%}, "
                  f"review.required {str(result.required).lower()})")
    for reason in result.reasons:
        console.print(f"  - {reason}")
