"""E-mail messages (.eml) parsed with the standard library's ``email`` package, and mbox files split into them.

``MailReader`` returns a message's body text. The ingest stage reads a
message's attachments (``mail_attachments``) and the messages of an mbox file
(``split_mbox``) as members, the way it reads the members of a ZIP archive.
"""

from __future__ import annotations

import mimetypes
import re
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from shochu.ingest.readers.base import EncodingError, InputFile, NoTextError, ReadError, ReadOptions, Reader
from shochu.ingest.readers.encoding import check_replacement_characters, decode_text
from shochu.ingest.readers.html import html_to_markdown

_HEADERS = ("From", "To", "Cc", "Subject", "Date", "Message-ID")
# "On Mon, 3 Jun 2024 at 10:00, Alice <alice@example.com> wrote:", possibly wrapped
# onto a second line.
_ATTRIBUTION = re.compile(r"^On\b[^\n]*(?:\n[^\n]*)?\bwrote:[ \t]*$", re.MULTILINE)
# The first line of a forwarded-below original in Outlook and similar clients;
# everything from it to the end is the earlier message.
_ORIGINAL_MESSAGE = re.compile(r"^\s*-{2,}\s*(Original Message|元のメッセージ)\s*-{2,}\s*$", re.IGNORECASE)
# A row of at least eight identical dashes, box-drawing lines, equals signs or
# underscores. Japanese business e-mails frame their signature with such rows.
_RULE_LINE = re.compile(r"^\s*([-=_*~―─━＝＿－])\1{7,}\s*$")
# A framed signature is looked for among this many last non-blank lines.
_MAX_SIGNATURE_LINES = 10
# Lone surrogates U+DC80 to U+DCFF: how the parser keeps undecodable header bytes.
_SURROGATE_ESCAPES = re.compile("[\udc80-\udcff]")
# A body line that an mbox writer escaped because it starts with "From ".
_MBOX_ESCAPED_FROM = re.compile(rb"^>(>*)From ")
# Whitespace left by header folding; a full-width space inside a name is kept.
_FOLDING_WHITESPACE = re.compile(r"[ \t\r\n]+")


class MailReader(Reader):
    format = "eml"
    suffixes = (".eml",)

    def read(self, file: InputFile, options: ReadOptions) -> tuple[str, dict[str, Any]]:
        message = BytesParser(policy=policy.default).parsebytes(file.data)
        metadata = _header_metadata(message)
        # The parser accepts any bytes, so a file without the basic headers is not an e-mail.
        if not {"from", "to", "subject", "date"} & set(metadata):
            raise ReadError("no From, To, Subject or Date header found, so this is not an e-mail "
                            "message; export the message as .eml and re-run")

        body = message.get_body(preferencelist=("plain", "html"))
        if body is None:
            raise NoTextError("the e-mail has no text/plain or text/html body; if its content is an "
                              "attachment, save the attachment as its own file and re-run")
        content = body.get_content()
        check_replacement_characters(content)
        if body.get_content_type() == "text/html":
            content, _ = html_to_markdown(content, drop_quotes=True)
        metadata["marking_lines"] = [metadata["subject"]] if "subject" in metadata else []
        return strip_reply(content), metadata


def _header_metadata(message: EmailMessage) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    raw_headers = {name.lower(): value for name, value in message.raw_items()}
    for name in _HEADERS:
        raw_value = raw_headers.get(name.lower())
        if raw_value is not None:
            metadata[name.lower().replace("-", "_")] = _decoded_header(raw_value, message.get(name))
    if "subject" in metadata:
        metadata["title"] = metadata["subject"]
    attachments = [_raw_bytes_decoded(part.get_filename()) for part in message.iter_attachments()
                   if part.get_filename()]
    if attachments:
        metadata["attachments"] = attachments
    return metadata


def _decoded_header(raw_value: str, parsed: Any) -> str:
    """Decode a header's RFC 2047 encoded words, joining adjacent ones without a space.

    The parser of ``policy.default`` (Python 3.11) puts a space between adjacent
    encoded words in an address header, which splits a Japanese display name in
    two. RFC 2047 section 6.2 requires the whitespace between them to be ignored, as the
    older ``email.header`` decoder does.
    """
    try:
        value = str(make_header(decode_header(raw_value)))
    except (LookupError, UnicodeError, ValueError):
        value = str(parsed)
    return _FOLDING_WHITESPACE.sub(" ", _raw_bytes_decoded(value)).strip()


def _raw_bytes_decoded(value: str) -> str:
    """Decode 8-bit bytes that the parser kept as surrogate escapes (raw UTF-8 or Shift_JIS headers).

    Such escapes cannot be written as UTF-8, so left in place they would fail the
    stage's output writer.
    """
    if not _SURROGATE_ESCAPES.search(value):
        return value
    raw = value.encode("utf-8", "surrogateescape")
    try:
        return decode_text(raw)[0]
    except EncodingError:
        return raw.decode("utf-8", "replace")


def strip_reply(text: str) -> str:
    """Remove quoted earlier messages and the signature from an e-mail body.

    Drops lines quoted with ">", "On ... wrote:" attributions, everything from an
    "-----Original Message-----" line on, and everything after a "-- " signature
    separator line. A block among the last lines that starts with a rule line
    (such as "――――――――") counts as a framed signature and is dropped too.
    """
    body_lines: list[str] = []
    for line in text.splitlines():
        if line in ("-- ", "--") or _ORIGINAL_MESSAGE.match(line):
            break
        if line.lstrip().startswith(">"):
            continue
        body_lines.append(line)
    body = _ATTRIBUTION.sub("", "\n".join(body_lines))
    return "\n".join(_without_framed_signature(body.rstrip().split("\n")))


def _without_framed_signature(lines: list[str]) -> list[str]:
    """Cut the lines at the first rule line among the last ``_MAX_SIGNATURE_LINES`` non-blank lines."""
    non_blank = [index for index, line in enumerate(lines) if line.strip()]
    for index in non_blank[-_MAX_SIGNATURE_LINES:]:
        if _RULE_LINE.match(lines[index]):
            return lines[:index]
    return lines


def mail_attachments(data: bytes) -> list[tuple[str, bytes]]:
    """Return the name and bytes of each attachment of an e-mail, attached e-mails included.

    A name is the attachment's file name with path separators replaced, or
    "attachment-N" plus the extension of its content type when it has none. A
    name already used in the message gets "~N" appended, so each source is unique.
    """
    message = BytesParser(policy=policy.default).parsebytes(data)
    attachments: list[tuple[str, bytes]] = []
    used: set[str] = set()
    for index, part in enumerate(message.iter_attachments(), start=1):
        if part.get_content_type() == "message/rfc822":
            attached = part.get_payload()
            payload = attached[0].as_bytes() if isinstance(attached, list) and attached else None
        else:
            payload = part.get_payload(decode=True)
        if payload is None:
            continue
        name = _attachment_name(part, index)
        if name in used:
            name = f"{name}~{index}"
        used.add(name)
        attachments.append((name, payload))
    return attachments


def _attachment_name(part: EmailMessage, index: int) -> str:
    filename = part.get_filename()
    if filename:
        name = _raw_bytes_decoded(filename).replace("/", "_").replace("\\", "_").strip()
        if name and name not in (".", ".."):
            return name
    extension = ".eml" if part.get_content_type() == "message/rfc822" else (
        mimetypes.guess_extension(part.get_content_type()) or "")
    return f"attachment-{index}{extension}"


def split_mbox(data: bytes) -> list[bytes]:
    """Split an mbox file into its messages, without their "From " separator lines.

    A message starts at a line beginning with "From " that opens the file or
    follows a blank line. Body lines that the mbox writer escaped as ">From "
    (or ">>From ", mboxrd style) lose one ">".
    """
    messages: list[list[bytes]] = []
    previous_blank = True
    for line in data.splitlines(keepends=True):
        if line.startswith(b"From ") and previous_blank:
            messages.append([])
        elif messages:
            messages[-1].append(_MBOX_ESCAPED_FROM.sub(rb"\1From ", line))
        previous_blank = not line.strip()
    return [b"".join(lines) for lines in messages]
