"""Measure the build stage's second PII scan: cost and outcome of keeping values copied from the chunk.

Usage (from the repository root):

    git show 2eac80b:src/shochu/build/pii.py > /tmp/old_pii.py
    .venv/bin/python bench/build_pii_rescan.py --examples 300 --old-pii /tmp/old_pii.py

Builds QA examples from a synthetic corpus (Faker, fixed seed) of short
letters in English, Japanese and Thai. Each chunk is protected the way the
protect stage does it with ``protect.operators`` set to ``pseudonym`` for
names, e-mail addresses and phone numbers, under a fixed benchmark key. The
responses rotate through three forms: one repeats the chunk's surrogate name
and e-mail address, one does that and adds a new name, and one contains no
personal data. The baseline is ``--old-pii``, the scan before copies were
kept, run in the same process on the same examples. Each scan runs once to
warm up, then is timed with ``time.process_time`` (CPU seconds of this
process) and ``time.perf_counter`` (wall seconds, which grow when other jobs
share the cores).
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import time
from pathlib import Path
from typing import Any

from faker import Faker

from shochu.build import pii
from shochu.build.filters import FilterReport
from shochu.config import ProtectConfig
from shochu.protect import Masker
from shochu.protect.operators import Operators
from shochu.protect.placeholders import PlaceholderNumbering

BENCH_KEY = b"bench-build-pii-rescan-key-0123"
QUESTION = "Who should I contact about the order?"
LETTERS = {
    "en_US": "Dear {name},\nplease call {phone} or write to {email} about the order.\n",
    "ja_JP": "{name}様\nお問い合わせの件、{phone}までご連絡ください。メール：{email}\n",
    "th_TH": "เรียน คุณ{name}\nกรุณาติดต่อ {phone} หรืออีเมล {email}\n",
}
COPIES = {
    "en_US": "Contact {name} at {email}.",
    "ja_JP": "{name}様に{email}でご連絡ください。",
    "th_TH": "ติดต่อคุณ{name} ที่ {email}",
}
NEW_NAMES = {"en_US": " Ms. {new} can help too.", "ja_JP": "{new}様も対応できます。", "th_TH": " หรือคุณ{new}"}
CLEAN = {"en_US": "Contact the order desk.", "ja_JP": "受付窓口にご連絡ください。", "th_TH": "ติดต่อฝ่ายสั่งซื้อ"}


def examples(count: int) -> tuple[list[dict[str, Any]], list[list[str]]]:
    """Return QA examples and, per example, the surrogates its response copies from the chunk."""
    masker = Masker(ProtectConfig())
    operators = Operators({"PERSON": "pseudonym", "EMAIL_ADDRESS": "pseudonym", "PHONE_NUMBER": "pseudonym"},
                          BENCH_KEY)
    fakers = {locale: Faker(locale) for locale in LETTERS}
    for faker in fakers.values():
        faker.seed_instance(11)

    built, copied = [], []
    for index in range(count):
        locale = list(LETTERS)[index % len(LETTERS)]
        faker = fakers[locale]
        original = LETTERS[locale].format(name=faker.name(), phone=faker.phone_number(), email=faker.email())
        original += faker.paragraph(nb_sentences=10) + "\n"
        spans, _ = masker.detect(original)
        surrogates: dict[str, str] = {}
        chunk = operators.replace(original, spans, PlaceholderNumbering(),
                                  record=lambda kind, replacement, _: surrogates.setdefault(kind, replacement)).text

        form = (index // len(LETTERS)) % 3
        if form == 2 or not {"PERSON", "EMAIL_ADDRESS"} <= set(surrogates):
            response, repeated = CLEAN[locale], []
        else:
            response = COPIES[locale].format(name=surrogates["PERSON"], email=surrogates["EMAIL_ADDRESS"])
            repeated = [surrogates["PERSON"], surrogates["EMAIL_ADDRESS"]]
            if form == 1:
                response += NEW_NAMES[locale].format(new=faker.name())
        content = (f"Answer the question using only the document excerpt.\n\nExcerpt:\n{chunk}\n\n"
                   f"Question: {QUESTION}")
        built.append({"id": f"qa-{index}", "task": "qa", "messages": [{"role": "user", "content": content}],
                      "response": response, "question": QUESTION})
        copied.append(repeated)
    return built, copied


def run(scan: Any, batch: list[dict[str, Any]], copied: list[list[str]]) -> dict[str, Any]:
    report = FilterReport()
    scan.scan(batch[0], QUESTION, FilterReport())
    started, cpu_started = time.perf_counter(), time.process_time()
    results = [scan.scan(example, QUESTION, report) for example in batch]
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started

    # A copied surrogate that no longer appears in the scanned response became a placeholder.
    lost = sum(1 for result, values in zip(results, copied, strict=True)
               if result is not None and any(value not in result["response"] for value in values))
    return {"cpu": cpu, "wall": wall, "masked": sum(report.pii_masked["qa"].values()),
            # The baseline's FilterReport is this checkout's, so the count exists for both rows.
            "copied": sum(report.pii_copied_from_chunk["qa"].values()),
            "lost": lost}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=300)
    parser.add_argument("--old-pii", type=Path, help="the pii.py to compare with, e.g. from commit 2eac80b")
    arguments = parser.parse_args()

    batch, copied = examples(arguments.examples)
    characters = sum(len(example["messages"][0]["content"]) + len(example["response"]) for example in batch)
    print(f"{len(batch)} QA examples, {characters:,} characters, "
          f"{sum(1 for values in copied if values)} responses repeat chunk surrogates; "
          f"Python {platform.python_version()}, {platform.machine()}")

    rows = []
    if arguments.old_pii is not None:
        spec = importlib.util.spec_from_file_location("old_pii", arguments.old_pii)
        old_pii = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(old_pii)
        rows.append(("baseline: --old-pii", old_pii.PiiScan(ProtectConfig(), "mask")))
    rows.append(("this checkout", pii.PiiScan(ProtectConfig(), "mask")))

    print("| scan | CPU s | wall s | ms CPU per example | detections masked | kept as copies "
          "| examples whose copied surrogate became a placeholder |")
    print("|---|---|---|---|---|---|---|")
    for name, scan in rows:
        figures = run(scan, batch, copied)
        print(f"| {name} | {figures['cpu']:.2f} | {figures['wall']:.2f} | "
              f"{1000 * figures['cpu'] / len(batch):.2f} | {figures['masked']} | {figures['copied']} | "
              f"{figures['lost']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
