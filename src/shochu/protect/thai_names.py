"""Thai PERSON recognizer built on the name lists bundled in the PyThaiNLP wheel.

PyThaiNLP ships lists of Thai given names (female and male) and family names
inside its package, so reading them needs no download. Before the import, this
module points PyThaiNLP's data folder at a temporary directory and switches
on its offline and read-only modes, so that nothing it does can fetch a
corpus or write under the home directory. Only the three list readers are
called; ``pythainlp.corpus.download`` never is.

Spans, with their scores:

- 0.8: a title (คุณ, นาย, นาง, นางสาว, ด.ช., ด.ญ.) followed by a known given
  name, and the family name one space after it when there is one. The title
  stays outside the span. After a title the family name need not be in the
  list, since most Thai family names are rare: the next word counts as one
  unless it starts with a common word that follows a name in a sentence
  (มา, ได้, และ, ...). Privacy comes first here: an unlisted word after a titled
  name is masked with it.
- 0.6: a known given name followed by one space and a known family name,
  with no title, standing as words of their own.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import regex
from presidio_analyzer import AnalysisExplanation, LocalRecognizer, RecognizerResult

from shochu.protect.recognizers import FailClosed

TITLE_SCORE = 0.8
PAIR_SCORE = 0.6

# นางสาว comes before นาง so that the longer title matches. ขอบคุณ (thank you) ends in คุณ and is no title.
TITLE = regex.compile(r"(?<!ขอบ)(?:นางสาว|นาง|นาย|คุณ|ด\.ช\.|ด\.ญ\.)[ ]?")
# A Thai word that starts after something that is not a Thai letter.
WORD_START = regex.compile(r"(?<!\p{Thai})\p{Thai}")
# Particles that may follow a name with no space in between.
PARTICLES = ("ครับ", "ค่ะ", "คะ", "นะ", "จ้ะ")
# Given names of two letters (ที่, วัน) are common words too; a name must be longer.
MIN_NAME_CHARS = 3
# The word one space after a titled given name: Thai letters and marks up to the next space or symbol.
NEXT_WORD = regex.compile(r"\p{Thai}{2,30}(?!\p{Thai})")
# Words that follow a name in a sentence (verbs, conjunctions, prepositions, particles). A word
# after a titled given name that starts with one of them is not taken for a family name.
SENTENCE_WORDS = ("มา", "ไป", "ได้", "จะ", "และ", "กับ", "ที่", "ซึ่ง", "เป็น", "ให้", "ว่า", "ก็", "ยัง", "เคย",
                  "ไม่", "แจ้ง", "โทร", "ติดต่อ", "ส่ง", "ขอ", "หรือ", "ของ", "จาก", "ถึง", "เพื่อ", "อยู่", "มี",
                  "เข้า", "ออก", "บอก", "ทำ", "เดินทาง", "ประชุม", "รับ", "ซื้อ", "ขาย", "ใช้", "ต้อง", "คือ",
                  *PARTICLES)

_lock = threading.Lock()
_lists: ThaiNameLists | None = None


@dataclass(frozen=True)
class ThaiNameLists:
    """Given and family names from PyThaiNLP's bundled corpus files."""

    given: frozenset[str]
    family: frozenset[str]
    longest: int


def _offline_environment() -> None:
    # PYTHAINLP_DATA and the older PYTHAINLP_DATA_DIR must not both be set, or PyThaiNLP raises.
    if not os.environ.get("PYTHAINLP_DATA") and not os.environ.get("PYTHAINLP_DATA_DIR"):
        os.environ["PYTHAINLP_DATA"] = os.path.join(tempfile.gettempdir(), "shochu-pythainlp-data")
    os.environ["PYTHAINLP_OFFLINE"] = "1"
    os.environ["PYTHAINLP_READ_ONLY"] = "1"


def thai_name_lists() -> ThaiNameLists:
    """Return PyThaiNLP's bundled Thai name lists, read once per process."""
    global _lists
    with _lock:
        if _lists is None:
            _offline_environment()
            from pythainlp.corpus.common import thai_family_names, thai_female_names, thai_male_names

            given = frozenset(name for name in (*thai_female_names(), *thai_male_names())
                              if len(name) >= MIN_NAME_CHARS)
            family = frozenset(name for name in thai_family_names() if len(name) >= MIN_NAME_CHARS)
            _lists = ThaiNameLists(given, family, max(len(name) for name in given | family))
        return _lists


def _known_prefixes(text: str, start: int, names: frozenset[str], longest: int) -> list[int]:
    """Return the ends of the known names that start at ``start``, longest first."""
    ends = []
    for end in range(min(len(text), start + longest), start + MIN_NAME_CHARS - 1, -1):
        if text[start:end] in names:
            ends.append(end)
    return ends


_THAI_LETTER = regex.compile(r"\p{Thai}")


def _word_ends_at(text: str, end: int) -> bool:
    """Return True when no Thai letter follows ``end``, or only a polite particle does."""
    if end == len(text) or not _THAI_LETTER.match(text[end]):
        return True
    return text.startswith(PARTICLES, end)


class ThaiNameRecognizer(FailClosed, LocalRecognizer):
    """PERSON spans from titles and given-family pairs found in PyThaiNLP's name lists."""

    def __init__(self, score_threshold: float = 0.0) -> None:
        """``score_threshold`` drops results below it at once: with no context words, nothing can raise them."""
        super().__init__(supported_entities=["PERSON"], name="ShochuThaiNameRecognizer")
        self.score_threshold = score_threshold

    def load(self) -> None:
        # The lists load on the first Thai text, not when the analyzer is built.
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        return [self._result(start, end, score) for start, end, score in self.find(text)
                if score >= self.score_threshold]

    def find(self, text: str) -> list[tuple[int, int, float]]:
        """Return ``(start, end, score)`` for every Thai name in ``text``."""
        if not _THAI_LETTER.search(text):
            return []
        lists = thai_name_lists()
        return [*self._titled(text, lists), *self._pairs(text, lists)]

    def _titled(self, text: str, lists: ThaiNameLists) -> Iterator[tuple[int, int, float]]:
        for title in TITLE.finditer(text):
            start = title.end()
            given_ends = _known_prefixes(text, start, lists.given, lists.longest)
            if not given_ends:
                continue
            for given_end in given_ends:
                end = self._family_end(text, given_end, lists)
                if end is not None or _word_ends_at(text, given_end):
                    yield start, end or self._unlisted_family_end(text, given_end) or given_end, TITLE_SCORE
                    break

    def _pairs(self, text: str, lists: ThaiNameLists) -> Iterator[tuple[int, int, float]]:
        for word in WORD_START.finditer(text):
            start = word.start()
            for given_end in _known_prefixes(text, start, lists.given, lists.longest):
                end = self._family_end(text, given_end, lists)
                if end is not None:
                    yield start, end, PAIR_SCORE
                    break

    @staticmethod
    def _family_end(text: str, given_end: int, lists: ThaiNameLists) -> int | None:
        """Return the end of a known family name one space after ``given_end``, or None."""
        if not text.startswith(" ", given_end):
            return None
        for end in _known_prefixes(text, given_end + 1, lists.family, lists.longest):
            if _word_ends_at(text, end):
                return end
        return None

    @staticmethod
    def _unlisted_family_end(text: str, given_end: int) -> int | None:
        """Return the end of the word one space after a titled given name, unless it reads as the sentence going on."""
        if not text.startswith(" ", given_end):
            return None
        word = NEXT_WORD.match(text, given_end + 1)
        if word is None or word.group().startswith(SENTENCE_WORDS):
            return None
        return word.end()

    def _result(self, start: int, end: int, score: float) -> RecognizerResult:
        explanation = AnalysisExplanation(recognizer=self.name, original_score=score,
                                          textual_explanation="Thai person name from PyThaiNLP's lists")
        return RecognizerResult(
            entity_type="PERSON", start=start, end=end, score=score, analysis_explanation=explanation,
            recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                                  RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id},
        )
