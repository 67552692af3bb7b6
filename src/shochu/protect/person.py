"""Rule-based PERSON recognizer: context cues first, a Faker name gazetteer second.

Scores, from strongest evidence to weakest:

- 0.85: a cue names the span: a title (Mr., Dr.), a greeting ("Dear X,"), a
  name line after a sign-off, an e-mail header or "Attendees:" list, a
  "customer: X" field, a Japanese honorific (様, さん, 氏, 殿) or a Thai title
  (คุณ, นาย, นาง, นางสาว), and, for honorifics and titles, the gazetteer
  confirms it.
- 0.6: a cue without gazetteer support, a "First Last" pair where both words
  are gazetteer names, and later mentions of a name already found.
- 0.5: later mentions of one part of a multi-word name ("Tanaka" after "Taro Tanaka").
- 0.3: a lone capitalised gazetteer word; below the default threshold of 0.4,
  so "Grant" or "Hunter" alone is kept unless a user lowers the threshold.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import regex
from presidio_analyzer import AnalysisExplanation, LocalRecognizer, RecognizerResult

from shochu.protect.names import (
    COMMON_WORDS,
    GENERIC_WORDS,
    JA_NOT_NAME_ENDINGS,
    JA_NOT_NAMES,
    JA_ORGANISATION_ENDINGS,
    TH_NOT_NAMES,
    Gazetteer,
    is_stop_word,
    load_gazetteer,
)
from shochu.protect.recognizers import FailClosed

CUE_SCORE = 0.85
WEAK_CUE_SCORE = 0.6
PAIR_SCORE = 0.6
REPEAT_SCORE = 0.6
PART_REPEAT_SCORE = 0.5
SINGLE_NAME_SCORE = 0.3

# Name shapes per script. A Latin word starts upper case and ends lower case,
# which admits McDonald, O'Brien and Smith-Jones but not IT or PX-300.
LATIN_WORD = r"\p{Lu}[\p{L}'’\-]*\p{Ll}"
LATIN_NAME = rf"{LATIN_WORD}(?:[ \t]+(?:\p{{Lu}}\.[ \t]*)?{LATIN_WORD}){{0,2}}"
JA_NAME = r"[\p{Han}\p{Katakana}々ー]{1,6}(?:[ 　]?[\p{Han}\p{Katakana}\p{Hiragana}々ー]{1,6})?"
THAI_NAME = r"\p{Thai}{2,20}(?:[ ]\p{Thai}{2,25})?"
ANY_NAME = rf"(?P<name>{LATIN_NAME}|{JA_NAME}|{THAI_NAME})"

EN_TITLE = r"(?:Mr|Mrs|Ms|Mx|Dr|Prof)"
TH_TITLE_IN_LIST = r"(?:นางสาว|นาง|นาย|คุณ)"
NOT_LETTER_BEFORE = r"(?<!\p{L})"
NOT_LETTER_AFTER = r"(?!\p{L})"

SIGN_OFF = (r"(?i:(?:best |kind |warm |warmest )?regards|best(?: wishes)?|thanks|thank you|many thanks|cheers"
            r"|sincerely|yours (?:sincerely|truly|faithfully)|respectfully)")
LIST_LABEL = (r"(?i:from|to|cc|bcc|reply-to|sender|attendees?|participants|present"
              r"|差出人|宛先|送信者|出席者|参加者|ผู้ส่ง|ผู้รับ|ถึง|ผู้เข้าร่วม(?:ประชุม)?)")
FIELD_LABEL = (r"(?i:customer(?:[ _]name)?|client(?:[ _]name)?|(?:full[ _])?name|contact(?:[ _](?:name|person))?"
               r"|requester|requested[ _]by|reporter|reported[ _]by|assignee|assigned[ _]to|owner"
               r"|employee(?:[ _]name)?|author|submitted[ _]by|created[ _]by|approved[ _]by|account[ _]holder"
               r"|氏名|名前|お名前|担当者?|顧客名|申請者|依頼者|報告者|作成者|承認者|口座名義|名義人?"
               r"|ชื่อ(?:-?นามสกุล)?|ผู้ติดต่อ)")


@dataclass(frozen=True)
class Cue:
    """A context pattern; group ``name`` is one name, group ``value`` a list of names."""

    name: str
    pattern: regex.Pattern
    score: float = CUE_SCORE


CUES = (
    Cue("title", regex.compile(rf"{NOT_LETTER_BEFORE}{EN_TITLE}\.?[ \t]+(?P<name>{LATIN_NAME}){NOT_LETTER_AFTER}")),
    Cue("greeting", regex.compile(
        rf"{NOT_LETTER_BEFORE}(?i:dear|hi|hello|hey|good (?:morning|afternoon|evening))[ \t]+"
        rf"(?:{EN_TITLE}\.?[ \t]+)?(?P<name>{LATIN_NAME})[ \t]*(?=[,!:]|$)", regex.MULTILINE)),
    Cue("signature", regex.compile(
        rf"^[ \t]*{SIGN_OFF}[ \t]*[,.!]?[ \t]*(?:\r?\n[ \t]*){{1,2}}(?P<name>{LATIN_NAME})[ \t]*\r?$",
        regex.MULTILINE)),
    Cue("sign-off line", regex.compile(
        rf"^[ \t]*{SIGN_OFF}[ \t]*,[ \t]*(?P<name>{LATIN_NAME})[ \t]*\r?$", regex.MULTILINE)),
    Cue("header or list", regex.compile(
        rf"^[ \t]*{LIST_LABEL}[ \t]*[:：][ \t]*(?P<value>[^\n]*(?:\n[ \t]*[-*•・][^\n]*)*)", regex.MULTILINE)),
    Cue("field", regex.compile(
        rf"(?:^|(?<=[,;|{{(\t\"]))[ \t]*\"?{FIELD_LABEL}\"?[ \t]*[:：=][ \t]*\"?(?P<value>[^\n,;|\"]*)",
        regex.MULTILINE)),
)

# One entry of a list value: an optional bullet or title, the name, then an
# optional honorific, <address> and (role).
LIST_ITEM = regex.compile(
    rf"[ \t\"'*•・\-]*(?:{EN_TITLE}\.?[ \t]+|{TH_TITLE_IN_LIST}[ ]?)?{ANY_NAME}"
    r"[ \t]*(?:様|さん|氏|殿)?[ \t\"']*(?:<[^>\n]*>)?[ \t]*(?:[(（][^)）\n]*[)）])?[ \t]*$"
)
LIST_SEGMENT = regex.compile(r"(?:(?![ \t]and[ \t])[^,;、，/&\n])+")

JA_HONORIFIC = regex.compile(r"(?P<run>[\p{Han}\p{Katakana}々ー]{1,10})[ 　]?(?:様(?![々式子相])|さん|氏(?![名族])|殿(?!下))")
JA_RUN_BEFORE = regex.compile(r"(?P<run>[\p{Han}\p{Katakana}々ー]{1,4})[ 　]$")
TH_TITLE = regex.compile(
    r"(?<!ขอบ|บุญ|พระ|ทรง|เจ้า)(?P<title>นางสาว|นาง|นาย|คุณ|น\.ส\.|ด\.ช\.|ด\.ญ\.|ดร\.)[ ]?"
    r"(?P<run>\p{Thai}{1,30})(?:[ ](?P<surname>\p{Thai}{2,30}))?"
)
LATIN_PAIR = regex.compile(
    rf"{NOT_LETTER_BEFORE}(?P<first>{LATIN_WORD})[ \t]+(?:\p{{Lu}}\.[ \t]*)?(?P<last>{LATIN_WORD}){NOT_LETTER_AFTER}")
LATIN_SINGLE = regex.compile(rf"{NOT_LETTER_BEFORE}{LATIN_WORD}{NOT_LETTER_AFTER}")


@dataclass(frozen=True)
class Found:
    start: int
    end: int
    score: float
    cue: str


def _alternation(names: tuple[str, ...]) -> str:
    return "|".join(regex.escape(name) for name in names)


class PersonRecognizer(FailClosed, LocalRecognizer):
    """PERSON spans from context cues, gazetteer pairs and repeats of names already found."""

    def __init__(self) -> None:
        super().__init__(supported_entities=["PERSON"], name="ShochuPersonRecognizer")

    def load(self) -> None:
        self._names: Gazetteer = load_gazetteer()
        names = self._names
        # One-character family names (林, 森) also end longer ones (中林), so
        # trimming uses only names of two or more characters.
        self._family_names = tuple(name for name in names.ja_last if len(name) >= 2)
        self._ja_pair = regex.compile(rf"(?<!\p{{Han}})(?:{_alternation(names.ja_last)})[ 　]?"
                                      rf"(?:{_alternation(names.ja_first)})(?![\p{{Han}}\p{{Katakana}}])")
        self._th_pair = regex.compile(rf"(?:{_alternation(names.th_first)})[ ](?:{_alternation(names.th_last)})"
                                      rf"(?!\p{{Thai}})")

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        found = [*self._cue_names(text), *self._honorific_names(text), *self._thai_titled_names(text),
                 *self._gazetteer_names(text)]
        found.extend(self._repeats(text, found))
        return [self._result(item) for item in found]

    def _result(self, item: Found) -> RecognizerResult:
        explanation = AnalysisExplanation(recognizer=self.name, original_score=item.score,
                                          textual_explanation=f"person name from {item.cue}")
        return RecognizerResult(
            entity_type="PERSON", start=item.start, end=item.end, score=item.score,
            analysis_explanation=explanation,
            recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                                  RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id},
        )

    # --- cues in English-style text: titles, greetings, headers, fields ---------

    def _cue_names(self, text: str) -> Iterator[Found]:
        for cue in CUES:
            for match in cue.pattern.finditer(text):
                if match.groupdict().get("name") is not None:
                    yield from self._checked(text, match.start("name"), match.end("name"), cue)
                else:
                    yield from self._list_names(text, match.start("value"), match.end("value"), cue)

    def _list_names(self, text: str, start: int, end: int, cue: Cue) -> Iterator[Found]:
        for segment in LIST_SEGMENT.finditer(text, start, end):
            item = LIST_ITEM.fullmatch(text, segment.start(), segment.end())
            if item:
                yield from self._checked(text, item.start("name"), item.end("name"), cue)

    def _checked(self, text: str, start: int, end: int, cue: Cue) -> Iterator[Found]:
        """Yield the cue's span, trimmed of trailing function words, unless it names a group."""
        value = text[start:end]
        if regex.match(LATIN_WORD, value):
            end = self._trim_latin(text, start, end)
        elif self._is_japanese_non_name(value.replace("　", " ").split(" ")[-1]):
            return
        if end > start:
            yield Found(start, end, cue.score, cue.name)

    @staticmethod
    def _trim_latin(text: str, start: int, end: int) -> int:
        """Return the end of the leading run of name-like words; ``start`` when there is none."""
        words = list(regex.finditer(r"\S+", text, pos=start, endpos=end))
        if any(word.group().strip(".") in GENERIC_WORDS for word in words):
            return start
        kept_end = start
        for index, word in enumerate(words):
            # A leading name that is also a function word ("Hi Will,") is kept;
            # "Hi There," and a trailing "Will" in "Mr. Smith Will call" are not.
            if is_stop_word(word.group()) and not (index == 0 and word.group() in COMMON_WORDS):
                break
            kept_end = word.end()
        return kept_end

    # --- Japanese honorifics and Thai titles ---------------------------------

    def _honorific_names(self, text: str) -> Iterator[Found]:
        for match in JA_HONORIFIC.finditer(text):
            start, end = match.span("run")
            start = self._extend_family_name(text, start)
            start = self._trim_to_family_name(text, start, end)
            if self._is_japanese_non_name(text[start:end]):
                continue
            confirmed = self._has_japanese_gazetteer_name(text[start:end])
            yield Found(start, end, CUE_SCORE if confirmed else WEAK_CUE_SCORE, "Japanese honorific")

    def _extend_family_name(self, text: str, start: int) -> int:
        """Include a family name written before a space: 田中 太郎様."""
        before = JA_RUN_BEFORE.search(text, max(0, start - 5), start)
        if before and before.end() == start:
            run = before.group("run")
            if run in self._names.ja_last or (len(run) <= 3 and not self._is_japanese_non_name(run)):
                return before.start("run")
        return start

    def _trim_to_family_name(self, text: str, start: int, end: int) -> int:
        """Drop words before a known family name: 営業部田中太郎様 becomes 田中太郎."""
        for position in range(start, end):
            if text.startswith(self._family_names, position):
                return position
        return start

    def _has_japanese_gazetteer_name(self, run: str) -> bool:
        compact = run.replace(" ", "").replace("　", "")
        return compact.startswith(self._names.ja_last) or compact.endswith(self._names.ja_first)

    def _is_japanese_non_name(self, run: str) -> bool:
        if not run:
            return True
        if run in JA_NOT_NAMES or run.endswith(JA_ORGANISATION_ENDINGS):
            return True
        if self._has_japanese_gazetteer_name(run):
            return False
        return any(run.endswith(word) for word in JA_NOT_NAMES if len(word) > 1) or run[-1] in JA_NOT_NAME_ENDINGS

    def _thai_titled_names(self, text: str) -> Iterator[Found]:
        for match in TH_TITLE.finditer(text):
            run = match.group("run")
            known = next((name for name in self._names.th_first if run.startswith(name)), None)
            if known is None and run.startswith(TH_NOT_NAMES):
                continue
            start = match.start("run")
            end = start + len(known) if known else match.end("run")
            if end == match.end("run") and self._includes_surname(match):
                end = match.end("surname")
            yield Found(start, end, CUE_SCORE if known else WEAK_CUE_SCORE, "Thai title")

    def _includes_surname(self, match: regex.Match) -> bool:
        surname = match.group("surname")
        if surname is None or surname.startswith(TH_NOT_NAMES):
            return False
        return match.group("title") != "คุณ" or surname in self._names.th_last

    # --- gazetteer and repeats ------------------------------------------------------

    def _gazetteer_names(self, text: str) -> Iterator[Found]:
        for match in LATIN_PAIR.finditer(text, overlapped=True):
            if self._is_latin_pair(match.group("first"), match.group("last")):
                yield Found(match.start(), match.end(), PAIR_SCORE, "gazetteer pair")
        for pattern in (self._ja_pair, self._th_pair):
            for match in pattern.finditer(text):
                yield Found(match.start(), match.end(), PAIR_SCORE, "gazetteer pair")
        for match in LATIN_SINGLE.finditer(text):
            if self._is_latin_name(match.group()):
                yield Found(match.start(), match.end(), SINGLE_NAME_SCORE, "gazetteer word")

    def _is_latin_pair(self, first: str, last: str) -> bool:
        if is_stop_word(first) or is_stop_word(last) or (first in COMMON_WORDS and last in COMMON_WORDS):
            return False
        names = self._names
        return ((first in names.latin_first and last in names.latin_last)
                or (first in names.latin_last and last in names.latin_first))

    def _is_latin_name(self, word: str) -> bool:
        if word in COMMON_WORDS or is_stop_word(word):
            return False
        return word in self._names.latin_first or word in self._names.latin_last

    def _repeats(self, text: str, found: list[Found]) -> list[Found]:
        """Mark other mentions of names found with a score of at least ``REPEAT_SCORE``."""
        values: dict[str, float] = {}
        for item in found:
            if item.score >= REPEAT_SCORE:
                values.update(self._repeatable(text[item.start:item.end]))
        repeats = []
        for value, score in values.items():
            boundary_before, boundary_after = (NOT_LETTER_BEFORE, NOT_LETTER_AFTER) if value.isascii() else ("", "")
            for match in regex.finditer(rf"{boundary_before}{regex.escape(value)}{boundary_after}", text):
                repeats.append(Found(match.start(), match.end(), score, "repeat of a name found"))
        return repeats

    def _repeatable(self, value: str) -> dict[str, float]:
        """Return the forms of a found name worth searching for elsewhere, with their scores."""
        if not value.isascii():
            return {value: REPEAT_SCORE} if len(value) >= 2 else {}
        words = value.split()
        if len(words) == 1:
            return {} if value in COMMON_WORDS else {value: REPEAT_SCORE}
        parts = {word: PART_REPEAT_SCORE for word in words if self._is_latin_name(word)}
        return {**parts, value: REPEAT_SCORE}
