"""Presidio ``AnalyzerEngine`` set-up that never loads a trained model or touches the network.

Presidio's defaults would load spaCy's ``en_core_web_lg`` (and download it
when missing). Shochu instead gives the engine a blank spaCy tokenizer and
its own recognizer registry. Japanese and Thai text is analysed with the same
English tokenizer: every recognizer here is a pattern or rule that does not
need a language model, and the patterns carry their own Japanese and Thai
context words.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

import regex
import spacy
from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry
from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine

from shochu.config import NerConfig
from shochu.protect.addresses import JapaneseAddressRecognizer, LabelledAddressRecognizer, PostalCodeRecognizer
from shochu.protect.columns import (
    BankAccountColumnRecognizer,
    DateOfBirthColumnRecognizer,
    PhoneNumberColumnRecognizer,
    PostalCodeColumnRecognizer,
)
from shochu.protect.context import DirectContextAnalyzerEngine, WindowContextEnhancer
from shochu.protect.credentials import CredentialUrlRecognizer, SecretRecognizer
from shochu.protect.identifiers import (
    DateOfBirthRecognizer,
    LabelledMyNumberRecognizer,
    LabelledThaiNationalIdRecognizer,
    MyNumberRecognizer,
    PassportRecognizer,
    ThaiNationalIdRecognizer,
)
from shochu.protect.japanese_names import JapaneseNameRecognizer
from shochu.protect.known_names import KnownNamesRecognizer
from shochu.protect.ner import ner_recognizers
from shochu.protect.person import PersonRecognizer
from shochu.protect.recognizers import (
    PHONE_REGIONS,
    BankAccountRecognizer,
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneNumberMatcherRecognizer,
    PhoneRecognizer,
)
from shochu.protect.thai_names import ThaiNameRecognizer

LANGUAGE = "en"
# Raise when a change to the recognizers changes what they find, so that workspaces
# masked by older code are masked again. NOTE: the installed shochu version counts too,
# but an edit in a source checkout keeps that version.
DETECTION_VERSION = 2

RECOGNIZERS: dict[str, tuple[type[EntityRecognizer], ...]] = {
    "PERSON": (PersonRecognizer, JapaneseNameRecognizer, ThaiNameRecognizer),
    "EMAIL_ADDRESS": (EmailRecognizer,),
    "PHONE_NUMBER": (PhoneRecognizer, PhoneNumberMatcherRecognizer, PhoneNumberColumnRecognizer),
    "CREDIT_CARD": (CreditCardRecognizer,),
    "BANK_ACCOUNT": (BankAccountRecognizer, BankAccountColumnRecognizer),
    "IBAN_CODE": (IbanRecognizer,),
    "IP_ADDRESS": (IpRecognizer,),
    "JP_MY_NUMBER": (MyNumberRecognizer, LabelledMyNumberRecognizer),
    "TH_NATIONAL_ID": (ThaiNationalIdRecognizer, LabelledThaiNationalIdRecognizer),
    "PASSPORT_NUMBER": (PassportRecognizer,),
    "DATE_OF_BIRTH": (DateOfBirthRecognizer, DateOfBirthColumnRecognizer),
    "POSTAL_CODE": (PostalCodeRecognizer, PostalCodeColumnRecognizer),
    "ADDRESS": (JapaneseAddressRecognizer, LabelledAddressRecognizer),
    "CREDENTIAL_URL": (CredentialUrlRecognizer,),
    "SECRET": (SecretRecognizer,),
}
SUPPORTED_ENTITIES = tuple(RECOGNIZERS)


class BlankNlpEngine(NlpEngine):
    """Presidio NLP engine over ``spacy.blank``: tokens only, no model, no named entities.

    Presidio's context enhancer compares context words with lemmas. A blank
    pipeline has no lemmatizer, so the lower-cased token is used as the lemma,
    which is enough for context words such as "phone" or "card".
    """

    def __init__(self, language: str = LANGUAGE) -> None:
        self._language = language
        self._nlp = None

    def load(self) -> None:
        self._nlp = spacy.blank(self._language)

    def is_loaded(self) -> bool:
        return self._nlp is not None

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        return LazyNlpArtifacts(self, text, language)

    def process_batch(self, texts: Iterable[str], language: str, batch_size: int = 1, n_process: int = 1,
                      as_tuples: bool = False) -> Iterator:
        if as_tuples:
            for doc, context in self._nlp.pipe(texts, as_tuples=True, batch_size=batch_size):
                yield doc.text, self._artifacts(doc, language), context
        else:
            for doc in self._nlp.pipe(texts, batch_size=batch_size):
                yield doc.text, self._artifacts(doc, language)

    @property
    def tokenizer(self):
        """The spaCy tokenizer of the blank pipeline, loaded on first use."""
        if self._nlp is None:
            self.load()
        return self._nlp.tokenizer

    def is_stopword(self, word: str, language: str) -> bool:
        return self._nlp.vocab[word].is_stop

    def is_punct(self, word: str, language: str) -> bool:
        return self._nlp.vocab[word].is_punct

    def get_supported_entities(self) -> list[str]:
        return []

    def get_supported_languages(self) -> list[str]:
        return [self._language]

    def _artifacts(self, doc, language: str) -> NlpArtifacts:
        return NlpArtifacts(entities=[], tokens=doc, tokens_indices=[token.idx for token in doc],
                            lemmas=[token.lower_ for token in doc], nlp_engine=self, language=language,
                            scores=[])


class LazyNlpArtifacts(NlpArtifacts):
    """NLP artifacts that tokenize the text only when first read.

    Presidio's context enhancer read the tokens, but ``WindowContextEnhancer``
    tokenizes its own windows instead, and no Shochu recognizer reads them. So
    a text is tokenized here only for a recognizer added later that does.
    ``to_json`` and Presidio's decision-process log are not supported.
    """

    def __init__(self, engine: BlankNlpEngine, text: str, language: str) -> None:
        # NlpArtifacts.__init__ would tokenize at once, so it is not called.
        self._engine = engine
        self._text = text
        self._language = language
        self._parsed: NlpArtifacts | None = None
        self.entities = []
        self.scores = []
        self.nlp_engine = engine

    def _parse(self) -> NlpArtifacts:
        if self._parsed is None:
            self._parsed = self._engine._artifacts(self._engine._nlp(self._text), self._language)
        return self._parsed

    @property
    def tokens(self):
        return self._parse().tokens

    @property
    def tokens_indices(self) -> list[int]:
        return self._parse().tokens_indices

    @property
    def lemmas(self) -> list[str]:
        return self._parse().lemmas

    @property
    def keywords(self) -> list[str]:
        return self._parse().keywords


class OrderedRecognizerRegistry(RecognizerRegistry):
    """Presidio's registry, returning the recognizers in the order they were added.

    Presidio collects them in a set, so their order changed from process to
    process. ``PhoneNumberMatcherRecognizer`` skips the numbers that
    ``PhoneRecognizer`` validated, and needs it to run first. The list for a
    request is also kept, where Presidio filtered every recognizer again for
    each text.
    """

    def __init__(self, *args, **kwargs) -> None:
        self._cache: dict[tuple, tuple[EntityRecognizer, ...]] = {}
        super().__init__(*args, **kwargs)

    def get_recognizers(self, language: str, entities: list[str] | None = None, all_fields: bool = False,
                        ad_hoc_recognizers: list[EntityRecognizer] | None = None) -> list[EntityRecognizer]:
        """Return the recognizers for ``entities`` in ``language``, kept until a recognizer is added or removed."""
        key = (language, tuple(entities or ()), all_fields)
        cached = None if ad_hoc_recognizers else self._cache.get(key)
        if cached is not None:
            return list(cached)
        position = {id(recognizer): index for index, recognizer in enumerate(self.recognizers)}
        found = sorted(super().get_recognizers(language, entities, all_fields, ad_hoc_recognizers),
                       key=lambda recognizer: position.get(id(recognizer), len(position)))
        if not ad_hoc_recognizers:
            self._cache[key] = tuple(found)
        return found

    def add_recognizer(self, *args, **kwargs) -> None:
        self._cache.clear()
        super().add_recognizer(*args, **kwargs)

    def remove_recognizer(self, *args, **kwargs) -> None:
        self._cache.clear()
        super().remove_recognizer(*args, **kwargs)


class _RedactArguments(logging.Filter):
    """Replace the arguments of Presidio's log records, which can quote analysed text.

    Presidio logs the surrounding words of a match at DEBUG level and an
    invalid IBAN candidate at ERROR level.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple("<redacted>" for _ in record.args) if isinstance(record.args, tuple) else ()
        return True


def _redact_presidio_logs() -> None:
    presidio_logger = logging.getLogger("presidio-analyzer")
    if not any(isinstance(existing, _RedactArguments) for existing in presidio_logger.filters):
        presidio_logger.addFilter(_RedactArguments())


def build_analyzer(entities: Iterable[str], known_names: Iterable[str] = (),
                   phone_regions: Iterable[str] = PHONE_REGIONS,
                   score_threshold: float = 0.0, ner: NerConfig | None = None) -> AnalyzerEngine:
    """Return an analyzer with Shochu's recognizers for ``entities`` and the blank NLP engine.

    ``known_names`` adds a recognizer that masks every mention of those names
    when PERSON is among ``entities``. ``phone_regions`` are the regions tried
    for phone numbers written without a country code. ``score_threshold`` lets
    recognizers skip work whose results could not pass it. ``ner`` adds the
    spaCy NER pipelines of ``protect.ner`` for PERSON, loaded here.
    """
    _redact_presidio_logs()
    entities = list(entities)
    phone_regions = tuple(phone_regions)
    recognizers = []
    for entity in entities:
        for recognizer in RECOGNIZERS[entity]:
            if recognizer is PhoneNumberMatcherRecognizer:
                recognizers.append(recognizer(phone_regions, score_threshold))
            elif recognizer in (PersonRecognizer, JapaneseNameRecognizer, ThaiNameRecognizer):
                recognizers.append(recognizer(score_threshold))
            elif recognizer is PhoneRecognizer:
                recognizers.append(recognizer(phone_regions))
            else:
                recognizers.append(recognizer())
    names = set(known_names)
    if names and "PERSON" in entities:
        recognizers.append(KnownNamesRecognizer(names))

    # Optional NER (protect.ner): one PERSON recognizer per configured spaCy pipeline.
    if ner is not None and "PERSON" in entities:
        recognizers += ner_recognizers(ner.models, ner.score)

    # Presidio compiles a pattern on its first use. Behind a needle gate that can be
    # the thousandth text, so the patterns are compiled here instead.
    for recognizer in recognizers:
        for pattern in getattr(recognizer, "patterns", None) or ():
            if pattern.compiled_regex is None:
                pattern.compiled_regex = regex.compile(pattern.regex, flags=recognizer.global_regex_flags)
                pattern.compiled_with_flags = recognizer.global_regex_flags

    registry = OrderedRecognizerRegistry(recognizers=recognizers, supported_languages=[LANGUAGE])
    nlp_engine = BlankNlpEngine()
    return DirectContextAnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=[LANGUAGE],
                                       context_aware_enhancer=WindowContextEnhancer(nlp_engine))
