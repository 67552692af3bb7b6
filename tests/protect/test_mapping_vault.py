"""The encrypted reversible mapping: no plain values on disk, readable only with its key."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from shochu.protect.vault import MappingKeyError, MappingVault, mapping_key, read_mapping, reveal

VALUES = ["Hanako Yamada", "hanako@example.com", "090-1234-5678", "田中太郎", "สมชาย"]


@pytest.fixture
def written(tmp_path: Path) -> tuple[Path, bytes]:
    vault = MappingVault()
    vault.recorder("mail-0000")("PERSON", "[PERSON_1]", VALUES[0])
    vault.recorder("mail-0000")("EMAIL_ADDRESS", "[EMAIL_ADDRESS_1]", VALUES[1])
    vault.recorder("hr-0000")("PERSON", "[PERSON_1]", VALUES[3])
    vault.recorder("hr-0000")("PHONE_NUMBER", "090-3975-8901", VALUES[2])
    vault.recorder("ticket-T-1")("PERSON", "ปรายกานต์", VALUES[4])
    key = Fernet.generate_key()
    path = tmp_path / "mapping.enc"
    assert vault.write(path, key) == 5
    return path, key


def test_file_has_no_plain_values(written: tuple[Path, bytes]) -> None:
    data = written[0].read_bytes()
    for value in VALUES:
        assert value.encode("utf-8") not in data
    assert b"[PERSON_1]" not in data


def test_decrypts_with_key(written: tuple[Path, bytes]) -> None:
    entries = read_mapping(*written)
    assert {entry["value"] for entry in entries} == set(VALUES)


def test_wrong_key_fails(written: tuple[Path, bytes]) -> None:
    with pytest.raises(MappingKeyError, match="cannot be decrypted with this key"):
        read_mapping(written[0], Fernet.generate_key())


def test_placeholder_needs_record(written: tuple[Path, bytes]) -> None:
    path, key = written
    assert [entry["value"] for entry in reveal(path, "[PERSON_1]", key, "hr-0000")] == ["田中太郎"]
    assert sorted(entry["value"] for entry in reveal(path, "[PERSON_1]", key)) == ["Hanako Yamada", "田中太郎"]


def test_pseudonym_revealed(written: tuple[Path, bytes]) -> None:
    path, key = written
    assert reveal(path, "090-3975-8901", key) == [{"record": "hr-0000", "entity_type": "PHONE_NUMBER",
                                                   "replacement": "090-3975-8901", "value": "090-1234-5678"}]


def test_missing_key_rejected() -> None:
    with pytest.raises(MappingKeyError, match="SHOCHU_MAPPING_KEY is not set"):
        mapping_key({})


def test_malformed_key_rejected() -> None:
    with pytest.raises(MappingKeyError, match="is not a Fernet key"):
        mapping_key({"SHOCHU_MAPPING_KEY": "not-base64-and-too-short"})


def test_missing_file_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="mapping.enc"):
        read_mapping(tmp_path / "mapping.enc", Fernet.generate_key())
