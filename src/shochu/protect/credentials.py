"""Recognizers for secrets: URLs that carry credentials or tokens, API keys, passwords.

- ``CREDENTIAL_URL`` covers the whole URL when it has a password in its user
  part (``https://user:pass@host``), a query parameter named like a secret
  (``?token=...``, ``&X-Amz-Signature=...``), or a path that is itself the
  secret (Slack and Discord webhooks).
- ``SECRET`` covers a token with a well-known vendor prefix (``sk-``,
  ``ghp_``, ``AKIA``, ``xoxb-``, ``AIza``, ``glpat-``, ``sk_live_``), a JSON Web
  Token, a PEM private key block, or the value after ``api_key=``,
  ``token:``, ``secret=``, ``password=`` and similar names when that value
  looks random (see ``looks_random``), and after a password name also a
  passphrase or a word with digits (see ``looks_like_password``). The name
  itself stays readable.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from presidio_analyzer import AnalysisExplanation, Pattern, PatternRecognizer, RecognizerResult

from shochu.protect.recognizers import FailClosed, NeedleGate, contains_any

# Characters of a URL in running text. Non-ASCII letters end it, so a URL
# glued to Japanese or Thai text (URLはhttps://...です) stops at the kana.
_URL_CHAR = r"[A-Za-z0-9\-._~:/?#\[\]@!$&'*+,;=%]"
# A URL does not end in punctuation that usually closes the sentence around it.
_URL_END = r"(?<![.,;:!?'\]])"
_SECRET_PARAMETER = (r"(?:access_?token|refresh_?token|id_?token|token|api_?key|apikey|key|secret"
                     r"|client_secret"
                     r"|password|passwd|pwd|pass|auth|sig|signature|x-amz-signature|x-amz-credential"
                     r"|x-goog-signature|session_?id|sessionid|sid|code)")


class CredentialUrlRecognizer(FailClosed, NeedleGate, PatternRecognizer):
    """URLs with a password, a secret query parameter or a webhook secret in them."""

    PATTERNS = [
        Pattern("password in user part",
                rf"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]{{1,15}}://[^\s:/@]+:[^\s@/]+@"
                rf"{_URL_CHAR}+{_URL_END}",
                1.0),
        Pattern("secret query parameter",
                rf"(?<![A-Za-z0-9+.\-])(?i:https?|wss?|ftp)://{_URL_CHAR}*?[?&;]{_SECRET_PARAMETER}="
                rf"(?:(?![&#]){_URL_CHAR}){{6,}}"
                rf"{_URL_CHAR}*{_URL_END}",
                1.0),
        Pattern("webhook",
                r"(?<![A-Za-z0-9+.\-])https://"
                r"(?:hooks\.slack\.com/services|discord(?:app)?\.com/api/webhooks)/"
                rf"{_URL_CHAR}+{_URL_END}",
                1.0),
    ]

    NEEDLES = ("://",)

    def __init__(self) -> None:
        super().__init__(supported_entity="CREDENTIAL_URL", name="ShochuCredentialUrlRecognizer",
                         patterns=self.PATTERNS, global_regex_flags=re.MULTILINE)


def shannon_entropy(value: str) -> float:
    """Return the Shannon entropy of ``value`` in bits per character."""
    counts = Counter(value)
    return -sum(count / len(value) * math.log2(count / len(value)) for count in counts.values())


# <your-key>, ${TOKEN}, {{ secret }}, %API_KEY%, xxxxxxxx, ********, changeme
_PLACEHOLDER = re.compile(r"(?:<|\$\{|\{\{|%).*|.*[>}%]|[xX*.\-]+"
                          r"|(?i:changeme\w*|password\w*|secret\w*|example\w*|dummy\w*|your\w*|redacted\w*"
                          r"|none|null|true|false)")


def looks_random(value: str) -> bool:
    """Return True for a value that reads like a generated token or password, not a word or a placeholder.

    A token has at least 16 characters, an entropy of at least 3 bits per
    character and both letters and digits. A shorter value (a password) needs
    8 characters and three of the four classes lower, upper, digit, symbol.
    Placeholders (``<your-key>``, ``xxxx``, ``${TOKEN}``, ``changeme``) never count.
    """
    if _PLACEHOLDER.fullmatch(value):
        return False
    has_letter = any(character.isalpha() for character in value)
    has_digit = any(character.isdigit() for character in value)
    if len(value) >= 16 and has_letter and has_digit and shannon_entropy(value) >= 3.0:
        return True
    classes = sum((any(c.islower() for c in value), any(c.isupper() for c in value), has_digit,
                   any(not c.isalnum() for c in value)))
    return len(value) >= 8 and classes >= 3


def looks_like_password(value: str) -> bool:
    """Return True for a value after a password name that ``looks_random`` misses but people choose.

    That is a passphrase of three or more words joined by ``-``, ``_`` or ``.``
    (correct-horse-battery-staple), or 8 or more characters with both letters
    and digits (summer2024). Placeholders never count.
    """
    if _PLACEHOLDER.fullmatch(value):
        return False
    if _PASSPHRASE.fullmatch(value):
        return True
    return (len(value) >= 8 and any(character.isalpha() for character in value)
            and any(character.isdigit() for character in value))


_PASSPHRASE = re.compile(r"[^\W\d_]{2,}(?:[\-_.][^\W\d_]{2,}){2,}")
# Names after which any chosen value is a password, not only a random-looking one.
_PASSWORD_NAME = re.compile(r"(?i:passw|pwd|passphrase|パスワード|暗証番号|รหัสผ่าน)")

_ASSIGNED_NAME = (r"(?:[A-Za-z0-9]+[_\-.])*(?:api[_\-]?key|apikey|access[_\-]?key(?:[_\-]?id)?"
                  r"|secret(?:[_\-]?key)?"
                  r"|client[_\-]?secret|token|auth[_\-]?token|access[_\-]?token|bearer"
                  r"|password|passwd|pwd|passphrase"
                  r"|private[_\-]?key|パスワード|暗証番号|รหัสผ่าน)")


class _SecretPatterns(PatternRecognizer):
    """API keys with vendor prefixes, JSON Web Tokens, private keys, and random values after a secret name.

    Vendor-prefixed tokens score 1.0, so that a digit run inside one (a card
    or phone look-alike in ``xoxb-...``) never wins the overlap and leaves the
    rest of the token unmasked.
    """

    PATTERNS = [
        Pattern("OpenAI or Anthropic key",
                r"(?<![A-Za-z0-9_\-])sk-(?:proj-|ant-[a-z0-9]+-)?[A-Za-z0-9_\-]{20,}", 1.0),
        Pattern("GitHub token",
                r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})", 1.0),
        Pattern("GitLab token", r"(?<![A-Za-z0-9_\-])glpat-[A-Za-z0-9_\-]{20,}", 1.0),
        Pattern("AWS access key id",
                r"(?<![A-Z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA)[A-Z0-9]{16}(?![A-Z0-9])", 1.0),
        Pattern("Slack token", r"(?<![A-Za-z0-9])xox[abposr]-[A-Za-z0-9\-]{10,}", 1.0),
        Pattern("Google API key", r"(?<![A-Za-z0-9_\-])AIza[0-9A-Za-z_\-]{35}(?![A-Za-z0-9_\-])", 1.0),
        Pattern("Stripe key", r"(?<![A-Za-z0-9_])(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}", 1.0),
        Pattern("JSON Web Token",
                r"(?<![A-Za-z0-9_\-])eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}", 1.0),
        Pattern("private key",
                r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----.*?-----END (?:[A-Z]+ )*PRIVATE KEY-----", 1.0),
    ]
    # The value after a secret name: api_key=..., "token": "...", PASSWORD: ..., パスワード：...
    ASSIGNMENT = re.compile(
        rf"(?<![A-Za-z0-9])(?i:{_ASSIGNED_NAME})[\"']?[ \t]*(?:[:=：]|=>)[ \t]*(?:bearer[ \t]+)?[\"']?"
        r"(?P<value>[^\s\"'`,;)}\]<>]{6,200})"
    )

    def __init__(self) -> None:
        super().__init__(supported_entity="SECRET", name="ShochuSecretRecognizer", patterns=self.PATTERNS,
                         global_regex_flags=re.MULTILINE | re.DOTALL)

    # Lower-case forms of the literal prefixes, one of which every pattern above needs.
    PATTERN_NEEDLES = ("sk-", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "akia", "asia", "agpa",
                       "aida", "aroa", "xox", "aiza", "_live_", "_test_", "eyj", "-----begin")
    # Words one of which every name in ``_ASSIGNED_NAME`` contains, in lower case.
    ASSIGNMENT_NEEDLES = ("key", "secret", "token", "bearer", "passw", "passph", "pwd", "パスワード", "暗証番号",
                          "รหัสผ่าน")

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None, regex_flags=None):
        results = []
        if contains_any(text, self.PATTERN_NEEDLES):
            results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        if not contains_any(text, self.ASSIGNMENT_NEEDLES):
            return results
        for match in self.ASSIGNMENT.finditer(text):
            value = match.group("value").rstrip(".。")
            if looks_random(value) or (_PASSWORD_NAME.search(match.group(0)) and looks_like_password(value)):
                start = match.start("value")
                results.append(self._assignment_result(start, start + len(value)))
        return results

    def _assignment_result(self, start: int, end: int) -> RecognizerResult:
        explanation = AnalysisExplanation(recognizer=self.name, original_score=0.9,
                                          textual_explanation="random value after a secret name")
        return RecognizerResult(
            entity_type="SECRET", start=start, end=end, score=0.9, analysis_explanation=explanation,
            recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                                  RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id},
        )


class SecretRecognizer(FailClosed, _SecretPatterns):
    """``_SecretPatterns`` with the fail-closed wrapper around its whole ``analyze``."""
