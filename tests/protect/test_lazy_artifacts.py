"""Tokenization on demand: the blank NLP engine tokenizes a text only when the context enhancer reads it."""

from __future__ import annotations

from shochu.protect.analyzer import BlankNlpEngine


def test_text_tokenized_only_when_read() -> None:
    engine = BlankNlpEngine()
    engine.load()
    artifacts = engine.process_text("Call the mobile: 090-1234-5678, please.", "en")
    assert artifacts._parsed is None
    assert [token.text for token in artifacts.tokens][:4] == ["Call", "the", "mobile", ":"]
    assert artifacts._parsed is not None
    assert artifacts.tokens_indices[:4] == [0, 5, 9, 15]
    assert artifacts.lemmas[:3] == ["call", "the", "mobile"]
    assert "mobile" in artifacts.keywords
    assert "the" not in artifacts.keywords
