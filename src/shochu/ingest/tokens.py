"""Token counts for ingest chunking, measured with the teacher's tokenizer.

Chunk budgets are in tokens of the teacher, because the teacher reads every
chunk when it labels and generates data; a budget in characters gives chunks of
very different token counts in English, Japanese and Thai.

The tokenizer is loaded once per process and cached by its fingerprint.
Rebuilding a GGUF teacher's tokenizer from the GGUF file takes about 8 seconds
for SmolLM2 on an idle 2-core machine, so ingest keeps the rebuilt tokenizer in
``models/tokenizers/<fingerprint>.json`` of the workspace and later runs load
that file, or the workspace's imported teacher (``models/teacher``) when it was
imported from the same file.
"""

from __future__ import annotations

import functools
import logging
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from tokenizers import Tokenizer

from shochu.models import ModelSource, _load_tokenizer, load_tokenizer, read_model_description, resolve_source
from shochu.workspace import fingerprint_bytes, fingerprint_file, write_text

logger = logging.getLogger(__name__)

# Files of a Hugging Face folder that define its tokenizer; weights and the model config do not.
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
                    "vocab.json", "vocab.txt", "merges.txt", "tokenizer.model", "spiece.model")


class TokenCounter:
    """Count the tokens of texts with one tokenizer, without special tokens such as BOS or EOS.

    ``backend`` is a ``tokenizers.Tokenizer``: the Rust tokenizer behind a
    Hugging Face fast tokenizer, which encodes batches in parallel and returns
    character offsets.
    """

    def __init__(self, backend: Tokenizer, fingerprint: str, name: str) -> None:
        # A copy without truncation or padding, which some tokenizer.json files switch on.
        self.backend = Tokenizer.from_str(backend.to_str())
        self.backend.no_truncation()
        self.backend.no_padding()
        self.fingerprint = fingerprint
        self.name = name
        # What a paragraph break adds between two texts. Byte-level pre-tokenizers
        # split "\n\n" into two tokens there.
        joined, first, second = self.count(["a\n\na", "a", "a"])
        self.separator_tokens = max(1, joined - first - second)

    def count(self, texts: Sequence[str]) -> list[int]:
        """Return the number of tokens of each text, encoded in one batch."""
        if not texts:
            return []
        encodings = self.backend.encode_batch(list(texts), add_special_tokens=False)
        return [len(encoding.ids) for encoding in encodings]

    def token_ends(self, text: str) -> list[int]:
        """Return the character offset after each token of ``text``, where a cut keeps whole characters.

        Offsets are character (code point) positions, so a cut there never splits
        a multi-byte character. A byte-level token that contains part of a character
        shares that character's offsets, and an offset in front of a combining
        mark (a Thai vowel or tone mark, a Japanese voiced sound mark) is
        dropped, so that a cut keeps the mark with its base letter.
        """
        ends = sorted({end for _, end in self.backend.encode(text, add_special_tokens=False).offsets})
        return [end for end in ends if 0 < end < len(text) and not _starts_with_mark(text, end)]


def _starts_with_mark(text: str, offset: int) -> bool:
    character = text[offset]
    return unicodedata.category(character).startswith("M") or character in "\u200d\ufe0e\ufe0f"


def tokenizer_fingerprint(teacher: str) -> str:
    """Return a SHA-256 that changes whenever the tokenizer of teacher path ``teacher`` changes.

    For a Hugging Face folder it covers the tokenizer files only. A GGUF file
    stores its vocabulary next to the weights, so the whole file is hashed, and
    a GGUF teacher with new weights but the same vocabulary also changes it.
    """
    return _source_fingerprint(resolve_source(teacher))


def _source_fingerprint(source: ModelSource) -> str:
    if source.gguf_file:
        return _cached_file_fingerprint(source.folder / source.gguf_file)
    files = [source.folder / name for name in _TOKENIZER_FILES if (source.folder / name).is_file()]
    if not files:
        expected = ", ".join(_TOKENIZER_FILES[:3])
        raise FileNotFoundError(f"teacher folder {source.folder} has no tokenizer files ({expected}, ...); "
                                f"copy the tokenizer files next to the model, as save_pretrained writes them")
    parts = [f"{path.name}\0{_cached_file_fingerprint(path)}" for path in files]
    return fingerprint_bytes("\n".join(parts).encode("utf-8"))


def _cached_file_fingerprint(path: Path) -> str:
    status = path.stat()
    return _file_fingerprint(str(path.resolve()), status.st_size, status.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _file_fingerprint(path: str, size: int, modified_ns: int) -> str:
    """Hash a file once per process for each size and modification time; a GGUF teacher is about 100 MB."""
    return fingerprint_file(Path(path))


def load_token_counter(teacher: str, models_dir: Path | None = None) -> TokenCounter:
    """Return the token counter of teacher path ``teacher``.

    The last four counters loaded stay cached in the process.
    """
    source = resolve_source(teacher)
    return _load_counter(source, _source_fingerprint(source), str(models_dir) if models_dir else None)


@functools.lru_cache(maxsize=4)
def _load_counter(source: ModelSource, fingerprint: str, models_dir: str | None) -> TokenCounter:
    stored = None
    if models_dir and source.gguf_file:
        stored = Path(models_dir) / "tokenizers" / f"{fingerprint}.json"
    if stored is not None and stored.is_file():
        logger.info("ingest: counting tokens with the tokenizer of %s, stored in %s", source.label, stored)
        return TokenCounter(Tokenizer.from_file(str(stored)), fingerprint, source.label)

    imported = Path(models_dir) / "teacher" if models_dir else None
    description = read_model_description(imported) if imported else {}
    same_file = description.get("source") == source.label and description.get("source_sha256") == fingerprint
    if source.gguf_file and same_file:
        tokenizer = load_tokenizer(imported)
        logger.info("ingest: counting tokens with the tokenizer of %s (imported from %s)",
                    imported, source.label)
    else:
        tokenizer = _load_tokenizer(source)
        logger.info("ingest: counting tokens with the tokenizer of %s", source.label)

    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise ValueError(f"the tokenizer of teacher {source.label} has no fast (Rust) version, which "
                         f"ingest needs to count tokens; save the teacher with a tokenizer.json file")
    if stored is not None:
        write_text(stored, backend.to_str())
    return TokenCounter(backend, fingerprint, source.label)
