"""Thai "given family" pairs found by set lookups equal those of a regex alternation over the name lists."""

from __future__ import annotations

import random

import pytest
import regex

from shochu.protect.names import load_gazetteer
from shochu.protect.person import PersonRecognizer


@pytest.fixture(scope="module")
def recognizer() -> PersonRecognizer:
    person = PersonRecognizer()
    person.load()
    return person


def alternation_pairs(text: str) -> list[tuple[int, int]]:
    """The plain definition: a listed given name, one space, a listed family name that ends the Thai run."""
    names = load_gazetteer()
    given = "|".join(regex.escape(name) for name in names.th_first)
    family = "|".join(regex.escape(name) for name in names.th_last)
    pattern = regex.compile(rf"(?:{given})[ ](?:{family})(?!\p{{Thai}})")
    return [match.span() for match in pattern.finditer(text)]


def test_pair_inside_running_text(recognizer: PersonRecognizer) -> None:
    names = load_gazetteer()
    given, family = names.th_first[0], names.th_last[0]
    text = f"เรียน{given} {family}ครับ และ{given} {family}"
    found = [(item.start, item.end) for item in recognizer._thai_pairs(text)]
    start = text.rindex(given)
    # The first pair runs on into ครับ, so its family name is not a whole run; the second one counts.
    assert found == [(start, len(text))]
    assert found == alternation_pairs(text)


def test_random_texts_match_the_alternation(recognizer: PersonRecognizer) -> None:
    names = load_gazetteer()
    given, family = list(names.th_first), list(names.th_last)
    words = ["เรียน", "คุณ", "และ", "ครับ", "นาย", "ส่ง", "ที่", "ก", "ๆ"]
    rng = random.Random(20241205)
    pairs = 0
    for _ in range(1500):
        parts = []
        for _ in range(rng.randint(1, 8)):
            draw = rng.random()
            if draw < 0.35:
                word = rng.choice(given)
            elif draw < 0.6:
                word = rng.choice(family)
            else:
                word = rng.choice(words)
            if rng.random() < 0.3:
                word = rng.choice(words) + word
            parts += [word, rng.choice([" ", " ", "  ", "", ", ", "x"])]
        text = "".join(parts)
        expected = alternation_pairs(text)
        pairs += len(expected)
        assert [(item.start, item.end) for item in recognizer._thai_pairs(text)] == expected, text
    assert pairs > 50
