"""Decoding of text files whose encoding is not declared."""

from __future__ import annotations

import codecs
import re

import charset_normalizer

from shochu.ingest.readers.base import EncodingError

# Encodings that company documents in Shochu's target regions use: Unicode,
# Japanese (Shift_JIS in its Windows form, EUC-JP, ISO-2022-JP), Thai (TIS-620
# and its Windows form) and Western European. Restricting detection to this
# list stops a Japanese file from being read as, say, a Cyrillic code page.
ALLOWED_ENCODINGS = ["utf_8", "utf_16", "cp932", "shift_jis", "euc_jp", "iso2022_jp",
                     "cp874", "tis_620", "cp1252", "latin_1"]

# Highest share of control or replacement characters tolerated in decoded text;
# more means the file is binary data with a text suffix, or mislabelled.
_MAX_CONTROL_SHARE = 0.01
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")


def decode_text(data: bytes) -> tuple[str, str]:
    """Return the text of ``data`` and the name of the encoding used.

    A byte-order mark decides first, then strict UTF-8, then charset-normalizer
    limited to ``ALLOWED_ENCODINGS``. Raises ``EncodingError`` when no encoding
    fits with confidence, rather than returning garbled text.
    """
    if data.startswith(codecs.BOM_UTF8):
        return _checked(data[len(codecs.BOM_UTF8):].decode("utf-8"), "utf_8")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _checked(data.decode("utf-16"), "utf_16")

    try:
        return _checked(data.decode("utf-8"), "utf_8")
    except UnicodeDecodeError:
        pass

    best = charset_normalizer.from_bytes(data, cp_isolation=ALLOWED_ENCODINGS).best()
    if best is None:
        raise EncodingError("cannot detect the text encoding with confidence; save the file as "
                            "UTF-8 and re-run")
    return _checked(str(best), best.encoding)


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
