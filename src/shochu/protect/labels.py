"""Confidentiality labels per document: public, internal, confidential or secret.

Four kinds of rule raise a document's label from ``protect.confidentiality.default``;
the highest label that any rule gives wins:

- ``folders``: a glob pattern on the document's path relative to the input
  folder. ``**`` matches across folders, ``*`` and ``?`` within one name, and a
  pattern without ``/`` matches the file name in any folder;
- ``markings``: sensitivity markings that ingest found in the file (header and
  footer stamps, Microsoft Purview label names; see ``markings_of``);
- ``keywords``: stamps such as 社外秘 or ลับที่สุด in the text or the title;
- ``density``: detected entities per 1,000 characters of the document's text.

A label's policy (``train``, ``mask`` or ``exclude``) then decides what
happens to the document. Rule descriptions name the rule, never the text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from shochu.config import ConfidentialityConfig

LABELS = ("public", "internal", "confidential", "secret")
_RANK = {label: rank for rank, label in enumerate(LABELS)}

# Fields of an ingest document record, or of its metadata, that hold markings.
_SENSITIVITY_KEYS = ("sensitivity_markings", "sensitivity_labels", "sensitivity")
# Keys of a structured marking ({"label": "Confidential", "source": ...}) that hold the marking itself.
_MARKING_KEYS = ("label", "name", "marking", "value", "text")


@dataclass(frozen=True)
class DocumentFacts:
    """Facts about one document that the label rules read, gathered without keeping its text.

    ``keyword_matches`` are the (label, rule) pairs that ``Labeller.keyword_matches``
    returned for the document's texts and titles, evaluated as each text was scanned.
    """

    doc_id: str
    source: str | None
    markings: tuple[str, ...]
    keyword_matches: tuple[tuple[str, str], ...]
    chars: int
    entities: int


@dataclass(frozen=True)
class Labelled:
    """A document's label, its policy and the rules that gave the label."""

    doc_id: str
    source: str | None
    label: str
    policy: str
    rules: tuple[str, ...]


class Labeller:
    """Apply the rules of ``protect.confidentiality`` to documents."""

    def __init__(self, config: ConfidentialityConfig) -> None:
        self.config = config
        self._folders = [(pattern, _glob_regex(pattern), label) for pattern, label in config.folders.items()]
        self._keywords = [(keyword, _keyword_regex(keyword), label)
                          for keyword, label in config.keywords.items()]
        self._markings = [(_fold(marking), label) for marking, label in config.markings.items()]

    def label(self, facts: DocumentFacts) -> Labelled:
        """Return the highest label that a rule gives, with every rule that gave it."""
        found = list(self._matches(facts))
        label = max([self.config.default, *(label for label, _ in found)], key=_RANK.__getitem__)
        rules = tuple(sorted({rule for rule_label, rule in found if rule_label == label}))
        return Labelled(facts.doc_id, facts.source, label, self.config.policy[label], rules or ("default",))

    def keyword_matches(self, text: str) -> tuple[tuple[str, str], ...]:
        """Return a (label, rule) pair for each keyword rule that matches ``text``, after NFKC."""
        normalized = unicodedata.normalize("NFKC", text)
        return tuple((label, f"keyword {keyword}") for keyword, expression, label in self._keywords
                     if expression.search(normalized))

    def _matches(self, facts: DocumentFacts) -> Iterable[tuple[str, str]]:
        if facts.source:
            # A ticket of an export has the source "exports/tickets.csv#T-1042", and a rule that
            # names the export file must cover each of its tickets.
            path = facts.source.replace("\\", "/")
            paths = {path, path.split("#", 1)[0]}
            for pattern, expression, label in self._folders:
                if any(expression.fullmatch(candidate)
                       or ("/" not in pattern and expression.fullmatch(candidate.rsplit("/", 1)[-1]))
                       for candidate in paths):
                    yield label, f"folder {pattern}"
        for marking in facts.markings:
            folded = _fold(marking)
            for key, label in self._markings:
                if key and key in folded:
                    yield label, f"marking {key}"
        yield from facts.keyword_matches
        density = 1000.0 * facts.entities / facts.chars if facts.chars else 0.0
        for label, threshold in self.config.density.items():
            if facts.entities and density >= threshold:
                yield label, f"density {threshold:g} per 1000 characters"


def markings_of(document: dict[str, Any]) -> tuple[str, ...]:
    """Return the sensitivity markings and label names of an ingest document record.

    Ingest records header and footer stamps as ``metadata.sensitivity_markings``
    (a list of strings) and Microsoft Purview labels as
    ``metadata.sensitivity_labels`` (dicts with a ``name``). A ``sensitivity``
    field is read too, and a record without any of them has no markings.
    """
    metadata = document.get("metadata")
    sources = [document, metadata] if isinstance(metadata, dict) else [document]
    values = [source.get(key) for source in sources for key in _SENSITIVITY_KEYS]
    return tuple(dict.fromkeys(_strings(values)))


def _strings(value: Any, depth: int = 0) -> Iterable[str]:
    if depth > 4 or value is None:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key in _MARKING_KEYS:
            yield from _strings(value.get(key), depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item, depth + 1)


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Translate a glob with ``**`` into a regular expression over ``/``-separated paths."""
    pieces = []
    index = 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            pieces.append("(?:.*/)?")
            index += 3
        elif pattern.startswith("**", index):
            pieces.append(".*")
            index += 2
        elif pattern[index] == "*":
            pieces.append("[^/]*")
            index += 1
        elif pattern[index] == "?":
            pieces.append("[^/]")
            index += 1
        else:
            pieces.append(re.escape(pattern[index]))
            index += 1
    return re.compile("".join(pieces))


def _keyword_regex(keyword: str) -> re.Pattern[str]:
    """Match a keyword ignoring case and spacing; a Latin keyword only as whole words."""
    words = unicodedata.normalize("NFKC", keyword).split()
    body = r"\s+".join(re.escape(word) for word in words)
    if keyword.isascii():
        body = rf"(?<![A-Za-z0-9]){body}(?![A-Za-z0-9])"
    return re.compile(body, re.IGNORECASE)
