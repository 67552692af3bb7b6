"""Optional PERSON recognizer over spaCy NER pipelines installed on this machine (``protect.ner``).

NER is off by default. ``protect.ner.models`` maps a language to a spaCy
pipeline: an installed package name (``ja_ginza``) or a local folder (an
unpacked ``en_core_web_sm-3.8.0``). ``spacy.load`` reads either from disk and
never downloads. The pipeline's person entities (spaCy's English label PERSON,
GiNZA's label Person) become PERSON results with the score
``protect.ner.score``. They join the results of the rule and dictionary
recognizers, and overlaps are resolved as for any other result: higher score
first, then the longer span.

A pipeline runs only on texts that contain a letter of its language's script
(Latin for ``en``, kanji or kana for ``ja``).
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

import regex
from presidio_analyzer import AnalysisExplanation, LocalRecognizer, RecognizerResult

from shochu.protect.recognizers import FailClosed

logger = logging.getLogger(__name__)

# Entity labels that mean a person: spaCy's English pipelines (OntoNotes) and GiNZA (Sekine's extended
# named entities).
PERSON_LABELS = frozenset({"PERSON", "Person"})

SCRIPTS = {
    "en": regex.compile(r"\p{Latin}"),
    "ja": regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}]"),
}
LANGUAGES = tuple(SCRIPTS)
JAPANESE_KANJI = regex.compile(r"[\p{Han}々]+")

# GiNZA 5.3.0 declares SudachiPy<0.7, but runs on the SudachiPy 0.7.0 that Shochu pins, so it is
# installed without its dependencies. The Makefile's GINZA variable carries the same pins.
GINZA_PINS = "ginza==5.3.0 ja-ginza==5.3.0 plac==1.4.7"
INSTALL_COMMANDS = {
    "ja_ginza": f"make install-ner, or: .venv/bin/pip install --no-deps {GINZA_PINS}",
}
OFFICIAL_SPACY_WHEEL = (
    "copy spaCy's own wheel of {model} (for example {model}-3.8.0-py3-none-any.whl from "
    "https://github.com/explosion/spacy-models/releases, fetched on a machine with internet access, or from "
    "your own mirror) to this machine and run: .venv/bin/pip install --no-deps {model}-3.8.0-py3-none-any.whl"
)
# SudachiPy 0.7 rejects inputs over 49,149 bytes, and GiNZA tokenizes with it, so a text is cut into
# pieces of at most this many characters (three UTF-8 bytes each for kanji and kana).
MAX_PIECE_CHARS = 4000
PIECE_BREAKS = ("\n", "。", ". ", " ")

_lock = threading.Lock()
_pipelines: dict[str, object] = {}


def is_folder(model: str) -> bool:
    """Return whether a ``protect.ner.models`` value names a folder rather than an installed package."""
    return "/" in model or "\\" in model or model.startswith((".", "~"))


def install_command(model: str) -> str:
    """Return the command or steps that install ``model`` from an official source."""
    if model in INSTALL_COMMANDS:
        return INSTALL_COMMANDS[model]
    if model.startswith(("en_core_web_", "ja_core_news_", "xx_ent_wiki_")):
        return OFFICIAL_SPACY_WHEEL.format(model=model)
    return (f"install the wheel of {model} from its publisher or your own mirror with .venv/bin/pip install "
            f"--no-deps WHEEL, or set the folder of the unpacked pipeline instead")


def check_models(models: Mapping[str, str]) -> None:
    """Raise ``ValueError`` naming the setting and the install command for a pipeline that is not on disk.

    This only looks for the package or folder, so a stage can call it before
    it reads any text. Loading happens in ``load_pipeline``.
    """
    problems = []
    for language, model in models.items():
        setting = f"protect.ner.models.{language}"
        if is_folder(model):
            folder = Path(model).expanduser()
            if not folder.is_dir():
                problems.append(f"{setting}: folder {model} not found; give the folder of an unpacked spaCy "
                                f"pipeline, which contains config.cfg and meta.json")
            elif not (folder / "config.cfg").is_file():
                problems.append(f"{setting}: {model} is not a spaCy pipeline folder (no config.cfg in it); give "
                                f"the folder that contains config.cfg and meta.json, such as the inner "
                                f"en_core_web_sm-3.8.0 folder of the unpacked package")
        elif importlib.util.find_spec(model) is None:
            problems.append(f"{setting}: spaCy pipeline {model} is not installed. Shochu never downloads a "
                            f"model; install it with: {install_command(model)}")
    if problems:
        raise ValueError("\n".join(problems))


def load_pipeline(language: str, model: str):
    """Return the spaCy pipeline ``model``, loaded once per process, after ``check_models`` on it."""
    check_models({language: model})
    with _lock:
        if model not in _pipelines:
            import spacy

            source = str(Path(model).expanduser()) if is_folder(model) else model
            nlp = spacy.load(source)
            if "ner" not in nlp.pipe_names:
                raise ValueError(f"protect.ner.models.{language}: pipeline {model} has no ner component "
                                 f"(its components: {', '.join(nlp.pipe_names) or 'none'}); choose a pipeline "
                                 f"that recognizes named entities")
            _pipelines[model] = nlp
            logger.info("loaded spaCy pipeline %s for protect.ner.models.%s", model, language)
        return _pipelines[model]


def pieces(text: str, size: int = MAX_PIECE_CHARS) -> Iterator[tuple[int, int]]:
    """Yield ``(start, end)`` pieces of at most ``size`` characters, cut after a line or sentence end.

    NOTE: a name that straddles a cut without any break in the last half of
    the piece is missed.
    """
    start = 0
    while len(text) - start > size:
        end = start + size
        for separator in PIECE_BREAKS:
            cut = text.rfind(separator, start + size // 2, end)
            if cut != -1:
                end = cut + len(separator)
                break
        yield start, end
        start = end
    if start < len(text):
        yield start, len(text)


class _SpacyPersons(LocalRecognizer):
    """PERSON spans from the person entities of one spaCy pipeline, each with the same score."""

    def __init__(self, language: str, model: str, score: float, piece_chars: int = MAX_PIECE_CHARS) -> None:
        if language not in SCRIPTS:
            raise ValueError(f"protect.ner.models: no NER support for language {language!r}; "
                             f"use {' or '.join(LANGUAGES)}")
        self.language = language
        self.model = model
        self.score = score
        self.piece_chars = piece_chars
        self._script = SCRIPTS[language]
        super().__init__(supported_entities=["PERSON"], name=f"ShochuSpacyPersonRecognizer[{language}]")

    def load(self) -> None:
        # Loading here, when the analyzer is built, makes a missing or broken pipeline fail at start-up.
        self._nlp = load_pipeline(self.language, self.model)

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        return [self._result(start, end) for start, end in self.find(text)]

    def find(self, text: str) -> list[tuple[int, int]]:
        """Return ``(start, end)`` of every person entity the pipeline finds in ``text``."""
        if not self._script.search(text):
            return []
        found = []
        for start, end in pieces(text, self.piece_chars):
            # GiNZA's Sudachi tokenizer is not safe to share between threads.
            with _lock:
                document = self._nlp(text[start:end])
            for entity in document.ents:
                if entity.label_ not in PERSON_LABELS or not self._plausible_name(entity):
                    continue
                # Entities can carry the spaces and line breaks around a word.
                name = entity.text.strip()
                offset = start + entity.start_char + entity.text.index(name)
                found.append((offset, offset + len(name)))
        return found

    def _plausible_name(self, entity) -> bool:
        """Return whether a Person entity of the Japanese pipeline looks like a name, as Sudachi tags it.

        GiNZA 5.3.0 also labels Person many Latin words, symbols and katakana
        terms in Japanese technical text (systemd, ~, インタラクティブ), and
        company or station names built on a family name (佐々木工業, 杉本駅).
        """
        if self.language != "ja":
            return bool(entity.text.strip())
        if not self._script.search(entity.text):
            return False
        # 佐々木工業, 杉本駅: a common noun after the name makes it a company or a place.
        if len(entity) > 1 and entity[-1].tag_.startswith("名詞-普通名詞"):
            return False
        if any(token.tag_.startswith("名詞-固有名詞") for token in entity):
            return True
        # Sudachi tags some family names, such as 古川, as common nouns, so a lone kanji word stays.
        return len(entity) == 1 and len(entity.text) >= 2 and JAPANESE_KANJI.fullmatch(entity.text) is not None

    def _result(self, start: int, end: int) -> RecognizerResult:
        explanation = AnalysisExplanation(recognizer=self.name, original_score=self.score,
                                          textual_explanation=f"person entity from spaCy pipeline {self.model}")
        return RecognizerResult(
            entity_type="PERSON", start=start, end=end, score=self.score, analysis_explanation=explanation,
            recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                                  RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id},
        )


class SpacyPersonRecognizer(FailClosed, _SpacyPersons):
    """``_SpacyPersons`` whose errors withhold the text instead of letting it through unmasked.

    ``FailClosed`` wraps ``analyze`` only when the class after it in the MRO
    defines it, hence the private base class.
    """


def ner_recognizers(models: Mapping[str, str], score: float) -> list[SpacyPersonRecognizer]:
    """Return one loaded recognizer per configured pipeline; an empty mapping (NER off) returns none."""
    check_models(models)
    return [SpacyPersonRecognizer(language, model, score) for language, model in models.items()]
