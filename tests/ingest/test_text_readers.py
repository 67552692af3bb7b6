import random
from pathlib import Path

import pytest

from shochu.ingest.readers.base import EncodingError
from shochu.ingest.readers.delimited import DelimitedReader
from shochu.ingest.readers.encoding import decode_text
from shochu.ingest.readers.text import MarkdownReader, TextReader

JAPANESE_TEXT = "社外秘の文書は共有フォルダに保存しないでください。\n経費精算は30日以内に提出してください。"


def test_shift_jis_decoded_exactly(shift_jis_txt: Path) -> None:
    assert TextReader().extract(shift_jis_txt).text == JAPANESE_TEXT


def test_shift_jis_encoding_recorded(shift_jis_txt: Path) -> None:
    assert TextReader().extract(shift_jis_txt).metadata["encoding"] in ("cp932", "shift_jis")


def test_utf8_bom_stripped() -> None:
    assert decode_text(b"\xef\xbb\xbfHello") == ("Hello", "utf_8")


@pytest.mark.parametrize("encoding", ["euc_jp", "cp874", "cp1252"])
def test_legacy_encodings_decoded(encoding: str) -> None:
    samples = {"euc_jp": JAPANESE_TEXT, "cp874": "ภาษาไทยเป็นภาษาราชการของประเทศไทย การทดสอบ",
               "cp1252": "Café crème brûlée — déjà vu, naïve façade."}
    text, _ = decode_text(samples[encoding].encode(encoding))
    assert text == samples[encoding]


def test_random_bytes_rejected() -> None:
    with pytest.raises(EncodingError, match="UTF-8"):
        decode_text(random.Random(0).randbytes(4096))


def test_markdown_title_metadata(tmp_path: Path) -> None:
    path = tmp_path / "guide.md"
    path.write_text("Intro line\n\n# Machine guide\n\nText.\n", encoding="utf-8")
    assert MarkdownReader().extract(path).metadata["title"] == "Machine guide"


def test_csv_rows_as_fields(tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    path.write_text('ticket_id,subject,body\n1,Printer jam,"Paper stuck\nin tray 2"\n2,VPN,,\n',
                    encoding="utf-8")
    text = DelimitedReader().extract(path).text
    assert text == ("ticket_id: 1\nsubject: Printer jam\nbody: Paper stuck\nin tray 2\n\n"
                    "ticket_id: 2\nsubject: VPN")


def test_csv_semicolon_delimiter(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("id;status\n7;open, waiting\n", encoding="utf-8")
    assert DelimitedReader().extract(path).text == "id: 7\nstatus: open, waiting"


def test_csv_metadata_columns(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("id,,status\n7,x,open\n", encoding="utf-8")
    metadata = DelimitedReader().extract(path).metadata
    assert metadata["columns"] == ["id", "column 2", "status"]
    assert metadata["rows"] == 1
