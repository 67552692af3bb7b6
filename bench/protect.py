"""Measure PII detection: precision and recall per entity type and language, and throughput.

Usage (from the repository root):

    .venv/bin/python bench/protect.py [--seed 20241205] [--repeats 12] [--throughput-mb 1.0]
        [--ner-ja ja_ginza] [--ner-en FOLDER] [--ner-throughput-mb 0.05]

The labelled set comes from ``bench/protect_cases.py`` and is generated at run
time. A detection counts as correct only when its start, end and entity type
equal a ground-truth span exactly. The baseline, run on the same texts in the
same process, is Presidio's own predefined pattern recognizers (e-mail, phone,
card, IBAN, IP) over the same blank spaCy tokenizer. Presidio's PERSON
detection needs a spaCy NER model, which Shochu does not load, so the baseline
finds no names. Shochu runs with NER off, its default: every PERSON span
comes from cues and gazetteers. It runs again with ``protect.ner`` on, with
the pipelines of ``--ner-ja`` (GiNZA's ``ja_ginza`` by default) and
``--ner-en`` that are installed, and prints what it left out.

Throughput is measured in one process: the benchmark texts are
repeated until they reach ``--throughput-mb`` megabytes of UTF-8 and masked in
pieces of about 1,500 characters, Shochu's default chunk size. With
``--real-html DIR``, the text of the HTML files there is measured the same way,
as an example of documents with little personal data, and with ``--chunks DIR``
the chunks of ingest output folders as they are, such as the sample corpus's.
Each throughput line gives MB per CPU-second of this process (``time.process_time``), which is the
per-core figure, next to MB per wall-clock second, which drops when other jobs
share the cores. NER off and on are also timed side by side on
``--ner-throughput-mb`` (0.05 by default) of the mixed and of the Japanese
benchmark texts and of the Japanese HTML files, a smaller amount because NER
is much slower. A second labelled set for NER holds Japanese names without
honorific, label or given name, and the same names inside company and place
names. With ``--real-html``, the PERSON spans found in its Japanese
files with NER off and on are counted.
"""

from __future__ import annotations

import argparse
import glob
import html
import os
import platform
import random
import re
import string
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from presidio_analyzer import AnalyzerEngine, RecognizerRegistry  # noqa: E402
from presidio_analyzer.predefined_recognizers import (  # noqa: E402
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
)
from presidio_analyzer.predefined_recognizers.generic import email_recognizer  # noqa: E402
from protect_cases import JA_FAMILY, JA_GIVEN, STRUCTURED, Case, generate_cases, name_overlap  # noqa: E402

from shochu.config import ProtectConfig  # noqa: E402
from shochu.ingest.store import read_chunks  # noqa: E402
from shochu.protect import Masker  # noqa: E402
from shochu.protect.analyzer import LANGUAGE, BlankNlpEngine  # noqa: E402
from shochu.protect.ner import check_models  # noqa: E402
from shochu.protect.normalize import normalize  # noqa: E402
from shochu.protect.placeholders import Span, resolve_overlaps  # noqa: E402
from shochu.protect.recognizers import offline_suffix_extractor  # noqa: E402

Detector = Callable[[str], list[tuple[int, int, str]]]


def shochu_detector(config: ProtectConfig | None = None) -> Detector:
    masker = Masker(config or ProtectConfig())

    def detect(text: str) -> list[tuple[int, int, str]]:
        spans, failed = masker.detect(text)
        if failed:
            raise RuntimeError(f"recognizer(s) {', '.join(failed)} failed; the benchmark needs every recognizer")
        return [(span.start, span.end, span.entity_type) for span in spans]

    return detect


def presidio_baseline_detector() -> Detector:
    """Presidio's predefined pattern recognizers, with the same NFKC mapping and overlap resolution as Shochu."""
    # Presidio's e-mail check calls tldextract's module-level extract(), which may fetch the suffix list.
    email_recognizer.tldextract = offline_suffix_extractor()
    email_recognizer.tldextract.extract = email_recognizer.tldextract
    recognizers = [EmailRecognizer(), PhoneRecognizer(supported_regions=("JP", "TH", "LA", "US", "GB")),
                   CreditCardRecognizer(), IbanRecognizer(), IpRecognizer()]
    registry = RecognizerRegistry(recognizers=recognizers, supported_languages=[LANGUAGE])
    engine = AnalyzerEngine(registry=registry, nlp_engine=BlankNlpEngine(), supported_languages=[LANGUAGE])

    def detect(text: str) -> list[tuple[int, int, str]]:
        normalized = normalize(text)
        results = engine.analyze(normalized.text, language=LANGUAGE, score_threshold=0.4)
        spans = [Span(*normalized.to_original(result.start, result.end), result.entity_type, result.score)
                 for result in results]
        return [(span.start, span.end, span.entity_type) for span in resolve_overlaps(spans)]

    return detect


def score(cases: list[Case], detect: Detector) -> tuple[Counter, Counter, Counter]:
    """Return true positives, false positives and false negatives keyed by (entity type, language)."""
    true_positive: Counter = Counter()
    false_positive: Counter = Counter()
    false_negative: Counter = Counter()
    for case in cases:
        expected = set(case.spans)
        found = set(detect(case.text))
        for _, _, kind in found & expected:
            true_positive[kind, case.language] += 1
        for _, _, kind in found - expected:
            false_positive[kind, case.language] += 1
        for _, _, kind in expected - found:
            false_negative[kind, case.language] += 1
    return true_positive, false_positive, false_negative


def ratio(numerator: int, denominator: int) -> str:
    return f"{numerator / denominator:.3f}" if denominator else "-"


def totals(counter: Counter, keep: Callable[[str, str], bool]) -> int:
    return sum(count for (kind, language), count in counter.items() if keep(kind, language))


def report(name: str, cases: list[Case], detect: Detector) -> list[str]:
    """Return Markdown table lines of precision and recall per type and language, then the totals."""
    true_positive, false_positive, false_negative = score(cases, detect)
    keys = sorted(set(true_positive) | set(false_positive) | set(false_negative))
    lines = [f"### {name}", "", "| entity type | language | expected | found | correct | precision | recall |",
             "|---|---|---|---|---|---|---|"]
    for kind, language in keys:
        tp, fp, fn = true_positive[kind, language], false_positive[kind, language], false_negative[kind, language]
        lines.append(f"| {kind} | {language} | {tp + fn} | {tp + fp} | {tp} | {ratio(tp, tp + fp)} | "
                     f"{ratio(tp, tp + fn)} |")
    groups: list[tuple[str, Callable[[str, str], bool]]] = [
        ("structured identifiers (" + ", ".join(STRUCTURED) + ")", lambda kind, _: kind in STRUCTURED),
        ("PERSON", lambda kind, _: kind == "PERSON"),
        ("other types", lambda kind, _: kind not in STRUCTURED and kind != "PERSON"),
        *[(f"language {code}", lambda _, language, code=code: language == code) for code in ("en", "ja", "th")],
        ("overall", lambda kind, language: True),
    ]
    lines += ["", "| group | expected | found | correct | precision | recall |", "|---|---|---|---|---|---|"]
    for label, keep in groups:
        tp, fp, fn = (totals(counter, keep) for counter in (true_positive, false_positive, false_negative))
        lines.append(f"| {label} | {tp + fn} | {tp + fp} | {tp} | {ratio(tp, tp + fp)} | {ratio(tp, tp + fn)} |")
    return lines + [""]


def benchmark_pieces(cases: list[Case], megabytes: float) -> list[str]:
    """Return the benchmark texts, repeated to ``megabytes`` of UTF-8, in pieces of about 1,500 characters."""
    pieces: list[str] = []
    size = 0
    piece = ""
    while size < megabytes * 1_000_000:
        for case in cases:
            piece += case.text + "\n\n"
            if len(piece) >= 1500:
                pieces.append(piece)
                size += len(piece.encode("utf-8"))
                piece = ""
    return pieces


def html_pieces(folder: str, pattern: str = "*.html") -> list[str]:
    """Return the text of every HTML file in ``folder`` (tags dropped) in pieces of 1,500 characters."""
    pieces: list[str] = []
    for path in sorted(glob.glob(os.path.join(folder, pattern))):
        with open(path, encoding="utf-8") as handle:
            text = re.sub(r"[ \t]+", " ", html.unescape(re.sub(r"<[^>]+>", " ", handle.read())))
        pieces += [text[start:start + 1500] for start in range(0, len(text), 1500)]
    return pieces


# A text with an e-mail address, a phone number, Japanese and Thai, to load every lazy resource.
WARM_UP_TEXT = "Mail ann@example.com or call 03-1234-5678. 山田太郎様 คุณสมชาย ใจดี"


def throughput(pieces: list[str], detect: Detector) -> tuple[float, float]:
    """Return MB of UTF-8 text per CPU-second of this process, and per wall-clock second.

    The CPU figure is the per-core one: on a machine shared with other jobs
    the wall-clock figure also counts the time this process waited for a core.
    One text is detected first, untimed, so that what loads on first use (the
    public-suffix list of the e-mail check, about 0.1 s; Sudachi's dictionary)
    is not counted per MB.
    """
    detect(WARM_UP_TEXT)
    size = sum(len(piece.encode("utf-8")) for piece in pieces)
    cpu_started = time.process_time()
    wall_started = time.perf_counter()
    for piece in pieces:
        detect(piece)
    cpu_seconds = time.process_time() - cpu_started
    wall_seconds = time.perf_counter() - wall_started
    return size / 1_000_000 / cpu_seconds, size / 1_000_000 / wall_seconds


def ner_setting(ja: str, en: str) -> dict[str, str]:
    """Return protect.ner.models for the pipelines given and installed; say which were left out and why."""
    models = {}
    for language, model in (("ja", ja), ("en", en)):
        if not model:
            print(f"NER for {language}: no pipeline given, so none is measured")
            continue
        try:
            check_models({language: model})
        except ValueError as error:
            print(f"NER for {language}: {error}")
            continue
        models[language] = model
    return models


# Japanese sentences whose names carry no honorific, label or self-introduction, the case that NER
# is for: Sudachi's recognizer scores a lone family name 0.35, under the default threshold.
BARE_NAME_TEMPLATES = ("報告書は{family}がまとめた。", "見積書を{family}に送ってください。",
                       "昨日、{family}と{other}が打ち合わせをした。", "進捗は{family}から聞いた。",
                       "{family}は来月から大阪支店に異動する。", "{full_name}が新しい契約を担当する。")
# The same family names inside company and place names, which must stay unmasked.
NAME_LOOKALIKE_TEMPLATES = ("{family}工業の決算が発表された。", "{family}駅の改札で待ち合わせた。",
                            "{family}商店に在庫を問い合わせた。")


def bare_name_cases(seed: int, repeats: int) -> list[Case]:
    """Return Japanese texts with bare names, and look-alike texts with none, built from the benchmark's names."""
    generator = random.Random(seed)
    cases = []
    for template in BARE_NAME_TEMPLATES + NAME_LOOKALIKE_TEMPLATES:
        for _ in range(repeats):
            family, other = generator.sample(JA_FAMILY, 2)
            values = {"family": family, "other": other, "full_name": family + generator.choice(JA_GIVEN)}
            case = Case("ja")
            for literal, field_name, _, _ in string.Formatter().parse(template):
                case.add(literal)
                if field_name and template in BARE_NAME_TEMPLATES:
                    case.entity(values[field_name], "PERSON")
                elif field_name:
                    case.add(values[field_name])
            if template in NAME_LOOKALIKE_TEMPLATES:
                case.tags.add("negative")
            cases.append(case)
    return cases


def ner_label(models: dict[str, str]) -> str:
    return ", ".join(f"{language}={model}" for language, model in models.items())


def print_ner_throughput(cases: list[Case], detectors: dict[str, Detector], megabytes: float,
                         real_html: str | None) -> None:
    """Print NER-off and NER-on throughput side by side on a smaller slice of the benchmark texts.

    With ``real_html``, the first ``megabytes`` of the text of its ``*.ja.html`` files are timed too.
    """
    texts = {"benchmark texts": benchmark_pieces(cases, megabytes),
             "Japanese benchmark texts": benchmark_pieces([case for case in cases if case.language == "ja"],
                                                          megabytes)}
    if real_html:
        japanese_html = []
        for piece in html_pieces(real_html, "*.ja.html"):
            if sum(len(taken.encode("utf-8")) for taken in japanese_html) >= megabytes * 1_000_000:
                break
            japanese_html.append(piece)
        texts[f"Japanese HTML text in {real_html}"] = japanese_html
    print()
    print(f"NER off and on over {megabytes} MB of text (load average {os.getloadavg()[0]:.1f}):")
    print_throughput(detectors, texts, decimals=3)


def print_throughput(detectors: dict[str, Detector], texts: dict[str, list[str]], decimals: int = 2) -> None:
    """Print a Markdown table of each detector's throughput on each set of texts."""
    print("| detector | text | MB | MB per CPU-second (per core) | MB per wall-clock second |",
          "|---|---|---|---|---|", sep="\n")
    for name, detect in detectors.items():
        for label, pieces in texts.items():
            size = sum(len(piece.encode("utf-8")) for piece in pieces) / 1_000_000
            per_cpu_second, per_wall_second = throughput(pieces, detect)
            print(f"| {name} | {label} | {size:.2f} | {per_cpu_second:.{decimals}f} | "
                  f"{per_wall_second:.{decimals}f} |")


def print_real_text_persons(detectors: dict[str, Detector], real_html: str) -> None:
    """Print how many PERSON spans each detector finds in the Japanese HTML files, which name few people."""
    pieces = html_pieces(real_html, "*.ja.html")
    size = sum(len(piece.encode("utf-8")) for piece in pieces) / 1_000_000
    print()
    print(f"PERSON spans in the text of {real_html}/*.ja.html ({len(pieces)} pieces, {size:.2f} MB):")
    print("| detector | PERSON spans |", "|---|---|", sep="\n")
    for name, detect in detectors.items():
        count = sum(kind == "PERSON" for piece in pieces for _, _, kind in detect(piece))
        print(f"| {name} | {count} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=20241205)
    parser.add_argument("--repeats", type=int, default=12, help="Cases per template.")
    parser.add_argument("--throughput-mb", type=float, default=1.0, help="MB of text for the throughput run.")
    parser.add_argument("--real-html", help="Folder of HTML files whose text is also timed.")
    parser.add_argument("--chunks", nargs="+", default=[],
                        help="Ingest output folders (WORKSPACE/ingest) whose chunks are also timed.")
    # NER on (protect.ner), measured beside NER off.
    parser.add_argument("--ner-ja", default="ja_ginza", help="spaCy pipeline for protect.ner.models.ja; '' for none.")
    parser.add_argument("--ner-en", default="", help="spaCy pipeline (package or folder) for protect.ner.models.en.")
    parser.add_argument("--ner-throughput-mb", type=float, default=0.05,
                        help="MB of text for the NER-on throughput run, smaller because NER is slow.")
    arguments = parser.parse_args()

    cases = generate_cases(arguments.seed, arguments.repeats)
    per_type = Counter(kind for case in cases for _, _, kind in case.spans)
    per_language = Counter(case.language for case in cases for _ in case.spans)
    print(f"# PII benchmark: seed {arguments.seed}, {len(cases)} texts, {sum(per_type.values())} entities")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"entities per language: {dict(sorted(per_language.items()))}")
    print(f"entities per type: {dict(sorted(per_type.items()))}")
    print("hard cases (texts): " + str(dict(sorted(Counter(tag for case in cases for tag in case.tags).items()))))
    print("benchmark names also in the recognizers' gazetteers: "
          + ", ".join(f"{label} {known}/{size}" for label, (known, size) in name_overlap().items()))
    print()

    detectors = {"Shochu (NER off, the default)": shochu_detector(),
                 "baseline: Presidio predefined pattern recognizers": presidio_baseline_detector()}
    for name, detect in detectors.items():
        print("\n".join(report(name, cases, detect)))
    ner_models = ner_setting(arguments.ner_ja, arguments.ner_en)
    ner_detectors = {"Shochu (NER off, the default)": detectors["Shochu (NER off, the default)"]}
    if ner_models:
        name = f"Shochu (NER on: {ner_label(ner_models)})"
        ner_detectors[name] = shochu_detector(ProtectConfig(ner={"models": ner_models}))
        print("\n".join(report(name, cases, ner_detectors[name])))
        bare = bare_name_cases(arguments.seed, arguments.repeats)
        print(f"Bare Japanese names: {len(bare)} texts, {sum(len(case.spans) for case in bare)} names; "
              f"{sum('negative' in case.tags for case in bare)} texts with the names in company and place names")
        for label, detect in ner_detectors.items():
            print("\n".join(report(f"{label}, bare Japanese names", bare, detect)))
    texts = {"benchmark texts": benchmark_pieces(cases, arguments.throughput_mb)}
    if arguments.real_html:
        texts[f"HTML text in {arguments.real_html}"] = html_pieces(arguments.real_html)
    for folder in arguments.chunks:
        texts[f"chunks in {folder}"] = [chunk["text"] for chunk in read_chunks(Path(folder))]
    print(f"load average before the throughput run: {os.getloadavg()[0]:.1f}")
    print_throughput(detectors, texts)
    if ner_models:
        print_ner_throughput(cases, ner_detectors, arguments.ner_throughput_mb, arguments.real_html)
        if arguments.real_html:
            print_real_text_persons(ner_detectors, arguments.real_html)


if __name__ == "__main__":
    main()
