"""Cost break-even: a commercial API against the student served on the organisation's own hardware.

All amounts are in the currency of the ``check.cost`` settings; tokens are counted per month.

    api per month      = input tokens / 1e6 x input price + output tokens / 1e6 x output price
    power per month    = watts / 1000 x hours per month x price per kWh
    running per month  = power per month + other monthly costs
    break-even months  = hardware cost / (api per month - running per month)
    on-prem per month  = hardware cost / amortisation months + running per month
    cost per 1M tokens = cost per month / (input + output tokens per month / 1e6)

There is no break-even when running the hardware costs as much as the API or more.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from shochu.config import CostConfig

SECONDS_PER_HOUR = 3600


@dataclass(frozen=True)
class CostResult:
    currency: str
    api_per_month: float
    power_per_month: float
    running_per_month: float
    onprem_per_month: float
    api_per_million: float | None
    onprem_per_million: float | None
    monthly_saving: float
    break_even_months: float | None
    # Share of the serving hours that the monthly volume needs at the stated throughput.
    utilisation: float | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def break_even(cost: CostConfig) -> CostResult:
    """Compute monthly costs, cost per million tokens and the months until the hardware pays for itself."""
    api = (cost.monthly_input_tokens * cost.api_input_price_per_million
           + cost.monthly_output_tokens * cost.api_output_price_per_million) / 1e6
    power = cost.power_watts / 1000 * cost.hours_per_month * cost.power_price_per_kwh
    running = power + cost.other_monthly_cost
    onprem = cost.hardware_cost / cost.amortisation_months + running

    millions = (cost.monthly_input_tokens + cost.monthly_output_tokens) / 1e6
    saving = api - running
    months = cost.hardware_cost / saving if saving > 0 else None
    return CostResult(
        currency=cost.currency,
        api_per_month=api,
        power_per_month=power,
        running_per_month=running,
        onprem_per_month=onprem,
        api_per_million=api / millions if millions else None,
        onprem_per_million=onprem / millions if millions else None,
        monthly_saving=saving,
        break_even_months=months,
        utilisation=_utilisation(cost),
    )


def _utilisation(cost: CostConfig) -> float | None:
    if cost.throughput_tokens_per_second is None:
        return None
    capacity = cost.throughput_tokens_per_second * cost.hours_per_month * SECONDS_PER_HOUR
    return cost.monthly_output_tokens / capacity


def summary(result: CostResult, amortisation_months: int) -> str:
    """Describe the outcome in one sentence, for logs and the CLI."""
    if result.break_even_months is None:
        return ("no break-even: running the hardware costs as much as the API or more "
                f"({result.running_per_month:,.2f} against {result.api_per_month:,.2f} {result.currency} a month)")
    months = math.ceil(result.break_even_months * 10) / 10
    within = "within" if result.break_even_months <= amortisation_months else "after"
    return (f"break-even after {months:g} months, {within} the {amortisation_months}-month amortisation period; "
            f"saving {result.monthly_saving:,.2f} {result.currency} a month once paid off")
