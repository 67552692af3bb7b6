"""Optional NER (protect.ner): GiNZA person spans, config validation and the missing-model message."""

from __future__ import annotations

import importlib.util
import re
import time
from pathlib import Path

import pytest
import spacy
from pydantic import ValidationError

from shochu.config import ConfigError, ProtectConfig, RunConfig, load_config
from shochu.ingest.store import write_tables
from shochu.protect import Masker, stage
from shochu.protect.ner import GINZA_PINS, SpacyPersonRecognizer, check_models, install_command, pieces
from shochu.protect.recognizers import FAILED_KEY
from shochu.workspace import Workspace, read_jsonl

REPOSITORY = Path(__file__).resolve().parents[2]
NER_SCORE = 0.7

needs_ginza = pytest.mark.skipif(importlib.util.find_spec("ja_ginza") is None,
                                 reason="GiNZA is not installed; run make install-ner")


@pytest.fixture(scope="module")
def ner_masker() -> Masker:
    """A masker with the default settings plus GiNZA for Japanese (about 6 s to load)."""
    return Masker(ProtectConfig(ner={"models": {"ja": "ja_ginza"}}))


def person_spans(masker: Masker, text: str) -> list[tuple[str, int, int, float]]:
    spans, failed = masker.detect(text)
    assert failed == ()
    return [(text[span.start:span.end], span.start, span.end, span.score) for span in spans
            if span.entity_type == "PERSON"]


# Names without an honorific, label or given name: Sudachi's recognizer scores them under the
# default threshold, so with NER off they stay in the text.
BARE_NAMES = [
    ("昨日、田中と山本が東京駅で会った。", [("田中", 3, 5), ("山本", 6, 8)]),
    ("報告書は渡辺が今朝まとめた。", [("渡辺", 4, 6)]),
    ("見積書を井上に送ってください。", [("井上", 4, 6)]),
    # Sudachi tags 古川 as a common noun, so a one-token Person entity is kept whatever its tag.
    ("見積書を古川に送ってください。", [("古川", 4, 6)]),
    ("明日はジョン・スミスが来日する。", [("ジョン・スミス", 3, 10)]),
    ("マリア・ガルシアが新しい契約を担当する。", [("マリア・ガルシア", 0, 8)]),
]


@pytest.mark.parametrize(("text", "expected"), BARE_NAMES)
def test_bare_names_missed_with_ner_off(masker: Masker, text: str, expected: list) -> None:
    assert person_spans(masker, text) == []


@needs_ginza
@pytest.mark.parametrize(("text", "expected"), BARE_NAMES)
def test_ginza_finds_bare_names(ner_masker: Masker, text: str, expected: list) -> None:
    assert person_spans(ner_masker, text) == [(name, start, end, NER_SCORE) for name, start, end in expected]


@needs_ginza
def test_ginza_leaves_company_and_place(ner_masker: Masker) -> None:
    assert person_spans(ner_masker, "トヨタ自動車の決算が発表された。") == []
    # GiNZA labels these Person, but a family name followed by a common noun is dropped.
    assert person_spans(ner_masker, "佐々木工業の決算が発表された。") == []
    assert person_spans(ner_masker, "杉本駅の改札で待ち合わせた。") == []
    assert person_spans(ner_masker, "片山商店に在庫を問い合わせた。") == []
    assert ner_masker.mask("今日は東京駅で会議です。").text == "今日は東京駅で会議です。"


@needs_ginza
@pytest.mark.parametrize("text", ["起動には systemd を使います。", "ホームディレクトリは ~ で表します。",
                                  "email の設定を変更した。", "README.Debian.gz を読んでください。"])
def test_ginza_latin_words_not_names(ner_masker: Masker, text: str) -> None:
    # GiNZA labels each of these Latin words or symbols Person; in Japanese text they are dropped.
    assert person_spans(ner_masker, text) == []


@needs_ginza
def test_cue_score_wins_over_ner(ner_masker: Masker) -> None:
    # Sudachi's recognizer scores a name before an honorific 0.8 or more, above the NER score.
    assert person_spans(ner_masker, "山田太郎様、お世話になります。") == [("山田太郎", 0, 4, 0.85)]
    text = "メールは taro@example.co.jp まで。担当は加藤。"
    assert ner_masker.mask(text).text == "メールは [EMAIL_ADDRESS_1] まで。担当は[PERSON_1]。"


@needs_ginza
def test_offsets_across_pieces() -> None:
    # SudachiPy 0.7 rejects more than 49,149 bytes at once, so long texts are analysed in pieces
    # (4,000 characters by default, 40 here). Offsets must point into the whole text.
    recognizer = SpacyPersonRecognizer("ja", "ja_ginza", NER_SCORE, piece_chars=40)
    filler = "今日は晴れです。" * 6
    text = filler + "会議には鈴木一郎が出席した。" + filler + "見積書を井上に送ってください。"
    start = len(filler) + 4
    second = len(filler) * 2 + len("会議には鈴木一郎が出席した。") + 4
    assert recognizer.find(text) == [(start, start + 4), (second, second + 2)]


@needs_ginza
def test_pipeline_error_withholds_text() -> None:
    # One piece over SudachiPy's byte limit makes GiNZA raise, so the result must cover the whole text.
    recognizer = SpacyPersonRecognizer("ja", "ja_ginza", NER_SCORE, piece_chars=100_000)
    text = "今日は晴れです。" * 2100
    results = recognizer.analyze(text, ["PERSON"])
    assert [(result.start, result.end, result.score) for result in results] == [(0, len(text), 1.0)]
    assert results[0].recognition_metadata[FAILED_KEY] is True


@needs_ginza
def test_ner_skips_text_without_its_script() -> None:
    recognizer = SpacyPersonRecognizer("ja", "ja_ginza", NER_SCORE)
    assert recognizer.find("Meeting with Smith at 10:00.") == []
    assert recognizer.find("鈴木一郎が出席した。") == [(0, 4)]


def test_pieces_cut_after_sentence_end() -> None:
    text = "あ" * 30 + "。" + "い" * 30 + "\n" + "う" * 10
    assert list(pieces(text, size=40)) == [(0, 31), (31, 62), (62, 72)]
    assert list(pieces("え" * 100, size=40)) == [(0, 40), (40, 80), (80, 100)]
    assert list(pieces("", size=40)) == []


def test_unknown_language_rejected() -> None:
    with pytest.raises(ValidationError) as raised:
        ProtectConfig(ner={"models": {"th": "th_model"}})
    assert "no NER support for language 'th'; use en or ja" in str(raised.value)


def test_version_suffix_needs_folder_form() -> None:
    with pytest.raises(ValidationError) as raised:
        ProtectConfig(ner={"models": {"en": "en_core_web_sm-3.8.0"}})
    assert ("en: 'en_core_web_sm-3.8.0' is neither an installed package name (letters, digits, underscores) "
            "nor a folder; write a folder as ./en_core_web_sm-3.8.0 or as an absolute path") in str(raised.value)


def test_score_out_of_range_names_field(tmp_path: Path) -> None:
    config_file = tmp_path / "shochu.yaml"
    config_file.write_text("workspace: ws\nprotect:\n  ner:\n    score: 1.5\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(config_file)
    assert "protect.ner.score" in str(raised.value)


def test_relative_folder_resolved_package_kept(tmp_path: Path) -> None:
    config_file = tmp_path / "shochu.yaml"
    config_file.write_text("workspace: ws\nprotect:\n  ner:\n    models:\n      en: ./models/en_core_web_sm-3.8.0\n"
                           "      ja: ja_ginza\n", encoding="utf-8")
    models = load_config(config_file).protect.ner.models
    assert models == {"en": str(tmp_path / "models" / "en_core_web_sm-3.8.0"), "ja": "ja_ginza"}


def test_ner_off_by_default() -> None:
    assert ProtectConfig().ner.models == {}


def test_missing_spacy_model_message() -> None:
    with pytest.raises(ValueError) as raised:
        Masker(ProtectConfig(ner={"models": {"en": "en_core_web_sm"}}))
    assert str(raised.value) == (
        "protect.ner.models.en: spaCy pipeline en_core_web_sm is not installed. Shochu never downloads a model; "
        "install it with: copy spaCy's own wheel of en_core_web_sm (for example "
        "en_core_web_sm-3.8.0-py3-none-any.whl from https://github.com/explosion/spacy-models/releases, fetched "
        "on a machine with internet access, or from your own mirror) to this machine and run: .venv/bin/pip "
        "install --no-deps en_core_web_sm-3.8.0-py3-none-any.whl")


def test_missing_folder_message(tmp_path: Path) -> None:
    folder = tmp_path / "en_core_web_sm-3.8.0"
    folder.mkdir()
    with pytest.raises(ValueError) as raised:
        check_models({"en": str(folder)})
    assert str(raised.value) == (
        f"protect.ner.models.en: {folder} is not a spaCy pipeline folder (no config.cfg in it); give the folder "
        f"that contains config.cfg and meta.json, such as the inner en_core_web_sm-3.8.0 folder of the "
        f"unpacked package")


def test_absent_folder_message(tmp_path: Path) -> None:
    folder = tmp_path / "models" / "en_core_web_sm-3.8.0"
    with pytest.raises(ValueError) as raised:
        check_models({"en": str(folder)})
    assert str(raised.value) == (
        f"protect.ner.models.en: folder {folder} not found; give the folder of an unpacked spaCy pipeline, "
        f"which contains config.cfg and meta.json")


def test_ginza_install_command() -> None:
    assert install_command("ja_ginza") == (
        "make install-ner, or: .venv/bin/pip install --no-deps ginza==5.3.0 ja-ginza==5.3.0 plac==1.4.7")


def test_unknown_package_generic_install() -> None:
    with pytest.raises(ValueError) as raised:
        check_models({"ja": "ja_ginza_missing"})
    assert str(raised.value).startswith("protect.ner.models.ja: spaCy pipeline ja_ginza_missing is not installed.")
    assert "pip install --no-deps WHEEL" in str(raised.value)


def test_missing_model_reported_before_loading() -> None:
    # Both problems at once, so a user fixes the config in one go.
    with pytest.raises(ValueError) as raised:
        check_models({"en": "en_core_web_sm", "ja": "./no/such/folder"})
    lines = str(raised.value).splitlines()
    assert [line.split(":")[0] for line in lines] == ["protect.ner.models.en", "protect.ner.models.ja"]


def test_ginza_pins_match_makefile() -> None:
    makefile = (REPOSITORY / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^GINZA := (.+)$", makefile, re.MULTILINE).group(1) == GINZA_PINS


def ingested_workspace(root: Path, text: str) -> Workspace:
    workspace = Workspace(root)
    chunk = {"chunk_id": "memo-0000", "doc_id": "memo", "source": "memo.txt", "index": 0, "heading": None,
             "text": text}
    write_tables(workspace.reset("ingest"), [chunk], [{"doc_id": "memo", "source": "memo.txt", "format": "txt",
                                                       "metadata": {}}])
    workspace.finish("ingest", {"chunk_chars": 1000}, {"documents": "test"}, {"chunks": 1}, time.time())
    return workspace


def test_protect_stage_stops_on_missing_model(tmp_path: Path) -> None:
    workspace = ingested_workspace(tmp_path / "run", "昨日、田中と山本が会った。")
    config = RunConfig(workspace=str(workspace.root), protect={"ner": {"models": {"en": "en_core_web_sm"}}})
    missing = r"^protect\.ner\.models\.en: spaCy pipeline en_core_web_sm is not installed"
    with pytest.raises(ValueError, match=missing):
        stage.run(config, workspace)
    assert not workspace.stage_dir("protect").exists()


@needs_ginza
def test_protect_stage_masks_bare_names(tmp_path: Path) -> None:
    workspace = ingested_workspace(tmp_path / "run", "昨日、田中と山本が東京駅で会った。")
    config = RunConfig(workspace=str(workspace.root), protect={"ner": {"models": {"ja": "ja_ginza"}}})
    stage.run(config, workspace)
    chunks = read_jsonl(workspace.stage_dir("protect") / "chunks.jsonl")
    assert [chunk["text"] for chunk in chunks] == ["昨日、[PERSON_1]と[PERSON_2]が東京駅で会った。"]


def test_pipeline_without_ner_rejected(tmp_path: Path) -> None:
    folder = tmp_path / "blank_en"
    spacy.blank("en").to_disk(folder)
    with pytest.raises(ValueError) as raised:
        Masker(ProtectConfig(ner={"models": {"en": str(folder)}}))
    assert str(raised.value) == (
        f"protect.ner.models.en: pipeline {folder} has no ner component (its components: none); choose a "
        f"pipeline that recognizes named entities")
