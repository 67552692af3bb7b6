"""Consistent pseudonyms: realistic surrogates derived from a keyed HMAC-SHA256 of each value.

The same value always gets the same surrogate under the same key, in every
document and every run, and a different one under another key. Surrogates
keep the script and format of the original:

- person names: a Japanese name (kanji or katakana) gets a Japanese name from
  Faker's ja_JP lists, a Thai name a Thai one from th_TH, a Latin-script name
  an en_US one (a romanised Japanese name part a romanised Japanese one). Each
  word of a name is replaced on its own, so "Sato" alone and "Kenji Sato" share
  the surrogate surname;
- e-mail addresses: ``first.last@example.invalid`` (``.invalid`` is reserved
  by RFC 2606 and never resolves);
- phone numbers: the same separators, digit count and country code;
  North American numbers fall in 555-0100..0199 and British ones in Ofcom's
  drama ranges, both reserved for fiction;
- IP addresses: the documentation ranges of RFC 5737 and RFC 3849.

Faker's lists are read from the installed package, so surrogates change only
when the Faker pin changes. They are short (50 Japanese family names and 51
given names in Faker 40), so two people can draw the same surrogate; the
reversible mapping then lists both values under it.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import ipaddress
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import regex

from shochu.protect.placeholders import value_key

# Entity types that have a pseudonym generator.
PSEUDONYM_TYPES = ("PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS")

# Honorifics and titles kept as they are when they sit inside a name span.
_TITLES = frozenset({"mr", "mr.", "mrs", "mrs.", "ms", "ms.", "mx", "mx.", "dr", "dr.", "prof", "prof.",
                     "khun",
                     "คุณ", "นาย", "นาง", "นางสาว", "น.ส.", "ดร."})

_JAPANESE = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}々ー]")
_KANA_ONLY = regex.compile(r"^[\p{Katakana}\p{Hiragana}ー・ 　]+$")
_HIRAGANA = regex.compile(r"\p{Hiragana}")
_THAI = regex.compile(r"\p{Thai}")
_LATIN = regex.compile(r"\p{Latin}")
_INITIAL = regex.compile(r"^\p{Lu}\.?$")
_WORD_SEPARATOR = regex.compile(r"([ \t\u3000・]+)")
_DIGIT = regex.compile(r"\p{Nd}")


@dataclass(frozen=True)
class _NamePools:
    """Faker name lists used for surrogates, per script and role."""

    en_first: tuple[str, ...]
    en_last: tuple[str, ...]
    ja_first: tuple[str, ...]
    ja_last: tuple[str, ...]
    ja_kana_first: tuple[str, ...]
    ja_kana_last: tuple[str, ...]
    ja_roman_first: tuple[str, ...]
    ja_roman_last: tuple[str, ...]
    th_first: tuple[str, ...]
    th_last: tuple[str, ...]
    # Case-folded copies of the Latin lists, for membership tests.
    known_en_first: frozenset[str]
    known_en_last: frozenset[str]
    known_ja_roman_first: frozenset[str]
    known_ja_roman_last: frozenset[str]


@lru_cache(maxsize=1)
def _pools() -> _NamePools:
    def provider(locale: str) -> type:
        return importlib.import_module(f"faker.providers.person.{locale}").Provider

    english, japanese, thai = provider("en_US"), provider("ja_JP"), provider("th_TH")

    def names(source: type, attribute: str) -> tuple[str, ...]:
        # Sorted and de-duplicated, so that an index means the same name whatever
        # order Faker keeps its lists in.
        return tuple(sorted(set(getattr(source, attribute))))

    def folded(names: tuple[str, ...]) -> frozenset[str]:
        return frozenset(name.casefold() for name in names)

    en_first, en_last = names(english, "first_names"), names(english, "last_names")
    ja_roman_first = names(japanese, "first_romanized_names")
    ja_roman_last = names(japanese, "last_romanized_names")
    return _NamePools(
        en_first=en_first, en_last=en_last,
        ja_first=names(japanese, "first_names"), ja_last=names(japanese, "last_names"),
        ja_kana_first=names(japanese, "first_kana_names"), ja_kana_last=names(japanese, "last_kana_names"),
        ja_roman_first=ja_roman_first, ja_roman_last=ja_roman_last,
        th_first=names(thai, "first_names"), th_last=names(thai, "last_names"),
        known_en_first=folded(en_first), known_en_last=folded(en_last),
        known_ja_roman_first=folded(ja_roman_first), known_ja_roman_last=folded(ja_roman_last),
    )


class Pseudonymizer:
    """Surrogates for PERSON, EMAIL_ADDRESS, PHONE_NUMBER and IP_ADDRESS values under one key."""

    def __init__(self, key: bytes) -> None:
        if not key:
            raise ValueError("the pseudonym key is empty")
        self._key = key

    def digest(self, purpose: str, value: str) -> bytes:
        """Return HMAC-SHA256 of ``value`` under the key, separated by ``purpose``."""
        return hmac.new(self._key, f"{purpose}\x00{value}".encode(), hashlib.sha256).digest()

    def surrogate(self, entity_type: str, value: str) -> str | None:
        """Return the surrogate of ``value``, or None when no realistic one exists (a Lao name)."""
        if entity_type == "PERSON":
            return self._person(value)
        if entity_type == "EMAIL_ADDRESS":
            return self._email(value)
        if entity_type == "PHONE_NUMBER":
            return self._phone(value)
        if entity_type == "IP_ADDRESS":
            return self._ip_address(value)
        raise ValueError(f"no pseudonym generator for entity type {entity_type}; "
                         f"pseudonyms exist for {', '.join(PSEUDONYM_TYPES)}")

    # Person names.

    def _person(self, value: str) -> str | None:
        if _JAPANESE.search(value):
            return self._japanese_name(value)
        if _THAI.search(value):
            return self._words(value, self._thai_word)
        if _LATIN.search(value) and not _other_script(value):
            return self._words(value, self._latin_word)
        return None

    def _words(self, value: str, replace_word: Callable[[str, int, int], str]) -> str:
        """Replace each word of a name and keep the separators between them."""
        parts = _WORD_SEPARATOR.split(value.strip())
        count = sum(1 for index, part in enumerate(parts) if index % 2 == 0 and part)
        replaced = []
        position = 0
        for index, part in enumerate(parts):
            if index % 2 == 1 or not part:
                replaced.append(part)
                continue
            replaced.append(part if part.casefold() in _TITLES else replace_word(part, position, count))
            position += 1
        leading = value[:len(value) - len(value.lstrip())]
        trailing = value[len(value.rstrip()):]
        return leading + "".join(replaced) + trailing

    def _pick(self, word: str, role: str, pool: Sequence[str]) -> str:
        """Return the pool entry that the word's HMAC selects, never the word itself."""
        digest = self.digest(f"person-{role}", value_key("PERSON", word))
        index = int.from_bytes(digest[:8], "big") % len(pool)
        if pool[index].casefold() == word.casefold():
            index = (index + 1) % len(pool)
        return pool[index]

    def _latin_word(self, word: str, position: int, count: int) -> str:
        pools = _pools()
        if _INITIAL.match(word):
            letter = chr(ord("A") + self.digest("person-initial", word.casefold())[0] % 26)
            return letter + word[1:]

        # The word's own membership in a list decides its role where it can, so
        # that a surname keeps its surrogate when it appears alone.
        folded = word.casefold()
        japanese_first = folded in pools.known_ja_roman_first
        japanese_last = folded in pools.known_ja_roman_last
        if japanese_first != japanese_last:
            pool = pools.ja_roman_first if japanese_first else pools.ja_roman_last
        else:
            is_last = position == count - 1 and count > 1
            english_first = folded in pools.known_en_first
            english_last = folded in pools.known_en_last
            if english_first != english_last:
                is_last = english_last
            pool = pools.en_last if is_last else pools.en_first
        surrogate = self._pick(word, "latin", pool)
        return surrogate.upper() if word.isupper() and len(word) > 1 else surrogate

    def _thai_word(self, word: str, position: int, count: int) -> str:
        # Thai names run given name, then family name; a lone word is a given name.
        pools = _pools()
        return self._pick(word, "thai", pools.th_last if position > 0 else pools.th_first)

    def _japanese_name(self, value: str) -> str:
        pools = _pools()
        kana = bool(_KANA_ONLY.match(value))
        last_pool = pools.ja_kana_last if kana else pools.ja_last
        first_pool = pools.ja_kana_first if kana else pools.ja_first
        parts = _WORD_SEPARATOR.split(value)
        if len(parts) >= 3:
            # Written with a separator: family name, separator, given name(s).
            pieces = [self._pick(parts[0], "ja-last", last_pool)]
            for index, part in enumerate(parts[1:], start=1):
                pieces.append(part if index % 2 == 1 else self._pick(part, "ja-first", first_pool))
            surrogate = "".join(pieces)
        else:
            family, given = _split_japanese(value, pools.ja_last + pools.ja_kana_last)
            surrogate = self._pick(family, "ja-last", last_pool)
            if given:
                surrogate += self._pick(given, "ja-first", first_pool)
        return _to_hiragana(surrogate) if _HIRAGANA.search(value) and kana else surrogate

    # Structured identifiers.

    def _email(self, value: str) -> str:
        pools = _pools()
        digest = self.digest("email", value_key("EMAIL_ADDRESS", value))
        first = pools.en_first[int.from_bytes(digest[:8], "big") % len(pools.en_first)]
        last = pools.en_last[int.from_bytes(digest[8:16], "big") % len(pools.en_last)]
        return f"{first}.{last}@example.invalid".lower()

    def _phone(self, value: str) -> str:
        digits = _DIGIT.findall(value)
        stream = _digit_stream(self.digest("phone", value_key("PHONE_NUMBER", value)))
        international = unicodedata.normalize("NFKC", value).lstrip().startswith("+")
        replacement = _fictional_digits([unicodedata.digit(digit) for digit in digits], stream, international)
        return _with_digits(value, replacement)

    def _ip_address(self, value: str) -> str:
        digest = self.digest("ip", value_key("IP_ADDRESS", value))
        try:
            version = ipaddress.ip_address(value.strip()).version
        except ValueError:
            version = 6 if ":" in value else 4
        if version == 6:
            documentation = b"\x20\x01\x0d\xb8" + bytes(10) + digest[:2]  # 2001:db8::/32
            return str(ipaddress.IPv6Address(int.from_bytes(documentation, "big")))
        network = ("192.0.2", "198.51.100", "203.0.113")[digest[0] % 3]
        return f"{network}.{1 + digest[1] % 254}"


def _other_script(value: str) -> bool:
    """Return True when ``value`` has letters of a script other than Latin (Lao, Hangul, ...)."""
    return any(character.isalpha() and not _LATIN.match(character) for character in value)


def _split_japanese(name: str, known_family_names: tuple[str, ...]) -> tuple[str, str]:
    """Split a name written without a separator into family and given name.

    A known family name at the start decides. Otherwise a name of three or
    more characters is taken as two characters of family name and the rest,
    the most common shape, and a shorter one as a family name alone (田中様).
    """
    for family in sorted(known_family_names, key=len, reverse=True):
        if name.startswith(family) and len(name) > len(family):
            return family, name[len(family):]
    if name == "" or len(name) <= 2 or name in known_family_names:
        return name, ""
    return name[:2], name[2:]


def _to_hiragana(text: str) -> str:
    return "".join(chr(ord(character) - 0x60) if "ァ" <= character <= "ヶ" else character for character in text)




def _digit_stream(digest: bytes) -> list[int]:
    return [byte % 10 for byte in hashlib.sha256(digest).digest() + digest]


def _fictional_digits(digits: list[int], stream: list[int], international: bool) -> list[int]:
    """Return new digits of the same count: a fictional number where a reserved range exists.

    ``international`` is True when the number was written with a leading ``+``,
    so that its first digits are a country code.
    """
    count = len(digits)
    text = "".join(map(str, digits))
    north_american = text.startswith("1") and count == 11 if international else count == 10 and digits[0] >= 2
    british = text.startswith("44") and count == 12 if international else text.startswith("0") and count == 11
    national = text[2:] if international else text[1:]

    # North American numbers: 555-0100 to 555-0199 is reserved for fiction.
    if north_american:
        area = [2 + stream[0] % 8, stream[1], stream[2]]
        return [1] * (count - 10) + area + [5, 5, 5, 0, 1, stream[3], stream[4]]

    # British numbers: Ofcom reserves 07700 900000-900999 and 020 7946 0000-0999 for drama.
    prefix = [4, 4] if international else [0]
    if british and national.startswith("7"):
        return prefix + [7, 7, 0, 0, 9, 0, 0, stream[0], stream[1], stream[2]]
    if british and national.startswith("20"):
        return prefix + [2, 0, 7, 9, 4, 6, 0, stream[0], stream[1], stream[2]]

    # Elsewhere (Japan, Thailand, Laos) no range is reserved for fiction: keep
    # the country code or trunk prefix and replace the subscriber digits.
    # NOTE: such a surrogate can be a number in service; nothing links it to the original.
    keep = _kept_prefix(text, international)
    return digits[:keep] + [stream[5 + index % 27] for index in range(count - keep)]


def _kept_prefix(text: str, international: bool) -> int:
    """Return how many leading digits name the country and network (+66 8, +856 20, 090)."""
    if international:
        for code in ("856", "855", "880", "886", "852", "853", "66", "81", "82", "86", "84", "95", "65", "60",
                     "62", "63", "44", "49", "33", "91", "61"):
            if text.startswith(code):
                return min(len(text), len(code) + (2 if code == "856" else 1))
        return min(len(text), 3)
    return min(len(text), 3 if text.startswith("0") else 1)


def _with_digits(value: str, digits: list[int]) -> str:
    """Write ``digits`` over the digits of ``value``, keeping full-width digits full width."""
    replaced = iter(digits)
    pieces = []
    for character in value:
        if character.isdecimal():
            digit = next(replaced)
            pieces.append(chr(ord("０") + digit) if "０" <= character <= "９" else str(digit))
        else:
            pieces.append(character)
    return "".join(pieces)
