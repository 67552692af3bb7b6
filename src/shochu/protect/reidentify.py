"""Re-identification risk: records in which quasi-identifiers combine.

A date of birth together with a postal code, a gender or a job title can
single a person out even when the name is masked, because the masked values
and the words around them stay in the text. This module finds such records:

- a record is a line (a table row is one line), a block of consecutive
  ``label: value`` lines (a form), or a whole ticket;
- the quasi-identifiers are detected entities (``DATE_OF_BIRTH``,
  ``POSTAL_CODE``, and any other type named in a combination) plus ``GENDER``
  and ``JOB_TITLE``, found here from word lists in English, Japanese and Thai;
- a record is flagged when it contains every type of one configured
  combination (``protect.reidentification.combinations``).

Results carry entity types and counts only, never values.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import regex

from shochu.config import ProtectConfig
from shochu.protect.columns import field_entity, split_cells
from shochu.protect.placeholders import Span

GENDER = "GENDER"
JOB_TITLE = "JOB_TITLE"

# Gender words. Thai ชาย and หญิง are also parts of names (สมชาย), so alone they
# count only as a whole cell or word; เพศชาย and เพศหญิง ("sex: male/female") count anywhere.
_GENDER_WORDS = ("male", "female", "non-binary")
_GENDER_JA = ("男性", "女性")
_GENDER_TH = ("เพศชาย", "เพศหญิง")
_GENDER_CELLS = ("男", "女", "M", "F", "ชาย", "หญิง", "男性", "女性", "male", "female")

JOB_TITLES_EN = (
    "accountant", "analyst", "architect", "attorney", "auditor", "cashier", "ceo", "cfo", "chief executive",
    "clerk", "consultant", "coo", "cto", "designer", "developer", "director", "doctor", "driver", "engineer",
    "general manager", "head of", "intern", "lawyer", "manager", "nurse", "officer", "pharmacist",
    "physician",
    "president", "professor", "programmer", "receptionist", "sales representative", "secretary", "supervisor",
    "surgeon", "teacher", "technician", "vice president",
)
JOB_TITLES_JA = (
    "会長", "社長", "副社長", "専務", "常務", "取締役", "執行役員", "本部長", "部長", "次長", "課長", "係長", "主任",
    "店長", "工場長", "看護師", "医師", "薬剤師", "教諭", "教師", "弁護士", "税理士", "会計士", "司法書士",
    "エンジニア", "マネージャー", "ディレクター", "技術者", "事務員", "営業担当", "秘書", "派遣社員", "契約社員",
)
JOB_TITLES_TH = (
    "ผู้จัดการ", "ผู้อำนวยการ", "กรรมการผู้จัดการ", "ประธานเจ้าหน้าที่บริหาร", "หัวหน้าแผนก", "วิศวกร",
    "พยาบาล", "แพทย์", "เภสัชกร", "ครู", "อาจารย์", "นักบัญชี", "ทนายความ", "เลขานุการ", "พนักงานขาย",
    "โปรแกรมเมอร์", "ช่างเทคนิค",
)

# Field names, in form lines and table headers, whose value is a quasi-identifier
# even where no recognizer found it (a bare date under a 生年月日 column). Words
# may be joined by spaces, "_" or "-" (date_of_birth, zip-code) or not at all.
_JOIN = r"[\s_\-]*"
_FIELD_NAMES = {
    "DATE_OF_BIRTH": rf"生年月日|誕生日|date{_JOIN}of{_JOIN}birth|birth{_JOIN}date|birthday|d\.?o\.?b\.?|วันเกิด"
                     r"|วันเดือนปีเกิด",
    "POSTAL_CODE": rf"郵便番号|postal{_JOIN}code|post{_JOIN}code|zip(?:{_JOIN}code)?|รหัสไปรษณีย์",
    GENDER: r"性別|gender|sex|เพศ",
    JOB_TITLE: rf"役職|職業|職種|肩書き?|job{_JOIN}title|position|occupation|ตำแหน่ง|อาชีพ",
}
_FIELD_PATTERNS = {kind: regex.compile(rf"^\W*(?i:{names})\W*$") for kind, names in _FIELD_NAMES.items()}
# Field kinds whose value must contain a digit to count (a date, a code).
_NUMERIC_FIELDS = frozenset({"DATE_OF_BIRTH", "POSTAL_CODE"})

_FORM_LINE = regex.compile(r"^[ \t　]*[^\s:：|][^:：|\n]{0,40}[:：]")
_TABLE_LINE = regex.compile(r"^[ \t]*\|")
_TABLE_SEPARATOR = regex.compile(r"^[ \t|:\-]+$")
_FORM_SEPARATOR = regex.compile(r"[:：]")
_CELL_SEPARATORS = regex.compile(r"[|,\t]")
# CSV and TSV lines: the delimiters tried, and the longest cell of a header line.
_DELIMITERS = ("\t", ";", ",")
_MAX_HEADER_CELL = 40


@dataclass(frozen=True)
class _Record:
    """Offsets of one record and its (field name, value) pairs, from a form or a table row."""

    start: int
    end: int
    fields: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Flag:
    """One flagged record: its index among the records of the text, and the quasi-identifier types in it."""

    record: int
    types: tuple[str, ...]


@dataclass
class DocumentRisk:
    """Flagged records of one document, counted per combination of types."""

    records: int = 0
    combinations: Counter[tuple[str, ...]] = field(default_factory=Counter)

    def add(self, flags: Iterable[Flag]) -> None:
        for flag in flags:
            self.records += 1
            self.combinations[flag.types] += 1

    def to_dict(self) -> dict[str, object]:
        return {"flagged_records": self.records,
                "combinations": [{"types": list(types), "records": count}
                                 for types, count in sorted(self.combinations.items())]}


class QuasiIdentifiers:
    """Find records in which the configured quasi-identifier combinations occur."""

    def __init__(self, combinations: Sequence[Sequence[str]], extra_job_titles: Iterable[str] = ()) -> None:
        self.combinations = [frozenset(combination) for combination in combinations if combination]
        self.types = frozenset().union(*self.combinations) if self.combinations else frozenset()
        latin_titles = [title for title in (*JOB_TITLES_EN, *extra_job_titles) if title.isascii()]
        other_titles = [title for title in (*JOB_TITLES_JA, *JOB_TITLES_TH, *extra_job_titles)
                        if not title.isascii()]
        self._job_title = _alternation(latin_titles, other_titles)
        self._gender = _alternation(list(_GENDER_WORDS), [*_GENDER_JA, *_GENDER_TH])
        self._gender_cells = frozenset(cell.casefold() for cell in _GENDER_CELLS)

    def flags(self, text: str, spans: Sequence[Span], whole: bool = False) -> list[Flag]:
        """Return the flagged records of ``text``; ``whole`` makes the text one record (a ticket)."""
        if not self.combinations:
            return []
        records = [_Record(0, len(text), _form_fields(text))] if whole else list(_records(text))
        if not records:
            return []
        found: list[set[str]] = [set() for _ in records]
        starts = [record.start for record in records]
        for span in spans:
            if span.entity_type in self.types:
                found[_record_of(starts, span.start)].add(span.entity_type)
        flags = []
        for index, record in enumerate(records):
            types = found[index] | self._words(text[record.start:record.end]) | _field_types(record.fields)
            if any(combination <= types for combination in self.combinations):
                flags.append(Flag(index, tuple(sorted(types & self.types))))
        return flags

    def _words(self, record: str) -> set[str]:
        found = set()
        if JOB_TITLE in self.types and self._job_title.search(record):
            found.add(JOB_TITLE)
        if GENDER in self.types and (self._gender.search(record) or self._gender_cell(record)):
            found.add(GENDER)
        return found

    def _gender_cell(self, record: str) -> bool:
        """Return True when a table cell, a CSV field or a form value is a gender word on its own."""
        cells = _CELL_SEPARATORS.split(record) + regex.split(r"[:：]", record)[1:]
        return any(cell.strip(" \t　*").casefold() in self._gender_cells for cell in cells)


def check_combinations(config: ProtectConfig, supported_entities: Sequence[str]) -> list[str]:
    """Raise naming each unknown type in ``protect.reidentification.combinations``.

    Return the entity types of the combinations that ``protect.entities`` leaves
    out: they are never detected, so a combination that needs one never fires.
    """
    problems = []
    undetected = set()
    for number, combination in enumerate(config.reidentification.combinations):
        for kind in combination:
            if kind in (GENDER, JOB_TITLE) or kind in config.entities:
                continue
            if kind in supported_entities:
                undetected.add(kind)
            else:
                problems.append(f"protect.reidentification.combinations[{number}]: unknown type {kind}; use "
                                f"{GENDER}, {JOB_TITLE} or an entity type ({', '.join(supported_entities)})")
    if problems:
        raise ValueError("; ".join(problems))
    return sorted(undetected)


def _alternation(latin: list[str], other: list[str]) -> regex.Pattern:
    """Match Latin words as whole words, ignoring case, and other scripts anywhere."""
    branches = []
    if latin:
        words = "|".join(regex.escape(word) for word in sorted(latin, key=len, reverse=True))
        branches.append(rf"(?<![\p{{L}}\p{{N}}])(?i:{words})(?![\p{{L}}\p{{N}}])")
    if other:
        branches.append("|".join(regex.escape(word) for word in sorted(other, key=len, reverse=True)))
    return regex.compile("|".join(branches) or r"(?!)")


def _records(text: str) -> Iterable[_Record]:
    """Yield records: each line, with consecutive form lines (``label: value``) joined.

    A row of a Markdown table, or of CSV or TSV lines under a header line that
    names a field, carries its cells paired with the header's. Header and
    separator rows are no records.
    """
    position = 0
    form: list[tuple[int, int, str]] = []
    header: list[str] | None = None
    delimited: tuple[str, list[str]] | None = None
    for line in text.splitlines(keepends=True):
        start, end = position, position + len(line)
        position = end
        is_table = bool(_TABLE_LINE.match(line))
        row = _delimited_row(line, delimited) if delimited and not is_table else None
        if row is not None:
            yield _Record(start, end, tuple(zip(delimited[1], row, strict=False)))
            continue
        delimited = None
        if _FORM_LINE.match(line) and not is_table:
            form.append((start, end, line))
            continue
        if form:
            yield _Record(form[0][0], form[-1][1], _form_fields("".join(piece for _, _, piece in form)))
            form = []
        if not is_table:
            header = None
            delimited = _delimited_header(line)
            if line.strip() and delimited is None:
                yield _Record(start, end)
        elif header is None:
            header = _cells(line)
        elif not _TABLE_SEPARATOR.match(line.strip()):
            yield _Record(start, end, tuple(zip(header, _cells(line), strict=False)))
    if form:
        yield _Record(form[0][0], form[-1][1], _form_fields("".join(piece for _, _, piece in form)))


def _delimited_header(line: str) -> tuple[str, list[str]] | None:
    """Return the delimiter and cells of a CSV or TSV header line with a quasi-identifier field name."""
    for delimiter in _DELIMITERS:
        if delimiter not in line:
            continue
        # A plain split is enough to reject a line, and cheap on prose lines with commas.
        if any(len(piece.strip()) > _MAX_HEADER_CELL for piece in line.split(delimiter)):
            continue
        cells = [cell.text for cell in split_cells(line.rstrip("\r\n"), 0, delimiter)]
        if len(cells) >= 2 and any(_field_kinds(cell) for cell in cells):
            return delimiter, cells
    return None


def _delimited_row(line: str, header: tuple[str, list[str]]) -> list[str] | None:
    """Return the cells of a line under a CSV or TSV header, or None when the line is no row of it."""
    delimiter, names = header
    if delimiter not in line:
        return None
    cells = [cell.text for cell in split_cells(line.rstrip("\r\n"), 0, delimiter)]
    return cells if len(cells) == len(names) else None


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _form_fields(text: str) -> tuple[tuple[str, str], ...]:
    fields = []
    for line in text.splitlines():
        parts = _FORM_SEPARATOR.split(line, maxsplit=1)
        if len(parts) == 2:
            fields.append((parts[0].strip(), parts[1].strip()))
    return tuple(fields)


def _field_types(fields: Iterable[tuple[str, str]]) -> set[str]:
    """Return the quasi-identifier kinds named by field names whose value is filled in."""
    found = set()
    for name, value in fields:
        if not value.strip(" -　*"):
            continue
        for kind in _field_kinds(name):
            if kind not in _NUMERIC_FIELDS or regex.search(r"\p{Nd}", value):
                found.add(kind)
    return found


def _field_kinds(name: str) -> set[str]:
    """Return the quasi-identifier kinds whose values a field name labels.

    Dates of birth and postal codes also match the names that ``columns``
    reads (``customer_dob``, ``postalCode``, ``Date of birth (YYYY-MM-DD)``).
    """
    kinds = {kind for kind, pattern in _FIELD_PATTERNS.items() if pattern.match(name)}
    column_kind = field_entity(name, zip_allowed=True)
    if column_kind in _NUMERIC_FIELDS:
        kinds.add(column_kind)
    return kinds


def _record_of(starts: list[int], offset: int) -> int:
    """Return the index of the record that contains ``offset`` (records are sorted by start)."""
    return max(0, bisect.bisect_right(starts, offset) - 1)
