"""Context-word scores from windows of the text, compared with Presidio's whole-text enhancer."""

from __future__ import annotations

import copy
import random

from presidio_analyzer import AnalyzerEngine, RecognizerResult
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer

from shochu.config import ProtectConfig
from shochu.protect import Masker
from shochu.protect.analyzer import LANGUAGE
from shochu.protect.context import DirectContextAnalyzerEngine, WindowContextEnhancer

SENTENCES = [
    "Call the mobile: 090-1234-5678, please.",
    "Server at 10.0.0.1 and the backup at 192.168.10.20.",
    "The ip of the box is 172.16.0.9; the gateway: 172.16.0.1",
    "連絡先は電話 03-1234-5678 です。IPアドレス 10.1.2.3",
    "โทร 081-234-5678 หรือ IP 10.20.30.40 ครับ",
    "tel:0312345678 fax: +81 3 1234 5678 (office)",
    "Order 0312345678 shipped; call me on 020 7946 0958 re: the invoice",
    "It is: 10.0.0.7.\n\n\nThe phone\nnumber\n\nis 202-555-0147 and http://10.0.0.8:8080/x",
]

# Punctuation, whitespace runs, stop words and tokens with a colon inside, around values that match.
PIECES = (list("ab:1- \n\t.,()@'\"-;!?/") + ["\u3000", "  ", "電話", "โทร", ":)", "''", "tel", "phone:", "call",
          "the", "be", "ip", "to:", "re:the", "http://a.b", "a:b", "10:30", "090-1234-5678", "10.0.0.1", "ΑΣ:the", "No.:"])


class RecordingEnhancer(WindowContextEnhancer):
    """The window enhancer, keeping a copy of each text and its results before enhancement."""

    def __init__(self, nlp_engine) -> None:
        super().__init__(nlp_engine)
        self.calls: list[tuple[str, list[RecognizerResult]]] = []

    def enhance_using_context(self, text, raw_results, nlp_artifacts, recognizers, context=None):
        self.calls.append((text, copy.deepcopy(raw_results)))
        return super().enhance_using_context(text, raw_results, nlp_artifacts, recognizers, context)


def _keys(results: list[RecognizerResult]) -> list[tuple[int, int, str, float]]:
    return sorted((result.start, result.end, result.entity_type, round(result.score, 6)) for result in results)


def test_window_scores_equal_presidio() -> None:
    masker = Masker(ProtectConfig())
    analyzer = masker._analyzer
    recorder = RecordingEnhancer(analyzer.nlp_engine)
    analyzer.context_aware_enhancer = recorder
    generator = random.Random(11)
    texts = SENTENCES + ["".join(generator.choice(PIECES) for _ in range(generator.randint(5, 200)))
                         for _ in range(300)]
    for text in texts:
        masker.detect(text)

    nlp_engine = analyzer.nlp_engine
    recognizers = analyzer.registry.recognizers
    presidio = LemmaContextAwareEnhancer()
    raised = 0
    for text, raw_results in recorder.calls:
        artifacts = nlp_engine._artifacts(nlp_engine._nlp(text), LANGUAGE)
        expected = presidio.enhance_using_context(text, copy.deepcopy(raw_results), artifacts, recognizers)
        found = WindowContextEnhancer(nlp_engine).enhance_using_context(
            text, copy.deepcopy(raw_results), None, recognizers)
        assert _keys(found) == _keys(expected), repr(text)
        raised += len(set(_keys(expected)) - set(_keys(raw_results)))
    assert len(recorder.calls) == len(texts)
    # The comparison means something only if some scores were raised.
    assert raised > 50


def test_result_at_max_score_not_tokenized() -> None:
    masker = Masker(ProtectConfig())
    analyzer = masker._analyzer
    engine = analyzer.nlp_engine
    engine.load()
    calls = []
    tokenizer = engine._nlp.tokenizer

    class CountingTokenizer:
        def __call__(self, text):
            calls.append(text)
            return tokenizer(text)

    engine._nlp.tokenizer = CountingTokenizer()
    # Both values pass their checks (public suffix, valid number), and no phone context word starts the matcher.
    spans, failed = masker.detect("Write to taro@example.com or 090-1234-5678.")
    assert failed == ()
    assert [span.entity_type for span in spans] == ["EMAIL_ADDRESS", "PHONE_NUMBER"]
    assert calls == []


def test_direct_engine_equals_presidio_engine() -> None:
    analyzer = Masker(ProtectConfig())._analyzer
    assert isinstance(analyzer, DirectContextAnalyzerEngine)
    presidio = AnalyzerEngine(registry=analyzer.registry, nlp_engine=analyzer.nlp_engine,
                              supported_languages=[LANGUAGE], context_aware_enhancer=analyzer.context_aware_enhancer)
    generator = random.Random(13)
    texts = SENTENCES + ["".join(generator.choice(PIECES) for _ in range(generator.randint(5, 120)))
                         for _ in range(60)]
    found_any = 0
    for text in texts:
        expected = presidio.analyze(text, language=LANGUAGE, score_threshold=0.4)
        found = analyzer.analyze(text, language=LANGUAGE, score_threshold=0.4)
        assert [_keys([result]) for result in found] == [_keys([result]) for result in expected], repr(text)
        found_any += len(found)
    assert found_any > 50
