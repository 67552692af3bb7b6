"""Bytes per supervised token of stored top-k soft labels, against full float16 logits.

Reads a finished label stage folder and prints, per split and in total, the
bytes on disk of its safetensors shards divided by the supervised tokens they
hold. Each token row stores k float16 log-probabilities, k int32 ids and one
float32 rest mass, so the payload alone is 6k + 4 bytes; the shard headers
(fingerprints and example ids) add the rest. The baseline is what storing the
teacher's full logits in float16 would cost: 2 bytes per vocabulary entry.

The copy of the teacher tokenizer in ``label/tokenizer/`` is reported apart: its
size does not grow with the data.

Run: .venv/bin/python bench/label_storage.py LABEL_FOLDER
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from safetensors import safe_open


def split_figures(folder: Path, split: str) -> tuple[int, int]:
    """Return the shards' bytes on disk and their supervised token rows for one split."""
    size = 0
    tokens = 0
    for shard in sorted(folder.glob(f"{split}-*.safetensors")):
        size += shard.stat().st_size
        with safe_open(str(shard), framework="pt") as handle:
            tokens += handle.get_slice("rest").get_shape()[0]
    return size, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, help="a finished label stage folder, WORKSPACE/label")
    args = parser.parse_args()

    index = json.loads((args.folder / "index.json").read_text(encoding="utf-8"))
    top_k, vocab = index["top_k"], index["vocab_size"]
    full_bytes = 2 * vocab
    print(f"top-{top_k} labels, vocabulary {vocab:,}: full float16 logits take {full_bytes:,} bytes per token; "
          f"the top-k payload alone {6 * top_k + 4} bytes")

    total_size = total_tokens = 0
    for split in index["splits"]:
        size, tokens = split_figures(args.folder, split)
        total_size += size
        total_tokens += tokens
        if tokens:
            print(f"{split:10s} {tokens:8,d} tokens {size:10,d} bytes  {size / tokens:8.1f} bytes/token  "
                  f"{size / tokens / full_bytes:.4f}x full logits")
    if total_tokens:
        print(f"{'all':10s} {total_tokens:8,d} tokens {total_size:10,d} bytes  {total_size / total_tokens:8.1f} "
              f"bytes/token  {total_size / total_tokens / full_bytes:.4f}x full logits")
    tokenizer = sum(path.stat().st_size for path in (args.folder / "tokenizer").glob("*") if path.is_file())
    print(f"tokenizer copy, once per label folder: {tokenizer:,} bytes")


if __name__ == "__main__":
    main()
