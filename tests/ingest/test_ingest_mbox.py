"""E-mail attachments and mbox files: each message and attachment read as a member of its container."""

from email.message import EmailMessage
from pathlib import Path
from typing import Any

from ingest_files import EMAIL_WITH_REPLY, read_output, write_docx

from shochu.config import RunConfig
from shochu.ingest import stage
from shochu.ingest.readers.mail import mail_attachments, split_mbox
from shochu.workspace import Workspace


def message_with_attachments(docx: Path) -> bytes:
    message = EmailMessage()
    message["From"] = "Alice Example <alice@example.com>"
    message["To"] = "Bob Example <bob@example.com>"
    message["Subject"] = "Safety rules and the tank log"
    message["Date"] = "Tue, 04 Jun 2024 09:00:00 +0900"
    message.set_content("Please read the attached safety rules before Friday.\n")
    message.add_attachment("Tank 3 was refilled on Monday.\n".encode("utf-8"), maintype="text",
                           subtype="plain", filename="tank-log.txt")
    message.add_attachment(docx.read_bytes(), maintype="application",
                           subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
                           filename="rules/safety.docx")
    forwarded = EmailMessage()
    forwarded["From"] = "Carol Example <carol@example.com>"
    forwarded["Subject"] = "Boiler check"
    forwarded.set_content("The boiler passed its yearly check.\n")
    message.add_attachment(forwarded)
    return message.as_bytes()


def ingest(tmp_path: Path, folder: Path) -> dict[str, Any]:
    workspace = Workspace(tmp_path / "workspace")
    config = RunConfig.model_validate({"workspace": str(workspace.root), "ingest": {"input": str(folder)}})
    manifest = stage.run(config, workspace)
    outputs = {name: read_output(workspace.stage_dir("ingest"), name)
               for name in ("documents", "chunks", "errors")}
    return {"manifest": manifest, **outputs}


def texts_by_source(chunks: list[dict[str, Any]]) -> dict[str, str]:
    texts: dict[str, list[str]] = {}
    for chunk in chunks:
        texts.setdefault(chunk["source"], []).append(chunk["text"])
    return {source: "\n\n".join(parts) for source, parts in texts.items()}


def test_mail_attachments_named(tmp_path: Path) -> None:
    attachments = mail_attachments(message_with_attachments(write_docx(tmp_path / "safety.docx")))
    assert [name for name, _ in attachments] == ["tank-log.txt", "rules_safety.docx", "attachment-3.eml"]
    assert attachments[0][1] == b"Tank 3 was refilled on Monday.\n"
    assert attachments[1][1] == (tmp_path / "safety.docx").read_bytes()


def test_eml_attachments_ingested(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "rules.eml").write_bytes(message_with_attachments(write_docx(tmp_path / "safety.docx")))
    result = ingest(tmp_path, folder)

    formats = {document["source"]: document["format"] for document in result["documents"]}
    assert formats == {"rules.eml": "eml", "rules.eml/tank-log.txt": "text",
                       "rules.eml/rules_safety.docx": "docx", "rules.eml/attachment-3.eml": "eml"}
    texts = texts_by_source(result["chunks"])
    assert texts["rules.eml"] == "Please read the attached safety rules before Friday."
    assert texts["rules.eml/tank-log.txt"] == "Tank 3 was refilled on Monday."
    assert texts["rules.eml/attachment-3.eml"] == "The boiler passed its yearly check."
    assert texts["rules.eml/rules_safety.docx"].startswith("# Safety rules\n\nWear gloves in the workshop")
    assert result["errors"] == []
    assert result["manifest"]["counts"]["archive_members"] == 3


def test_split_mbox_unescapes_from() -> None:
    data = (b"From alice@example.com Mon Jun  3 10:00:00 2024\nSubject: One\n\n>From now on we meet at 9.\n\n"
            b"From bob@example.com Tue Jun  4 10:00:00 2024\nSubject: Two\n\n>>From the top.\n")
    assert split_mbox(data) == [b"Subject: One\n\nFrom now on we meet at 9.\n\n", b"Subject: Two\n\n>From the top.\n"]


def test_mbox_messages_ingested(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    second = message_with_attachments(write_docx(tmp_path / "safety.docx"))
    mbox = (b"From alice@example.com Mon Jun  3 10:00:00 2024\n" + EMAIL_WITH_REPLY.encode("utf-8") + b"\n"
            + b"From alice@example.com Tue Jun  4 09:00:00 2024\n" + second + b"\n")
    (folder / "inbox.mbox").write_bytes(mbox)
    result = ingest(tmp_path, folder)

    sources = [document["source"] for document in result["documents"]]
    assert sources == ["inbox.mbox/message-00001.eml", "inbox.mbox/message-00002.eml",
                       "inbox.mbox/message-00002.eml/tank-log.txt",
                       "inbox.mbox/message-00002.eml/rules_safety.docx",
                       "inbox.mbox/message-00002.eml/attachment-3.eml"]
    first = result["documents"][0]
    assert first["metadata"]["subject"] == "Pump maintenance schedule"
    texts = texts_by_source(result["chunks"])
    assert texts["inbox.mbox/message-00001.eml"] == ("The pump is serviced every 90 days.\n"
                                                    "Please book the next slot in the maintenance calendar.")
    assert result["manifest"]["counts"]["formats"]["mbox"] == 1
    assert result["errors"] == []


def test_mbox_without_messages(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "inbox.mbox").write_text("This is not a mailbox.\n", encoding="utf-8")
    result = ingest(tmp_path, folder)
    assert [(error["source"], error["error"]) for error in result["errors"]] == [("inbox.mbox", "not_mbox")]
