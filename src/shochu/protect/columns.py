"""Dates of birth, postal codes, bank accounts and phone numbers named by a table column or form field.

A value such as ``1988-11-02``, ``10115`` or ``31926819`` is personal data
only because of its field name, and in a table that name sits in the header
row, far from the value. Ingest writes XLSX sheets and HTML tables as Markdown
pipe tables and CSV files as ``column: value`` lines, and plain text can carry
CSV or TSV lines. This module reads those structures:

- a table: a Markdown pipe table, or lines split by tab, semicolon or comma,
  whose header row has a cell that names a field. Each cell below it in the
  same column is taken when its value has the field's shape. A later row that
  names fields becomes the header of the rows after it (a sheet's title row
  comes before the real header);
- a cell that names a field, followed in the same row by a cell with the
  field's shape (a key-value table such as ``| 生年月日 | 1988-11-02 |``);
- a form line ``name: value`` whose name names a field.

Field names match ignoring case, with ``_``, ``-``, spaces and camelCase as
word breaks, up to three qualifier words before the name (``customer_dob``),
and an explanation in brackets after it. Japanese, Thai and Lao names match
at the end of the cell, after at most 10 other characters (振込先口座番号).
Archive listings use a bare ``zip`` header for other values. So it counts
only in a table that also has an address-like column (address, city, state,
country, 住所) or another column named here (a date of birth, an account, a
phone).

A value must have its field's shape. A date of birth is a date. A postal
code is digits, optionally grouped, or the UK, Canadian or Dutch letter form.
A bank account is 6 to 18 digits with space or hyphen separators, and a phone
number 7 to 15 digits. Such a value may follow up to 12 characters without digits
(``普通 1234567``), except a postal code, which must start the value after an
optional 〒. Phone numbers are not validated with phonenumbers, because the
column name is the evidence, as an account label is for a bank account.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import regex
from presidio_analyzer import AnalysisExplanation, LocalRecognizer, RecognizerResult

from shochu.protect.identifiers import DATE
from shochu.protect.recognizers import FailClosed, contains_any, text_facts

COLUMN_SCORE = 0.85

DATE_OF_BIRTH = "DATE_OF_BIRTH"
POSTAL_CODE = "POSTAL_CODE"
BANK_ACCOUNT = "BANK_ACCOUNT"
PHONE_NUMBER = "PHONE_NUMBER"

# Lower-case substrings of every field name below, so that a text without any of them is skipped.
# camelCase names (dateOfBirth, zipCode, accountNo) contain them too.
NEEDLES = ("birth", "dob", "d.o.b", "born", "post", "zip", "account", "acct", "a/c",
           "phone", "tel", "mobile", "cell", "fax",
           "生年月日", "誕生日", "郵便番号", "〒", "〶", "口座", "電話", "携帯",
           "เกิด", "ไปรษณีย์", "บัญชี", "โทร", "เบอร์", "มือถือ", "ເກີດ", "ໄປສະນີ", "ບັນຊີ", "ໂທ", "ເບີ")

# Latin field names, matched against the whole normalised name (see _field_key).
_NUMBER = r"(?:number|num\.?|no\.?|nr\.?|#)"
_LATIN_NAMES = {
    DATE_OF_BIRTH: r"date of birth|birth ?date|birthday|dob|d\.o\.b\.?|born(?: on)?",
    POSTAL_CODE: r"postal code|post ?code|zip ?code|zip\+4",
    BANK_ACCOUNT: rf"(?:bank )?(?:account|acct\.?|a/c) ?{_NUMBER}|bank (?:account|acct\.?)",
    # A bare "cell" is no phone label, because telecom tables use it for cell ids.
    PHONE_NUMBER: rf"(?:tel(?:ephone|\.)?|phone|mobile|cell ?phone|fax)(?: ?{_NUMBER})?|cell ?{_NUMBER}",
}
# Other scripts have no spaces between words, so these names match at the end of the name.
_OTHER_NAMES = {
    DATE_OF_BIRTH: r"生年月日|誕生日|วันเกิด|วันเดือนปีเกิด|ວັນເກີດ|ວັນເດືອນປີເກີດ",
    POSTAL_CODE: r"郵便番号|[〒〶]|รหัสไปรษณีย์|ລະຫັດໄປສະນີ",
    BANK_ACCOUNT: r"口座(?:番号|no\.?|#)?|เลขที่บัญชี|เลขบัญชี|บัญชีเลขที่|ເລກບັນຊີ|ເລກທີ່ບັນຊີ",
    PHONE_NUMBER: r"電話(?:番号)?|携帯(?:電話)?(?:番号)?|(?:tel|fax)番号|โทรศัพท์|เบอร์โทร(?:ศัพท์)?|โทร"
                  r"|เบอร์มือถือ|มือถือ|ເບີໂທ(?:ລະສັບ)?|ໂທລະສັບ",
}
_QUALIFIERS = r"(?:[^ /]+[ /]){0,3}"
_FIELD_NAMES = {
    kind: regex.compile(rf"{_QUALIFIERS}(?:{_LATIN_NAMES[kind]})|.{{0,10}}(?:{_OTHER_NAMES[kind]})")
    for kind in _LATIN_NAMES
}
_ZIP = "zip"
_ADDRESS_COLUMN = regex.compile(
    r"(?<![a-z])(?:address|street|city|town|state|province|country|county|prefecture|suburb)(?![a-z])"
    r"|住所|所在地|都道府県|市区町村|ที่อยู่|จังหวัด|ທີ່ຢູ່|ແຂວງ")

_CAMEL_BREAK = regex.compile(r"(?<=\p{Ll})(?=\p{Lu})")
_BRACKETED = regex.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_WORD_BREAKS = regex.compile(r"[\s_\-]+")
_LINE_BREAK = regex.compile("\n")
_DIGIT = regex.compile(r"\d")

_DATE_SHAPE = regex.compile(
    rf"\P{{Nd}}{{0,12}}?(?<![\dA-Za-z])\K(?:{DATE}"
    # 19881102: a compact date with a valid month and day
    r"|(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
    # 02/11/88: a two-digit year, taken as a date only under a date-of-birth field name
    r"|\d{1,2}(?P<separator>[./\-])\d{1,2}(?P=separator)\d\d)(?!\d)",
    regex.IGNORECASE)
_POSTAL_SHAPE = regex.compile(
    r"[〒〶]?[ \t]*\K(?:"
    r"[A-Z]{1,2}\d[A-Z\d]?[ ]?\d[A-Z]{2}"  # United Kingdom: SW1A 1AA
    r"|[A-Z]\d[A-Z][ ]?\d[A-Z]\d"  # Canada: K1A 0B1
    r"|\d{4}[ ]?[A-Z]{2}"  # Netherlands: 1012 AB
    # Digits, optionally grouped and after a country prefix: 150-0002, 94105-1234, 10115, 00-950, LV-1010
    r"|(?:[A-Z]{1,2}-)?(?=(?:\d[ \-]?){3})\d{2,8}(?:[ \-]\d{2,5})?"
    r")(?![\dA-Za-z])",
    regex.IGNORECASE)
_ACCOUNT_SHAPE = regex.compile(r"\P{Nd}{0,12}?\K(?<!\d)\d(?:[ \-]?\d){5,17}(?!\d)")
# 7 to 15 digits, the lengths of valid numbers with their country code. The separators are those
# of recognizers.PhoneRecognizer, plus brackets: 2025550147, +44 (0)20 7946 0958, 090ー1234ー5678.
_PHONE_SHAPE = regex.compile(
    r"\P{Nd}{0,12}?(?<![\d+])\K\+?\(?\d(?:[ \-.()\u2010-\u2015\u2212\u30fc]{0,2}\d){6,14}(?!\d)")
_SHAPES = {DATE_OF_BIRTH: _DATE_SHAPE, POSTAL_CODE: _POSTAL_SHAPE, BANK_ACCOUNT: _ACCOUNT_SHAPE,
           PHONE_NUMBER: _PHONE_SHAPE}

# "|" splits Markdown pipe tables, and tab, semicolon and comma split CSV and TSV lines.
_DELIMITERS = ("|", "\t", ";", ",")
_TABLE_SEPARATOR = regex.compile(r"[\s|:\-]*-[\s|:\-]*")
# A CSV or TSV header has short cells, so that a sentence with commas is no header.
_MAX_HEADER_CELL = 40
# A form line's field name: at most 40 characters before the first colon.
_FORM_LINE = regex.compile(r"[ \t]*[-*•>#|]*[ \t]*(?P<name>[^:\n]{1,40}?)[ \t*]*:[ \t*]*(?P<value>[^\n]*)")
# A further field on a form line, after a comma or semicolon. The value is only
# looked at, not consumed, so the search goes on to the field after it.
_NEXT_FIELD = regex.compile(r"[,;、][ \t]*(?P<name>[^:：,;、\n]{1,40}?)[ \t*]*[:：][ \t*]*(?=(?P<value>[^\n]*))")


@dataclass(frozen=True)
class Cell:
    """A cell's text, stripped, and its offsets in the text that contains it."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class ColumnValue:
    """One value found by its field name: the entity type and its offsets."""

    entity_type: str
    start: int
    end: int


def field_entity(name: str, zip_allowed: bool = False) -> str | None:
    """Return the entity type of the values that a header cell or form field name labels, or None.

    ``zip_allowed`` accepts a bare ``zip`` as a postal code.
    """
    key = _field_key(name)
    if not key or len(key) > 60:
        return None
    if key == _ZIP:
        return POSTAL_CODE if zip_allowed else None
    compact = key.replace(" ", "").replace("/", "")
    for kind, pattern in _FIELD_NAMES.items():
        if pattern.fullmatch(key) or pattern.fullmatch(compact):
            return kind
    return None


def value_span(kind: str, value: str) -> tuple[int, int] | None:
    """Return the offsets, within ``value``, of the value of the ``kind`` shape that it starts with."""
    match = _SHAPES[kind].match(value)
    return match.span() if match else None


def split_cells(line: str, start: int, delimiter: str) -> list[Cell]:
    """Split one table line into stripped cells with offsets into the text (``start`` is the line's offset).

    A Markdown line drops the empty cells outside its outer pipes, and ``\\|``
    is no delimiter. CSV fields in double quotes may contain the delimiter.
    """
    pieces: list[tuple[int, int]] = []
    begin = 0
    index = 0
    quoted = False
    while index < len(line):
        character = line[index]
        if delimiter != "|" and character == '"':
            if quoted and line[index + 1:index + 2] == '"':
                index += 2  # "" inside quotes is one literal quote
                continue
            if quoted:
                quoted = False
            elif not line[begin:index].strip():
                quoted = True
            index += 1
            continue
        if character == "\\" and delimiter == "|":
            index += 2
            continue
        if character == delimiter and not quoted:
            pieces.append((begin, index))
            begin = index + 1
        index += 1
    pieces.append((begin, len(line)))

    if delimiter == "|":
        if pieces and not line[pieces[0][0]:pieces[0][1]].strip():
            pieces = pieces[1:]
        if pieces and not line[pieces[-1][0]:pieces[-1][1]].strip():
            pieces = pieces[:-1]
    return [_cell(line, start, low, high, delimiter) for low, high in pieces]


def find_column_values(text: str) -> list[ColumnValue]:
    """Return the dates of birth, postal codes, bank accounts and phone numbers that field names label."""
    if not contains_any(text, NEEDLES):
        return []
    lines = _lines(text)
    named = _lines_with_needles(text)
    found: list[ColumnValue] = []
    found += _form_values(lines, named)
    found += _table_values(lines, named)
    return sorted(set(found), key=lambda value: (value.start, value.end, value.entity_type))


def _field_key(name: str) -> str:
    """Return a field name in lower case with camelCase, ``_``, ``-`` and space runs as single spaces."""
    key = _CAMEL_BREAK.sub(" ", name)
    key = _BRACKETED.sub(" ", key).casefold()
    key = _WORD_BREAKS.sub(" ", key)
    return key.strip(" *:：")


def _cell(line: str, start: int, low: int, high: int, delimiter: str) -> Cell:
    raw = line[low:high]
    stripped = raw.strip()
    if delimiter != "|" and len(stripped) >= 2 and stripped[0] == stripped[-1] == '"':
        stripped = stripped[1:-1].strip()
    offset = low + raw.find(stripped) if stripped else low
    return Cell(stripped, start + offset, start + offset + len(stripped))


def _lines(text: str) -> list[tuple[int, str]]:
    lines = []
    position = 0
    for line in text.split("\n"):
        lines.append((position, line))
        position += len(line) + 1
    return lines


def _lines_with_needles(text: str) -> list[int]:
    """Return the sorted numbers of the lines that contain a needle, found in one pass per needle."""
    lowered = text_facts(text).lowered
    # str.lower() keeps every line break, so line numbers in the lower-case copy are those of the text.
    breaks = [match.start() for match in _LINE_BREAK.finditer(lowered)]
    numbers = set()
    for needle in NEEDLES:
        position = lowered.find(needle)
        while position != -1:
            number = bisect.bisect_left(breaks, position)
            numbers.add(number)
            next_line = breaks[number] + 1 if number < len(breaks) else len(lowered)
            position = lowered.find(needle, next_line)
    return sorted(numbers)


def _form_values(lines: list[tuple[int, str]], named: list[int]) -> list[ColumnValue]:
    """Return the value of each field of a form line (``name: value``) whose name labels a field.

    Further fields may follow on the same line after a comma or semicolon:
    ``dob: 1988-11-02, zip_code: 10115``.
    """
    found = []
    for number in named:
        start, line = lines[number]
        match = _FORM_LINE.match(line)
        if match is None:
            continue
        fields = [(match.group("name"), match.start("value"))]
        fields += [(following.group("name"), following.start("value"))
                   for following in _NEXT_FIELD.finditer(line, match.start("value"))]
        for name, value_start in fields:
            kind = field_entity(name)
            if kind is None:
                continue
            span = value_span(kind, line[value_start:])
            if span is not None:
                offset = start + value_start
                found.append(ColumnValue(kind, offset + span[0], offset + span[1]))
    return found


def _table_values(lines: list[tuple[int, str]], named: list[int]) -> list[ColumnValue]:
    """Return the values under labelled columns and beside labelled cells, in every table of the text.

    A table starts at a header line, which contains a needle, and ends at a
    blank line, a line without its delimiter, or a CSV line with another
    number of cells.
    """
    found: list[ColumnValue] = []
    named_set = set(named)
    end = 0
    for number in named:
        if number < end:
            continue
        header = _header(*lines[number])
        if header is None:
            continue
        delimiter, cells, columns = header
        found += _pair_values(cells)
        width = len(cells)
        end = number + 1
        while end < len(lines):
            start, line = lines[end]
            if not line.strip() or delimiter not in line:
                break
            if delimiter == "|" and _TABLE_SEPARATOR.fullmatch(line):
                end += 1
                continue
            row = split_cells(line, start, delimiter)
            if delimiter != "|" and len(row) != width:
                break
            has_needle = end in named_set
            end += 1

            # A row with a digit is data even when a cell names a field ("| Anna | 1988-01-01 | phone |"),
            # so that a contact-method column cannot replace the header.
            labelled = _labelled_columns(row) if has_needle and not _DIGIT.search(line) else {}
            if labelled:
                columns, width = labelled, len(row)
            else:
                found += _column_values(row, columns)
            if has_needle:
                found += _pair_values(row)
    return found


def _header(start: int, line: str) -> tuple[str, list[Cell], dict[int, str]] | None:
    """Return the delimiter, cells and labelled columns of a header line, or None for any other line."""
    for delimiter in _DELIMITERS:
        if delimiter not in line:
            continue
        cells = split_cells(line, start, delimiter)
        if len(cells) < 2:
            continue
        if delimiter != "|" and any(len(cell.text) > _MAX_HEADER_CELL for cell in cells):
            continue
        columns = _labelled_columns(cells)
        if columns:
            return delimiter, cells, columns
    return None


def _labelled_columns(cells: list[Cell]) -> dict[int, str]:
    """Return the entity type of each cell that names a field, by column index."""
    zip_allowed = any(_ADDRESS_COLUMN.search(cell.text.casefold()) or field_entity(cell.text) is not None
                      for cell in cells)
    columns = {}
    for number, cell in enumerate(cells):
        kind = field_entity(cell.text, zip_allowed)
        if kind is not None:
            columns[number] = kind
    return columns


def _column_values(row: list[Cell], columns: dict[int, str]) -> list[ColumnValue]:
    found = []
    for number, kind in columns.items():
        if number < len(row):
            found += _cell_value(row[number], kind)
    return found


def _pair_values(row: list[Cell]) -> list[ColumnValue]:
    """Return the values in the cell right after a cell that names a field, in the same row."""
    found = []
    for cell, following in zip(row, row[1:]):
        kind = field_entity(cell.text)
        if kind is not None:
            found += _cell_value(following, kind)
    return found


def _cell_value(cell: Cell, kind: str) -> list[ColumnValue]:
    span = value_span(kind, cell.text)
    if span is None:
        return []
    return [ColumnValue(kind, cell.start + span[0], cell.start + span[1])]


# The last text that find_column_values read, and its values, replaced together, because
# each column recognizer below reads the same text in turn.
_last_values: tuple[str | None, list[ColumnValue]] = (None, [])


def _values_of(text: str) -> list[ColumnValue]:
    global _last_values
    last_text, values = _last_values
    if last_text is not text:
        values = find_column_values(text)
        _last_values = (text, values)
    return values


class _ColumnRecognizer(FailClosed, LocalRecognizer):
    """Values of one entity type that a table column or a form field names (see the module docstring)."""

    ENTITY = ""

    def __init__(self) -> None:
        super().__init__(supported_entities=[self.ENTITY], name=f"Shochu{type(self).__name__}")

    def load(self) -> None:
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        return [self._result(value.start, value.end) for value in _values_of(text)
                if value.entity_type == self.ENTITY]

    def _result(self, start: int, end: int) -> RecognizerResult:
        explanation = AnalysisExplanation(recognizer=self.name, original_score=COLUMN_SCORE,
                                          textual_explanation="value under a labelled column or form field")
        return RecognizerResult(
            entity_type=self.ENTITY, start=start, end=end, score=COLUMN_SCORE,
            analysis_explanation=explanation,
            recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                                  RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id},
        )


class DateOfBirthColumnRecognizer(_ColumnRecognizer):
    """Dates under a date-of-birth column or after a date-of-birth form field."""

    ENTITY = DATE_OF_BIRTH


class PostalCodeColumnRecognizer(_ColumnRecognizer):
    """Postal codes under a postal-code column or after a postal-code form field."""

    ENTITY = POSTAL_CODE


class BankAccountColumnRecognizer(_ColumnRecognizer):
    """Account numbers under a bank-account column or after a bank-account form field."""

    ENTITY = BANK_ACCOUNT


class PhoneNumberColumnRecognizer(_ColumnRecognizer):
    """Phone numbers under a phone column or after a phone form field, also without separators."""

    ENTITY = PHONE_NUMBER
