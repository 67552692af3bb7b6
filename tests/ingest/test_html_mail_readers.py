from pathlib import Path

import pytest

from shochu.ingest.readers.html import HtmlReader, html_to_markdown
from shochu.ingest.readers.html_structure import structural_markdown
from shochu.ingest.readers.mail import MailReader, strip_reply

HTML_ONLY_EMAIL = """\
From: Carol <carol@example.com>
Subject: Shift change
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<html><body><p>The night shift starts at 22:00 from next week.</p>
<blockquote>Can we start later?</blockquote></body></html>
"""


@pytest.fixture
def returns(returns_html: Path) -> str:
    return HtmlReader().extract(returns_html).text


@pytest.fixture
def pump(pump_eml: Path) -> str:
    return MailReader().extract(pump_eml).text


def test_html_main_content_kept(returns: str) -> None:
    assert "within thirty days of delivery" in returns


def test_html_navigation_removed(returns: str) -> None:
    assert "Careers portal" not in returns


def test_html_footer_removed(returns: str) -> None:
    assert "All rights reserved" not in returns


def test_html_title_metadata(returns_html: Path) -> None:
    assert HtmlReader().extract(returns_html).metadata["title"] == "Returns policy"


def test_html_wrapped_headings_kept() -> None:
    section = ("<div class='section'><div class='titlepage'><div><h2 class='title'>{title}</h2></div></div>"
               "<p>{body}</p></div>")
    page = ("<html><body><div class='navheader'>Prev Next</div>"
            + section.format(title="5.1. Setup", body="Run the installer.")
            + section.format(title="5.2. Start", body="<pre># pumpctl start</pre>")
            + "</body></html>")
    text, _ = html_to_markdown(page)
    assert text == "## 5.1. Setup\n\nRun the installer.\n\n## 5.2. Start\n\n```\n# pumpctl start\n```"


def test_html_structure_rowspan_keeps_columns() -> None:
    import lxml.html

    page = lxml.html.fromstring("<table><tr><td rowspan='2'>icon</td><td>Tip</td></tr>"
                                "<tr><td>Use gloves.</td></tr></table>")
    text, _ = structural_markdown(page)
    assert text.split("\n")[-1] == "|  | Use gloves. |"


def test_eml_body_kept(pump: str) -> None:
    assert pump == ("The pump is serviced every 90 days.\n"
                    "Please book the next slot in the maintenance calendar.")


def test_eml_quoted_reply_dropped(pump: str) -> None:
    assert "When is the pump serviced" not in pump


def test_eml_signature_dropped(pump: str) -> None:
    assert "Maintenance lead" not in pump


def test_eml_headers_metadata(pump_eml: Path) -> None:
    metadata = MailReader().extract(pump_eml).metadata
    assert metadata["subject"] == "Pump maintenance schedule"
    assert metadata["from"] == "Alice Example <alice@example.com>"
    assert metadata["to"] == "Bob Example <bob@example.com>"
    assert metadata["date"] == "Mon, 03 Jun 2024 10:00:00 +0900"


def test_eml_html_body_without_quote(tmp_path: Path) -> None:
    path = tmp_path / "shift.eml"
    path.write_text(HTML_ONLY_EMAIL, encoding="utf-8")
    assert MailReader().extract(path).text == "The night shift starts at 22:00 from next week."


def test_strip_reply_framed_signature() -> None:
    body = "ご確認をお願いいたします。\n\n――――――――――\n川口 恵美\nTEL 052-000-0000\n――――――――――"
    assert strip_reply(body).strip() == "ご確認をお願いいたします。"


def test_strip_reply_rule_line_mid_message_kept() -> None:
    body = "Agenda\n==========\n" + "\n".join(f"Item {number}" for number in range(12))
    assert strip_reply(body) == body


def test_eml_encoded_words_joined(tmp_path: Path) -> None:
    path = tmp_path / "notice.eml"
    path.write_text("From: =?utf-8?b?44Kr44K544K/44Oe44O844K144O8?=\n"
                    " =?utf-8?b?44OT44K5?= <support@example.co.jp>\n"
                    "Subject:\n Holiday notice\n\nClosed on Monday.\n", encoding="utf-8")
    metadata = MailReader().extract(path).metadata
    assert metadata["from"] == "カスタマーサービス <support@example.co.jp>"
    assert metadata["subject"] == "Holiday notice"


def test_strip_reply_original_message_block() -> None:
    body = "Approved.\n\n-----Original Message-----\nFrom: Dan\nCan I order two pumps?"
    assert strip_reply(body).strip() == "Approved."
