"""Exact and near-duplicate detection on matching keys, with cluster ids for the build stage.

The matching key of a text is its NFKC form, case-folded, with every run of
white space turned into one space; the stored text keeps its original form.
Exact duplicates share the SHA-256 of their key. Near-duplicates are found by
MinHash LSH (datasketch) on n-grams of the key: character 5-grams for Japanese,
Thai and Lao, which do not separate words with spaces, and word 3-grams for
other text.

Clustering is greedy and streaming: a chunk joins the cluster of the most
similar indexed chunk when their estimated Jaccard similarity reaches the
threshold, and otherwise starts a cluster named after its own id, so records
can be written as chunks arrive. Only the first ``MAX_INDEXED_PER_CLUSTER``
chunks of a cluster go into the LSH index. A query therefore returns a bounded
number of candidates however large clusters grow, and a chunk close only to a
later member of a large cluster starts a cluster of its own.

Every index (the exact digests, the LSH buckets, the signatures and the
cluster sizes) is a table in one scratch SQLite database, so memory stays
bounded on a corpus larger than RAM.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import unicodedata
import zlib
from pathlib import Path

import numpy as np
from datasketch import MinHashLSH

NUM_PERM = 128
# Page cache of the scratch database (SQLite's default is 2,000 KiB); pages beyond it stay on disk.
SCRATCH_CACHE_KIB = 16 * 1024
# Name of the scratch database in the ingest folder while the stage runs.
SCRATCH_FILE = "duplicates.sqlite.tmp"
MAX_INDEXED_PER_CLUSTER = 8
CHARACTER_NGRAM = 5
WORD_NGRAM = 3
_SPACELESS_LANGUAGES = {"ja", "th", "lo"}
_WHITESPACE_RUNS = re.compile(r"\s+")

# MinHash permutations are affine maps modulo 2^32, h(x) = (a * x + b) mod 2^32 with
# odd a, applied to mixed 32-bit hashes, as in datasketch's "affine32" scheme.
# uint32 arithmetic wraps by itself, so no modulo is computed.
_SEED = 1
_MAX_HASH = np.uint64((1 << 32) - 1)
# Multiplier of the polynomial hash that combines the codes of an n-gram.
_NGRAM_BASE = np.uint64(1_000_003)


def matching_key(text: str) -> str:
    """Return the key under which two texts count as the same: NFKC, case-folded, spaces collapsed."""
    key = unicodedata.normalize("NFKC", text).casefold()
    return _WHITESPACE_RUNS.sub(" ", key).strip()


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def ngram_hashes(key: str, language: str) -> np.ndarray:
    """Return the distinct 32-bit hashes of the key's n-grams: characters or words by ``language``."""
    if language in _SPACELESS_LANGUAGES:
        codes = np.frombuffer(key.replace(" ", "").encode("utf-32-le"), dtype=np.uint32)
        n = CHARACTER_NGRAM
    else:
        codes = np.array([zlib.crc32(word.encode("utf-8")) for word in key.split(" ")], dtype=np.uint32)
        n = WORD_NGRAM
    return np.unique(_polynomial_ngrams(codes.astype(np.uint64), n))


def _polynomial_ngrams(codes: np.ndarray, n: int) -> np.ndarray:
    """Hash every run of ``n`` consecutive codes (the whole sequence when shorter), mod 2^32."""
    n = max(1, min(n, len(codes)))
    count = len(codes) - n + 1
    hashes = np.zeros(max(count, 0), dtype=np.uint64)
    for offset in range(n):
        hashes = (hashes * _NGRAM_BASE + codes[offset:offset + count]) & _MAX_HASH
    return _fmix32(hashes.astype(np.uint32))


def _fmix32(hashes: np.ndarray) -> np.ndarray:
    """Apply MurmurHash3's 32-bit finaliser, so that nearby inputs spread over the whole range."""
    hashes = hashes ^ (hashes >> np.uint32(16))
    hashes = hashes * np.uint32(0x85EBCA6B)
    hashes = hashes ^ (hashes >> np.uint32(13))
    hashes = hashes * np.uint32(0xC2B2AE35)
    return hashes ^ (hashes >> np.uint32(16))


class _Permutations:
    """The random affine maps of MinHash, drawn once from a fixed seed."""

    def __init__(self, num_perm: int, seed: int) -> None:
        generator = np.random.RandomState(seed)
        self.a = generator.randint(0, 1 << 31, size=num_perm, dtype=np.uint64).astype(np.uint32) * 2 + 1
        self.b = generator.randint(0, 1 << 32, size=num_perm, dtype=np.uint64).astype(np.uint32)

    def signature(self, hashes: np.ndarray) -> np.ndarray:
        """Return the MinHash signature (uint32, one value per permutation) of a set of 32-bit hashes."""
        if len(hashes) == 0:
            return np.full(len(self.a), _MAX_HASH, dtype=np.uint32)
        permuted = hashes.astype(np.uint32)[:, None] * self.a + self.b
        return permuted.min(axis=0)


# Near-duplicate index: signatures of indexed chunks, LSH band buckets, chunks indexed per cluster.
# Exact duplicates: chunk and document key digests. Cluster sizes, for the manifest counts.
_SCRATCH_SCHEMA = """
CREATE TABLE near_signatures (id INTEGER PRIMARY KEY, item TEXT NOT NULL, cluster TEXT NOT NULL,
                              signature BLOB NOT NULL);
CREATE TABLE near_buckets (key BLOB NOT NULL, id INTEGER NOT NULL);
CREATE INDEX near_buckets_key ON near_buckets (key);
CREATE TABLE near_clusters (cluster TEXT PRIMARY KEY, indexed INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE exact_chunks (digest BLOB PRIMARY KEY, cluster TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE exact_documents (digest BLOB PRIMARY KEY, doc_id TEXT NOT NULL, source TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE cluster_sizes (cluster TEXT PRIMARY KEY, size INTEGER NOT NULL) WITHOUT ROWID;
"""


def open_scratch(path: Path | None = None) -> sqlite3.Connection:
    """Open the scratch database of the duplicate indexes: at ``path``, or a temporary file when None.

    Its pages beyond ``SCRATCH_CACHE_KIB`` live on disk, so memory stays
    bounded however many chunks are indexed. The data is rebuilt by every run,
    so journaling and syncing are off: a crash loses nothing that matters.
    """
    if path is not None:
        path.unlink(missing_ok=True)  # left by a killed run; its tables would clash
    connection = sqlite3.connect("" if path is None else str(path), isolation_level=None)
    connection.execute(f"PRAGMA cache_size = -{SCRATCH_CACHE_KIB}")
    connection.execute("PRAGMA journal_mode = OFF")
    connection.execute("PRAGMA synchronous = OFF")
    connection.execute("PRAGMA temp_store = FILE")
    connection.executescript(_SCRATCH_SCHEMA)

    # One transaction for the whole run: SQLite writes pages out when its cache
    # fills, and skips a commit per statement.
    connection.execute("BEGIN")
    return connection


class NearDuplicateIndex:
    """MinHash LSH index that assigns each added text to a near-duplicate cluster.

    The LSH band buckets, the indexed signatures and the per-cluster counts
    are SQLite tables, not Python dicts. A chunk costs one query for its
    candidates and a few inserts. The band count and width are datasketch's
    ``MinHashLSH`` choice for the threshold, and a bucket key is the band's
    raw hash values, so the candidates are the ones datasketch would return.
    Among candidates equally similar, the one indexed first wins.
    """

    def __init__(self, threshold: float, num_perm: int = NUM_PERM,
                 connection: sqlite3.Connection | None = None) -> None:
        self.threshold = threshold
        self.permutations = _Permutations(num_perm, _SEED)
        shape = MinHashLSH(threshold=threshold, num_perm=num_perm)
        self.bands, self.band_rows = shape.b, shape.r
        self.db = connection if connection is not None else open_scratch()
        self._candidates_query = (
            "SELECT DISTINCT s.id, s.cluster, s.signature FROM near_buckets AS b "
            "JOIN near_signatures AS s ON s.id = b.id "
            f"WHERE b.key IN ({', '.join('?' * self.bands)}) ORDER BY s.id")

    def assign(self, item_id: str, key: str, language: str) -> str:
        """Add one text by its matching key; return its cluster id (its own id when it starts one)."""
        signature = self.permutations.signature(ngram_hashes(key, language))
        bucket_keys = self._bucket_keys(signature)

        # Estimated Jaccard similarity to every candidate; argmax takes the first
        # of equal maxima, which is the earliest indexed since rows come by id.
        cluster = item_id
        candidates = self.db.execute(self._candidates_query, bucket_keys).fetchall()
        if candidates:
            stored = np.frombuffer(b"".join(row[2] for row in candidates), dtype=np.uint32)
            similarities = (stored.reshape(len(candidates), -1) == signature).mean(axis=1)
            best = int(np.argmax(similarities))
            if similarities[best] >= self.threshold:
                cluster = candidates[best][1]

        row = self.db.execute("SELECT indexed FROM near_clusters WHERE cluster = ?", (cluster,)).fetchone()
        indexed = row[0] if row else 0
        if indexed < MAX_INDEXED_PER_CLUSTER:
            cursor = self.db.execute("INSERT INTO near_signatures (item, cluster, signature) VALUES (?, ?, ?)",
                                     (item_id, cluster, signature.tobytes()))
            self.db.executemany("INSERT INTO near_buckets (key, id) VALUES (?, ?)",
                                [(bucket, cursor.lastrowid) for bucket in bucket_keys])
            self.db.execute("INSERT OR REPLACE INTO near_clusters (cluster, indexed) VALUES (?, ?)",
                            (cluster, indexed + 1))
        return cluster

    def indexed_count(self) -> int:
        """Return how many texts are in the LSH index."""
        return self.db.execute("SELECT COUNT(*) FROM near_signatures").fetchone()[0]

    def _bucket_keys(self, signature: np.ndarray) -> list[bytes]:
        # One key per band: the band number, then its hash values as bytes.
        rows = self.band_rows
        return [band.to_bytes(1, "little") + signature[band * rows:(band + 1) * rows].tobytes()
                for band in range(self.bands)]


class DuplicateClusters:
    """Cluster ids for chunks: exact duplicates by key digest first, then near-duplicates by MinHash.

    ``scratch`` is where the SQLite tables go (a temporary file when None);
    ``close`` deletes it.
    """

    def __init__(self, threshold: float, scratch: Path | None = None) -> None:
        self.scratch = scratch
        self.db = open_scratch(scratch)
        self.near = NearDuplicateIndex(threshold, connection=self.db)

    def assign(self, item_id: str, text: str, language: str) -> str:
        key = matching_key(text)
        digest = bytes.fromhex(key_digest(key))
        row = self.db.execute("SELECT cluster FROM exact_chunks WHERE digest = ?", (digest,)).fetchone()
        if row is not None:
            cluster = row[0]
        else:
            cluster = self.near.assign(item_id, key, language)
            self.db.execute("INSERT INTO exact_chunks (digest, cluster) VALUES (?, ?)", (digest, cluster))
        self.db.execute("INSERT INTO cluster_sizes (cluster, size) VALUES (?, 1) "
                        "ON CONFLICT (cluster) DO UPDATE SET size = size + 1", (cluster,))
        return cluster

    def first_document(self, digest: str, doc_id: str, source: str) -> dict[str, str] | None:
        """Return the id and source of the earlier document with this key digest, or record this one as first."""
        raw = bytes.fromhex(digest)
        row = self.db.execute("SELECT doc_id, source FROM exact_documents WHERE digest = ?", (raw,)).fetchone()
        if row is not None:
            return {"doc_id": row[0], "source": row[1]}
        self.db.execute("INSERT INTO exact_documents (digest, doc_id, source) VALUES (?, ?, ?)",
                        (raw, doc_id, source))
        return None

    def counts(self) -> dict[str, int]:
        """Return how many clusters have more than one member, and how many members those hold."""
        clusters, members = self.db.execute(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM cluster_sizes WHERE size > 1").fetchone()
        return {"duplicate_clusters": clusters, "chunks_in_duplicate_clusters": members}

    def close(self) -> None:
        """Close the scratch database and delete its file."""
        self.db.close()
        if self.scratch is not None:
            self.scratch.unlink(missing_ok=True)
