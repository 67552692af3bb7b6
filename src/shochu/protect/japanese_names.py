"""Japanese PERSON recognizer built on Sudachi's proper-noun tags.

Sudachi's core dictionary tags family and given names as 名詞,固有名詞,人名
(姓 or 名). The recognizer tokenizes only the runs of kanji and kana in a text
(SplitMode C), joins a family name with the given name after it (also across
one space) and scores the run by its context:

- 0.85: a family name followed by a given name (鈴木一郎, 山田 太郎様), also
  inside a longer compound (田中角栄内閣). That equals the score of a name
  known from elsewhere in the corpus, so a known family name does not win
  the overlap and leave the given name visible: 田中角栄 is masked whole,
  not as [PERSON_1]角栄. A pair right after another kanji or katakana
  (営業部田中太郎様) scores 0.8 before an honorific and 0.6 without one,
  because Sudachi may have split it wrongly.
- 0.8: a single name with an honorific or a job title after it (様, さん, 氏,
  殿, 君, 部長), or a label or self-introduction around it (担当の佐藤です,
  佐藤と申します). The honorific stays outside the span. A family name
  alone on the line below a company or department line, followed by a given
  name that Sudachi does not tag (株式会社アクメ 総務部 / 木村 さくら), also
  scores 0.8, with the given name in the span.
- 0.35: a lone name token of two or more characters without a cue, and
  0.2 for a one-character one. Both stay under the default threshold of
  0.4; a user who lowers it gets them too.

Place names (地名) are never names. A single name token followed by a common
noun that makes it a company or a place (佐藤工業, 田中駅) is skipped. The
dictionary loads once per process, on the first text that contains kanji or
kana, and needs no network.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import regex
from presidio_analyzer import AnalysisExplanation, LocalRecognizer, RecognizerResult

from shochu.protect.cues import JA_SIGNATURE_NAME
from shochu.protect.recognizers import FailClosed

CUE_SCORE = 0.8
PAIR_SCORE = 0.85
GLUED_PAIR_SCORE = 0.6
SINGLE_SCORE = 0.35
SHORT_SINGLE_SCORE = 0.2

HONORIFICS = frozenset({
    "様", "さま", "さん", "氏", "殿", "君", "くん", "ちゃん", "先生", "部長", "課長", "係長", "社長",
    "専務", "常務", "主任", "教授", "准教授", "博士", "選手",
})
AFTER_CUES = ("です", "と申します", "と申し", "と言います", "といいます", "より")
LABEL_BEFORE = regex.compile(
    r"(?:担当者?|氏名|名前|お名前|宛先|差出人|送信者|作成者|承認者|記入者|申請者|責任者|連絡先)"
    r"(?:の|は|：|:)?[ 　]*$")

_JAPANESE_CHAR = regex.compile(r"[\p{Han}\p{Katakana}ー々]")

# Runs of Japanese script, with single spaces inside, that are worth tokenizing.
JAPANESE_RUN = regex.compile(
    r"[\p{Han}\p{Hiragana}\p{Katakana}ー々〆ヶ]+(?:[ 　][\p{Han}\p{Hiragana}\p{Katakana}ー々〆ヶ]+)*")
# SudachiPy 0.7 rejects inputs over 49,149 bytes, so a run is cut well below that.
# NOTE: a name that straddles a cut is missed.
MAX_RUN_CHARS = 4000
# How far before a run the label cue may start.
LABEL_WINDOW = 12

_lock = threading.Lock()
_tokenizer = None
# Part-of-speech tuples by Sudachi's id for them, filled as ids are first seen.
_POS_BY_ID: dict[int, tuple[str, ...]] = {}
_PERSON_NAME = ("名詞", "固有名詞", "人名")


def sudachi_tokenizer():
    """Return the process-wide Sudachi tokenizer over the core dictionary, loading it on first use."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                from sudachipy import Dictionary, SplitMode

                _tokenizer = Dictionary(dict="core").tokenizer(mode=SplitMode.C)
    return _tokenizer


@dataclass(frozen=True)
class Token:
    """One Sudachi morpheme, with offsets into the analysed text."""

    surface: str
    start: int
    end: int
    pos: tuple[str, ...]

    @property
    def name_part(self) -> str | None:
        """Return 姓 or 名 for a person-name token, else None."""
        if self.pos[:3] == _PERSON_NAME:
            return self.pos[3]
        return None


def _pos_ids(morphemes) -> list[int]:
    """Return each morpheme's part-of-speech id, remembering the tuple of ids not seen before."""
    ids = [morpheme.part_of_speech_id() for morpheme in morphemes]
    for index, pos_id in enumerate(ids):
        if pos_id not in _POS_BY_ID:
            _POS_BY_ID[pos_id] = tuple(morphemes[index].part_of_speech())
    return ids


def tokenize(text: str, start: int = 0, end: int | None = None, *, only_with_names: bool = False) -> list[Token]:
    """Tokenize ``text[start:end]`` with Sudachi and return tokens with offsets into ``text``.

    With ``only_with_names`` the result is empty unless some token is a
    person name. Most runs of Japanese text hold none, and building a Token
    per morpheme cost more than Sudachi's own tokenization.
    """
    end = len(text) if end is None else end
    tokenizer = sudachi_tokenizer()
    with _lock:
        morphemes = tokenizer.tokenize(text[start:end])
        ids = _pos_ids(morphemes)
        if only_with_names and not any(_POS_BY_ID[pos_id][:3] == _PERSON_NAME for pos_id in set(ids)):
            return []
        return [Token(morpheme.surface(), start + morpheme.begin(), start + morpheme.end(), _POS_BY_ID[pos_id])
                for morpheme, pos_id in zip(morphemes, ids)]


class JapaneseNameRecognizer(FailClosed, LocalRecognizer):
    """PERSON spans from runs of Sudachi 人名 tokens, scored by honorifics and labels around them."""

    def __init__(self, score_threshold: float = 0.0) -> None:
        """``score_threshold`` drops results below it at once: with no context words, nothing can raise them."""
        super().__init__(supported_entities=["PERSON"], name="ShochuJapaneseNameRecognizer")
        self.score_threshold = score_threshold

    def load(self) -> None:
        # The dictionary loads on the first Japanese text, not when the analyzer is built.
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        return [self._result(start, end, score) for start, end, score in self.find(text)
                if score >= self.score_threshold]

    def find(self, text: str) -> list[tuple[int, int, float]]:
        """Return ``(start, end, score)`` for every name run in ``text``."""
        found = []
        for run in JAPANESE_RUN.finditer(text):
            for start in range(run.start(), run.end(), MAX_RUN_CHARS):
                tokens = tokenize(text, start, min(run.end(), start + MAX_RUN_CHARS), only_with_names=True)
                found.extend(self._names(text, tokens))
        found.extend(self._signature_names(text))
        return found

    @staticmethod
    def _signature_names(text: str) -> Iterator[tuple[int, int, float]]:
        """Yield "family given" signature lines whose family name Sudachi tags as 姓."""
        for match in JA_SIGNATURE_NAME.finditer(text):
            family = tokenize(text, *match.span("family"), only_with_names=True)
            if len(family) == 1 and family[0].name_part == "姓":
                yield match.start("family"), match.end("given"), CUE_SCORE

    def _names(self, text: str, tokens: list[Token]) -> Iterator[tuple[int, int, float]]:
        index = 0
        while index < len(tokens):
            if tokens[index].name_part is None:
                index += 1
                continue
            first = index
            parts = [tokens[index].name_part]
            index += 1
            # A family name joins the given name right after it, also across one space.
            if parts[0] == "姓":
                following = index + 1 if index < len(tokens) and tokens[index].pos[0] == "空白" else index
                if following < len(tokens) and tokens[following].name_part == "名":
                    parts.append("名")
                    index = following + 1
            start, end = tokens[first].start, tokens[index - 1].end
            after = tokens[index] if index < len(tokens) else None
            score = self._score(text, start, end, len(parts), after)
            if score:
                yield start, end, score

    @staticmethod
    def _score(text: str, start: int, end: int, parts: int, after: Token | None) -> float:
        if parts == 2 and not _JAPANESE_CHAR.match(text, start - 1 if start else 0, start):
            return PAIR_SCORE
        # A pair glued to the kanji before it may be mis-split: 営業部田中太郎様 gives 部田 + 中太郎.
        # It scores below PersonRecognizer's honorific rule, which trims the department (0.85).
        if after is not None and after.surface in HONORIFICS:
            return CUE_SCORE
        if parts == 2:
            return GLUED_PAIR_SCORE
        cue = (LABEL_BEFORE.search(text, max(0, start - LABEL_WINDOW), start) is not None
               or text.startswith(AFTER_CUES, end))
        if cue:
            return CUE_SCORE
        # 佐藤工業, 田中駅: a noun or suffix right after the name makes it part of something else.
        if after is not None and after.start == end and after.pos[0] in ("名詞", "接尾辞"):
            return 0.0
        return SINGLE_SCORE if end - start >= 2 else SHORT_SINGLE_SCORE

    def _result(self, start: int, end: int, score: float) -> RecognizerResult:
        explanation = AnalysisExplanation(recognizer=self.name, original_score=score,
                                          textual_explanation="Japanese person name from Sudachi")
        return RecognizerResult(
            entity_type="PERSON", start=start, end=end, score=score, analysis_explanation=explanation,
            recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                                  RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id},
        )
