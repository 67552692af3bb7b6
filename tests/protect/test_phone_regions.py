"""The protect.phone_regions setting: validated at config load and applied to phone detection."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from shochu.config import ConfigError, ProtectConfig, load_config
from shochu.protect import Masker


def test_default_regions() -> None:
    assert ProtectConfig().phone_regions == ["JP", "TH", "LA", "US", "GB"]


def test_unknown_regions_rejected_at_load(tmp_path: Path) -> None:
    path = tmp_path / "shochu.yaml"
    path.write_text("workspace: ws\nprotect:\n  phone_regions: [JP, UK, FE]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    message = str(raised.value)
    assert "protect.phone_regions" in message
    assert "'UK', 'FE'" in message
    assert "GB, not UK" in message
    assert "JP, TH, LA, US, GB" in message


def test_empty_regions_rejected() -> None:
    with pytest.raises(ValidationError, match="at least one region"):
        ProtectConfig(phone_regions=[])


def test_lower_case_region_accepted() -> None:
    assert ProtectConfig(phone_regions=["jp", " th"]).phone_regions == ["JP", "TH"]


def test_regions_decide_national_numbers() -> None:
    text = "Call 415-555-2671 or 03-1234-5678."
    japan_only = Masker(ProtectConfig(entities=["PHONE_NUMBER"], phone_regions=["JP"]))
    assert japan_only.mask(text).text == "Call 415-555-2671 or [PHONE_NUMBER_1]."
    us_only = Masker(ProtectConfig(entities=["PHONE_NUMBER"], phone_regions=["US"]))
    assert us_only.mask(text).text == "Call [PHONE_NUMBER_1] or 03-1234-5678."


def test_international_numbers_found_in_any_region() -> None:
    masker = Masker(ProtectConfig(entities=["PHONE_NUMBER"], phone_regions=["US"]))
    assert masker.mask("Vientiane +856 20 5555 1234").text == "Vientiane [PHONE_NUMBER_1]"


def test_number_matcher_needs_context_word(masker: Masker) -> None:
    # The phonenumbers matcher runs only near context words; a bare valid number stays.
    assert masker.mask("Mobile number is 0812345678, thanks").text == "Mobile number is [PHONE_NUMBER_1], thanks"
    assert masker.mask("Order 0312345678 shipped").text == "Order 0312345678 shipped"
