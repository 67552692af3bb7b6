"""Names without a cue: what the gazetteers, Sudachi and PyThaiNLP's lists find beyond the cue rules.

The main PII benchmark (``bench/protect.py``) writes every Japanese and Thai
name next to an honorific, title, label or table column, which the cue rules
of ``PersonRecognizer`` already find. This script puts the same benchmark
names into sentences with no cue (会議には佐々木浩二が出席した。,
วันนี้ สมชาย ใจดี มาประชุม) and counts exact spans at or above the default
score threshold, per recognizer. English sentences with no cue ("Yesterday
Dervla Munnelly moved the supplier meeting") take the benchmark's English
names, from Faker's en_GB and en_IE lists, which the gazetteer does not read.

With ``--real-html DIR`` it also counts the spans that the Sudachi and
PyThaiNLP recognizers report at that threshold on real text, which should
name no one in a technical manual, and their CPU time. It then counts the
spans of ``PersonRecognizer`` on the English files there (``*.en.html``).
``--real-pdf DIR`` does the same on the text of the English PDFs
(``*.en.*.pdf``), read as ``shochu ingest`` reads them.

    .venv/bin/python bench/protect_names_nocue.py --real-html /work/shared/realdocs/html \
        --real-pdf /work/shared/realdocs/pdf
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from protect import html_pieces  # noqa: E402
from protect_cases import EN_FIRST, EN_LAST, JA_FAMILY, JA_GIVEN, TH_FIRST, TH_LAST  # noqa: E402

from shochu.config import ProtectConfig  # noqa: E402
from shochu.ingest.readers.base import InputFile, ReadOptions  # noqa: E402
from shochu.ingest.readers.pdf import PdfReader  # noqa: E402
from shochu.protect.japanese_names import JapaneseNameRecognizer  # noqa: E402
from shochu.protect.person import PersonRecognizer  # noqa: E402
from shochu.protect.thai_names import ThaiNameRecognizer  # noqa: E402


# English sentences that carry no title, greeting, label, signature or contact request.
EN_TEMPLATES = ("{name} approved the purchase order yesterday.",
                "The draft was reviewed by {name} before the audit.",
                "Yesterday {name} moved the supplier meeting to Thursday.",
                "According to the minutes, {name} will update the schedule.")
EN_NAMES = 200


def english_cases(seed: int = 20241205) -> list[tuple[str, str]]:
    """Return ``EN_NAMES`` (text, name) pairs: random benchmark names, each in the next template."""
    generator = random.Random(seed)
    cases = []
    for index in range(EN_NAMES):
        name = f"{generator.choice(EN_FIRST)} {generator.choice(EN_LAST)}"
        cases.append((EN_TEMPLATES[index % len(EN_TEMPLATES)].format(name=name), name))
    return cases


def pdf_pieces(folder: str) -> list[str]:
    """Return the text of the English PDFs in ``folder`` in pieces of 1,500 characters."""
    pieces: list[str] = []
    for path in sorted(Path(folder).glob("*.en.*.pdf")):
        text, _ = PdfReader().read(InputFile.from_path(path), ReadOptions())
        pieces += [text[start:start + 1500] for start in range(0, len(text), 1500)]
    return pieces


def spans(recognizer, text: str) -> list[tuple[int, int, float]]:
    found = recognizer.find(text)
    return [(item.start, item.end, item.score) if hasattr(item, "start") else item for item in found]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--real-html", help="Folder of HTML files to count false positives on.")
    parser.add_argument("--real-pdf", help="Folder of PDF files; PersonRecognizer's spans are counted on "
                                           "the English ones (*.en.*.pdf).")
    args = parser.parse_args()
    threshold = ProtectConfig().score_threshold

    cases = {
        "ja": [(f"会議には{family}{given}が出席した。", family + given) for family in JA_FAMILY for given in JA_GIVEN],
        "th": [(f"วันนี้ {given} {family} มาประชุม", f"{given} {family}") for given in TH_FIRST for family in TH_LAST],
        "en": english_cases(),
    }
    recognizers = {"PersonRecognizer (cues and gazetteers)": PersonRecognizer(), "Sudachi": JapaneseNameRecognizer(),
                   "PyThaiNLP name lists": ThaiNameRecognizer()}
    print(f"# names without a cue, exact spans at score >= {threshold}")
    print("| recognizer | language | names | found |")
    print("|---|---|---|---|")
    for label, recognizer in recognizers.items():
        for language, items in cases.items():
            hits = 0
            for text, name in items:
                start = text.index(name)
                hits += any(found_start == start and end == start + len(name) and score >= threshold
                            for found_start, end, score in spans(recognizer, text))
            print(f"| {label} | {language} | {len(items)} | {hits} |")

    if args.real_html:
        pieces = html_pieces(args.real_html)
        size = sum(len(piece.encode("utf-8")) for piece in pieces)
        print(f"\n# real text: {len(pieces)} pieces, {size / 1e6:.2f} MB")
        print("| recognizer | spans at or above the threshold | spans below | CPU seconds |")
        print("|---|---|---|---|")
        for label in ("Sudachi", "PyThaiNLP name lists"):
            recognizer = recognizers[label]
            recognizer.find("山田太郎様 คุณสมชาย ใจดี")  # load the dictionary or lists first
            started = time.process_time()
            found = [span for piece in pieces for span in spans(recognizer, piece)]
            elapsed = time.process_time() - started
            above = sum(score >= threshold for _, _, score in found)
            print(f"| {label} | {above} | {len(found) - above} | {elapsed:.2f} |")

    english = {}
    if args.real_html:
        english[f"{args.real_html}/*.en.html"] = html_pieces(args.real_html, "*.en.html")
    if args.real_pdf:
        english[f"{args.real_pdf}/*.en.*.pdf"] = pdf_pieces(args.real_pdf)
    if english:
        # analyze returns one result per span, so a name and its parts count apart: Ian Murdock, Ian, Murdock.
        recognizer = PersonRecognizer(score_threshold=threshold)
        print(f"\n# English real text: PERSON spans from PersonRecognizer at score >= {threshold}")
        print("| text | pieces | MB | spans |")
        print("|---|---|---|---|")
        for label, pieces in english.items():
            size = sum(len(piece.encode("utf-8")) for piece in pieces)
            found = sum(len(recognizer.analyze(piece, ["PERSON"])) for piece in pieces)
            print(f"| {label} | {len(pieces)} | {size / 1e6:.2f} | {found} |")


if __name__ == "__main__":
    main()
