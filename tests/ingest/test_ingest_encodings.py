"""Encoding detection within the allow-list: exact text or a clear error, never mojibake."""

from __future__ import annotations

import codecs
import random
from pathlib import Path

import pytest

from shochu.ingest.readers.base import EncodingError
from shochu.ingest.readers.delimited import DelimitedReader
from shochu.ingest.readers.encoding import decode_text
from shochu.ingest.readers.text import TextReader

THAI = "ภาษาไทยเป็นภาษาราชการของประเทศไทย ข้อมูลที่ต้องส่ง"
JAPANESE = "経費精算は30日以内に提出してください。"


def test_shift_jis_eight_bytes_exact() -> None:
    data = "予算計画".encode("shift_jis")
    assert len(data) == 8
    assert decode_text(data) == ("予算計画", "cp932")


def test_shift_jis_ledger_exact() -> None:
    assert decode_text("顧客台帳".encode("shift_jis")) == ("顧客台帳", "cp932")


def test_latin_1_line_exact() -> None:
    text, _ = decode_text("Réunion très importante à Genève".encode("latin_1"))
    assert text == "Réunion très importante à Genève"


@pytest.mark.parametrize(("text", "encoding"), [
    ("予算計画", "euc_jp"),
    ("予算計画について", "iso2022_jp"),
    (JAPANESE, "euc_jp"),
    (JAPANESE, "iso2022_jp"),
    ("ﾃｽﾄﾃﾞｰﾀ 半角カナ", "cp932"),
    ("①②③ 株式会社 → 〒450-0003 ―――", "cp932"),
    ("ภาษาไทย", "cp874"),
    ("ข้อมูล", "tis_620"),
    (THAI, "cp874"),
    ("café", "latin_1"),
    ("São Paulo", "latin_1"),
    ("naïve", "cp1252"),
    ("Ärger über Öl", "cp1252"),
    ("23 °C ± 2 °C", "euc_jp"),
    ("Preis: 100€ — fällig", "cp1252"),
])
def test_allowed_encoding_round_trips(text: str, encoding: str) -> None:
    assert decode_text(text.encode(encoding))[0] == text


@pytest.mark.parametrize("bom", ["utf-16-le", "utf-16-be"])
def test_utf16_with_bom(bom: str) -> None:
    prefix = codecs.BOM_UTF16_LE if bom == "utf-16-le" else codecs.BOM_UTF16_BE
    assert decode_text(prefix + JAPANESE.encode(bom)) == (JAPANESE, "utf_16")


@pytest.mark.parametrize("seed", range(4))
def test_random_bytes_flagged(seed: int) -> None:
    with pytest.raises(EncodingError, match="tried UTF-8"):
        decode_text(random.Random(seed).randbytes(256))


def test_binary_with_high_bytes_flagged() -> None:
    data = bytes(range(0x80, 0x100)) * 4
    with pytest.raises(EncodingError, match="CP932"):
        decode_text(data)


def test_shift_jis_csv_document(tmp_path: Path) -> None:
    path = tmp_path / "顧客台帳.csv"
    path.write_bytes("顧客ID,氏名,備考\n1,山田 太郎,予算計画の担当\n".encode("shift_jis"))
    extraction = DelimitedReader().extract(path)
    assert extraction.text == "顧客ID: 1\n氏名: 山田 太郎\n備考: 予算計画の担当"
    assert extraction.metadata["encoding"] == "cp932"


def test_latin_1_text_document(tmp_path: Path) -> None:
    path = tmp_path / "reunion.txt"
    path.write_bytes("Réunion très importante à Genève\n".encode("latin_1"))
    assert TextReader().extract(path).text == "Réunion très importante à Genève"
