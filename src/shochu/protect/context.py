"""Context-word score enhancement that tokenizes only the text around each result.

Presidio's ``LemmaContextAwareEnhancer`` (presidio-analyzer 2.2.366) raises a
result's score when one of its recognizer's context words is a substring of a
keyword near the result: up to 6 keywords walking back from the token at the
result's start, and the first keyword walking forward from it. It reads the
spaCy tokens of the whole text. On the protect benchmark's texts, which carry
an entity every 34 characters, tokenizing every text cost more than any
recognizer. ``WindowContextEnhancer`` computes the same scores from a few
whitespace-delimited chunks around each result, and a test compares its
scores with Presidio's enhancer on sample and random punctuation-heavy texts.
"""

from __future__ import annotations

import bisect
import re

from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerResult
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer, LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts
from spacy.attrs import IDX, LENGTH

_CHUNK_START = re.compile(r"(?<!\S)\S")
_CHUNK = re.compile(r"\S+")
_COLON_CHUNK = re.compile(r"\S*:\S*")

# spaCy's special-case matching can tokenize the first chunk of a text cut
# from the middle differently from the same chunk in the whole text (seen on
# punctuation such as ":(" and "''"). So the tokens of the first chunks of a
# window, and of its last chunk, are not read. Leaving out one chunk at the
# start was enough on 4,000 random punctuation-heavy texts.
_UNTRUSTED_CHUNKS = 2
# Chunks before the result in the first window. A window grows 4 times when a walk reaches its edge.
_FIRST_WINDOW_CHUNKS = 8


class WindowContextEnhancer(LemmaContextAwareEnhancer):
    """Presidio's lemma context enhancer, tokenizing a window of chunks around each result.

    The lemma of a token is its lower-cased text, as in ``BlankNlpEngine``.
    NOTE: the scores equal Presidio's only with that engine's tokenizer and
    lemmas, which ``build_analyzer`` sets up; another NLP engine's lemmas are
    not read.
    """

    def __init__(self, nlp_engine, **kwargs) -> None:
        super().__init__(**kwargs)
        self._nlp_engine = nlp_engine

    def enhance_using_context(self, text: str, raw_results: list[RecognizerResult],
                              nlp_artifacts: NlpArtifacts | None, recognizers: list,
                              context: list[str] | None = None) -> list[RecognizerResult]:
        """Raise the scores of the results that have a context word nearby, and return the results.

        A result already at the maximum score, or from a recognizer without
        context words, is returned unchanged, so a text with only such results
        is never tokenized.
        """
        recognizers_by_id = {recognizer.id: recognizer for recognizer in recognizers}
        extra_words = [word.lower() for word in context or ()]
        text_context = _TextContext(text, self._nlp_engine)
        for result in raw_results:
            recognizer = recognizers_by_id.get(_recognizer_id(result))
            if recognizer is None or not recognizer.context or result.score >= ContextAwareEnhancer.MAX_SCORE:
                continue
            if (result.recognition_metadata or {}).get(RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY):
                continue

            # Presidio counts the token at the result's start in both walks, hence the + 1.
            surrounding_words = text_context.keywords_around(result.start, self.context_prefix_count + 1,
                                                             self.context_suffix_count + 1)
            supportive_word = self._find_supportive_word_in_context(
                surrounding_words + extra_words, recognizer.context, self.context_matching_mode)
            if supportive_word:
                result.score = min(max(result.score + self.context_similarity_factor,
                                       self.min_score_with_context_similarity), ContextAwareEnhancer.MAX_SCORE)
                if result.analysis_explanation is not None:
                    result.analysis_explanation.set_supportive_context_word(supportive_word)
                    result.analysis_explanation.set_improved_score(result.score)
        return raw_results


class _TextContext:
    """The chunk starts of one text, and the keywords near a position, found by tokenizing windows of it."""

    def __init__(self, text: str, nlp_engine) -> None:
        if not nlp_engine.is_loaded():
            nlp_engine.load()
        self._text = text
        self._nlp_engine = nlp_engine
        self._language = nlp_engine.get_supported_languages()[0]
        self._starts: list[int] | None = None
        self._colon_chunks: list[tuple[int, int]] | None = None
        self._colon_pieces: dict[int, set[str]] = {}
        self._keywords: dict[str, bool] = {}
        lowered = text.lower()
        self._lowered = lowered if len(lowered) == len(text) and "\u03a3" not in text else None

    @property
    def _chunk_starts(self) -> list[int]:
        """Offsets of the text's whitespace-delimited chunks, found on first use: most texts need none."""
        if self._starts is None:
            self._starts = [match.start() for match in _CHUNK_START.finditer(self._text)]
        return self._starts

    def keywords_around(self, start: int, before: int, after: int) -> list[str]:
        """Return the keywords near the token at ``start`` that Presidio's enhancer reads, in no order.

        Presidio takes the first token that ends after ``start``. It walks
        back from that token and keeps each lower-cased token that is among
        the text's keywords, until it has ``before`` of them or reaches the
        first token. Then it walks forward from the same token in the same way
        for ``after`` of them.
        """
        chunk = max(bisect.bisect_right(self._chunk_starts, start) - 1, 0)
        span = _FIRST_WINDOW_CHUNKS
        while True:
            first_chunk = chunk - span
            if first_chunk <= 0:
                window_start, trusted_start = 0, 0
            else:
                window_start = self._chunk_starts[first_chunk]
                trusted_start = self._chunk_starts[first_chunk + _UNTRUSTED_CHUNKS]
            last_chunk = chunk + 1 + span // 4
            if last_chunk >= len(self._chunk_starts) - 1:
                window_end, trusted_end = len(self._text), len(self._text)
            else:
                window_end = _CHUNK.match(self._text, self._chunk_starts[last_chunk]).end()
                trusted_end = self._chunk_starts[last_chunk]

            words = self._walk(start, window_start, window_end, trusted_start, trusted_end, before, after)
            if words is not None:
                return list(set(words))
            span *= 4

    def _walk(self, start: int, window_start: int, window_end: int, trusted_start: int, trusted_end: int,
              before: int, after: int) -> list[str] | None:
        """Return the keywords of both walks in one window, or None when a walk reached an untrusted token."""
        tokens = self._tokenize(window_start, window_end)
        # Reading offsets as an array avoids building a Token object for every token of the window.
        offsets = tokens.to_array([IDX, LENGTH])
        starts = (offsets[:, 0] + window_start).tolist()
        ends = (offsets[:, 0] + offsets[:, 1] + window_start).tolist()
        index = bisect.bisect_right(ends, start)
        if index == len(ends):
            if window_end == len(self._text):
                raise ValueError(f"no token covers the match start at offset {start}")
            return None

        words: list[str] = []
        for step, count in ((-1, before), (1, after)):
            position = index
            found = 0
            while 0 <= position < len(tokens) and found < count:
                if not trusted_start <= starts[position] < trusted_end:
                    return None
                lemma = tokens[position].lower_.lower()
                if self._is_keyword(lemma):
                    words.append(lemma)
                    found += 1
                position += step
            # Running off the window is only the end of the walk where the window ends with the text.
            if found < count and ((step < 0 and window_start > 0) or (step > 0 and window_end < len(self._text))):
                return None
        return words

    def _tokenize(self, start: int, end: int):
        return self._nlp_engine.tokenizer(self._text[start:end])

    def _passes_filter(self, lemma: str) -> bool:
        # The filter of Presidio's NlpArtifacts.set_keywords.
        engine = self._nlp_engine
        return (not engine.is_stopword(lemma, self._language) and not engine.is_punct(lemma, self._language)
                and lemma not in ("-PRON-", "be"))

    def _is_keyword(self, lemma: str) -> bool:
        """Return whether ``lemma`` is among the keywords Presidio would derive from the whole text.

        Presidio keeps the lemmas that pass its filter, split at ":". So a
        lemma without ":" is a keyword when it passes the filter, or when it
        is a piece of a kept lemma that contains ":" anywhere in the text.
        """
        known = self._keywords.get(lemma)
        if known is None:
            known = (":" not in lemma and self._passes_filter(lemma)) or self._is_colon_piece(lemma)
            self._keywords[lemma] = known
        return known

    def _is_colon_piece(self, lemma: str) -> bool:
        """Return whether ``lemma`` is a piece of a kept lemma with ":", tokenizing only chunks that may hold one.

        Every piece of such a lemma borders a ":". Slices of the lower-cased
        text equal the lower-cased tokens unless lowering changes the length
        or the text has a capital sigma, whose lower case depends on the
        letters after it, and then every chunk with a ":" is tokenized.
        """
        if self._colon_chunks is None:
            self._colon_chunks = [match.span() for match in _COLON_CHUNK.finditer(self._text)]
        for chunk_start, chunk_end in self._colon_chunks:
            if self._lowered is not None:
                lowered_chunk = self._lowered[chunk_start:chunk_end]
                if f"{lemma}:" not in lowered_chunk and f":{lemma}" not in lowered_chunk:
                    continue
            if lemma in self._colon_pieces_in(chunk_start, chunk_end):
                return True
        return False

    def _colon_pieces_in(self, chunk_start: int, chunk_end: int) -> set[str]:
        pieces = self._colon_pieces.get(chunk_start)
        if pieces is None:
            pieces = set()
            chunk = max(bisect.bisect_right(self._chunk_starts, chunk_start) - 1, 0)
            first_chunk = chunk - _UNTRUSTED_CHUNKS
            window_start = self._chunk_starts[first_chunk] if first_chunk > 0 else 0
            last_chunk = chunk + _UNTRUSTED_CHUNKS
            window_end = len(self._text) if last_chunk >= len(self._chunk_starts) else self._chunk_starts[last_chunk]
            for token in self._tokenize(window_start, window_end):
                lemma = token.lower_.lower()
                inside = chunk_start <= window_start + token.idx < chunk_end
                if inside and ":" in lemma and self._passes_filter(lemma):
                    pieces.update(lemma.split(":"))
            self._colon_pieces[chunk_start] = pieces
        return pieces


def _recognizer_id(result: RecognizerResult) -> str | None:
    return (result.recognition_metadata or {}).get(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY)


class DirectContextAnalyzerEngine(AnalyzerEngine):
    """Presidio's ``AnalyzerEngine`` without the per-recognizer context pass where no recognizer has one.

    Before the context enhancer runs, Presidio 2.2.366 gives each recognizer
    its own results to rescore with ``enhance_using_context``, filtering the
    whole result list twice per recognizer. Shochu's recognizers keep
    ``EntityRecognizer``'s version, which returns its input unchanged. So
    when no recognizer overrides it, the results go straight to the
    enhancer, in the order Presidio's pass would give them.
    """

    def _enhance_using_context(self, text: str, raw_results: list[RecognizerResult], nlp_artifacts,
                               recognizers: list, context: list[str] | None = None) -> list[RecognizerResult]:
        if any(type(recognizer).enhance_using_context is not EntityRecognizer.enhance_using_context
               for recognizer in recognizers):
            return super()._enhance_using_context(text, raw_results, nlp_artifacts, recognizers, context)

        order = {recognizer.id: index for index, recognizer in enumerate(recognizers)}
        # Presidio's pass keeps only results whose recognizer is in the list.
        results = sorted((result for result in raw_results if _recognizer_id(result) in order),
                         key=lambda result: order[_recognizer_id(result)])
        return self.context_aware_enhancer.enhance_using_context(
            text=text, raw_results=results, nlp_artifacts=nlp_artifacts, recognizers=recognizers, context=context)
