"""Measure running header and footer removal on generated multi-page PDFs with known labels.

Usage (from the repository root):

    .venv/bin/python bench/ingest_headers.py [--documents 12] [--seed 7]

For each kind of case, the script writes ``--documents`` PDFs of 2 to 9 pages
with fpdf2. It labels every line it draws as a running header or footer (to be
removed) or as body text (to be kept). It then runs the
same steps as the PDF reader (pdfium text per page, ``running_lines``,
``drop_running_lines``) and matches each extracted line to its generated line
in page order. Precision is the share of removed lines that were headers or
footers; recall is the share of header and footer lines that were removed.

Kinds of case:

- ``plain``: a fixed header and a "Page N of M" footer on every page.
- ``bold_header``: the header is drawn in the same bold style as the real headings.
- ``dates_paths``: a file-path header and a footer with a date and time that change per page.
- ``weekday_dates``: a footer whose date is spelled out ("Monday, 3 June 2024"), so letters change too.
- ``missing_pages``: no header on the title page and on about a third of the other pages.
- ``two_pages``: two-page documents, the fewest pages on which a line can repeat.
- ``repeated_body``: body lines that repeat at page edges but are content (a table's column
  header at the top of each page, an approval line at the bottom).
- ``japanese``: a Japanese header (社外秘) and a "- N -" page number footer.

Results print as a Markdown table; bench/ingest.md records them.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fpdf import FPDF

from shochu.ingest.readers.pdf import _open, _page_lines
from shochu.ingest.readers.running import drop_running_lines, running_lines

JAPANESE_FONT = "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"
HEADER, BODY = "header", "body"
WORDS = ("pump valve boiler tank filter pressure gauge motor belt bearing seal gasket inspection "
         "operator shift supervisor warehouse delivery invoice customer order refund warranty repair "
         "schedule training safety glove helmet ladder forklift pallet label barcode scanner printer "
         "network laptop password account budget forecast revenue audit contract supplier").split()
# Japanese sentences are built from these parts: subject, object, predicate.
JAPANESE_PARTS = (
    ("営業部は", "品質管理課は", "倉庫の担当者は", "新しい工場は", "総務部は", "点検チームは", "経理部は", "本社は"),
    ("ポンプの点検記録を", "安全靴の在庫を", "経費精算の書類を", "修理の依頼を", "大阪の取引先を",
     "来月の予算案を", "顧客台帳を", "研修の日程を"),
    ("毎週確認します。", "月末までに提出します。", "担当者に連絡します。", "共有フォルダに保存しません。",
     "会議で報告します。", "すぐに更新します。"),
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")


@dataclass
class PageSpec:
    """The lines of one generated page, top to bottom, each with its label."""

    top: list[tuple[str, str]] = field(default_factory=list)
    body: list[tuple[str, str, bool]] = field(default_factory=list)  # text, label, drawn as a heading
    bottom: list[tuple[str, str]] = field(default_factory=list)

    def labelled_lines(self) -> list[tuple[str, str]]:
        return [*self.top, *((text, label) for text, label, _ in self.body), *self.bottom]


@dataclass
class Score:
    true_positive: int = 0  # header or footer line removed
    false_positive: int = 0  # body line removed
    false_negative: int = 0  # header or footer line kept
    unmatched: int = 0  # extracted line that matched no generated line

    def add(self, other: Score) -> None:
        self.true_positive += other.true_positive
        self.false_positive += other.false_positive
        self.false_negative += other.false_negative
        self.unmatched += other.unmatched

    @property
    def precision(self) -> float:
        removed = self.true_positive + self.false_positive
        return self.true_positive / removed if removed else 1.0

    @property
    def recall(self) -> float:
        headers = self.true_positive + self.false_negative
        return self.true_positive / headers if headers else 1.0


def sentence(rng: random.Random, words: int = 9) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def body_lines(rng: random.Random, count: int, heading_every: int = 0) -> list[tuple[str, str, bool]]:
    lines = []
    for index in range(count):
        if heading_every and index % heading_every == 0:
            lines.append((" ".join(rng.choice(WORDS) for _ in range(3)).title(), BODY, True))
        else:
            lines.append((sentence(rng), BODY, False))
    return lines


def case_pages(kind: str, rng: random.Random, document: int) -> list[PageSpec]:
    """Return the pages of one generated document of the given kind."""
    count = 2 if kind == "two_pages" else rng.randint(3, 9)
    pages = []
    for number in range(1, count + 1):
        page = PageSpec()
        page_footer = (f"Page {number} of {count}", HEADER)
        if kind == "plain":
            page.top = [("Acme Corporation - Operations Manual", HEADER)]
            page.body = body_lines(rng, rng.randint(6, 14))
            page.bottom = [page_footer]
        elif kind == "bold_header":
            page.top = [("Contoso Ltd - Internal Use Only - Rev 7", HEADER)]
            page.body = body_lines(rng, rng.randint(6, 14), heading_every=5)
            page.bottom = [page_footer]
        elif kind == "dates_paths":
            page.top = [(f"\\\\fileserver\\share\\reports\\Q{document % 4 + 1}\\report-{document:03d}.pdf", HEADER)]
            page.body = body_lines(rng, rng.randint(6, 14))
            page.bottom = [(f"Printed 2024-06-{number:02d} 10:{rng.randint(10, 59)}", HEADER), page_footer]
        elif kind == "weekday_dates":
            page.top = [("Northwind Traders - Weekly Report", HEADER)]
            page.body = body_lines(rng, rng.randint(6, 14))
            day = rng.randint(1, 28)
            page.bottom = [(f"{rng.choice(WEEKDAYS)}, {day} {rng.choice(MONTHS)} 2024", HEADER), page_footer]
        elif kind == "missing_pages":
            if number > 1 and rng.random() > 0.33:
                page.top = [("Fabrikam Inc. - Quality Handbook", HEADER)]
            page.body = body_lines(rng, rng.randint(6, 14))
            page.bottom = [page_footer]
        elif kind == "two_pages":
            page.top = [("Tailspin Toys - Memo", HEADER)]
            page.body = body_lines(rng, rng.randint(6, 14))
            page.bottom = [page_footer]
        elif kind == "repeated_body":
            page.top = [("Litware - Parts Catalogue", HEADER)]
            page.body = [("Part Description Quantity Price", BODY, True), *body_lines(rng, rng.randint(6, 12)),
                         ("Approved by the purchasing department.", BODY, False)]
            page.bottom = [page_footer]
        elif kind == "japanese":
            page.top = [("社外秘 - 株式会社サンプル 業務マニュアル", HEADER)]
            page.body = [("".join(rng.choice(part) for part in JAPANESE_PARTS), BODY, False)
                         for _ in range(rng.randint(6, 12))]
            page.bottom = [(f"- {number} -", HEADER)]
        else:
            raise ValueError(f"unknown case kind {kind!r}")
        pages.append(page)
    return pages


def write_case_pdf(path: Path, pages: list[PageSpec], japanese: bool) -> None:
    pdf = FPDF()
    pdf.set_auto_page_break(False)
    if japanese:
        pdf.add_font("ipag", fname=JAPANESE_FONT)
    regular: tuple[str, str, int] = ("ipag", "", 11) if japanese else ("helvetica", "", 11)
    bold: tuple[str, str, int] = ("ipag", "", 13) if japanese else ("helvetica", "B", 13)
    for page in pages:
        pdf.add_page()
        for text, _ in page.top:
            pdf.set_font(*bold)  # headers in the headings' style: the hardest case for a style rule
            pdf.cell(0, 8, text)
            pdf.ln(10)
        for text, _, heading in page.body:
            pdf.set_font(*(bold if heading else regular))
            pdf.cell(0, 7, text)
            pdf.ln(8)
        pdf.set_y(-10 - 7 * len(page.bottom))
        for text, _ in page.bottom:
            pdf.set_font(*regular)
            pdf.cell(0, 6, text, align="C")
            pdf.ln(7)
    pdf.output(str(path))


def score_document(path: Path, pages: list[PageSpec]) -> Score:
    """Run the PDF reader's header and footer steps on one file and compare with the labels."""
    document = _open(path.read_bytes())
    try:
        extracted, _, _ = _page_lines(document)
    finally:
        document.close()
    running = running_lines(extracted)

    score = Score()
    for lines, spec in zip(extracted, pages, strict=True):
        kept = drop_running_lines(lines, running)
        kept_flags = _kept_flags(lines, kept)
        labelled = spec.labelled_lines()
        cursor = 0
        for line, was_kept in zip(lines, kept_flags, strict=True):
            match = _find(labelled, line, cursor)
            if match is None:
                score.unmatched += 1
                continue
            cursor = match + 1
            label = labelled[match][1]
            if label == HEADER and not was_kept:
                score.true_positive += 1
            elif label == HEADER:
                score.false_negative += 1
            elif not was_kept:
                score.false_positive += 1
    return score


def _kept_flags(lines: list[str], kept: list[str]) -> list[bool]:
    """Mark which of ``lines`` survive in ``kept``, an order-preserving subsequence of them."""
    flags = []
    position = 0
    for line in lines:
        if position < len(kept) and kept[position] == line:
            flags.append(True)
            position += 1
        else:
            flags.append(False)
    return flags


def _find(labelled: list[tuple[str, str]], line: str, start: int) -> int | None:
    target = " ".join(line.split())
    for index in range(start, len(labelled)):
        if " ".join(labelled[index][0].split()) == target:
            return index
    return None


KINDS = ("plain", "bold_header", "dates_paths", "weekday_dates", "missing_pages", "two_pages",
         "repeated_body", "japanese")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=12, help="PDFs generated per kind of case")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated texts")
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    overall = Score()
    rows = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="shochu-headers-") as folder:
        for kind in KINDS:
            score = Score()
            page_count = 0
            for document in range(args.documents):
                pages = case_pages(kind, rng, document)
                path = Path(folder) / f"{kind}-{document:03d}.pdf"
                write_case_pdf(path, pages, japanese=kind == "japanese")
                score.add(score_document(path, pages))
                page_count += len(pages)
            overall.add(score)
            rows.append((kind, args.documents, page_count, score))

    print(f"Header and footer removal, {args.documents} PDFs per kind, seed {args.seed} "
          f"({time.perf_counter() - started:.1f} s)\n")
    print("| kind | PDFs | pages | header/footer lines | removed | body lines removed | precision | recall "
          "| unmatched lines |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for kind, documents, page_count, score in [*rows, ("overall", args.documents * len(KINDS),
                                                        sum(row[2] for row in rows), overall)]:
        headers = score.true_positive + score.false_negative
        print(f"| {kind} | {documents} | {page_count} | {headers} | {score.true_positive} | "
              f"{score.false_positive} | {score.precision:.3f} | {score.recall:.3f} | {score.unmatched} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
