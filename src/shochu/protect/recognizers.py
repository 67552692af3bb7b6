"""Pattern recognizers for e-mail, phone, card, IBAN, IP and bank-account numbers.

Each recognizer is declarative in Presidio's style: named patterns with a base
score, context words, and a ``validate_result`` checksum hook. The patterns
run on NFKC-normalised text (see ``normalize.py``). They use explicit ASCII
or digit look-arounds instead of ``\\b``, because ``\\b`` does not fire between
a digit and a kanji, kana or Thai letter (``番号1234567``). Nor does it fire
inside words that PDF extraction glued together (``lineTel202-555-0147``).
"""

from __future__ import annotations

import functools
import logging
import re
import string
import threading
from collections.abc import Iterator
from typing import NamedTuple
from contextlib import contextmanager

import phonenumbers
import tldextract
from phonenumbers import phonenumbermatcher
from phonenumbers.phonenumberutil import NumberParseException
from presidio_analyzer import (
    AnalysisExplanation,
    EntityRecognizer,
    Pattern,
    PatternRecognizer,
    RecognizerResult,
)
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer as PresidioCreditCardRecognizer,
    IbanRecognizer as PresidioIbanRecognizer,
    IpRecognizer as PresidioIpRecognizer,
    PhoneRecognizer as PresidioPhoneRecognizer,
)

from shochu.protect.checksums import is_valid_thai_national_id

logger = logging.getLogger(__name__)

# recognition_metadata key that marks the result of a failed recognizer.
FAILED_KEY = "shochu_recognizer_failed"

# Regions tried for phone numbers written without a country code, unless
# protect.phone_regions sets others.
PHONE_REGIONS = ("JP", "TH", "LA", "US", "GB")


class _TimeoutWatch(logging.Filter):
    """Notice Presidio's warning that a pattern timed out, after which Presidio skips the pattern.

    Presidio reports the timeout only as a log record. ``FailClosed`` lowers the
    ``presidio-analyzer`` logger to WARNING while a recognizer runs, so the record
    is created even where the application silenced that logger (the CLI does).
    The watch drops the records that the logger's own level would have dropped.
    """

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level
        self.timeouts = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if "timed out" in str(record.msg):
            self.timeouts += 1
        return record.levelno >= self.level


_watches = threading.local()


@contextmanager
def presidio_timeout_watch() -> Iterator[_TimeoutWatch]:
    """Watch the ``presidio-analyzer`` logger for pattern timeouts while the block runs.

    The logger is lowered to WARNING for the block when it is set higher, so
    the timeout record is created. ``Masker`` opens one watch per text and the
    recognizers inside reuse it: ``Logger.setLevel`` clears the level cache of
    every logger in the process, which cost more than some recognizers when it
    ran twice per recognizer call.
    """
    existing = getattr(_watches, "current", None)
    if existing is not None:
        yield existing
        return

    presidio_logger = logging.getLogger("presidio-analyzer")
    level = presidio_logger.level
    watch = _TimeoutWatch(presidio_logger.getEffectiveLevel())
    presidio_logger.addFilter(watch)
    lowered = not presidio_logger.isEnabledFor(logging.WARNING)
    if lowered:
        presidio_logger.setLevel(logging.WARNING)
    _watches.current = watch
    try:
        yield watch
    finally:
        _watches.current = None
        if lowered:
            presidio_logger.setLevel(level)
        presidio_logger.removeFilter(watch)


class FailClosed:
    """Mixin that turns a recognizer's exception or pattern timeout into one entity covering the whole text.

    The caller (``Masker``) withholds a text that carries such a result, so a
    broken recognizer can never let a text through unmasked. Only the
    recognizer name, the exception type and the text length are logged, since
    exception messages may quote the text.

    A subclass that defines its own ``analyze`` would come before this one in
    the method resolution order and bypass it, so ``__init_subclass__`` wraps
    that method too.
    """

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("analyze")
        if own is None:
            return

        @functools.wraps(own)
        def analyze(self, text: str, entities: list[str], nlp_artifacts=None, *args,
                    **kwargs) -> list[RecognizerResult]:
            return self._fail_closed(functools.partial(own, self), text, entities, nlp_artifacts, *args, **kwargs)

        cls.analyze = analyze

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None, *args,
                **kwargs) -> list[RecognizerResult]:
        return self._fail_closed(super().analyze, text, entities, nlp_artifacts, *args, **kwargs)

    def _fail_closed(self, analyze, text: str, *args, **kwargs) -> list[RecognizerResult]:
        watch = getattr(_watches, "current", None)
        if watch is None:
            with presidio_timeout_watch():
                return self._fail_closed(analyze, text, *args, **kwargs)

        # Counting, not resetting a flag, keeps a timeout seen by an outer call when an inner one returns.
        timeouts = watch.timeouts
        try:
            results = analyze(text, *args, **kwargs)
        except Exception as error:  # noqa: BLE001 - any failure must withhold the text
            logger.warning("recognizer %s raised %s on a text of %d characters; the text will be withheld",
                           self.name, type(error).__name__, len(text))
            return [self._whole_text_result(text)]
        if watch.timeouts > timeouts:
            logger.warning("a pattern of recognizer %s timed out on a text of %d characters; "
                           "the text will be withheld", self.name, len(text))
            return [self._whole_text_result(text)]
        return results

    def _whole_text_result(self, text: str) -> RecognizerResult:
        explanation = AnalysisExplanation(recognizer=self.name, original_score=1.0,
                                          textual_explanation="recognizer failed")
        return RecognizerResult(
            entity_type=self.supported_entities[0], start=0, end=len(text), score=1.0,
            analysis_explanation=explanation,
            recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                                  RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                                  FAILED_KEY: True},
        )


# Characters that case-insensitive matching equates with an ASCII letter while
# str.lower() leaves them alone or changes them otherwise (long s, Kelvin sign,
# dotted and dotless i). NFKC removes most of them before detection.
_CASE_TRAPS = re.compile("[\u017f\u212a\u0130\u0131]")
_ANY_DIGIT = re.compile(r"\d")


class TextFacts(NamedTuple):
    """What the needle and digit gates read of a text: its lower case, a case trap, its digit count."""

    lowered: str
    has_case_trap: bool
    digits: int


# The last text that text_facts read, and its facts, replaced together.
_last_facts: tuple[str | None, TextFacts | None] = (None, None)


def text_facts(text: str) -> TextFacts:
    """Return the facts of ``text``, read once: several recognizers ask about the same text in a row."""
    global _last_facts
    last_text, facts = _last_facts
    if last_text is not text or facts is None:
        facts = TextFacts(text.lower(), not text.isascii() and _CASE_TRAPS.search(text) is not None,
                          len(_ANY_DIGIT.findall(text)))
        _last_facts = (text, facts)
    return facts


def contains_any(text: str, needles: tuple[str, ...]) -> bool:
    """Return True when ``text``, lower-cased, contains one of the lower-case ``needles``.

    Also True when the text contains a character whose case folding a plain
    ``lower()`` would miss, so that a caller that skips work on False never
    skips a match.
    """
    facts = text_facts(text)
    return facts.has_case_trap or any(needle in facts.lowered for needle in needles)


def digit_count(text: str) -> int:
    """Return how many decimal digits, of any script, ``text`` contains."""
    return text_facts(text).digits


class NeedleGate:
    """Mixin that skips a pattern recognizer on a text that contains none of its ``NEEDLES``.

    Every pattern of such a recognizer needs one of the needles (a label such
    as "passport", or "@"), so the result is the same. On a long text without
    them this saves the regex scans, which for a case-insensitive label
    alternation cost about 0.1 s per MB in the ``regex`` module.
    """

    NEEDLES: tuple[str, ...] = ()

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None, *args,
                **kwargs) -> list[RecognizerResult]:
        if not contains_any(text, self.NEEDLES):
            return []
        return super().analyze(text, entities, nlp_artifacts, *args, **kwargs)


class DigitGate:
    """Mixin that skips a pattern recognizer on a text with fewer than ``MIN_DIGITS`` decimal digits.

    Each such recognizer keeps only matches with at least that many digits
    (a card number has 13 or more, a valid phone number 7 or more, with its
    country code), so the result is the same.
    """

    MIN_DIGITS = 0

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None, *args,
                **kwargs) -> list[RecognizerResult]:
        if digit_count(text) < self.MIN_DIGITS:
            return []
        return super().analyze(text, entities, nlp_artifacts, *args, **kwargs)


# --- e-mail ---------------------------------------------------------------


def offline_suffix_extractor() -> tldextract.TLDExtract:
    """Return a public-suffix lookup over tldextract's bundled snapshot.

    An empty URL list means it never fetches a newer list, and
    ``cache_dir=None`` means it never writes one. tldextract's module-level
    ``extract()``, which Presidio's own EmailRecognizer calls, would try to
    download the list on first use.
    """
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


_SUFFIXES = offline_suffix_extractor()

# Top-level labels that look like an address but are file names ("icon@2x.png").
_FILE_EXTENSIONS = frozenset("png jpg jpeg gif svg webp bmp tif tiff pdf zip gz js css txt".split())


class EmailRecognizer(FailClosed, NeedleGate, PatternRecognizer):
    """E-mail addresses with ASCII local parts, also inside Japanese or Thai text."""

    NEEDLES = ("@",)

    # ASCII classes on purpose: with \w the match would run on into kanji or
    # kana around the address (連絡先はtaro@example.comです). The local part may
    # hold quote and bracket characters, but not as its first character, where
    # they usually quote the address (`user@example.org`, 'user@example.org').
    PATTERNS = [
        Pattern(
            "email",
            r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9_%+\-][A-Za-z0-9!#$%&'*+/=?^_`{|}~\-]*"
            r"(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-]+)*"
            r"@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}(?![A-Za-z0-9\-])",
            0.6,
        ),
    ]
    CONTEXT = ["email", "e-mail", "mail"]

    def __init__(self) -> None:
        super().__init__(supported_entity="EMAIL_ADDRESS", name="ShochuEmailRecognizer",
                         patterns=self.PATTERNS, context=self.CONTEXT)

    def validate_result(self, pattern_text: str) -> bool | None:
        """Return True for a public suffix, False for a file name, None (keep the base score) otherwise.

        Internal domains (``corp.local``, ``host.internal``) have no public
        suffix but are still addresses, so they keep the base score.
        """
        domain = pattern_text.rsplit("@", 1)[1]
        if _SUFFIXES(domain).suffix:
            return True
        if domain.rsplit(".", 1)[1].lower() in _FILE_EXTENSIONS:
            return False
        return None


# --- phone numbers --------------------------------------------------------

# Separators seen between digit groups, after NFKC: ASCII hyphen, space and
# dot, the Unicode dashes, the minus sign, and the katakana prolonged sound
# mark that Japanese text often uses as a hyphen (090ー1234ー5678).
# A hyphen at a line end also separates: PDF text wraps a number there (090-1234-\n5678).
_SEP = r"(?:-\r?\n|[ \-.\u2010-\u2015\u2212\u30fc])"
_ANY_SEP = re.compile(r"[ \-.\u2010-\u2015\u2212\u30fc()\r\n]")
# Not right after a model or serial prefix of 1-4 capitals (VB07-2406-0302),
# except a glued phone label (TEL03-1234-5678, FAX052-387-2301).
_NO_MODEL_PREFIX = r"(?<!(?<![A-Za-z])(?!(?:TEL|FAX|PH|MOB)(?![A-Z]))[A-Z]{1,4})"


_SPACED_GROUPS = re.compile(r"[2-9]\d{2} [2-9]\d{2} \d{4}")


def is_valid_phone_number(candidate: str, regions: tuple[str, ...] = PHONE_REGIONS) -> bool:
    """Return True when phonenumbers accepts the candidate as valid in one of ``regions``.

    A number starting with ``+`` is parsed on its own country code instead.
    """
    compact = _ANY_SEP.sub("", candidate.replace("(0)", ""))
    for region in (None,) if compact.startswith("+") else regions:
        try:
            number = phonenumbers.parse(compact, region)
        except NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return True
    return False


class PhoneRecognizer(FailClosed, DigitGate, PatternRecognizer):
    """Phone numbers in international and JP, TH, LA, US and GB national formats."""

    # The shortest valid numbers, such as Niue's +683 4002, have 7 digits with the country code.
    MIN_DIGITS = 7
    # Below the default threshold of 0.4: only a context word such as "phone" lifts it.
    SPACED_SCORE = 0.3

    PATTERNS = [
        # +81 3-1234-5678, +66 2 123 4567, +856 20 5555 1234, +44 (0)20 7946 0958, +819012345678,
        # and subscriber groups of up to 8 digits: +44 7911 123456, +49 151 23456789
        Pattern(
            "international",
            rf"(?<!\d)\+(?:\d{{8,15}}|\d{{1,3}}{_SEP}?(?:\(\d{{1,4}}\){_SEP}?)?\d{{1,5}}"
            rf"(?:{_SEP}\d{{1,8}}){{0,5}})(?!\d)",
            0.5,
        ),
        # 03-1234-5678, 090-1234-5678, (03) 1234-5678, 02-123-4567, 081-234-5678, 020 5555 1234,
        # and Thai numbers with the trunk 0 on its own: 0 2345 6789
        Pattern(
            "national with trunk prefix",
            rf"(?<![\d+]){_NO_MODEL_PREFIX}(?:\(0\d{{1,4}}\){_SEP}?|0\d{{0,4}}{_SEP})\d{{1,4}}{_SEP}\d{{3,4}}"
            r"(?!\d)",
            0.5,
        ),
        # Japanese numbers with the exchange in brackets: 03(3212)4567, 0422 (12) 3456
        Pattern(
            "exchange in brackets",
            rf"(?<![\d+]){_NO_MODEL_PREFIX}0\d{{1,4}}[ ]?\(\d{{1,4}}\)[ ]?\d{{3,4}}(?!\d)",
            0.5,
        ),
        # Mobile numbers in two groups: 07911 123456 (British), 090 12345678 (Japanese).
        # Other prefixes are left out: 0123 456789 is as often an order number.
        Pattern(
            "mobile in two groups",
            rf"(?<![\d+]){_NO_MODEL_PREFIX}0(?:7\d{{3}}|[789]0){_SEP}\d{{6,8}}(?!\d|{_SEP}\d)",
            0.5,
        ),
        # A Japanese mobile number without separators, anywhere: 09012345678
        Pattern("Japanese mobile digits", r"(?<![\d+])0[789]0\d{8}(?!\d)", 0.5),
        # 202-555-0147, (202) 555-0147, 1-800-555-0199. The leading look-ahead
        # adds no condition, but it lets the regex engine skip the look-behinds
        # at most positions. This pattern ran 10 times faster on the Debian Reference.
        Pattern(
            "north american",
            rf"(?=[(1-9])(?<![\d+]){_NO_MODEL_PREFIX}(?:1{_SEP})?(?:\([2-9]\d{{2}}\){_SEP}?|[2-9]\d{{2}}{_SEP})"
            rf"[2-9]\d{{2}}{_SEP}\d{{4}}(?!\d)",
            0.5,
        ),
        # Ungrouped digits directly after a phone label: 電話09012345678, Tel: 0212345678
        Pattern(
            "digits after phone label",
            r"(?:phone|tel|mobile|cell|fax|電話|携帯|連絡先|โทร|เบอร์|ໂທ)[^\d\n]{0,12}?\K(?<!\d)\+?\d{9,13}(?!\d)",
            0.5,
        ),
    ]
    CONTEXT = ["phone", "telephone", "tel", "mobile", "cell", "fax", "call", "電話", "携帯", "โทร", "เบอร์"]

    def __init__(self, regions: tuple[str, ...] = PHONE_REGIONS) -> None:
        self.regions = tuple(regions)
        super().__init__(supported_entity="PHONE_NUMBER", name="ShochuPhoneRecognizer",
                         patterns=self.PATTERNS, context=self.CONTEXT)

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None, *args,
                **kwargs) -> list[RecognizerResult]:
        """Find phone numbers and remember the validated ones for ``PhoneNumberMatcherRecognizer``."""
        global _validated_phones
        results = super().analyze(text, entities, nlp_artifacts, *args, **kwargs)

        # Three digit groups split by single spaces are as often counts or sizes
        # ("--files 250 500 1000") as a North American number: they need a context word.
        for result in results:
            if _SPACED_GROUPS.fullmatch(text, result.start, result.end):
                result.score = min(result.score, self.SPACED_SCORE)
        _validated_phones = (text, [(result.start, result.end) for result in results
                                    if result.score >= EntityRecognizer.MAX_SCORE])
        return results

    def validate_result(self, pattern_text: str) -> bool | None:
        """Return True for a valid number; keep an unknown ``+`` number of 8-15 digits at its base score."""
        if is_valid_phone_number(pattern_text, self.regions):
            return True
        digit_count = sum(character.isdigit() for character in pattern_text)
        if pattern_text.startswith("+") and 8 <= digit_count <= 15:
            return None
        return False


# The last text PhoneRecognizer analysed and the spans it validated with phonenumbers, replaced together.
_validated_phones: tuple[str | None, list[tuple[int, int]]] = (None, [])

# The matcher's own candidate pattern: runs of digits and phone punctuation. It is
# private to phonenumbers, so without it every window is searched whole.
_MATCHER_CANDIDATE: re.Pattern[str] | None = getattr(phonenumbermatcher, "_PATTERN", None)


def _open_segments(text: str, start: int, end: int, validated: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Return the parts of ``text[start:end]`` where the matcher could find a number the patterns did not.

    The matcher keeps only valid numbers, which have at least 7 digits. A
    candidate with fewer digits gives this second net nothing, and nor does one
    whose digits all belong to numbers the patterns already validated. (The
    analyzer's registry runs PhoneRecognizer first.) A part starts one
    character before a candidate that is left, because the matcher rejects a
    candidate that follows a letter, and it ends where the next validated
    number starts.
    """
    window = text[start:end]
    if _MATCHER_CANDIDATE is None:
        return [(start, end)] if len(_ANY_DIGIT.findall(window)) >= PhoneRecognizer.MIN_DIGITS else []
    segments: list[tuple[int, int]] = []
    opened: int | None = None
    for candidate in _MATCHER_CANDIDATE.finditer(window):
        digits = [start + candidate.start() + offset for offset, character in enumerate(candidate.group())
                  if character.isdigit()]
        if len(digits) < PhoneRecognizer.MIN_DIGITS:
            continue
        if all(any(low <= digit < high for low, high in validated) for digit in digits):
            if opened is not None:
                segments.append((opened, start + candidate.start()))
                opened = None
        elif opened is None:
            opened = start + max(0, candidate.start() - 1)
    if opened is not None:
        segments.append((opened, end))
    return segments


# Characters that may continue a phone number past the end of a context window.
_PHONE_CHARACTERS = frozenset("0123456789 -.()+/\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc")


class PhoneNumberMatcherRecognizer(FailClosed, PresidioPhoneRecognizer):
    """Presidio's phonenumbers-based matcher, as a second net for formats the patterns miss.

    It also accepts bare digit runs that happen to be valid numbers (order or
    invoice numbers), so its base score sits below the default 0.4 threshold
    and only a context word ("phone", "tel") lifts a match above it.
    """

    SCORE = 0.3

    def __init__(self, regions: tuple[str, ...] = PHONE_REGIONS, score_threshold: float = 0.0) -> None:
        super().__init__(supported_regions=tuple(regions), name="PhoneNumberMatcherRecognizer")
        self._needs_context = score_threshold > self.SCORE

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        """Run the matcher, the slowest recognizer, only where a match could pass the threshold.

        With the threshold above ``SCORE``, a match needs a context word among
        the 5 tokens before it (Presidio 2.2.366's default context window). So
        only the text from each context word to ``_CONTEXT_REACH`` characters
        after it, plus the rest of a digit run there, is searched. NOTE: a
        number after 5 tokens longer than 80 characters in all is not searched.
        """
        if not self._needs_context:
            return super().analyze(text, entities, nlp_artifacts)
        validated_text, validated = _validated_phones
        if validated_text is not text:
            validated = []
        results = []
        segments = (segment for window in self._context_windows(text)
                    for segment in _open_segments(text, *window, validated))
        for start, end in segments:
            for result in super().analyze(text[start:end], entities, None):
                result.start += start
                result.end += start
                results.append(result)
        return results

    _CONTEXT_REACH = 80

    def _context_windows(self, text: str) -> list[tuple[int, int]]:
        lowered = text.lower()
        windows: list[tuple[int, int]] = []
        for word in self.context:
            position = lowered.find(word)
            while position != -1:
                end = min(len(text), position + len(word) + self._CONTEXT_REACH)
                while end < len(text) and text[end] in _PHONE_CHARACTERS:
                    end += 1
                windows.append((position, end))
                position = lowered.find(word, position + 1)
        merged: list[tuple[int, int]] = []
        for start, end in sorted(windows):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        return merged


# --- cards, IBAN, IP --------------------------------------------------------


class CreditCardRecognizer(FailClosed, DigitGate, PresidioCreditCardRecognizer):
    """13 to 19 digit card numbers, validated by Presidio's Luhn checksum."""

    MIN_DIGITS = 13

    PATTERNS = [
        # 4012 8888 8888 1881, 4012-8888-8888-1881, and a number that PDF text
        # wraps at a group (4012 8888\n8888 1881)
        Pattern("card number", r"(?<!\d)[2-6]\d{3}(?:(?:[ \-]|[ \-]?\r?\n)?\d){9,15}(?!\d)", 0.3),
    ]

    def __init__(self) -> None:
        super().__init__(patterns=self.PATTERNS, name="ShochuCreditCardRecognizer")

    def validate_result(self, pattern_text: str) -> bool | None:
        """Apply the Luhn check, but leave a 13-digit valid Thai national id at the low base score.

        One in ten Thai ids also passes Luhn. Scored as a card it would tie
        with TH_NATIONAL_ID, and the tie would go to CREDIT_CARD; a "card"
        context word still lifts it above the threshold when Thai ids are not masked.
        """
        pattern_text = pattern_text.replace("\r", "").replace("\n", "")
        luhn_valid = super().validate_result(pattern_text)
        if luhn_valid and is_valid_thai_national_id(pattern_text):
            return None
        return luhn_valid


class IbanRecognizer(FailClosed, PresidioIbanRecognizer):
    """Presidio's IBAN recognizer: its pattern already uses ASCII look-arounds."""

    def __init__(self) -> None:
        super().__init__(name="IbanRecognizer")


_IPV4_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"


class IpRecognizer(FailClosed, PresidioIpRecognizer):
    """IPv4 and IPv6 addresses. Presidio's ``ipaddress`` check drops malformed ones."""

    PATTERNS = [
        Pattern("IPv4", rf"(?<![\d.]){_IPV4_OCTET}(?:\.{_IPV4_OCTET}){{3}}(?:/\d{{1,2}})?(?!\d|\.\d)", 0.6),
        Pattern(
            "IPv6",
            r"(?<![0-9A-Za-z:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:%[0-9A-Za-z]+)?(?:/\d{1,3})?"
            r"(?![0-9A-Za-z:])",
            0.6,
        ),
    ]

    def __init__(self) -> None:
        super().__init__(patterns=self.PATTERNS, name="ShochuIpRecognizer")

    def invalidate_result(self, pattern_text: str) -> bool | None:
        """Also drop netmasks (255.255.255.0) and IPv6-like matches with under 4 hex digits ("::", "a::1")."""
        if super().invalidate_result(pattern_text) or pattern_text.startswith("255."):
            return True
        if ":" in pattern_text:
            return sum(character in string.hexdigits for character in pattern_text) < 4
        return None


# --- bank accounts ------------------------------------------------------------

_ACCOUNT_LABEL = (
    r"(?:account|acct\.?|a/c)[ \t]*(?:number|num\.?|no\.?|#)|account(?=[ \t]*[:：#])|bank[ \t]+account"
    # "transfer to account 1234567": the word directly before the digits
    r"|(?i:account|acct\.?|a/c)(?=[ \t]+\d)"
    # บัญชีธนาคารกสิกรไทย เลขที่ ...: the bank's name may stand between the label and its number
    r"|口座番号|口座|เลขที่บัญชี|เลขบัญชี|บัญชีเลขที่|บัญชีธนาคาร\p{Thai}{0,20}|บัญชี|ເລກບັນຊີ|ບັນຊີ"
)


class BankAccountRecognizer(FailClosed, NeedleGate, PatternRecognizer):
    """Bank account numbers: 6 to 18 digits, only after an account or branch label.

    Without a label a digit run cannot be distinguished from a ticket, order
    or serial number, so there is no label-free pattern. NOTE: an account written more
    than 12 characters after its label ("account number for payroll is ...")
    is missed.
    """

    PATTERNS = [
        # Account No.: 12345678, 口座番号 1234567, 口座：普通 1234567, เลขที่บัญชี 123-4-56789-0
        Pattern("after account label",
                rf"(?:{_ACCOUNT_LABEL})[^\d\n]{{0,12}}?\K(?<!\d)\d(?:[ \-]?\d){{5,17}}(?!\d)", 0.85),
        # 渋谷支店 普通 1234567 (Japanese account numbers have 7 digits)
        Pattern("after branch name", r"支店[^\d\n]{0,10}?\K(?<!\d)\d{7}(?!\d)", 0.85),
        # 渋谷支店(123) 普通預金 1234567: a branch code between branch and account type
        Pattern("after account type",
                r"支店[^\n]{0,16}?(?:普通|当座|貯蓄)(?:預金)?[^\d\n]{0,4}?\K(?<!\d)\d{7}(?!\d)", 0.85),
        # みずほ銀行 普通 1234567: the account type right before the number, without a branch
        Pattern("right after account type",
                r"(?:普通|当座|貯蓄)(?:預金)?[ 　:：]{0,3}\K(?<!\d)\d{7}(?![\d,.円])", 0.85),
    ]
    NEEDLES = ("account", "acct", "a/c", "口座", "支店", "普通", "当座", "貯蓄", "บัญชี", "ບັນຊີ")

    def __init__(self) -> None:
        # No context words: every pattern already requires its label, so
        # Presidio's context boost would only count the label twice.
        super().__init__(supported_entity="BANK_ACCOUNT", name="ShochuBankAccountRecognizer",
                         patterns=self.PATTERNS)
