"""Break-even of on-premises serving against an API, on round numbers worked out by hand."""

from __future__ import annotations

import pytest

from shochu.config import CostConfig
from shochu.preflight.cost import break_even, summary

# API: 100M input tokens at 2.50 and 20M output tokens at 10.00 per million = 450 a month.
# Power: 500 W for 730 hours at 0.20 per kWh = 73; with 27 of other costs, 100 a month to run.
PRICES = dict(api_input_price_per_million=2.5, api_output_price_per_million=10.0,
              monthly_input_tokens=100e6, monthly_output_tokens=20e6, hardware_cost=7000.0,
              amortisation_months=36, power_watts=500.0, power_price_per_kwh=0.2, other_monthly_cost=27.0)


def test_api_cost_per_month() -> None:
    assert break_even(CostConfig(**PRICES)).api_per_month == pytest.approx(450.0)


def test_power_cost_per_month() -> None:
    assert break_even(CostConfig(**PRICES)).power_per_month == pytest.approx(73.0)


def test_break_even_months() -> None:
    # 7000 / (450 - 100)
    assert break_even(CostConfig(**PRICES)).break_even_months == pytest.approx(20.0)


def test_onprem_cost_per_million() -> None:
    # (7000 / 36 + 100) a month over 120 million tokens.
    assert break_even(CostConfig(**PRICES)).onprem_per_million == pytest.approx((7000 / 36 + 100) / 120)


def test_api_cost_per_million() -> None:
    assert break_even(CostConfig(**PRICES)).api_per_million == pytest.approx(3.75)


def test_no_break_even_when_running_costs_more() -> None:
    result = break_even(CostConfig(**{**PRICES, "other_monthly_cost": 400.0}))
    assert result.break_even_months is None
    assert summary(result, 36).startswith("no break-even")


def test_utilisation_from_throughput() -> None:
    # 20M output tokens against 50 tokens/s for 730 hours.
    result = break_even(CostConfig(**PRICES, throughput_tokens_per_second=50.0))
    assert result.utilisation == pytest.approx(20e6 / (50 * 730 * 3600))


def test_utilisation_absent_without_throughput() -> None:
    assert break_even(CostConfig(**PRICES)).utilisation is None


def test_summary_within_amortisation() -> None:
    text = summary(break_even(CostConfig(**PRICES)), 36)
    assert text.startswith("break-even after 20 months, within the 36-month amortisation period")


def test_zero_volume_has_no_cost_per_million() -> None:
    result = break_even(CostConfig(**{**PRICES, "monthly_input_tokens": 0, "monthly_output_tokens": 0}))
    assert result.onprem_per_million is None
