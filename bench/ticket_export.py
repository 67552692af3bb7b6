"""Measure the ticket export reader against whole-file reading of the same CSV export.

Usage (from the repository root):

    .venv/bin/python bench/ticket_export.py [--tickets 60000] [--encodings utf-8 cp932]

The script writes a CSV export of --tickets generated tickets (English,
Japanese and Thai bodies, every fifth body on several quoted lines) in each
encoding. It then reads the export in a fresh child process per reader and
reports the wall seconds and the growth of the child's peak resident memory
(``ru_maxrss``) over its peak after importing Shochu and loading the file's
bytes. So the figure is what the reader itself adds. Readers:

- ``ticket_export``: ``read_ticket_export`` with an ``ingest.tickets`` mapping,
  one document per ticket, decoding as a stream;
- ``generic_csv``: ``DelimitedReader``, which ingest used for every CSV before
  mappings existed: one document for the whole table, decoded at once;
- ``whole_file``: ``decode_text`` over the whole file and ``csv.DictReader``
  rows kept in a list, the way ``build.tickets`` reads its CSV.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
READERS = ("ticket_export", "generic_csv", "whole_file")
BODIES = [
    "The printer on floor {n} jams every morning after the toner change; please send a technician.",
    "経費精算システムにログインできません。パスワードを再設定しても、エラー{n}が表示されます。",
    "เครื่องพิมพ์ที่ชั้น {n} ใช้งานไม่ได้ตั้งแต่เมื่อวาน กรุณาส่งช่างมาตรวจสอบด้วยครับ",
]


def write_export(path: Path, tickets: int, encoding: str, seed: int = 0) -> None:
    """Write a CSV export of generated tickets in ``encoding``."""
    rng = random.Random(seed)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["ticket_id", "created_at", "subject", "body", "category", "priority"])
    for number in range(tickets):
        body = rng.choice(BODIES).format(n=number)
        if number % 5 == 0:
            body = "\n".join([body, rng.choice(BODIES).format(n=number + 1), "Thanks."])
        writer.writerow([f"T-{number:07d}", f"2024-03-{number % 28 + 1:02d}", f"Case {number}", body,
                         rng.choice(["hardware", "network", "billing"]), rng.choice(["low", "high"])])
    if encoding == "cp932":
        # CP932 has no Thai; those bodies become Japanese in the Shift_JIS export.
        text = buffer.getvalue()
        text = text.replace(BODIES[2].split("{n}")[0], "プリンターが").replace(BODIES[2].split("{n}")[1],
                                                                           "階で使えません。")
        path.write_bytes(text.encode("cp932"))
    else:
        path.write_bytes(buffer.getvalue().encode(encoding))


def run_child(reader: str, path: Path) -> dict[str, float]:
    """Read ``path`` with ``reader`` in this process; return seconds, memory growth and documents."""
    from shochu.config import TicketMapping
    from shochu.ingest.readers import InputFile
    from shochu.ingest.readers.delimited import DelimitedReader
    from shochu.ingest.readers.encoding import decode_text
    from shochu.ingest.readers.ticket_export import read_ticket_export

    file = InputFile(path.name, path.read_bytes())
    before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    if reader == "ticket_export":
        mapping = TicketMapping(files=["*.csv"], metadata_columns=["category", "priority", "created_at"])
        export = read_ticket_export(file, 0, mapping)
        documents = len(export.tickets)
    elif reader == "generic_csv":
        DelimitedReader().extract(file)
        documents = 1
    else:
        text, _ = decode_text(file.data)
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        documents = len(rows)
    seconds = time.perf_counter() - started
    after_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "peak_growth_mib": (after_kib - before_kib) / 1024, "documents": documents}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tickets", type=int, default=60_000, help="tickets in each generated export")
    parser.add_argument("--encodings", nargs="+", default=["utf-8", "cp932"], help="encodings of the exports")
    parser.add_argument("--child", nargs=2, metavar=("READER", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(args.child[0], Path(args.child[1]))))
        return

    print(f"# {platform.platform()}, Python {platform.python_version()}, {args.tickets} tickets per export")
    print(f"{'encoding':<9} {'MiB':>6} {'reader':<14} {'documents':>9} {'seconds':>8} "
          f"{'peak growth MiB':>16}")
    with tempfile.TemporaryDirectory() as folder:
        for encoding in args.encodings:
            path = Path(folder) / f"tickets-{encoding}.csv"
            write_export(path, args.tickets, encoding)
            size_mib = path.stat().st_size / 2**20
            for reader in READERS:
                output = subprocess.run([sys.executable, __file__, "--child", reader, str(path)], check=True,
                                        capture_output=True, text=True, cwd=ROOT).stdout
                result = json.loads(output)
                print(f"{encoding:<9} {size_mib:>6.1f} {reader:<14} {result['documents']:>9} "
                      f"{result['seconds']:>8.2f} {result['peak_growth_mib']:>16.1f}")


if __name__ == "__main__":
    main()
