"""Decoding of text files whose encoding is not declared.

One function, ``decode_text``, decodes plain text, CSV documents and ticket
exports. It tries only the encodings that company documents in Shochu's target
regions use, and scores each candidate's text for how plausible it is. So a
Japanese file is not read as a Korean or Cyrillic code page, and a Latin-1 file
does not turn into kanji. Input that no candidate decodes plausibly raises
``EncodingError`` instead of returning mojibake.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from shochu.ingest.readers.base import EncodingError

# Candidates for bytes that are not UTF-8, in order of preference when two score
# the same. CP932 and CP874 are the Windows supersets of Shift_JIS and TIS-620,
# and CP1252 the superset of Latin-1 for printable characters; Latin-1 remains
# for bytes that CP1252 leaves undefined.
_LEGACY_CANDIDATES = ("cp932", "euc_jp", "cp1252", "cp874", "latin_1")
ALLOWED_ENCODINGS = ("utf_8", "utf_16", "iso2022_jp", *_LEGACY_CANDIDATES)
_TRIED = ("UTF-8, UTF-16 with BOM, ISO-2022-JP, Shift_JIS/CP932, EUC-JP, TIS-620/CP874 and "
          "CP1252/Latin-1")

# Highest share of control or replacement characters tolerated in decoded text;
# more means the file is binary data with a text suffix, or mislabelled.
_MAX_CONTROL_SHARE = 0.01
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")
# ISO-2022-JP switches character sets with escape sequences and stays 7-bit.
_ISO_2022_JP_ESCAPES = (b"\x1b$B", b"\x1b$@", b"\x1b(J", b"\x1b(I", b"\x1b$(D")

# Mean plausibility, per non-ASCII character, that the best candidate must reach.
_MIN_PLAUSIBILITY = 0.5
# Non-ASCII characters scored per candidate; the whole file is still decoded strictly.
_SAMPLE_CHARACTERS = 20_000
# Runs of non-ASCII characters other than white space; each is scored with its ASCII neighbours.
_NON_ASCII_RUNS = re.compile(r"[^\x00-\x7f\s]+")
# Thai combining vowels written above or below a consonant, and tone and other
# marks (which may also sit on such a vowel).
_THAI_VOWEL_MARKS = frozenset("\u0e31" + "".join(map(chr, range(0x0E34, 0x0E3B))))
_THAI_TONE_MARKS = frozenset(map(chr, range(0x0E47, 0x0E4F)))
_THAI_LEADING_VOWELS = frozenset("เแโใไ")
# Symbols from the JIS character set (arrows, box drawing, ①, ℃, ■, ※, ―) that
# only the Japanese candidates produce.
_JIS_SYMBOL_RANGES = ((0x2010, 0x203F), (0x2100, 0x218F), (0x2190, 0x21FF), (0x2200, 0x22FF),
                      (0x2460, 0x24FF), (0x2500, 0x257F), (0x25A0, 0x25FF), (0x2600, 0x26FF))
# Punctuation and symbols that Western and Japanese text use often, and others
# that it uses but that also turn up in mojibake ("¡ë" is EUC-JP's "°" read as CP1252).
_FREQUENT_SYMBOLS = frozenset("–—‘’“”…•€™©®°±×÷")
_OCCASIONAL_SYMBOLS = frozenset("‚„«»§¢£¥·¿¡µ¶†")


def decode_text(data: bytes) -> tuple[str, str]:
    """Return the text of ``data`` and the name of the encoding used.

    A byte-order mark decides first, then ISO-2022-JP escape sequences, then
    strict UTF-8. Otherwise every legacy candidate that decodes the bytes
    without error is scored for plausibility and the best one wins. Raises
    ``EncodingError``, naming the encodings tried, when none is plausible.
    """
    if data.startswith(codecs.BOM_UTF8):
        return _checked(data[len(codecs.BOM_UTF8):].decode("utf-8"), "utf_8")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _checked(data.decode("utf-16"), "utf_16")
    if data.isascii() and any(escape in data for escape in _ISO_2022_JP_ESCAPES):
        try:
            return _checked(data.decode("iso2022_jp"), "iso2022_jp")
        except UnicodeDecodeError:
            pass

    try:
        return _checked(data.decode("utf-8"), "utf_8")
    except UnicodeDecodeError:
        pass

    best: tuple[float, str, str] | None = None
    for encoding in _LEGACY_CANDIDATES:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        score = plausibility(text)
        if best is None or score > best[0]:
            best = (score, text, encoding)
    if best is None or best[0] < _MIN_PLAUSIBILITY:
        raise EncodingError(f"cannot detect the text encoding with confidence (tried {_TRIED}); save "
                            f"the file as UTF-8 and re-run")
    return _checked(best[1], best[2])


def plausibility(text: str) -> float:
    """Return the mean plausibility of the non-ASCII characters of ``text``, from -1 to 1.

    Each character scores by its script and its neighbours. Mojibake has
    telltale shapes: a lone kanji or half-width katakana glued to ASCII letters
    (Latin-1 read as CP932), Thai inside a Latin word (Latin-1 read as CP874),
    and runs of accented capitals with no ASCII letter (CP932 or CP874 read as
    CP1252). Symbols that text rarely uses score low.

    NOTE: the score knows scripts, not word frequencies, so text in an encoding
    outside the allow-list whose bytes are valid EUC-JP or CP874 (EUC-KR Korean
    does this) can still pass as kanji or Thai.
    """
    total = 0.0
    count = 0
    for run in _NON_ASCII_RUNS.finditer(text):
        start, end = run.span()
        before = text[start - 1] if start > 0 else " "
        after = text[end] if end < len(text) else " "
        attached = _is_ascii_letter(before) or _is_ascii_letter(after)
        characters = run.group()
        for index, character in enumerate(characters):
            previous = characters[index - 1] if index > 0 else before
            following = characters[index + 1] if index + 1 < len(characters) else after
            total += _character_score(character, previous, following, attached)
            count += 1
        if count >= _SAMPLE_CHARACTERS:
            break
    return total / count if count else 1.0


def _character_score(character: str, previous: str, following: str, attached: bool) -> float:
    """Score one non-ASCII character given its neighbours and whether its run touches an ASCII letter."""
    code = ord(character)
    next_to_latin = _is_ascii_letter(previous) or _is_ascii_letter(following)

    if _is_japanese(code):
        if _is_ascii_letter(previous) and _is_ascii_letter(following):
            return -1.0
        lone = not _is_japanese(ord(previous)) and not _is_japanese(ord(following))
        return -0.5 if lone and next_to_latin else 1.0
    if 0xFF61 <= code <= 0xFF9F:
        return -1.0 if next_to_latin else 0.8  # half-width katakana
    if 0x0E01 <= code <= 0x0E5B:
        return -1.0 if next_to_latin else _thai_score(character, previous, following)
    if 0x00C0 <= code <= 0x024F and character not in "×÷":
        single_letter_word = not previous.isalpha() and not following.isalpha()
        return 1.0 if attached or single_letter_word else -0.5
    if any(low <= code <= high for low, high in _JIS_SYMBOL_RANGES):
        return -1.0 if next_to_latin else 0.8
    if character in _FREQUENT_SYMBOLS:
        return 1.0
    if character in _OCCASIONAL_SYMBOLS:
        return 0.6
    if unicodedata.category(character) in ("Nd", "No"):
        return 0.0
    return -1.0


def _thai_score(character: str, previous: str, following: str) -> float:
    """Score a Thai character by the spelling rules that random bytes read as CP874 break."""
    if character in _THAI_VOWEL_MARKS:
        return 1.0 if _is_thai_consonant(previous) else -1.0
    if character in _THAI_TONE_MARKS:
        return 1.0 if _is_thai_consonant(previous) or previous in _THAI_VOWEL_MARKS else -1.0
    if character in _THAI_LEADING_VOWELS:
        return 1.0 if _is_thai_consonant(following) else -1.0
    if "\u0e50" <= character <= "\u0e59":
        return 0.0  # Thai digits: real, but rare in modern text
    if character in "\u0e4f\u0e5a\u0e5b":
        return -1.0  # signs used only in verse and old texts
    return 1.0


def _is_thai_consonant(character: str) -> bool:
    return "\u0e01" <= character <= "\u0e2e"


def _is_ascii_letter(character: str) -> bool:
    return character.isascii() and character.isalpha()


def _is_japanese(code: int) -> bool:
    """True for CJK punctuation, kana, kanji and full-width forms."""
    return (0x3000 <= code <= 0x30FF or 0x4E00 <= code <= 0x9FFF or 0xFF01 <= code <= 0xFF5E
            or 0x3400 <= code <= 0x4DBF)


def check_replacement_characters(text: str) -> None:
    """Raise ``EncodingError`` when decoding with errors replaced left many U+FFFD characters."""
    replaced = text.count("\ufffd")
    if text and replaced / len(text) > _MAX_CONTROL_SHARE:
        raise EncodingError(f"{replaced} characters could not be decoded with the declared charset; "
                            f"re-export the file as UTF-8 and re-run")


def _checked(text: str, encoding: str) -> tuple[str, str]:
    control = len(_CONTROL_CHARACTERS.findall(text))
    if text and control / len(text) > _MAX_CONTROL_SHARE:
        raise EncodingError(f"decoded as {encoding} but {control} control characters remain, so "
                            f"this is probably not a text file; remove it or convert it to UTF-8 text")
    return text, encoding
