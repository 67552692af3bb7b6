import pytest

from shochu.ingest.normalize import detect_language, normalize_text


def test_normalize_nfc() -> None:
    assert normalize_text("Cafe\u0301") == "Caf\u00e9"


def test_normalize_keeps_full_width() -> None:
    assert normalize_text("ＡＢＣ１２３　カタカナ") == "ＡＢＣ１２３　カタカナ"


def test_normalize_removes_control_characters() -> None:
    assert normalize_text("a\x00b\x07c\x1bd\x7fe\ufefff") == "abcdef"


def test_normalize_keeps_tabs() -> None:
    assert normalize_text("name\tvalue") == "name\tvalue"


def test_normalize_line_endings() -> None:
    assert normalize_text("one\r\ntwo\rthree\x0cfour") == "one\ntwo\nthree\nfour"


def test_normalize_collapses_blank_lines() -> None:
    assert normalize_text("one\n\n\n\n  \n\ntwo") == "one\n\ntwo"


def test_normalize_strips_trailing_spaces() -> None:
    assert normalize_text("  indented   \nnext\t \n") == "  indented\nnext"


@pytest.mark.parametrize(("text", "language"), [
    ("社外秘の文書は共有フォルダに保存しないでください。", "ja"),
    ("apt-get install の後で sudo の設定を確認します。", "ja"),
    ("ภาษาไทยเป็นภาษาราชการของประเทศไทย", "th"),
    ("ພາສາລາວແມ່ນພາສາທາງການຂອງລາວ", "lo"),
    ("The pump is serviced every 90 days.", "en"),
    ("12345 !!!", "en"),
])
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language
