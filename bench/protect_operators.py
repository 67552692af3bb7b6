"""Time the protect stage with placeholders, pseudonyms and the encrypted mapping, side by side.

The corpus is synthetic: chunks in English, Japanese and Thai with names,
e-mail addresses, phone numbers and a few confidentiality stamps, made with
Faker under a fixed seed. The baseline is ``Masker.mask`` on every chunk. Each
stage run adds known-name collection, the label pass and writing the output.

    .venv/bin/python bench/protect_operators.py [--chunks 300] [--record bench/protect_operators.md]
        [--old-stage FILE]

``--old-stage`` adds a row for another version of ``stage.py`` (for example
``git show REV:src/shochu/protect/stage.py > /tmp/old_stage.py``) on the same corpus.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet
from faker import Faker

from shochu.config import ProtectConfig, RunConfig
from shochu.ingest.store import write_tables
from shochu.protect import Masker, stage
from shochu.workspace import Workspace, read_json, write_jsonl

TEMPLATES = {
    "en_US": "Dear {name},\nplease call {phone} or write to {email} about the order. {stamp}\n"
             "Regards, {other}\n",
    "ja_JP": "{name}様\nお問い合わせの件、{phone}までご連絡ください。メール：{email}\n{stamp}担当：{other}\n",
    "th_TH": "เรียน คุณ{name}\nกรุณาติดต่อ {phone} หรืออีเมล {email} {stamp}\nขอแสดงความนับถือ\nคุณ{other}\n",
}
STAMPS = ["", "", "", "", "社外秘", "CONFIDENTIAL", "極秘"]


def corpus(count: int) -> list[dict[str, object]]:
    chunks = []
    fakers = {locale: Faker(locale) for locale in TEMPLATES}
    for locale, faker in fakers.items():
        faker.seed_instance(7)
    for index in range(count):
        locale = list(TEMPLATES)[index % len(TEMPLATES)]
        faker = fakers[locale]
        text = TEMPLATES[locale].format(name=faker.name(), phone=faker.phone_number(), email=faker.email(),
                                        other=faker.name(), stamp=STAMPS[index % len(STAMPS)])
        text += faker.paragraph(nb_sentences=12) + "\n" + faker.paragraph(nb_sentences=12) + "\n"
        chunks.append({"chunk_id": f"d{index}-0000", "doc_id": f"d{index}", "source": f"docs/d{index}.txt",
                       "index": 0, "heading": None, "text": text})
    return chunks


def time_stage(root: Path, chunks: list[dict[str, object]], protect: dict[str, object],
               module: object = stage) -> tuple[float, float, dict]:
    workspace = Workspace(root)
    folder = workspace.reset("ingest")
    write_tables(folder, chunks)
    # An ``--old-stage`` from before the Parquet tables reads chunks.jsonl.
    write_jsonl(folder / "chunks.jsonl", chunks)
    workspace.finish("ingest", {}, {"documents": "bench"}, {}, time.time())
    config = RunConfig(workspace=str(root), protect=protect)
    started, cpu_started = time.perf_counter(), time.process_time()
    module.run(config, workspace)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return elapsed, cpu, read_json(workspace.stage_dir("protect") / "privacy_report.json")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=300)
    parser.add_argument("--record", type=Path, help="append the results to this Markdown file")
    parser.add_argument("--old-stage", type=Path, help="another stage.py to time with default settings")
    arguments = parser.parse_args()

    os.environ["SHOCHU_PSEUDONYM_KEY"] = "bench-key-0123456789abcdefghijkl"
    os.environ["SHOCHU_MAPPING_KEY"] = Fernet.generate_key().decode()
    chunks = corpus(arguments.chunks)
    characters = sum(len(chunk["text"]) for chunk in chunks)

    # Warm up imports and the analyzer once, so that no row pays for them.
    masker = Masker(ProtectConfig())
    masker.mask("warm-up: Hanako Yamada, 090-1234-5678")

    started, cpu_started = time.perf_counter(), time.process_time()
    for chunk in chunks:
        masker.mask(chunk["text"])
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    rows = [("baseline: Masker.mask per chunk", elapsed, cpu, None)]

    pseudonyms = {"PERSON": "pseudonym", "EMAIL_ADDRESS": "pseudonym", "PHONE_NUMBER": "pseudonym"}
    settings = [
        ("stage, placeholders (default)", {}),
        ("stage, pseudonyms", {"operators": pseudonyms}),
        ("stage, hashes", {"operators": {entity: "hash" for entity in pseudonyms}}),
        ("stage, pseudonyms + mapping", {"operators": pseudonyms, "reversible_mapping": True}),
    ]
    with tempfile.TemporaryDirectory() as folder:
        if arguments.old_stage:
            spec = importlib.util.spec_from_file_location("old_stage", arguments.old_stage)
            old_stage = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(old_stage)
            rows.append((f"{arguments.old_stage.name}, placeholders",
                         *time_stage(Path(folder) / "old", chunks, {}, old_stage)))
        for index, (name, protect) in enumerate(settings):
            rows.append((name, *time_stage(Path(folder) / f"run{index}", chunks, protect)))

    lines = [f"{arguments.chunks} chunks, {characters:,} characters, Python {platform.python_version()}", "",
             "| run | wall s | CPU s | kB/s (CPU) | CPU vs baseline | excluded | operators |",
             "|---|---|---|---|---|---|---|"]
    baseline = rows[0][2]
    for name, elapsed, cpu, report in rows:
        excluded = report["excluded"]["count"] if report and "excluded" in report else ""
        operators = ", ".join(f"{entity} {'/'.join(f'{op} {n}' for op, n in counts.items())}"
                              for entity, counts in report.get("operators", {}).items()) if report else ""
        lines.append(f"| {name} | {elapsed:.2f} | {cpu:.2f} | {characters / cpu / 1000:.0f} | "
                     f"{cpu / baseline:.2f}x | {excluded} | {operators} |")
    print("\n".join(lines))

    if arguments.record:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True).stdout
        command = "python " + " ".join(sys.argv)
        with open(arguments.record, "a", encoding="utf-8") as handle:
            handle.write(f"\n### {time.strftime('%Y-%m-%d')}: `{command}` at commit {commit.strip()}\n\n")
            handle.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
