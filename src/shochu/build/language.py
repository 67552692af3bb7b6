"""Language of a text from the Unicode scripts of its letters.

Script ranges tell Japanese, Thai, Lao, Korean and Chinese apart reliably
without a model. They cannot tell Latin-script languages apart, so every
Latin-script text is reported as ``en``, the language of the default prompts.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

# Placeholders written by the protect stage, such as [PERSON_1], are not text.
_PLACEHOLDER = re.compile(r"\[[A-Z_]+_\d+\]|\[REDACTED\]")


def _script(character: str) -> str | None:
    code = ord(character)
    if 0x3040 <= code <= 0x30FF or 0x31F0 <= code <= 0x31FF or 0xFF66 <= code <= 0xFF9F:
        return "kana"
    if 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF:
        return "han"
    if 0x0E00 <= code <= 0x0E7F:
        return "th"
    if 0x0E80 <= code <= 0x0EFF:
        return "lo"
    if 0xAC00 <= code <= 0xD7AF or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F:
        return "ko"
    if character.isalpha() and unicodedata.name(character, "").startswith(("LATIN", "FULLWIDTH LATIN")):
        return "en"
    if character.isalpha():
        return "other"
    return None


def script_counts(text: str) -> Counter[str]:
    """Count the letters of each script in ``text``, placeholders left out."""
    return Counter(script for script in map(_script, _PLACEHOLDER.sub(" ", text)) if script is not None)


def detect_language(text: str) -> str:
    """Return ``ja``, ``zh``, ``th``, ``lo``, ``ko``, ``en`` (any Latin script), ``other`` or ``unknown``.

    The script with the most letters wins. Kanji count as Japanese when the
    text holds any kana, else as Chinese. A text without letters is ``unknown``.
    """
    counts = script_counts(text)
    if not counts:
        return "unknown"
    if counts["kana"]:
        counts["kana"] += counts.pop("han", 0)
    elif "han" in counts:
        counts["zh"] = counts.pop("han")
    language, _ = counts.most_common(1)[0]
    return "ja" if language == "kana" else language


def languages_match(expected: str, actual: str) -> bool:
    """Whether a response in ``actual`` suits a source in ``expected``.

    A response without letters (a number, a code) matches any source, and a
    kanji-only response matches a Japanese source: short Japanese answers
    such as 東京 or 就業規則 have no kana.
    """
    if actual == "unknown" or expected == "unknown" or actual == expected:
        return True
    return expected == "ja" and actual == "zh"
