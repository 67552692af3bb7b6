"""Ticket CSVs are decoded like ingest's text files: Shift_JIS exports read, undecodable ones named."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from shochu.config import TicketsConfig
from shochu.protect.tickets import read_tickets


def tickets_config(path: Path) -> TicketsConfig:
    return TicketsConfig(path=str(path), text_columns=["subject", "body"], label_column="category",
                         id_column="ticket_id")


def test_shift_jis_tickets_read(tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    path.write_bytes("ticket_id,subject,body,category\r\nT-1,予算計画,顧客台帳を更新してください。,経理\r\n"
                     .encode("cp932"))
    skipped: Counter[str] = Counter()
    [ticket] = list(read_tickets(tickets_config(path), skipped))
    assert ticket.text == "Subject: 予算計画\n\n顧客台帳を更新してください。"
    assert ticket.label == "経理"


def test_undecodable_tickets_name_file(tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    path.write_bytes(b"ticket_id,subject,body,category\n" + random.Random(1).randbytes(512))
    with pytest.raises(ValueError, match="tickets.csv") as raised:
        list(read_tickets(tickets_config(path), Counter()))
    assert "Shift_JIS/CP932" in str(raised.value)
    assert "save the file as UTF-8" in str(raised.value)
