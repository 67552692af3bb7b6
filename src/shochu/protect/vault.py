"""The reversible mapping: which original value each replacement stands for, stored encrypted.

With ``protect.reversible_mapping: true`` the protect stage writes
``protect/mapping.enc``: one Fernet token (AES-128-CBC with an HMAC-SHA256 tag,
from the ``cryptography`` package) holding the JSON list of entries
``{record, entity_type, replacement, value}``. The key comes from
``SHOCHU_MAPPING_KEY`` and is never written anywhere; the plain mapping exists
only in memory. Later stages read ``chunks.jsonl`` and ``tickets.jsonl`` and
never this file, so it cannot reach training data.

Placeholders are numbered per record (``[PERSON_1]`` is another person in
another chunk), so looking one up takes the record id as well. Pseudonyms
and hashes are the same in every record.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from shochu.workspace import atomic_path

MAPPING_KEY_VARIABLE = "SHOCHU_MAPPING_KEY"
MAPPING_FILE = "mapping.enc"
_FORMAT_VERSION = 1
_GENERATE_HINT = ("generate one with `python -c \"from cryptography.fernet import Fernet; "
                  "print(Fernet.generate_key().decode())\"` and keep it safe, because without it the "
                  "mapping cannot be read")


class MappingKeyError(ValueError):
    """A mapping key that is missing, malformed, or not the key the mapping was written with."""


def mapping_key(environ: Mapping[str, str] | None = None) -> bytes:
    """Return the Fernet key in ``SHOCHU_MAPPING_KEY``, or raise saying how to make one."""
    value = (os.environ if environ is None else environ).get(MAPPING_KEY_VARIABLE, "")
    if not value:
        raise MappingKeyError(f"{MAPPING_KEY_VARIABLE} is not set. Set it to the key of the reversible "
                              f"mapping (protect.reversible_mapping): {_GENERATE_HINT}")
    key = value.strip().encode("ascii", errors="replace")
    try:
        Fernet(key)
    except ValueError:
        raise MappingKeyError(f"{MAPPING_KEY_VARIABLE} is not a Fernet key (32 bytes, URL-safe base64, "
                              f"44 characters); {_GENERATE_HINT}") from None
    return key


@dataclass
class MappingVault:
    """Mapping entries gathered in memory while the stage replaces spans."""

    entries: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def recorder(self, record_id: str):
        """Return a function that stores (entity type, replacement, value) under ``record_id``."""
        def record(entity_type: str, replacement: str, value: str) -> None:
            self.entries[(record_id, entity_type, replacement)] = value
        return record

    def write(self, path: Path, key: bytes) -> int:
        """Encrypt the entries into ``path`` and return how many were written."""
        entries = [{"record": record_id, "entity_type": entity_type, "replacement": replacement,
                    "value": value}
                   for (record_id, entity_type, replacement), value in sorted(self.entries.items())]
        payload = json.dumps({"version": _FORMAT_VERSION, "entries": entries}, ensure_ascii=False)
        token = Fernet(key).encrypt(payload.encode("utf-8"))
        with atomic_path(path) as temporary:
            temporary.write_bytes(token)
        return len(entries)


def read_mapping(path: Path, key: bytes) -> list[dict[str, Any]]:
    """Decrypt a mapping file and return its entries; raise ``MappingKeyError`` for a wrong key."""
    if not path.is_file():
        raise FileNotFoundError(f"mapping file not found: {path}; run `shochu protect` with "
                                f"protect.reversible_mapping: true first")
    try:
        payload = Fernet(key).decrypt(path.read_bytes())
    except InvalidToken:
        raise MappingKeyError(f"{path} cannot be decrypted with this key: it is not the key the mapping was "
                              f"written with, or the file was changed") from None
    return json.loads(payload)["entries"]


def reveal(path: Path, replacement: str, key: bytes, record_id: str | None = None) -> list[dict[str, Any]]:
    """Return the mapping entries whose replacement is ``replacement``.

    Pass ``record_id`` (a chunk id, ``ticket-<id>`` or a document id) to look up a
    numbered placeholder, which is only unique within its record. A pseudonym
    can stand for more than one value when two values drew the same surrogate.
    """
    entries = read_mapping(path, key)
    return [entry for entry in entries
            if entry["replacement"] == replacement and (record_id is None or entry["record"] == record_id)]
