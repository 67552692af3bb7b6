"""Recognizers with their own ``analyze`` fail closed too, and name themselves, not the engine."""

from __future__ import annotations

import logging

import pytest

from shochu.config import ProtectConfig
from shochu.protect import Masker
from shochu.protect.japanese_names import JapaneseNameRecognizer
from shochu.protect.known_names import KnownNamesRecognizer
from shochu.protect.person import PersonRecognizer
from shochu.protect.recognizers import FAILED_KEY, PhoneNumberMatcherRecognizer
from shochu.protect.thai_names import ThaiNameRecognizer

TEXT = "Call Somchai Jaidee on 090-1234-5678, phone 02 123 4567. 山田太郎様、คุณสมชาย ใจดี"
SECRET = "090-1234-5678"

# The recognizer, and a method that its own analyze calls.
CASES = [
    (PersonRecognizer, "find"),
    (JapaneseNameRecognizer, "find"),
    (ThaiNameRecognizer, "find"),
    (PhoneNumberMatcherRecognizer, "_context_windows"),
    (KnownNamesRecognizer, "_result"),
]


@pytest.fixture(scope="module")
def masker() -> Masker:
    return Masker(ProtectConfig(), known_names=["Somchai Jaidee"])


@pytest.mark.parametrize(("recognizer_class", "method"), CASES, ids=lambda value: getattr(value, "__name__", value))
def test_error_inside_own_analyze_withholds_the_text(masker: Masker, recognizer_class, method: str,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    recognizer = next(item for item in masker._analyzer.registry.recognizers if type(item) is recognizer_class)

    def broken(*args, **kwargs):
        raise RuntimeError(f"could not parse {SECRET}")

    monkeypatch.setattr(recognizer, method, broken)
    with caplog.at_level(logging.WARNING):
        spans, failed = masker.detect(TEXT)

    assert spans == []
    assert failed == (recognizer.name,)
    assert masker.mask(TEXT).text == "[REDACTED]"
    assert any(recognizer.name in record.getMessage() for record in caplog.records)
    assert not any(SECRET in record.getMessage() for record in caplog.records)


def test_direct_call_returns_one_failed_whole_text_result(monkeypatch: pytest.MonkeyPatch) -> None:
    recognizer = PersonRecognizer()
    recognizer.load()
    monkeypatch.setattr(recognizer, "find", lambda text: 1 / 0)

    results = recognizer.analyze(TEXT, ["PERSON"])

    assert [(result.start, result.end, result.score) for result in results] == [(0, len(TEXT), 1.0)]
    assert results[0].recognition_metadata[FAILED_KEY] is True


def test_working_recognizer_unchanged_by_the_wrapper(masker: Masker) -> None:
    spans, failed = masker.detect(TEXT)
    found = {(TEXT[span.start:span.end], span.entity_type) for span in spans}
    assert failed == ()
    assert ("Somchai Jaidee", "PERSON") in found
    assert ("山田太郎", "PERSON") in found
    assert (SECRET, "PHONE_NUMBER") in found
