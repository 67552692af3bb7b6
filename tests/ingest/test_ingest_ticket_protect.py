"""Tickets of a mapped export reach the protect stage as documents, so their PII is masked."""

from __future__ import annotations

from pathlib import Path

from shochu.config import RunConfig
from shochu.ingest import stage as ingest_stage
from shochu.protect import stage as protect_stage
from shochu.workspace import Workspace, read_json, read_jsonl

EXPORT = (
    "ticket_id,subject,body,category\n"
    "T-1,Invoice question,\"Dear support, this is Hanako Yamada.\n"
    "Please call me back at 090-1234-5678 about invoice INV-204.\",billing\n"
    "T-2,返金について,山田花子様から返金の問い合わせ。折り返しは03-1234-5678まで。,billing\n"
)
PLANTED = ["Hanako Yamada", "090-1234-5678", "03-1234-5678", "山田花子"]


def test_ticket_pii_masked_by_protect(tmp_path: Path) -> None:
    root = tmp_path / "input"
    (root / "exports").mkdir(parents=True)
    (root / "exports" / "tickets.csv").write_text(EXPORT, encoding="utf-8")
    workspace = Workspace(tmp_path / "workspace")
    config = RunConfig.model_validate({"workspace": str(workspace.root), "ingest": {
        "input": str(root), "workers": 1,
        "tickets": [{"files": ["exports/*.csv"], "metadata_columns": ["category"]}]}})

    ingest_stage.run(config, workspace)
    manifest = protect_stage.run(config, workspace)

    chunks = {chunk["source"]: chunk["text"] for chunk in
              read_jsonl(workspace.stage_dir("protect") / "chunks.jsonl")}
    assert sorted(chunks) == ["exports/tickets.csv#T-1", "exports/tickets.csv#T-2"]
    for text in chunks.values():
        for value in PLANTED:
            assert value not in text
    assert chunks["exports/tickets.csv#T-1"] == ("Subject: Invoice question\n\nDear support, this is [PERSON_1].\n"
                                                 "Please call me back at [PHONE_NUMBER_1] about invoice INV-204.")
    assert chunks["exports/tickets.csv#T-2"] == ("Subject: 返金について\n\n[PERSON_1]様から返金の問い合わせ。"
                                                 "折り返しは[PHONE_NUMBER_1]まで。")

    report = read_json(workspace.stage_dir("protect") / "privacy_report.json")
    assert "Hanako" not in str(report)
    assert manifest["counts"]["chunks"] == 2
