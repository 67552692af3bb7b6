"""E-mail messages (.eml), parsed with the standard library's ``email`` package."""

from __future__ import annotations

import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from shochu.ingest.readers.base import NoTextError, Reader
from shochu.ingest.readers.html import html_to_markdown

_HEADERS = ("From", "To", "Cc", "Subject", "Date", "Message-ID")
# "On Mon, 3 Jun 2024 at 10:00, Alice <alice@example.com> wrote:", possibly wrapped onto a second line.
_ATTRIBUTION = re.compile(r"^On\b[^\n]*(?:\n[^\n]*)?\bwrote:[ \t]*$", re.MULTILINE)
# The first line of a forwarded-below original in Outlook and similar clients;
# everything from it to the end is the earlier message.
_ORIGINAL_MESSAGE = re.compile(r"^\s*-{2,}\s*(Original Message|元のメッセージ)\s*-{2,}\s*$", re.IGNORECASE)


class MailReader(Reader):
    format = "eml"
    suffixes = (".eml",)

    def read(self, path: Path) -> tuple[str, dict[str, Any]]:
        with open(path, "rb") as handle:
            message = BytesParser(policy=policy.default).parse(handle)
        metadata = _header_metadata(message)

        body = message.get_body(preferencelist=("plain", "html"))
        if body is None:
            raise NoTextError("the e-mail has no text/plain or text/html body; if its content is an "
                              "attachment, save the attachment as its own file and re-run")
        content = body.get_content()
        if body.get_content_type() == "text/html":
            content, _ = html_to_markdown(content, drop_quotes=True)
        return strip_reply(content), metadata


def _header_metadata(message: EmailMessage) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    for name in _HEADERS:
        value = message.get(name)
        if value is not None:
            metadata[name.lower().replace("-", "_")] = str(value)
    if "subject" in metadata:
        metadata["title"] = metadata["subject"]
    attachments = [part.get_filename() for part in message.iter_attachments() if part.get_filename()]
    if attachments:
        metadata["attachments"] = attachments
    return metadata


def strip_reply(text: str) -> str:
    """Remove quoted earlier messages and the signature from an e-mail body.

    Drops lines quoted with ">", "On ... wrote:" attributions, everything from an
    "-----Original Message-----" line on, and everything after a "-- " signature
    separator line.
    """
    kept: list[str] = []
    for line in text.splitlines():
        if line.rstrip("\r\n") in ("-- ", "--") or _ORIGINAL_MESSAGE.match(line):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    return _ATTRIBUTION.sub("", "\n".join(kept))
