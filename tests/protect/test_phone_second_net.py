"""The phonenumbers matcher runs only on the digit runs that the phone patterns left unexplained."""

from __future__ import annotations

import pytest
from presidio_analyzer.predefined_recognizers import PhoneRecognizer as PresidioPhoneRecognizer

from shochu.config import ProtectConfig
from shochu.protect import Masker
from shochu.protect.known_names import KnownNamesRecognizer


@pytest.fixture(scope="module")
def masker() -> Masker:
    return Masker(ProtectConfig())


def phones(masker: Masker, text: str) -> list[str]:
    return [text[span.start:span.end] for span in masker.detect(text)[0] if span.entity_type == "PHONE_NUMBER"]


def count_matcher_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    windows: list[str] = []
    original = PresidioPhoneRecognizer.analyze

    def counting(self, text, entities, nlp_artifacts=None):
        windows.append(text)
        return original(self, text, entities, nlp_artifacts)

    monkeypatch.setattr(PresidioPhoneRecognizer, "analyze", counting)
    return windows


def test_matcher_skips_window_of_validated_numbers(masker: Masker, monkeypatch: pytest.MonkeyPatch) -> None:
    windows = count_matcher_runs(monkeypatch)
    assert phones(masker, "Please phone 0812345678 after lunch.") == ["0812345678"]
    assert windows == []


def test_matcher_skips_window_without_digits(masker: Masker, monkeypatch: pytest.MonkeyPatch) -> None:
    windows = count_matcher_runs(monkeypatch)
    assert phones(masker, "Please phone the front desk after lunch.") == []
    assert windows == []


def test_matcher_skips_window_with_too_few_digits(masker: Masker, monkeypatch: pytest.MonkeyPatch) -> None:
    windows = count_matcher_runs(monkeypatch)
    assert phones(masker, "Please phone room 123456 after lunch.") == []
    assert windows == []


def test_matcher_still_finds_what_the_patterns_miss(masker: Masker, monkeypatch: pytest.MonkeyPatch) -> None:
    # (212)2345678 has no separator after the area code, which the patterns require.
    windows = count_matcher_runs(monkeypatch)
    text = "Phone 0812345678 or (212)2345678 if busy."
    assert phones(masker, text) == ["0812345678", "(212)2345678"]
    assert len(windows) == 1


def test_matcher_skips_validated_numbers_beside_other_digits(masker: Masker,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # The e-mail's digits and the 5-digit ticket number cannot be a phone number,
    # so the one validated number leaves nothing for the matcher.
    windows = count_matcher_runs(monkeypatch)
    text = "Phone 0812345678 or mail user5498@example.com about ticket 40213."
    assert phones(masker, text) == ["0812345678"]
    assert windows == []


def test_matcher_searches_only_after_the_validated_number(masker: Masker,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    windows = count_matcher_runs(monkeypatch)
    text = "Phone 0812345678 or (212)2345678 if busy."
    assert phones(masker, text) == ["0812345678", "(212)2345678"]
    assert windows == [" (212)2345678 if busy."]


def test_matcher_stops_before_the_next_validated_number(masker: Masker,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    windows = count_matcher_runs(monkeypatch)
    text = "Phone (212)2345678 or 081-234-5678."
    assert phones(masker, text) == ["(212)2345678", "081-234-5678"]
    assert windows == [" (212)2345678 or "]


def test_registry_keeps_registration_order() -> None:
    registry = Masker(ProtectConfig())._analyzer.registry
    entities = ["PHONE_NUMBER", "EMAIL_ADDRESS", "PERSON"]
    first = [recognizer.name for recognizer in registry.get_recognizers("en", entities)]

    assert first == [recognizer.name for recognizer in registry.recognizers
                     if set(recognizer.supported_entities) & set(entities)]
    assert first.index("ShochuPhoneRecognizer") < first.index("PhoneNumberMatcherRecognizer")
    assert [recognizer.name for recognizer in registry.get_recognizers("en", entities)] == first

    extra = KnownNamesRecognizer(["Ann Lee"])
    registry.add_recognizer(extra)
    assert [recognizer.name for recognizer in registry.get_recognizers("en", entities)] == [*first, extra.name]
    registry.remove_recognizer(extra.name)
    assert [recognizer.name for recognizer in registry.get_recognizers("en", entities)] == first
