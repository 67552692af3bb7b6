"""Ticket exports mapped by ingest.tickets: one document per ticket, and every bad row reported."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from shochu.config import RunConfig, TicketMapping
from shochu.ingest import stage
from shochu.ingest.readers.base import InputFile
from shochu.ingest.readers.ticket_export import mapping_for, read_ticket_export
from shochu.workspace import Workspace, read_jsonl

CSV_MAPPING = {"files": ["exports/*.csv"], "id_column": "ticket_id", "text_columns": ["subject", "body"],
               "metadata_columns": ["category", "priority"]}
JSONL_MAPPING = {"files": ["helpdesk/**/*.jsonl"], "id_column": "ticket.id",
                 "text_columns": ["ticket.subject", "description"],
                 "metadata_columns": ["requester.name", "priority"]}


def run_ingest(tmp_path: Path, files: dict[str, bytes | str], mappings: list[dict[str, Any]],
               workspace: Workspace | None = None) -> dict[str, Any]:
    """Write ``files`` under an input folder, run the ingest stage and return its outputs."""
    root = tmp_path / "input"
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8", newline="")
        else:
            path.write_bytes(content)
    workspace = workspace or Workspace(tmp_path / "workspace")
    config = RunConfig.model_validate({"workspace": str(workspace.root), "ingest": {
        "input": str(root), "workers": 1, "tickets": mappings}})
    manifest = stage.run(config, workspace)
    folder = workspace.stage_dir("ingest")
    outputs = {name: read_output(folder, name) for name in ("documents", "chunks", "errors")}
    return {"manifest": manifest, **outputs}


def read_output(folder: Path, name: str) -> list[dict[str, Any]]:
    """Read one ingest output, as a Parquet table (metadata as JSON text) or as JSON Lines."""
    table = folder / f"{name}.parquet"
    if not table.exists():
        return read_jsonl(folder / f"{name}.jsonl")
    records = pq.read_table(table).to_pylist()
    for record in records:
        if isinstance(record.get("metadata"), str):
            record["metadata"] = json.loads(record["metadata"])
    return records


def by_source(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {record["source"]: record for record in records}


def chunk_texts(chunks: list[dict[str, Any]]) -> dict[str, str]:
    """Return each document's chunk text, its chunks joined by "|"."""
    texts: dict[str, list[str]] = {}
    for chunk in chunks:
        texts.setdefault(chunk["source"], []).append(chunk["text"])
    return {source: "|".join(parts) for source, parts in texts.items()}


TICKETS_CSV = (
    "ticket_id,created_at,subject,body,category,priority\r\n"
    "T-1042,2024-03-01,Printer jam,\"The printer on floor 3 jams every morning.\r\n"
    "It started after the toner change, \"\"quickly\"\" getting worse.\",hardware,high\r\n"
    "T-1043,2024-03-02,VPN drops,The VPN disconnects every ten minutes.,network,\r\n"
)


def test_csv_export_one_document_per_ticket(tmp_path: Path) -> None:
    out = run_ingest(tmp_path, {"exports/tickets.csv": TICKETS_CSV}, [CSV_MAPPING])
    documents = by_source(out["documents"])
    assert sorted(documents) == ["exports/tickets.csv#T-1042", "exports/tickets.csv#T-1043"]

    first = documents["exports/tickets.csv#T-1042"]
    assert first["doc_id"] == hashlib.sha256(b"exports/tickets.csv#T-1042").hexdigest()[:16]
    assert first["format"] == "ticket_csv"
    assert first["metadata"] == {"category": "hardware", "priority": "high", "ticket_id": "T-1042",
                                 "line": 2, "encoding": "utf_8"}
    assert documents["exports/tickets.csv#T-1043"]["metadata"]["line"] == 4
    assert "priority" not in documents["exports/tickets.csv#T-1043"]["metadata"]
    assert out["errors"] == []


def test_csv_multiline_field_exact_chunk(tmp_path: Path) -> None:
    out = run_ingest(tmp_path, {"exports/tickets.csv": TICKETS_CSV}, [CSV_MAPPING])
    assert chunk_texts(out["chunks"]) == {
        "exports/tickets.csv#T-1042": "Subject: Printer jam\n\nThe printer on floor 3 jams every morning.\n"
                                      "It started after the toner change, \"quickly\" getting worse.",
        "exports/tickets.csv#T-1043": "Subject: VPN drops\n\nThe VPN disconnects every ten minutes.",
    }
    assert [chunk["index"] for chunk in out["chunks"]] == [0, 0]


def test_unmapped_csv_read_as_table(tmp_path: Path) -> None:
    out = run_ingest(tmp_path, {"exports/tickets.csv": TICKETS_CSV, "prices.csv": "item,price\npump,120\n"},
                     [CSV_MAPPING])
    formats = {record["source"]: record["format"] for record in out["documents"]}
    assert formats["prices.csv"] == "csv"
    assert chunk_texts(out["chunks"])["prices.csv"] == "item: pump\nprice: 120"
    assert out["manifest"]["counts"]["formats"] == {"csv": 1, "ticket_csv": 2}


def test_jsonl_nested_fields(tmp_path: Path) -> None:
    lines = [
        {"ticket": {"id": "H-7", "subject": "Locked out"}, "description": "My account is locked.",
         "requester": {"name": "Dana Lee", "team": "sales"}, "priority": 2},
        {"ticket": {"id": "H-8", "subject": "Mouse"}, "description": "The mouse wheel is stuck.",
         "requester": {"team": "ops"}, "priority": None},
    ]
    export = "\n".join(json.dumps(line) for line in lines) + "\n"
    out = run_ingest(tmp_path, {"helpdesk/2024/march.jsonl": export}, [JSONL_MAPPING])
    documents = by_source(out["documents"])
    assert documents["helpdesk/2024/march.jsonl#H-7"]["format"] == "ticket_jsonl"
    assert documents["helpdesk/2024/march.jsonl#H-7"]["metadata"] == {
        "requester.name": "Dana Lee", "priority": "2", "ticket_id": "H-7", "line": 1, "encoding": "utf_8"}
    assert documents["helpdesk/2024/march.jsonl#H-8"]["metadata"] == {
        "ticket_id": "H-8", "line": 2, "encoding": "utf_8"}
    assert chunk_texts(out["chunks"]) == {
        "helpdesk/2024/march.jsonl#H-7": "Ticket subject: Locked out\n\nMy account is locked.",
        "helpdesk/2024/march.jsonl#H-8": "Ticket subject: Mouse\n\nThe mouse wheel is stuck.",
    }
    assert out["errors"] == []


def test_japanese_and_thai_tickets(tmp_path: Path) -> None:
    japanese = json.dumps({"ticket": {"id": "J-1", "subject": "経費精算"},
                           "description": "出張の経費精算が承認されません。至急確認をお願いします。"},
                          ensure_ascii=False)
    thai = ("ticket_id,subject,body\n"
            "TH-1,เครื่องพิมพ์เสีย,เครื่องพิมพ์ที่ชั้นสามใช้งานไม่ได้ตั้งแต่เมื่อวาน\n")
    out = run_ingest(tmp_path, {"helpdesk/ja.jsonl": japanese + "\n", "exports/th.csv": thai},
                     [{**CSV_MAPPING, "metadata_columns": []}, JSONL_MAPPING])
    documents = by_source(out["documents"])
    assert documents["helpdesk/ja.jsonl#J-1"]["language"] == "ja"
    assert documents["exports/th.csv#TH-1"]["language"] == "th"
    assert chunk_texts(out["chunks"]) == {
        "helpdesk/ja.jsonl#J-1": "Ticket subject: 経費精算\n\n出張の経費精算が承認されません。至急確認をお願いします。",
        "exports/th.csv#TH-1": "Subject: เครื่องพิมพ์เสีย\n\nเครื่องพิมพ์ที่ชั้นสามใช้งานไม่ได้ตั้งแต่เมื่อวาน",
    }


def test_shift_jis_csv_export(tmp_path: Path) -> None:
    export = ("ticket_id,subject,body,category,priority\r\n"
              "S-1,パスワード再設定,社内ポータルのパスワードを再設定してください。,アカウント,中\r\n").encode("cp932")
    out = run_ingest(tmp_path, {"exports/sjis.csv": export}, [CSV_MAPPING])
    [document] = out["documents"]
    assert document["metadata"] == {"category": "アカウント", "priority": "中", "ticket_id": "S-1", "line": 2,
                                    "encoding": "cp932"}
    assert chunk_texts(out["chunks"]) == {
        "exports/sjis.csv#S-1": "Subject: パスワード再設定\n\n社内ポータルのパスワードを再設定してください。"}


def test_cp874_thai_csv_export(tmp_path: Path) -> None:
    export = ("ticket_id,subject,body,category,priority\r\n"
              "TH-9,ขอรหัสผ่านใหม่,ลืมรหัสผ่านเข้าระบบบัญชี กรุณาตั้งค่าใหม่ให้ด้วยครับ,บัญชี,สูง\r\n").encode("cp874")
    out = run_ingest(tmp_path, {"exports/thai.csv": export}, [CSV_MAPPING])
    [document] = out["documents"]
    assert document["language"] == "th"
    assert document["metadata"] == {"category": "บัญชี", "priority": "สูง", "ticket_id": "TH-9", "line": 2,
                                    "encoding": "cp874"}
    assert chunk_texts(out["chunks"]) == {
        "exports/thai.csv#TH-9": "Subject: ขอรหัสผ่านใหม่\n\nลืมรหัสผ่านเข้าระบบบัญชี กรุณาตั้งค่าใหม่ให้ด้วยครับ"}


def test_missing_column_names_fix(tmp_path: Path) -> None:
    export = "ticket_id,Subject,body,category\nT-1,Printer jam,It jams.,hardware\n"
    out = run_ingest(tmp_path, {"exports/tickets.csv": export}, [{**CSV_MAPPING, "metadata_columns": []}])
    assert out["documents"] == []
    assert out["errors"] == [{
        "source": "exports/tickets.csv", "error": "ticket_column_missing", "severity": "error",
        "message": "column 'subject' of ingest.tickets[0].text_columns is not in the header, so no ticket of "
                   "this file was read; columns found: 'ticket_id', 'Subject', 'body', 'category'. Did you "
                   "mean 'Subject'? Change ingest.tickets[0].text_columns to a column of this file (names "
                   "are case-sensitive) and re-run",
    }]


def test_missing_metadata_column_warns(tmp_path: Path) -> None:
    export = "ticket_id,subject,body,category\nT-1,Printer jam,It jams.,hardware\n"
    out = run_ingest(tmp_path, {"exports/tickets.csv": export}, [CSV_MAPPING])
    assert [record["source"] for record in out["documents"]] == ["exports/tickets.csv#T-1"]
    [error] = out["errors"]
    assert error["severity"] == "warning"
    assert error["message"].startswith("column 'priority' of ingest.tickets[0].metadata_columns is not in "
                                       "the header, so tickets were read without it")


def test_missing_jsonl_field_suggests_path(tmp_path: Path) -> None:
    export = json.dumps({"ticket": {"id": "H-1", "subjet": "Typo"}, "description": "Body."}) + "\n"
    out = run_ingest(tmp_path, {"helpdesk/a.jsonl": export}, [{**JSONL_MAPPING, "metadata_columns": []}])
    assert out["documents"] == []
    [error] = out["errors"]
    assert error["error"] == "ticket_column_missing"
    assert "column 'ticket.subject' of ingest.tickets[0].text_columns is not in any record" in error["message"]
    assert "columns found: 'ticket.id', 'ticket.subjet', 'description'." in error["message"]
    assert "Did you mean 'ticket.subjet'?" in error["message"]


def test_missing_jsonl_id_field_once(tmp_path: Path) -> None:
    records = [{"id": f"H-{number}", "ticket": {"subject": "Same"}, "description": "Same body."}
               for number in (1, 2)]
    export = "".join(json.dumps(record) + "\n" for record in records)
    out = run_ingest(tmp_path, {"helpdesk/a.jsonl": export}, [{**JSONL_MAPPING, "metadata_columns": []}])
    assert out["documents"] == []
    assert [error["error"] for error in out["errors"]] == ["ticket_column_missing"]
    assert "column 'ticket.id' of ingest.tickets[0].id_column is not in any record" in out["errors"][0]["message"]
    assert "Did you mean 'id'?" in out["errors"][0]["message"]


def test_bad_json_line_skipped(tmp_path: Path) -> None:
    good = [json.dumps({"ticket": {"id": f"H-{number}", "subject": f"Case {number}"},
                        "description": f"Details of case {number}."}) for number in (1, 3)]
    export = "\n".join([good[0], '{"ticket": {"id": "H-2", "subject": "Cut off"', good[1], "[1, 2]"]) + "\n"
    out = run_ingest(tmp_path, {"helpdesk/a.jsonl": export}, [{**JSONL_MAPPING, "metadata_columns": []}])
    assert [record["source"] for record in out["documents"]] == ["helpdesk/a.jsonl#H-1", "helpdesk/a.jsonl#H-3"]
    messages = [(error["error"], error["message"]) for error in out["errors"]]
    assert messages == [
        ("malformed_row", "line 2 skipped: invalid JSON (Expecting ',' delimiter at column 46); fix that row "
                          "of the export (each line must hold one JSON object) and re-run"),
        ("malformed_row", "line 4 skipped: a JSON list, not an object; fix that row of the export (each line "
                          "must hold one JSON object) and re-run"),
    ]


def test_bad_rows_reported_rest_kept(tmp_path: Path) -> None:
    export = ("ticket_id,subject,body\n"
              "T-1,First,Body one.\n"
              "T-2,Extra,Body, with an unquoted comma\n"
              "T-3,Quote,\"Bad\"quote\n"
              "T-1,Again,A repeated id.\n"
              "T-4,,\n"
              ",No id,Body without an id.\n"
              "T-5,Last,Body five.\n")
    out = run_ingest(tmp_path, {"exports/tickets.csv": export}, [{**CSV_MAPPING, "metadata_columns": []}])
    assert [record["source"] for record in out["documents"]] == ["exports/tickets.csv#T-1",
                                                                 "exports/tickets.csv#T-5"]
    errors = [(error["error"], error["severity"], error["message"]) for error in out["errors"]]
    assert errors[0][:2] == ("malformed_row", "error")
    assert errors[0][2].startswith("line 3 skipped: the row has 4 fields but the header has 3;")
    assert errors[1][2].startswith("line 4 skipped: ',' expected after '\"';")
    assert errors[2] == ("duplicate_ticket_id", "error",
                         "ticket id 'T-1' at line 5 repeats the ticket at line 2, so only the first was kept; "
                         "give each ticket a unique id in column 'ticket_id' or remove the repeated row")
    assert errors[3] == ("missing_ticket_id", "error",
                         "1 row had no value in column 'ticket_id' (line 7) and was skipped; fill in the "
                         "ticket ids and re-run")
    assert errors[4] == ("empty_ticket_text", "warning",
                         "1 ticket had no text in columns subject, body (line 6) and was skipped; nothing to "
                         "do unless those columns should hold text")
    assert len(errors) == 5
    assert out["manifest"]["counts"]["error_types"] == {"duplicate_ticket_id": 1, "empty_ticket_text": 1,
                                                        "malformed_row": 2, "missing_ticket_id": 1}


def test_many_bad_rows_summarised() -> None:
    rows = "".join(f"T-{number},Subject,\"Bad\"quote\n" for number in range(25))
    file = InputFile("t.csv", f"ticket_id,subject,body\n{rows}T-99,Fine,Body.\n".encode())
    export = read_ticket_export(file, 0, TicketMapping(files=["t.csv"]))
    assert [ticket.ticket_id for ticket in export.tickets] == ["T-99"]
    assert len(export.problems) == 21
    assert export.problems[-1].message == ("5 more rows skipped for the same reason (lines 22, 23, 24, 25, "
                                           "26); the first 20 are listed one by one")


def test_unclosed_quote_reports_lost_lines() -> None:
    rows = ["ticket_id,subject,body", 'T-0,Open,"a quote that is never closed']
    rows += [f"T-{number},Subject {number},Body {number} {'x' * 200}" for number in range(1, 2000)]
    file = InputFile("t.csv", ("\n".join(rows) + "\n").encode())
    export = read_ticket_export(file, 0, TicketMapping(files=["t.csv"]))
    [problem] = export.problems
    assert problem.message.startswith("lines 2 to 579 skipped: field larger than field limit (131072);")
    assert export.tickets[0].ticket_id == "T-578"
    assert len(export.tickets) == 1422


def test_encoding_change_after_first_mib() -> None:
    """A file whose first MiB is ASCII and whose later rows are Shift_JIS is detected again in full."""
    ascii_rows = "".join(f"A-{number:06d},Subject {number},Plain ASCII body {number}.\r\n"
                         for number in range(30_000))
    data = ("ticket_id,subject,body\r\n" + ascii_rows).encode("ascii")
    assert len(data) > 2**20
    data += "J-1,請求書,請求書の再発行をお願いします。\r\n".encode("cp932")
    export = read_ticket_export(InputFile("big.csv", data), 0, TicketMapping(files=["*.csv"]))
    assert len(export.tickets) == 30_001
    assert export.encoding == "cp932"
    assert export.tickets[-1].text == "Subject: 請求書\n\n請求書の再発行をお願いします。"
    assert export.problems == []


def test_utf16_tsv_export() -> None:
    data = "ticket_id\tsubject\tbody\nT-1\tนัดหมาย\tขอเลื่อนการประชุม\n".encode("utf-16")
    export = read_ticket_export(InputFile("t.tsv", data), 0, TicketMapping(files=["*.tsv"]))
    assert [ticket.text for ticket in export.tickets] == ["Subject: นัดหมาย\n\nขอเลื่อนการประชุม"]


def test_marking_in_ticket_kept() -> None:
    data = "ticket_id,subject,body\nT-1,社外秘,取引先の価格表を共有しないでください。\n".encode()
    [ticket] = read_ticket_export(InputFile("t.csv", data), 0, TicketMapping(files=["t.csv"])).tickets
    assert ticket.metadata["sensitivity_markings"] == ["社外秘"]


@pytest.mark.parametrize(("source", "expected"), [
    ("exports/tickets.csv", 0),
    ("exports/old/tickets.csv", None),
    ("helpdesk/a.jsonl", 1),
    ("helpdesk/2024/03/a.jsonl", 1),
    ("archive/helpdesk/a.jsonl", None),
    ("legacy/export.txt", 2),
    ("export.txt", 2),
    ("exports/tickets.CSV", None),
])
def test_mapping_glob_patterns(source: str, expected: int | None) -> None:
    mappings = [TicketMapping(files=["exports/*.csv"]), TicketMapping(files=["helpdesk/**/*.jsonl"]),
                TicketMapping(files=["export.txt"], format="csv")]
    found = mapping_for(source, mappings)
    assert (found[0] if found else None) == expected


def test_unknown_suffix_needs_format(tmp_path: Path) -> None:
    out = run_ingest(tmp_path, {"exports/tickets.txt": "ticket_id,subject,body\nT-1,A,B\n"},
                     [{"files": ["exports/*.txt"]}])
    assert out["documents"] == []
    [error] = out["errors"]
    assert error["error"] == "ReadError"
    assert error["message"] == ("unknown export format for a '.txt' file; set ingest.tickets[0].format to csv "
                                "or jsonl, or rename the file to .csv or .jsonl")


def test_changed_mapping_extracts_again(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "workspace")
    files = {"exports/tickets.csv": TICKETS_CSV, "notes.txt": "Pump P-7 is serviced every ninety days."}
    first = run_ingest(tmp_path, files, [CSV_MAPPING], workspace)
    assert first["manifest"]["counts"]["extracted"] == 2

    second = run_ingest(tmp_path, files, [{**CSV_MAPPING, "metadata_columns": ["created_at"]}], workspace)
    assert second["manifest"]["counts"]["extracted"] == 1
    assert second["manifest"]["counts"]["reused"] == 1
    metadata = by_source(second["documents"])["exports/tickets.csv#T-1042"]["metadata"]
    assert metadata == {"created_at": "2024-03-01", "ticket_id": "T-1042", "line": 2, "encoding": "utf_8"}
