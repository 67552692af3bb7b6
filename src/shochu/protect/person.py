"""Rule-based PERSON recognizer: context cues first, a name gazetteer second.

The gazetteer (``names.py``) contains Faker's en_US and en_IN names, the US
Census Bureau's 1990 first names and most frequent surnames, and romanised
Asian names.

Scores, from strongest evidence to weakest:

- 0.85: a cue names the span (see ``cues.py``). Cues are titles (Mr., Dr.,
  and "mr. john smith" in any case when the gazetteer lists a part),
  greetings ("Dear X,"), a name after a sign-off ("Best regards,\nX",
  "Thanks, X."), e-mail headers and meeting-role lists ("Attendees:",
  "**Chair:**", 出席者：), "customer: X" fields, fields and table columns of
  one name part (first_name, 姓, นามสกุล) whatever the value looks like,
  "holder X" after a card number, table columns headed Name, Owner or 担当,
  a "family given" line below a company or department line (株式会社アクメ
  総務部 / 木村 さくら), and self-introductions (と申します, ผมชื่อ). A Japanese
  honorific (様, さん, 氏, 殿) or Thai title (คุณ, นาย, นาง, นางสาว) scores
  0.85 when the gazetteer confirms the name.
- 0.6: an English self-introduction ("this is X,"), two capitalised words
  right before a phone number or e-mail address, an honorific or title
  without gazetteer support, a Lao title (ທ້າວ, ນາງ, ທ່ານ), a "First Last"
  pair where both words are gazetteer names, and later mentions of a name
  already found.
- 0.5: a gazetteer first name that is no everyday word followed by an
  unknown capitalised word ("Laura Whitfield"), and later mentions of one
  part of a found name. A pair never contains a group word (Street, Author).
  A found name of score 0.5 or more also takes in a gazetteer last name right
  after it, with its score: "Mei Lin Tan".
- 0.3: a lone capitalised gazetteer word. That is below the default threshold
  of 0.4, so "Grant" or "Hunter" alone stays unmasked unless a user lowers it.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass

import regex
from presidio_analyzer import AnalysisExplanation, LocalRecognizer, RecognizerResult

from shochu.protect.cues import (
    ANY_CASE_TITLE,
    ANY_CASE_TITLE_NEEDLES,
    CUE_SCORE,
    CUES,
    HONORIFIC_NEEDLES,
    JA_HONORIFIC,
    JA_RUN_BEFORE,
    JA_SIGNATURE_NAME,
    JA_SIGNATURE_NEEDLES,
    LATIN_HONORIFIC,
    LATIN_PAIR,
    LATIN_SINGLE,
    LATIN_WORD,
    LIST_ITEM,
    LIST_SEGMENT,
    NAME_COLUMN,
    NAME_PART_CELL,
    NAME_PART_COLUMN,
    NOT_LATIN_AFTER,
    NOT_LATIN_BEFORE,
    TABLE_CELL,
    TABLE_LINE,
    TABLE_SEPARATOR,
    TH_ROLE_PREFIXES,
    TH_RUN_END,
    TH_TITLE,
    TH_TITLE_IN_LIST,
    TH_VERB,
    THING_COLUMN,
    WEAK_CUE_SCORE,
    Cue,
)
from shochu.protect.lao_names import LAO_LETTER, lao_titled_names
from shochu.protect.lao_names import TITLES as LAO_TITLES
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
from shochu.protect.recognizers import FailClosed, contains_any, text_facts
from shochu.protect.romanized_names import (
    PAIR_ONLY_GIVEN,
    PLACE_NAMES,
    VI_FAMILY,
    VI_GIVEN,
    VI_MIDDLE,
    is_romaji_name_pair,
    is_romaji_word,
    is_thai_family_shaped,
)

PAIR_SCORE = 0.6
REPEAT_SCORE = 0.6
LOOSE_PAIR_SCORE = 0.5
PART_REPEAT_SCORE = 0.5
SINGLE_NAME_SCORE = 0.3

TABLE_CUE = Cue("table column of names", TABLE_LINE)
NAME_PART_CUE = Cue("table column of name parts", TABLE_LINE)

_LATIN_WORD = regex.compile(LATIN_WORD)
_LATIN_LETTER = regex.compile(r"\p{Latin}")
_THAI_LETTER = regex.compile(r"\p{Thai}")
_WORD = regex.compile(r"\S+")
_NON_SPACE = regex.compile(r"\S+")
_KANJI_OR_KATAKANA = regex.compile(r"[\p{Han}\p{Katakana}]")
_NEXT_LATIN_WORD = regex.compile(rf"[ \t]+(?P<word>{LATIN_WORD}){NOT_LATIN_AFTER}")
# Two whole runs of Thai letters with one space between them.
THAI_RUN_PAIR = regex.compile(r"(?<!\p{Thai})(?P<given>\p{Thai}+)[ ](?P<family>\p{Thai}+)(?!\p{Thai})")

PLACE_PATTERN = regex.compile(rf"{NOT_LATIN_BEFORE}(?:{PLACE_NAMES}){NOT_LATIN_AFTER}")

# Nguyen Van An, Tran Thi Thu Trang: family name, one or two middle names, a given name of up to 7 letters.
VI_NAME = regex.compile(
    rf"{NOT_LATIN_BEFORE}(?P<family>{LATIN_WORD})(?:[ \t]+(?P<middle>{LATIN_WORD})){{1,2}}[ \t]+"
    rf"(?P<given>\p{{Lu}}\p{{Ll}}{{1,6}}){NOT_LATIN_AFTER}")


@dataclass(frozen=True)
class Found:
    """A name span in the analysed text, with its score and the cue that found it."""

    start: int
    end: int
    score: float
    cue: str


def _alternation(names: tuple[str, ...]) -> str:
    return "|".join(regex.escape(name) for name in names)


def is_latin_name_word(word: str) -> bool:
    """Return True for a capitalised word that may be a name on its own: not a common or function word."""
    return (len(word) >= 3 and bool(_LATIN_WORD.fullmatch(word)) and word not in COMMON_WORDS
            and word not in GENERIC_WORDS and not is_stop_word(word))


class PersonRecognizer(FailClosed, LocalRecognizer):
    """PERSON spans from context cues, gazetteer pairs and repeats of names already found."""

    def __init__(self, score_threshold: float = 0.0) -> None:
        """``score_threshold`` drops results below it at once: with no context words, nothing can raise them."""
        super().__init__(supported_entities=["PERSON"], name="ShochuPersonRecognizer")
        self.score_threshold = score_threshold

    def load(self) -> None:
        self._names: Gazetteer = load_gazetteer()
        names = self._names
        # One-character family names (林, 森) also end longer ones (中林), so
        # trimming uses only names of two or more characters.
        self._family_names = tuple(name for name in names.ja_last if len(name) >= 2)
        self._ja_pair = regex.compile(rf"(?<!\p{{Han}})(?:{_alternation(names.ja_last)})[ 　]?"
                                      rf"(?:{_alternation(names.ja_first)})(?![\p{{Han}}\p{{Katakana}}])")
        self._th_first = frozenset(names.th_first)
        self._th_last = frozenset(names.th_last)
        self._th_first_longest = max(map(len, names.th_first), default=0)

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        # Several cues, a pair and its repeats can find the same name. The engine
        # would keep only the highest score of each span, so only that one is sent.
        best: dict[tuple[int, int], Found] = {}
        for item in self.find(text):
            kept = best.get((item.start, item.end))
            if kept is None or item.score > kept.score:
                best[item.start, item.end] = item
        return [self._result(item) for item in best.values() if item.score >= self.score_threshold]

    def find(self, text: str) -> list[Found]:
        """Return every name span found in ``text``, overlaps included."""
        found = [*self._cue_names(text), *self._table_names(text), *self._honorific_names(text),
                 *self._any_case_titled_names(text), *self._thai_titled_names(text),
                 *self._lao_titled_names(text), *self._japanese_signature_names(text),
                 *self._gazetteer_names(text)]
        places = [match.span() for match in PLACE_PATTERN.finditer(text)]
        found = [item for item in found if not _inside_any(item, places)]
        found.extend(self._with_family_names(text, found))
        found.extend(item for item in self._repeats(text, found) if not _inside_any(item, places))
        return found

    def _result(self, item: Found) -> RecognizerResult:
        explanation = AnalysisExplanation(recognizer=self.name, original_score=item.score,
                                          textual_explanation=f"person name from {item.cue}")
        return RecognizerResult(
            entity_type="PERSON", start=item.start, end=item.end, score=item.score,
            analysis_explanation=explanation,
            recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                                  RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id},
        )

    # --- cues: titles, greetings, headers, fields, tables ------------------------------

    def _cue_names(self, text: str) -> Iterator[Found]:
        lines = _Lines(text)
        for cue in CUES:
            for match in lines.matches(cue):
                if cue.given_name_first and not self._starts_with_given_name(match.group("name")):
                    continue
                if match.groupdict().get("name") is not None:
                    yield from self._checked(text, match.start("name"), match.end("name"), cue)
                else:
                    yield from self._list_names(text, match.start("value"), match.end("value"), cue)

    def _starts_with_given_name(self, name: str) -> bool:
        first = name.split(maxsplit=1)[0]
        return first in self._names.latin_first and first not in COMMON_WORDS and not is_stop_word(first)

    def _list_names(self, text: str, start: int, end: int, cue: Cue) -> Iterator[Found]:
        for segment in LIST_SEGMENT.finditer(text, start, end):
            item = LIST_ITEM.fullmatch(text, segment.start(), segment.end())
            if item:
                yield from self._checked(text, item.start("name"), item.end("name"), cue)

    def _table_names(self, text: str) -> Iterator[Found]:
        """Yield the cells of table columns whose header names people (Name, Owner, 担当)."""
        for header, rows in _tables(text):
            cells = [cell.group() for cell in TABLE_CELL.finditer(text, header.start(), header.end())]
            # A cell in a column of one name part (first_name, 姓) is a name part in any case or script.
            parts = {index for index, cell in enumerate(cells) if NAME_PART_COLUMN.match(cell)}
            columns = {index for index, cell in enumerate(cells)
                       if NAME_COLUMN.search(cell) and not THING_COLUMN.search(cell)} - parts
            if not columns and not parts:
                continue
            for row in rows:
                row_cells = list(TABLE_CELL.finditer(text, row.start(), row.end()))
                for index in sorted(columns & set(range(len(row_cells)))):
                    cell = row_cells[index]
                    yield from self._list_names(text, cell.start(), cell.end(), TABLE_CUE)
                for index in sorted(parts & set(range(len(row_cells)))):
                    cell = NAME_PART_CELL.fullmatch(text, row_cells[index].start(), row_cells[index].end())
                    if cell:
                        yield from self._checked(text, cell.start("name"), cell.end("name"), NAME_PART_CUE)

    def _checked(self, text: str, start: int, end: int, cue: Cue) -> Iterator[Found]:
        """Yield the cue's span, trimmed of trailing function words, unless it names a group."""
        value = text[start:end]
        if _LATIN_WORD.match(value):
            end = self._trim_latin(text, start, end)
        elif self._is_japanese_non_name(value.replace("　", " ").split(" ")[-1]):
            return
        if end > start:
            yield Found(start, end, cue.score, cue.name)

    @staticmethod
    def _trim_latin(text: str, start: int, end: int) -> int:
        """Return the end of the leading run of name-like words, or ``start`` when there is none."""
        words = list(_NON_SPACE.finditer(text, start, end))
        if any(word.group().strip(".") in GENERIC_WORDS for word in words):
            return start
        kept_end = start
        for index, word in enumerate(words):
            # A leading name that is also a function word ("Hi Will,") is kept, but
            # "Hi There," and a trailing "Will" in "Mr. Smith Will call" are not.
            # A Vietnamese given name after a middle name is kept too: Nguyen Van An.
            vietnamese_given = (index > 0 and words[index - 1].group() in VI_MIDDLE
                                and word.group() in VI_GIVEN)
            if (is_stop_word(word.group()) and not (index == 0 and word.group() in COMMON_WORDS)
                    and not vietnamese_given):
                break
            kept_end = word.end()
        return kept_end

    # --- titles in any case, Japanese honorifics, Thai and Lao titles ------------

    def _any_case_titled_names(self, text: str) -> Iterator[Found]:
        """Yield "mr. john smith" and "DR. KENJI SATO": two or three lower- or upper-case words after a title.

        Capitalised names after a title are the "title" cue's. Here neither
        of the first two words may be a common or function word, and the
        first must be a gazetteer first name or the second a gazetteer last
        name. A third word is kept only when it is a last name. So "MR. CLEAN"
        and "dr. will review it" are no names.
        """
        if not contains_any(text, ANY_CASE_TITLE_NEEDLES):
            return
        names = self._names
        for match in ANY_CASE_TITLE.finditer(text):
            words = list(_WORD.finditer(text, match.start("words"), match.end("words")))
            keys = [word.group().capitalize() for word in words]
            if any(not is_latin_name_word(key) or key in COMMON_WORDS for key in keys[:2]):
                continue
            if keys[0] not in names.latin_first and keys[1] not in names.latin_last:
                continue
            end = words[1].end()
            if len(keys) == 3 and is_latin_name_word(keys[2]) and keys[2] in names.latin_last:
                end = words[2].end()
            yield Found(words[0].start(), end, CUE_SCORE, "title")


    def _honorific_names(self, text: str) -> Iterator[Found]:
        if not contains_any(text, HONORIFIC_NEEDLES):
            return
        for match in JA_HONORIFIC.finditer(text):
            start, end = match.span("run")
            start = self._extend_family_name(text, start)
            start = self._trim_to_family_name(text, start, end)
            if self._is_japanese_non_name(text[start:end]):
                continue
            # A katakana name with a middle dot before an honorific is a foreign name: ジョン・スミスさん.
            confirmed = self._has_japanese_gazetteer_name(text[start:end]) or "・" in text[start:end]
            yield Found(start, end, CUE_SCORE if confirmed else WEAK_CUE_SCORE, "Japanese honorific")
        for match in LATIN_HONORIFIC.finditer(text):
            if is_latin_name_word(match.group("run")):
                yield Found(match.start("run"), match.end("run"), CUE_SCORE, "Japanese honorific")

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
        if run[-1] in JA_NOT_NAME_ENDINGS:
            return True
        return any(run.endswith(word) for word in JA_NOT_NAMES if len(word) > 1)

    def _thai_titled_names(self, text: str) -> Iterator[Found]:
        for match in TH_TITLE.finditer(text):
            run = match.group("run")
            known = next((name for name in self._names.th_first if run.startswith(name)), None)
            if known is None and run.startswith(TH_NOT_NAMES):
                continue
            start, end = match.span("run")
            if known:
                end = start + len(known)
            elif cut := TH_RUN_END.search(text, start, end):
                end = cut.start()
            if end == match.end("run") and self._is_surname(match):
                surname_start, surname_end = match.span("surname")
                cut = TH_RUN_END.search(text, surname_start, surname_end)
                end = cut.start() if cut else surname_end
            yield Found(start, end, CUE_SCORE if known else WEAK_CUE_SCORE, "Thai title")

    @staticmethod
    def _lao_titled_names(text: str) -> Iterator[Found]:
        # No list of Lao names confirms the run, so it scores as a weak cue.
        for start, end in lao_titled_names(text):
            yield Found(start, end, WEAK_CUE_SCORE, "Lao title")

    def _japanese_signature_names(self, text: str) -> Iterator[Found]:
        """Yield a "family given" line below a company or department line, when the gazetteer lists a part."""
        if not _KANJI_OR_KATAKANA.search(text) or not contains_any(text, JA_SIGNATURE_NEEDLES):
            return
        for match in JA_SIGNATURE_NAME.finditer(text):
            family, given = match.group("family"), match.group("given")
            if self._is_japanese_non_name(family) and family not in self._names.ja_last:
                continue
            if family in self._names.ja_last or given in self._names.ja_first:
                yield Found(match.start("family"), match.end("given"), CUE_SCORE, "Japanese signature")

    @staticmethod
    def _is_surname(match: regex.Match) -> bool:
        """Return True when the word after a first name is no verb, particle or role (ผู้จัดการ, manager)."""
        surname = match.group("surname")
        if surname is None or surname.startswith(TH_NOT_NAMES) or surname.startswith(TH_ROLE_PREFIXES):
            return False
        return not TH_VERB.match(surname)

    # --- gazetteer and repeats ------------------------------------------------------

    def _gazetteer_names(self, text: str) -> Iterator[Found]:
        for match in LATIN_PAIR.finditer(text, overlapped=True):
            score = self._latin_pair_score(match.group("first"), match.group("last"))
            if score:
                yield Found(match.start(), match.end(), score, "gazetteer pair")
        for match in VI_NAME.finditer(text):
            given = match.group("given")
            middles_known = all(word in VI_MIDDLE for word in match.captures("middle"))
            if (match.group("family") in VI_FAMILY and middles_known
                    and (given in VI_GIVEN or given in self._names.latin_first)):
                yield Found(match.start(), match.end(), PAIR_SCORE, "Vietnamese name")
        # Every listed Japanese family name is written in kanji or katakana.
        if _KANJI_OR_KATAKANA.search(text):
            for match in self._ja_pair.finditer(text):
                yield Found(match.start(), match.end(), PAIR_SCORE, "gazetteer pair")
        yield from self._thai_pairs(text)
        for match in LATIN_SINGLE.finditer(text):
            if self._is_gazetteer_word(match.group()):
                yield Found(match.start(), match.end(), SINGLE_NAME_SCORE, "gazetteer word")

    def _thai_pairs(self, text: str) -> Iterator[Found]:
        """Yield "given family" pairs from the name lists, such as สมชาย ใจดี.

        Thai runs words together, so the given name may end a longer run
        (เรียนสมชาย ใจดี); the earliest start that leaves a listed given name
        wins. The family name is the whole run after the space. Set lookups
        replace a regex alternation of 750 names, which cost 0.16 s per MB
        of Thai text.
        """
        searched_to = 0
        for pair in THAI_RUN_PAIR.finditer(text, overlapped=True):
            if pair.group("family") not in self._th_last:
                continue
            given_start, given_end = pair.span("given")
            first = max(given_start, searched_to, given_end - self._th_first_longest)
            start = next((start for start in range(first, given_end) if text[start:given_end] in self._th_first), None)
            if start is not None:
                searched_to = pair.end()
                yield Found(start, pair.end(), PAIR_SCORE, "gazetteer pair")

    def _latin_pair_score(self, first: str, last: str) -> float:
        """Score two capitalised words as "First Last" or "Last First", or return 0 when they are no name."""
        if (first == last or is_stop_word(first) or is_stop_word(last)
                or (first in COMMON_WORDS and last in COMMON_WORDS)
                or first in GENERIC_WORDS or last in GENERIC_WORDS):
            return 0.0
        names = self._names
        # "Last First" order needs two words that are no everyday words: "Collins April" is
        # a surname and a month, and "Fair Isaac" a company, while "April Collins" is a name.
        if ((first in names.latin_first and last in names.latin_last)
                or (first in names.latin_last and last in names.latin_first
                    and first not in COMMON_WORDS and last not in COMMON_WORDS)):
            return PAIR_SCORE
        # Tanaka Hiroshi, Kohei Uchiyama: a Japanese family or given name next to a romanised Japanese word.
        japanese = names.ja_latin_last | names.ja_latin_first
        if (first in japanese and is_romaji_word(last)) or (last in japanese and is_romaji_word(first)):
            return PAIR_SCORE
        # Masahiro Ichinose: two unknown words shaped like a Japanese given and family name.
        if is_romaji_name_pair(first, last):
            return LOOSE_PAIR_SCORE
        # Worawut Srisombat: any name-like word before a word shaped like a Thai family name.
        if is_thai_family_shaped(last) and is_latin_name_word(first) and first not in COMMON_WORDS:
            return LOOSE_PAIR_SCORE
        if (len(first) >= 3 and first in names.latin_first and first not in COMMON_WORDS
                and first not in PAIR_ONLY_GIVEN and is_latin_name_word(last)):
            return LOOSE_PAIR_SCORE
        return 0.0

    def _is_gazetteer_word(self, word: str) -> bool:
        if word in COMMON_WORDS or is_stop_word(word):
            return False
        return word in self._names.latin_first or word in self._names.latin_last

    def _with_family_names(self, text: str, found: list[Found]) -> Iterator[Found]:
        """Yield found Latin names extended over a gazetteer last name right after them.

        "Mei Lin Tan" is found as the pair "Mei Lin"; without the extension the
        placeholder would leave "Tan" visible. Lone gazetteer words (score 0.3)
        are not extended.
        """
        for item in found:
            if item.score < LOOSE_PAIR_SCORE or not _LATIN_LETTER.match(text, item.end - 1):
                continue
            family = _NEXT_LATIN_WORD.match(text, item.end)
            if family is None:
                continue
            word = family.group("word")
            if word in self._names.latin_last and is_latin_name_word(word) and word not in COMMON_WORDS:
                yield Found(item.start, family.end(), item.score, item.cue)

    def _repeats(self, text: str, found: list[Found]) -> list[Found]:
        """Mark other mentions of names found with a score of at least ``REPEAT_SCORE``."""
        values: dict[str, float] = {}
        for item in found:
            if item.score >= REPEAT_SCORE:
                for value, score in name_variants(text[item.start:item.end]).items():
                    values[value] = max(score, values.get(value, 0.0))
        repeats = []
        for value, score in values.items():
            for start, end in find_name(text, value):
                repeats.append(Found(start, end, score, "repeat of a name found"))
                # "Hi Oliver," then "Oliver Penhaligon will join": the family name after a
                # known given name is part of the mention.
                family = _NEXT_LATIN_WORD.match(text, end)
                if family and " " not in value and is_latin_name_word(family.group("word")):
                    repeats.append(Found(start, family.end(), score, "repeat of a name found"))
        return repeats


_NEWLINE = regex.compile(r"\n")


class _Lines:
    """The lines of one text, to search a cue only on the lines that hold one of its needles."""

    def __init__(self, text: str) -> None:
        self._text = text
        lowered = text_facts(text).lowered
        # Lowering can change the length (İ becomes two characters), and then offsets would not line up.
        self._lowered = lowered if len(lowered) == len(text) else None
        self._breaks: list[int] | None = None

    def matches(self, cue: Cue) -> Iterator[regex.Match]:
        """Yield the matches of ``cue`` in order, the same ones ``cue.pattern.finditer`` would give."""
        text = self._text
        if not cue.needles or self._lowered is None:
            yield from cue.pattern.finditer(text)
            return
        searched_to = 0
        for start, end in self._lines_with(cue.needles):
            if cue.multiline:
                # The match starts at the line start and may take in the lines below.
                match = cue.pattern.match(text, start) if start >= searched_to else None
                if match:
                    searched_to = max(match.end(), start + 1)
                    yield match
            else:
                # The newline stays in the searched range, so look-aheads see what they saw in the whole text.
                yield from cue.pattern.finditer(text, start, min(end + 1, len(text)))

    def _lines_with(self, needles: tuple[str, ...]) -> list[tuple[int, int]]:
        """Return (start, end) of each line holding a needle, in text order; the end is the newline's offset."""
        if self._breaks is None:
            self._breaks = [match.start() for match in _NEWLINE.finditer(self._text)]
        breaks = self._breaks
        lines = set()
        for needle in needles:
            position = self._lowered.find(needle)
            while position != -1:
                line = bisect.bisect_left(breaks, position)
                lines.add(line)
                # Go on from the next line: one hit per line is enough.
                if line == len(breaks):
                    break
                position = self._lowered.find(needle, breaks[line] + 1)
        return [(breaks[line - 1] + 1 if line else 0, breaks[line] if line < len(breaks) else len(self._text))
                for line in sorted(lines)]


def _inside_any(item: Found, spans: list[tuple[int, int]]) -> bool:
    return any(start <= item.start and item.end <= end for start, end in spans)


def _tables(text: str) -> Iterator[tuple[regex.Match, list[regex.Match]]]:
    """Yield (header line, body lines) for each markdown table, separator lines left out."""
    block: list[regex.Match] = []
    for line in TABLE_LINE.finditer(text):
        if block and line.start() != block[-1].end() + 1:
            yield block[0], [row for row in block[1:] if not TABLE_SEPARATOR.match(row.group())]
            block = []
        block.append(line)
    if block:
        yield block[0], [row for row in block[1:] if not TABLE_SEPARATOR.match(row.group())]


def name_variants(value: str) -> dict[str, float]:
    """Return the forms of a found name worth searching for elsewhere, with their scores.

    The whole name scores ``REPEAT_SCORE``; each part of a multi-word name
    that can stand alone ("Tanaka", "浜田", "สุภาภรณ์") scores ``PART_REPEAT_SCORE``.
    """
    words = value.split()
    if len(words) == 1:
        return {value: REPEAT_SCORE} if _can_stand_alone(value) else {}
    parts = {word: PART_REPEAT_SCORE for word in words if _can_stand_alone(word)}
    return {**parts, value: REPEAT_SCORE}


def _can_stand_alone(word: str) -> bool:
    if _LATIN_LETTER.match(word):
        return is_latin_name_word(word)
    if _THAI_LETTER.match(word) or LAO_LETTER.match(word):
        return len(word) >= 3
    return len(word) >= 2 and word not in JA_NOT_NAMES and not word.endswith(JA_ORGANISATION_ENDINGS)


def names_pattern(names: list[str]) -> regex.Pattern | None:
    """Compile a pattern for any of ``names``, longest first, with boundaries per script.

    A Latin name must not touch other Latin letters. A Thai name must not follow a
    Thai letter unless a title does (คุณสุภาภรณ์), so that ประเสริฐ is not found
    inside the surname สุขประเสริฐ. Japanese has no word boundaries to test.
    """
    groups: dict[str, list[str]] = {"latin": [], "thai": [], "lao": [], "other": []}
    for name in sorted(set(names), key=lambda name: (-len(name), name)):
        groups[_script(name)].append(regex.escape(name))
    alternatives = []
    if groups["latin"]:
        alternatives.append(rf"{NOT_LATIN_BEFORE}(?:{'|'.join(groups['latin'])}){NOT_LATIN_AFTER}")
    if groups["thai"]:
        alternatives.append(rf"(?:(?<!\p{{Thai}})|(?<={TH_TITLE_IN_LIST}))(?:{'|'.join(groups['thai'])})")
    if groups["lao"]:
        alternatives.append(rf"(?:(?<!\p{{Lao}})|(?<={'|'.join(LAO_TITLES)}))(?:{'|'.join(groups['lao'])})")
    if groups["other"]:
        alternatives.append("|".join(groups["other"]))
    return regex.compile("|".join(alternatives)) if alternatives else None


def _script(name: str) -> str:
    if _LATIN_LETTER.match(name):
        return "latin"
    if _THAI_LETTER.match(name):
        return "thai"
    if LAO_LETTER.match(name):
        return "lao"
    return "other"


def find_name(text: str, value: str) -> Iterator[tuple[int, int]]:
    """Yield the spans of ``value`` in ``text``, with the boundaries of ``names_pattern``.

    Plain string search instead of a compiled pattern: names differ from text
    to text, and compiling a pattern per text took half of this recognizer's time.
    """
    script = _script(value)
    start = text.find(value)
    while start != -1:
        end = start + len(value)
        if _has_name_boundaries(text, start, end, script):
            yield start, end
        start = text.find(value, start + 1)


_THAI_TITLES = ("นางสาว", "นาง", "นาย", "คุณ")


def _has_name_boundaries(text: str, start: int, end: int, script: str) -> bool:
    before = text[start - 1] if start > 0 else ""
    after = text[end] if end < len(text) else ""
    if script == "latin":
        return not (before and _LATIN_LETTER.match(before)) and not (after and _LATIN_LETTER.match(after))
    if script == "thai":
        return not (before and _THAI_LETTER.match(before)) or text.endswith(_THAI_TITLES, 0, start)
    if script == "lao":
        return not (before and LAO_LETTER.match(before)) or text.endswith(LAO_TITLES, 0, start)
    return True
