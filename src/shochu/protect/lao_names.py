"""Lao person names after a title, for ``PersonRecognizer``.

Lao writes a phrase without spaces between words, and no list of Lao names
is at hand, so a name is the run of Lao letters after a title, up to the
next space or punctuation. A run of more than 20 letters reads as a sentence
and is skipped. The word after a space is never taken for a family name.
"""

from __future__ import annotations

from collections.abc import Iterator

import regex

# ທ້າວ (Mr.), ນາງ and ນາງສາວ (Mrs., Miss), ທ່ານ and ທ່ານນາງ (honorifics); a title comes before
# the shorter title it starts with.
TITLES = ("ທ້າວ", "ທ່ານນາງ", "ທ່ານ", "ນາງສາວ", "ນາງ")

# The title starts a word, as TH_TITLE in cues.py does, or follows a word that
# often comes right before a name: ແລະ (and), ກັບ (with), ໂດຍ (by), ຈາກ
# (from), ເຖິງ (to), ຂອງ (of), ໃຫ້ (for), ເຊີນ (invite).
TITLED_NAME = regex.compile(
    r"(?:(?<!\p{Lao})|(?<=ແລະ|ກັບ|ໂດຍ|ຈາກ|ເຖິງ|ຂອງ|ໃຫ້|ເຊີນ))"
    rf"(?P<title>{'|'.join(TITLES)})[ ]?(?P<run>\p{{Lao}}{{2,20}})(?!\p{{Lao}})")

# Words that follow ທ່ານ ("you") or ນາງ ("she") used as a pronoun: can, will,
# get, must, have, be, also, not, want, should, all, self, ask for.
NOT_NAMES = ("ສາມາດ", "ຈະ", "ໄດ້", "ຕ້ອງ", "ມີ", "ເປັນ", "ກໍ", "ບໍ່", "ຢາກ", "ຄວນ", "ທັງຫຼາຍ", "ເອງ", "ຂໍ")

LAO_LETTER = regex.compile(r"\p{Lao}")


def lao_titled_names(text: str) -> Iterator[tuple[int, int]]:
    """Yield ``(start, end)`` of each Lao name after a title; the title stays outside the span."""
    if not LAO_LETTER.search(text):
        return
    for match in TITLED_NAME.finditer(text):
        if not match.group("run").startswith(NOT_NAMES):
            yield match.span("run")
