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
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zlib

import numpy as np
from datasketch import LeanMinHash, MinHashLSH

NUM_PERM = 128
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


class NearDuplicateIndex:
    """MinHash LSH index that assigns each added text to a near-duplicate cluster."""

    def __init__(self, threshold: float, num_perm: int = NUM_PERM) -> None:
        self.threshold = threshold
        self.lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        self.permutations = _Permutations(num_perm, _SEED)
        self.signatures: dict[str, np.ndarray] = {}  # indexed chunk id -> signature
        self.cluster_of: dict[str, str] = {}  # indexed chunk id -> cluster id
        self.indexed: dict[str, int] = {}  # cluster id -> number of its chunks in the index

    def assign(self, item_id: str, key: str, language: str) -> str:
        """Add one text by its matching key; return its cluster id (its own id when it starts one)."""
        signature = self.permutations.signature(ngram_hashes(key, language))
        minhash = LeanMinHash(seed=_SEED, hashvalues=signature, scheme="affine32")

        best_match, best_similarity = None, self.threshold
        for candidate in self.lsh.query(minhash):
            similarity = float(np.mean(self.signatures[candidate] == signature))
            if similarity >= best_similarity:
                best_match, best_similarity = candidate, similarity
        cluster = self.cluster_of[best_match] if best_match is not None else item_id

        if self.indexed.get(cluster, 0) < MAX_INDEXED_PER_CLUSTER:
            self.lsh.insert(item_id, minhash, check_duplication=False)
            self.signatures[item_id] = signature
            self.cluster_of[item_id] = cluster
            self.indexed[cluster] = self.indexed.get(cluster, 0) + 1
        return cluster


class DuplicateClusters:
    """Cluster ids for chunks: exact duplicates by key digest first, then near-duplicates by MinHash."""

    def __init__(self, threshold: float) -> None:
        self.near = NearDuplicateIndex(threshold)
        self.exact: dict[str, str] = {}  # key digest -> cluster id
        self.sizes: dict[str, int] = {}

    def assign(self, item_id: str, text: str, language: str) -> str:
        key = matching_key(text)
        digest = key_digest(key)
        cluster = self.exact.get(digest)
        if cluster is None:
            cluster = self.near.assign(item_id, key, language)
            self.exact[digest] = cluster
        self.sizes[cluster] = self.sizes.get(cluster, 0) + 1
        return cluster

    def counts(self) -> dict[str, int]:
        """Return how many clusters have more than one member, and how many members those hold."""
        shared = [size for size in self.sizes.values() if size > 1]
        return {"duplicate_clusters": len(shared), "chunks_in_duplicate_clusters": sum(shared)}
