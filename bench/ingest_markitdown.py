"""Convert every file under a folder with markitdown and print per-format seconds as one JSON line.

Run by bench/ingest.py with the Python of a separate virtual environment that
has markitdown installed, so that markitdown never becomes a Shochu dependency:

    python -m venv /tmp/mdvenv
    /tmp/mdvenv/bin/pip install 'markitdown[pdf,docx,pptx,xlsx]==0.1.9'
    /tmp/mdvenv/bin/python bench/ingest_markitdown.py FOLDER
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from pathlib import Path

from markitdown import MarkItDown

FORMATS = {".pdf": "pdf", ".docx": "docx", ".pptx": "pptx", ".xlsx": "xlsx", ".html": "html",
           ".eml": "eml", ".md": "markdown"}


def main() -> int:
    folder = Path(sys.argv[1])
    converter = MarkItDown(enable_plugins=False)
    formats: dict[str, dict[str, float]] = defaultdict(lambda: {"files": 0, "seconds": 0.0, "failed": 0,
                                                                "chars": 0})
    started = time.perf_counter()
    for path in sorted(folder.rglob("*")):
        if path.suffix not in FORMATS:
            continue
        entry = formats[FORMATS[path.suffix]]
        began = time.perf_counter()
        try:
            entry["chars"] += len(converter.convert(str(path)).text_content or "")
        except Exception:  # noqa: BLE001 - a failed conversion is counted, as ingest counts errors
            entry["failed"] += 1
        entry["seconds"] += time.perf_counter() - began
        entry["files"] += 1
    print(json.dumps({"wall_s": time.perf_counter() - started, "formats": formats}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
