"""Pseudonyms, hashes and placeholders per entity type, without the analyzer."""

from __future__ import annotations

import regex
import pytest

from shochu.config import ProtectConfig
from shochu.protect.operators import MissingKeyError, Operators, read_key
from shochu.protect.placeholders import PlaceholderNumbering, Span
from shochu.protect.pseudonyms import Pseudonymizer

KEY = b"a-test-key-of-32-characters-0001"
OTHER_KEY = b"another-test-key-32-characters-2"
ENTITIES = ("PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS", "CREDIT_CARD")
JAPANESE_ONLY = regex.compile(r"^[\p{Han}\p{Hiragana}\p{Katakana}々ー 　]+$")
THAI_ONLY = regex.compile(r"^[\p{Thai} ]+$")


@pytest.fixture
def pseudonyms() -> Pseudonymizer:
    return Pseudonymizer(KEY)


def test_same_value_same_surrogate(pseudonyms: Pseudonymizer) -> None:
    first = pseudonyms.surrogate("PERSON", "Hanako Yamada")
    assert first == pseudonyms.surrogate("PERSON", "Hanako Yamada")
    assert first == Pseudonymizer(KEY).surrogate("PERSON", "Hanako Yamada")


def test_other_key_other_surrogate() -> None:
    values = ["Hanako Yamada", "田中太郎", "สมชาย ใจดี", "John Smith"]
    first = [Pseudonymizer(KEY).surrogate("PERSON", value) for value in values]
    second = [Pseudonymizer(OTHER_KEY).surrogate("PERSON", value) for value in values]
    assert all(a != b for a, b in zip(first, second, strict=True))


@pytest.mark.parametrize("name", ["田中太郎", "山田 花子", "佐々木", "渡辺健一郎"])
def test_japanese_name_gets_japanese_surrogate(pseudonyms: Pseudonymizer, name: str) -> None:
    surrogate = pseudonyms.surrogate("PERSON", name)
    assert JAPANESE_ONLY.match(surrogate), surrogate
    assert surrogate != name


def test_katakana_name_gets_katakana_surrogate(pseudonyms: Pseudonymizer) -> None:
    surrogate = pseudonyms.surrogate("PERSON", "タナカ")
    assert regex.fullmatch(r"\p{Katakana}+", surrogate), surrogate


def test_japanese_separator_kept(pseudonyms: Pseudonymizer) -> None:
    assert "　" in pseudonyms.surrogate("PERSON", "山田　花子")


@pytest.mark.parametrize("name", ["สมชาย ใจดี", "สมหญิง"])
def test_thai_name_gets_thai_surrogate(pseudonyms: Pseudonymizer, name: str) -> None:
    surrogate = pseudonyms.surrogate("PERSON", name)
    assert THAI_ONLY.match(surrogate), surrogate
    assert surrogate.count(" ") == name.count(" ")


def test_latin_name_gets_latin_surrogate(pseudonyms: Pseudonymizer) -> None:
    surrogate = pseudonyms.surrogate("PERSON", "John Smith")
    assert regex.fullmatch(r"[A-Z][a-z'\-]+ [A-Z][A-Za-z'\-]+", surrogate), surrogate
    assert surrogate != "John Smith"


def test_surname_alone_matches_full_name(pseudonyms: Pseudonymizer) -> None:
    assert pseudonyms.surrogate("PERSON", "Kenji Sato").split()[-1] == pseudonyms.surrogate("PERSON", "Sato")
    full = pseudonyms.surrogate("PERSON", "田中 太郎")
    assert full.split()[0] == pseudonyms.surrogate("PERSON", "田中")


def test_title_kept(pseudonyms: Pseudonymizer) -> None:
    surrogate = pseudonyms.surrogate("PERSON", "Dr. John Smith")
    assert surrogate.startswith("Dr. ")
    assert surrogate[4:] == pseudonyms.surrogate("PERSON", "John Smith")


def test_lao_name_has_no_surrogate(pseudonyms: Pseudonymizer) -> None:
    assert pseudonyms.surrogate("PERSON", "ສົມໃຈ") is None


def test_email_surrogate_uses_invalid_domain(pseudonyms: Pseudonymizer) -> None:
    surrogate = pseudonyms.surrogate("EMAIL_ADDRESS", "taro@example.com")
    assert regex.fullmatch(r"[a-z'\-]+\.[a-z'\-]+@example\.invalid", surrogate), surrogate
    assert surrogate == pseudonyms.surrogate("EMAIL_ADDRESS", "Taro@Example.COM")


@pytest.mark.parametrize("number, pattern", [
    ("202-555-0147", r"[2-9]\d\d-555-01\d\d"),
    ("+1 (202) 555-0147", r"\+1 \([2-9]\d\d\) 555-01\d\d"),
    ("+44 7911 123456", r"\+44 7700 900\d\d\d"),
    ("07911 123456", r"07700 900\d\d\d"),
    ("090-1234-5678", r"090-\d{4}-\d{4}"),
    ("０９０－１２３４－５６７８", r"０９０－[０-９]{4}－[０-９]{4}"),
    ("+66 2 123 4567", r"\+66 2 \d{3} \d{4}"),
    ("+856 20 5555 1234", r"\+856 20 \d{4} \d{4}"),
])
def test_phone_surrogate_keeps_format(pseudonyms: Pseudonymizer, number: str, pattern: str) -> None:
    surrogate = pseudonyms.surrogate("PHONE_NUMBER", number)
    assert regex.fullmatch(pattern, surrogate), surrogate
    assert surrogate != number


@pytest.mark.parametrize("address, prefix", [("10.1.2.3", ("192.0.2.", "198.51.100.", "203.0.113.")),
                                             ("fe80::1", ("2001:db8:",))])
def test_ip_surrogate_in_documentation_range(pseudonyms: Pseudonymizer, address: str, prefix: tuple) -> None:
    assert pseudonyms.surrogate("IP_ADDRESS", address).startswith(prefix)


def _replace(operators: Operators, text: str, values: list[tuple[str, str]], **options) -> str:
    spans = []
    for value, entity_type in values:
        start = text.index(value)
        spans.append(Span(start, start + len(value), entity_type, 1.0))
    return operators.replace(text, sorted(spans, key=lambda span: span.start), PlaceholderNumbering(),
                             **options).text


def test_operators_per_type() -> None:
    operators = Operators({"PERSON": "pseudonym", "EMAIL_ADDRESS": "hash", "PHONE_NUMBER": "placeholder"},
                          KEY)
    text = "John Smith <js@example.com>, 202-555-0147"
    masked = _replace(operators, text, [("John Smith", "PERSON"), ("js@example.com", "EMAIL_ADDRESS"),
                                        ("202-555-0147", "PHONE_NUMBER")])
    surrogate = Pseudonymizer(KEY).surrogate("PERSON", "John Smith")
    expected = rf"{surrogate} <\[EMAIL_ADDRESS:[0-9a-f]{{16}}\]>, \[PHONE_NUMBER_1\]"
    assert regex.fullmatch(expected, masked), masked


def test_hash_is_keyed_and_consistent() -> None:
    text = "a@example.com"
    first = _replace(Operators({"EMAIL_ADDRESS": "hash"}, KEY), text, [(text, "EMAIL_ADDRESS")])
    again = _replace(Operators({"EMAIL_ADDRESS": "hash"}, KEY), text, [(text, "EMAIL_ADDRESS")])
    other = _replace(Operators({"EMAIL_ADDRESS": "hash"}, OTHER_KEY), text, [(text, "EMAIL_ADDRESS")])
    assert first == again
    assert first != other


def test_placeholders_only_overrides_operator() -> None:
    operators = Operators({"PERSON": "pseudonym"}, KEY)
    masked = _replace(operators, "John Smith", [("John Smith", "PERSON")], placeholders_only=True)
    assert masked == "[PERSON_1]"


def test_operator_counts_and_recorded_values() -> None:
    operators = Operators({"PERSON": "pseudonym", "EMAIL_ADDRESS": "placeholder"}, KEY)
    recorded = []
    spans = [Span(0, 5, "PERSON", 1.0), Span(6, 12, "EMAIL_ADDRESS", 1.0)]
    replaced = operators.replace("ສົມໃຈ x@y.co", spans, PlaceholderNumbering(),
                                 record=lambda *entry: recorded.append(entry))
    assert replaced.text == "[PERSON_1] [EMAIL_ADDRESS_1]"
    assert dict(replaced.operators) == {("PERSON", "placeholder"): 1, ("EMAIL_ADDRESS", "placeholder"): 1}
    assert recorded == [("PERSON", "[PERSON_1]", "ສົມໃຈ"), ("EMAIL_ADDRESS", "[EMAIL_ADDRESS_1]", "x@y.co")]


def test_pseudonym_without_key_rejected() -> None:
    config = ProtectConfig(operators={"PERSON": "pseudonym"})
    with pytest.raises(MissingKeyError, match="SHOCHU_PSEUDONYM_KEY is not set"):
        Operators.from_config(config, ENTITIES, environ={})


def test_short_key_rejected() -> None:
    with pytest.raises(MissingKeyError, match="is 5 characters long"):
        read_key("SHOCHU_PSEUDONYM_KEY", "pseudonyms", {"SHOCHU_PSEUDONYM_KEY": "short"})


def test_placeholders_need_no_key() -> None:
    config = ProtectConfig(operators={"PERSON": "drop_document"})
    operators = Operators.from_config(config, ENTITIES, environ={})
    assert operators.dropping_types() == {"PERSON"}


@pytest.mark.parametrize("operators, message", [
    ({"CREDIT_CARD": "pseudonym"}, "no pseudonym generator"),
    ({"NOT_A_TYPE": "hash"}, "unknown entity type NOT_A_TYPE"),
])
def test_invalid_operator_rejected(operators: dict, message: str) -> None:
    config = ProtectConfig(entities=list(ENTITIES), operators=operators)
    with pytest.raises(ValueError, match=message):
        Operators.from_config(config, ENTITIES, environ={"SHOCHU_PSEUDONYM_KEY": KEY.decode()})
