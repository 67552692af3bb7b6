"""Operators: what replaces each detected span, chosen per entity type (``protect.operators``).

- ``placeholder``: a typed, numbered placeholder such as ``[PERSON_1]``, numbered
  per text group (see ``placeholders.py``);
- ``pseudonym``: a realistic surrogate that is the same for the same value
  everywhere in the corpus and in every run under the same key (see ``pseudonyms.py``);
- ``hash``: ``[TYPE:hex]`` with the first 16 hex digits of a keyed HMAC-SHA256,
  consistent like a pseudonym but plainly not a real value;
- ``drop_document``: the whole document is left out of the output. The stage
  decides that before any text is written; a span of such a type that still
  reaches ``replace`` gets a placeholder.

Every operator receives the original value of one span after ``resolve_overlaps``,
so spans never overlap and no replacement lands inside another. The pseudonym
and hash key comes from ``SHOCHU_PSEUDONYM_KEY``; there is no built-in key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from shochu.config import ProtectConfig
from shochu.protect.placeholders import PlaceholderNumbering, Span, value_key
from shochu.protect.pseudonyms import PSEUDONYM_TYPES, Pseudonymizer

PSEUDONYM_KEY_VARIABLE = "SHOCHU_PSEUDONYM_KEY"
KEYED_OPERATORS = frozenset({"pseudonym", "hash"})

# Shortest key accepted, in characters. Sixteen characters of
# `secrets.token_urlsafe` carry 96 random bits.
MIN_KEY_CHARS = 16
_HASH_HEX_DIGITS = 16

# Called with (entity type, replacement, original value) for each replaced span.
Recorder = Callable[[str, str, str], None]


class MissingKeyError(ValueError):
    """A key that is missing from the environment, or too short."""


def read_key(variable: str, purpose: str, environ: Mapping[str, str] | None = None) -> bytes:
    """Return the key in environment variable ``variable``, or raise saying how to set one."""
    value = (os.environ if environ is None else environ).get(variable, "")
    if not value:
        raise MissingKeyError(f"{purpose} need a secret key, but {variable} is not set. Set it to a random "
                              f"string of at least {MIN_KEY_CHARS} characters (for example the output of "
                        f"`python -c \"import secrets; print(secrets.token_urlsafe(32))\"`) and keep it: "
                        f"the same key gives the same output in every run")
    if len(value) < MIN_KEY_CHARS:
        raise MissingKeyError(f"{variable} is {len(value)} characters long; use at least {MIN_KEY_CHARS} "
                              f"random characters")
    return value.encode("utf-8")


def key_id(key: bytes) -> str:
    """Return a short fingerprint of a key, for manifests: it changes when the key changes."""
    return hmac.new(key, b"shochu key id", hashlib.sha256).hexdigest()[:16]


def configured_operators(config: ProtectConfig, supported_entities: tuple[str, ...]) -> dict[str, str]:
    """Return the operator of every masked entity type, or raise naming each invalid entry."""
    problems = []
    for entity_type, operator in config.operators.items():
        if entity_type not in supported_entities:
            problems.append(f"protect.operators: unknown entity type {entity_type}; use one of "
                            f"{', '.join(supported_entities)}")
        elif entity_type not in config.entities:
            problems.append(f"protect.operators.{entity_type}: the type is not in protect.entities, so it is "
                            f"never detected; add it there or remove the operator")
        elif operator == "pseudonym" and entity_type not in PSEUDONYM_TYPES:
            problems.append(f"protect.operators.{entity_type}: no pseudonym generator for this type; "
                            f"pseudonyms exist for {', '.join(PSEUDONYM_TYPES)}. Use placeholder, hash or "
                            f"drop_document")
    if problems:
        raise ValueError("; ".join(problems))
    return {entity_type: config.operators.get(entity_type, "placeholder") for entity_type in config.entities}


@dataclass
class Replacement:
    """A text after its spans were replaced, with counts per entity type and per operator."""

    text: str
    counts: dict[str, int]
    operators: Counter[tuple[str, str]] = field(default_factory=Counter)


class Operators:
    """Apply the configured operator to each span of a text."""

    def __init__(self, operators: dict[str, str], key: bytes | None = None) -> None:
        """``key`` is required when any operator is ``pseudonym`` or ``hash``."""
        self.operators = dict(operators)
        keyed = sorted(entity for entity, operator in self.operators.items() if operator in KEYED_OPERATORS)
        if keyed and not key:
            raise MissingKeyError(f"protect.operators sets pseudonym or hash for {', '.join(keyed)}, which "
                                  f"needs a key in {PSEUDONYM_KEY_VARIABLE}")
        self._pseudonymizer = Pseudonymizer(key) if key else None

    @classmethod
    def from_config(cls, config: ProtectConfig, supported_entities: tuple[str, ...],
                    environ: Mapping[str, str] | None = None) -> Operators:
        """Build from ``protect.operators``, reading the key only when an operator needs it."""
        operators = configured_operators(config, supported_entities)
        needs_key = any(operator in KEYED_OPERATORS for operator in operators.values())
        key = read_key(PSEUDONYM_KEY_VARIABLE, "pseudonym and hash operators", environ) if needs_key else None
        return cls(operators, key)

    def operator(self, entity_type: str) -> str:
        return self.operators.get(entity_type, "placeholder")

    def dropping_types(self) -> frozenset[str]:
        """Return the entity types whose presence drops the whole document."""
        return frozenset(entity for entity, operator in self.operators.items() if operator == "drop_document")

    def replace(self, text: str, spans: list[Span], numbering: PlaceholderNumbering, *,
                placeholders_only: bool = False, placeholder_spans: Collection[Span] = (),
                record: Recorder | None = None) -> Replacement:
        """Replace sorted, non-overlapping spans of ``text``.

        ``placeholders_only`` gives every span a placeholder whatever its
        operator (the ``mask`` confidentiality policy), and
        ``placeholder_spans`` does so for the spans listed. ``record`` is
        called with each entity type, replacement and original value, for the
        reversible mapping.
        """
        pieces: list[str] = []
        counts: Counter[str] = Counter()
        operators: Counter[tuple[str, str]] = Counter()
        position = 0
        for span in spans:
            if span.start < position:
                raise ValueError(f"overlapping span at {span.start}; call resolve_overlaps first")
            value = text[span.start:span.end]
            forced = placeholders_only or span in placeholder_spans
            operator = "placeholder" if forced else self.operator(span.entity_type)
            replacement, operator = self._replacement(span.entity_type, value, operator, numbering)
            if record is not None:
                record(span.entity_type, replacement, value)
            pieces.append(text[position:span.start])
            pieces.append(replacement)
            counts[span.entity_type] += 1
            operators[(span.entity_type, operator)] += 1
            position = span.end
        pieces.append(text[position:])
        return Replacement("".join(pieces), dict(counts), operators)

    def _replacement(self, entity_type: str, value: str, operator: str,
                     numbering: PlaceholderNumbering) -> tuple[str, str]:
        """Return the replacement and the operator that made it."""
        if operator == "pseudonym" and self._pseudonymizer is not None:
            surrogate = self._pseudonymizer.surrogate(entity_type, value)
            if surrogate is not None:
                return surrogate, "pseudonym"
        if operator == "hash" and self._pseudonymizer is not None:
            digest = self._pseudonymizer.digest("hash", f"{entity_type}\x00{value_key(entity_type, value)}")
            return f"[{entity_type}:{digest.hex()[:_HASH_HEX_DIGITS]}]", "hash"

        # A name in a script without a surrogate list (Lao), and a drop_document
        # type found where a document cannot be dropped, fall back to a placeholder.
        return numbering.placeholder(entity_type, value), "placeholder"
