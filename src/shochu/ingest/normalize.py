"""Text normalisation and script-based language detection."""

from __future__ import annotations

import re
import unicodedata

# C0 and C1 control characters, DEL and stray byte-order marks. Tab and newline
# are kept; carriage returns, form feeds and vertical tabs become newlines first.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ufeff]")
_LINE_BREAKS = re.compile(r"\r\n|[\r\x0b\x0c\u2028\x1c\x1d\x1e]")
_BLANK_LINE_RUNS = re.compile(r"\n{3,}")

# Share of letters that must belong to a script before the text counts as
# written in it. Japanese technical text mixes in many Latin command names, so
# the bar sits well below one half.
_SCRIPT_SHARE = 0.2
# Language detection looks at this many characters from the start of a document.
_LANGUAGE_SAMPLE_CHARS = 200_000


def normalize_text(text: str) -> str:
    """Return ``text`` in NFC with clean line structure.

    NFC keeps full-width characters as written (NFKC would fold them), because the
    protect stage applies NFKC itself where it needs it. Line endings become "\\n",
    control characters other than tab and newline are removed, trailing whitespace
    is stripped from every line and runs of blank lines shrink to one.
    """
    text = unicodedata.normalize("NFC", text)
    text = _LINE_BREAKS.sub("\n", text).replace("\u2029", "\n\n")
    text = _CONTROL_CHARACTERS.sub("", text)

    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = _BLANK_LINE_RUNS.sub("\n\n", text)
    return text.strip("\n")


def _script_of(character: str) -> str | None:
    code = ord(character)
    if 0x3040 <= code <= 0x30FF or 0x31F0 <= code <= 0x31FF or 0xFF66 <= code <= 0xFF9F:
        return "ja"  # hiragana, katakana, half-width katakana
    if 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF:
        return "ja"  # CJK ideographs (kanji)
    if 0x0E00 <= code <= 0x0E7F:
        return "th"
    if 0x0E80 <= code <= 0x0EFF:
        return "lo"
    return None


def detect_language(text: str) -> str:
    """Return "ja", "th" or "lo" when that script writes enough of the letters, else "en".

    NOTE: this looks at scripts only, so Chinese text counts as "ja" and every
    Latin-script language counts as "en".
    """
    counts = {"ja": 0, "th": 0, "lo": 0}
    letters = 0
    for character in text[:_LANGUAGE_SAMPLE_CHARS]:
        if not character.isalpha():
            continue
        letters += 1
        script = _script_of(character)
        if script is not None:
            counts[script] += 1

    if letters == 0:
        return "en"
    language, count = max(counts.items(), key=lambda item: item[1])
    return language if count / letters >= _SCRIPT_SHARE else "en"
