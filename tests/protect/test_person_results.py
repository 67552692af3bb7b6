"""What the name recognizers hand to the engine: one result per span, none below the threshold."""

from __future__ import annotations

from shochu.protect.japanese_names import JapaneseNameRecognizer
from shochu.protect.person import SINGLE_NAME_SCORE, PersonRecognizer
from shochu.protect.thai_names import ThaiNameRecognizer


def spans(results) -> list[tuple[int, int, float]]:
    return sorted((result.start, result.end, result.score) for result in results)


def test_one_result_per_span_with_its_best_score() -> None:
    recognizer = PersonRecognizer()
    recognizer.load()
    text = "Dear Laura Whitfield,\nthanks. Laura Whitfield will call."
    found = recognizer.find(text)
    results = spans(recognizer.analyze(text, ["PERSON"]))

    assert len(results) == len({(start, end) for start, end, _ in results})
    best = {}
    for item in found:
        best[item.start, item.end] = max(item.score, best.get((item.start, item.end), 0.0))
    assert results == sorted((start, end, score) for (start, end), score in best.items())
    assert (5, 20, 0.85) in results


def test_threshold_drops_weak_names_only() -> None:
    text = "We met Rebecca.\nRegards,\nLaura Whitfield"
    loose, strict = PersonRecognizer(), PersonRecognizer(score_threshold=0.4)
    loose.load()
    strict.load()

    loose_results = spans(loose.analyze(text, ["PERSON"]))
    strict_results = spans(strict.analyze(text, ["PERSON"]))

    assert (7, 14, SINGLE_NAME_SCORE) in loose_results
    assert strict_results == [item for item in loose_results if item[2] >= 0.4]
    assert (25, 40, 0.85) in strict_results


def test_threshold_in_japanese_and_thai_recognizers() -> None:
    # 佐藤 alone scores 0.35: kept with no threshold, dropped at 0.4; 山田太郎様 stays.
    text = "佐藤が来た。山田太郎様"
    assert len(JapaneseNameRecognizer().analyze(text, ["PERSON"])) == 2
    assert [(r.start, r.end) for r in JapaneseNameRecognizer(0.4).analyze(text, ["PERSON"])] == [(6, 10)]
    thai = "คุณสมชาย ใจดี"
    assert ThaiNameRecognizer(0.99).analyze(thai, ["PERSON"]) == []
    assert ThaiNameRecognizer(0.4).analyze(thai, ["PERSON"])
