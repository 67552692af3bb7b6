"""Japanese and Thai names without a cue: what Sudachi and PyThaiNLP's lists add to the cue rules.

The main PII benchmark (``bench/protect.py``) writes every Japanese and Thai
name next to an honorific, title, label or table column, which the cue rules
of ``PersonRecognizer`` already find. This script puts the same benchmark
names into sentences with no cue (会議には佐々木浩二が出席した。,
วันนี้ สมชาย ใจดี มาประชุม) and counts exact spans at or above the default
score threshold, per recognizer. With ``--real-html DIR`` it also counts the
spans the two new recognizers report at that threshold on real text, which
should name no one in a technical manual, and their CPU time.

    .venv/bin/python bench/protect_names_nocue.py --real-html /work/shared/realdocs/html
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from protect import html_pieces  # noqa: E402
from protect_cases import JA_FAMILY, JA_GIVEN, TH_FIRST, TH_LAST  # noqa: E402

from shochu.config import ProtectConfig  # noqa: E402
from shochu.protect.japanese_names import JapaneseNameRecognizer  # noqa: E402
from shochu.protect.person import PersonRecognizer  # noqa: E402
from shochu.protect.thai_names import ThaiNameRecognizer  # noqa: E402


def spans(recognizer, text: str) -> list[tuple[int, int, float]]:
    found = recognizer.find(text)
    return [(item.start, item.end, item.score) if hasattr(item, "start") else item for item in found]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--real-html", help="Folder of HTML files to count false positives on.")
    args = parser.parse_args()
    threshold = ProtectConfig().score_threshold

    cases = {
        "ja": [(f"会議には{family}{given}が出席した。", family + given) for family in JA_FAMILY for given in JA_GIVEN],
        "th": [(f"วันนี้ {given} {family} มาประชุม", f"{given} {family}") for given in TH_FIRST for family in TH_LAST],
    }
    recognizers = {"cue rules (PersonRecognizer)": PersonRecognizer(), "Sudachi": JapaneseNameRecognizer(),
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


if __name__ == "__main__":
    main()
