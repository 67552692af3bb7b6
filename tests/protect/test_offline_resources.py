"""The protect stage fetches nothing: no spaCy model with NER off, GiNZA from its wheel with NER on.

tldextract, Sudachi and PyThaiNLP stay offline too.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from presidio_analyzer.predefined_recognizers import EmailRecognizer as PresidioEmailRecognizer
from presidio_analyzer.predefined_recognizers import UrlRecognizer as PresidioUrlRecognizer

from shochu.config import ProtectConfig
from shochu.protect import Masker, recognizers


@pytest.fixture()
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    attempts: list[object] = []

    def reject_connection(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", reject_connection)
    return attempts


def test_suffix_list_is_bundled_snapshot(no_network: list[object]) -> None:
    extractor = recognizers.offline_suffix_extractor()
    assert extractor.suffix_list_urls == ()
    assert extractor._cache.enabled is False
    assert extractor("mail.example.co.jp").suffix == "co.jp"
    assert extractor("host.corp.local").suffix == ""
    assert no_network == []


def test_no_presidio_recognizer_that_fetches() -> None:
    # Presidio's own e-mail and URL recognizers call tldextract's module-level
    # extract(), which downloads the public suffix list on first use.
    masker = Masker(ProtectConfig())
    used = masker._analyzer.registry.recognizers
    assert used
    assert not [recognizer for recognizer in used
                if type(recognizer) in (PresidioEmailRecognizer, PresidioUrlRecognizer)]


def test_no_spacy_model_loaded(monkeypatch: pytest.MonkeyPatch, no_network: list[object]) -> None:
    def reject_load(*args: object, **kwargs: object) -> None:
        raise AssertionError("spacy.load called: a model would be loaded or downloaded")

    monkeypatch.setattr(spacy, "load", reject_load)
    masker = Masker(ProtectConfig())
    assert masker.mask("Dear Mr. Smith, call 03-1234-5678.").text == "Dear Mr. [PERSON_1], call [PHONE_NUMBER_1]."
    assert masker._analyzer.nlp_engine._nlp.pipe_names == []
    assert no_network == []


def test_pythainlp_reads_bundled_lists_offline(tmp_path: Path) -> None:
    # PyThaiNLP downloads corpora on demand and creates ~/pythainlp-data on import;
    # Sudachi reads its dictionary from the sudachidict_core wheel.
    # A fresh interpreter, so that another test's import cannot hide the result;
    # an audit hook sees every socket connection, a profile hook every download call.
    script = (
        "import os, sys\n"
        "connections, downloads = [], []\n"
        "def audit(event, args):\n"
        "    if event == 'socket.connect':\n"
        "        connections.append(event)\n"
        "        raise OSError('network disabled in this test')\n"
        "sys.addaudithook(audit)\n"
        "def profile(frame, event, arg):\n"
        "    code = frame.f_code\n"
        "    if event == 'call' and 'pythainlp' in code.co_filename and 'download' in code.co_name:\n"
        "        downloads.append(code.co_name)\n"
        "sys.setprofile(profile)\n"
        "from shochu.config import ProtectConfig\n"
        "from shochu.protect import Masker\n"
        "masker = Masker(ProtectConfig())\n"
        "print(masker.mask('เรียน คุณสมชาย ใจดี โทร 081-234-5678 ครับ').text)\n"
        "print(masker.mask('ผู้ติดต่อ: สมศรี รักดี').text)\n"
        "print(masker.mask('会議には鈴木一郎が出席した。').text)\n"
        "sys.setprofile(None)\n"
        "print('pythainlp' in sys.modules, connections, downloads)\n"
        "print(sorted(os.listdir(os.path.expanduser('~'))))\n"
    )
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PYTHAINLP")}
    environment["HOME"] = str(tmp_path)
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                               env=environment)
    assert completed.stdout.splitlines() == [
        "เรียน คุณ[PERSON_1] โทร [PHONE_NUMBER_1] ครับ",
        "ผู้ติดต่อ: [PERSON_1]",
        "会議には[PERSON_1]が出席した。",
        "True [] []",
        "[]",
    ]


@pytest.mark.skipif(importlib.util.find_spec("ja_ginza") is None,
                    reason="GiNZA is not installed; run make install-ner")
def test_ginza_loads_from_wheel_offline(tmp_path: Path) -> None:
    # With protect.ner on, spacy.load reads ja_ginza from its installed wheel: no connection, no file
    # written under HOME. A fresh interpreter, with the same audit hook as above.
    script = (
        "import os, sys\n"
        "connections = []\n"
        "def audit(event, args):\n"
        "    if event == 'socket.connect':\n"
        "        connections.append(event)\n"
        "        raise OSError('network disabled in this test')\n"
        "sys.addaudithook(audit)\n"
        "from shochu.config import ProtectConfig\n"
        "from shochu.protect import Masker\n"
        "masker = Masker(ProtectConfig(ner={'models': {'ja': 'ja_ginza'}}))\n"
        "print(masker.mask('昨日、田中と山本が東京駅で会った。').text)\n"
        "print(connections)\n"
        "print(sorted(os.listdir(os.path.expanduser('~'))))\n"
    )
    environment = dict(os.environ, HOME=str(tmp_path))
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                               env=environment)
    assert completed.stdout.splitlines() == ["昨日、[PERSON_1]と[PERSON_2]が東京駅で会った。", "[]", "[]"]
