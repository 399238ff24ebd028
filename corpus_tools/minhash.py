"""MinHash signatures of word n-gram shingles, computed by a compiled, vectorised kernel.

A document's shingles are its word n-grams (n = 5 by default). Words are maximal runs of
letters, digits or non-ASCII characters of the lower-cased UTF-8 text; ASCII punctuation and
whitespace separate words. Chinese and Japanese, written without spaces, are the exception: each
CJK ideograph or kana is a word of its own (so their shingles are character n-grams), and CJK
and full-width punctuation (、。「」！，) separates words (the code points of ``corpus_tools.cjk``,
whose CJK characters are the Bloom filter's n-gram words too). A document with fewer than n words
has one shingle (all its words); a document without words has none and gets the *empty
signature* (every value ``EMPTY``).

Hashing is stable across processes and machines (no salted ``hash()``):

* word hash  = FNV-1a 64 over the word's bytes,
* shingle    = ``fmix64(w_i * C^(n-1) + ... + w_{i+n-1})`` (MurmurHash3 finaliser), a 64-bit hash,
* permutation k of the top 32 bits x of the shingle hash: ``(a_k * x + b_k) mod 2^64 >> 32``
  (Dietzfelbinger's multiply-add-shift, a 2-independent family like datasketch's
  ``(a x + b) mod p``), with ``a_k`` odd and ``a, b`` drawn from ``numpy.random.PCG64(seed)``.

The signature value k is the minimum over the document's shingles of permutation k, as a
``uint32``. ``estimate_jaccard(s, t) = mean(s == t)`` is an unbiased estimate of the Jaccard
similarity of the two shingle sets, exactly as with ``datasketch.MinHash``.

The kernel is compiled with numba: the loop over the ``num_perm`` permutations of one shingle
is SIMD-vectorised, and a whole batch of documents is processed in one call, so there is no
Python loop per shingle (see docs/benchmarks.md for why this beats pure NumPy here).
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
from numba import njit

from corpus_tools.cjk import code_point_kinds

DEFAULT_NUM_PERM = 128
DEFAULT_NGRAM = 5
DEFAULT_SEED = 1
EMPTY = np.uint32(0xFFFFFFFF)  # every value of the signature of a document without shingles

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_COMBINE = np.uint64(0x9E3779B97F4A7C15)


# --------------------------------------------------------------------------- kernels
@njit(cache=True, inline="always")
def _fmix64(h):
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


def _byte_classes() -> np.ndarray:
    """Per byte value: 0 = separator, else the byte as hashed (ASCII letters lower-cased)."""
    table = np.zeros(256, dtype=np.uint8)
    for c in range(256):
        if c >= 128 or chr(c).isdigit() or "a" <= chr(c) <= "z":
            table[c] = c
        elif "A" <= chr(c) <= "Z":
            table[c] = c | 0x20
    return table


_CLASSES = _byte_classes()
_CJK_KINDS = code_point_kinds()  # a kernel argument, not a global: numba's cache would keep a global's old value


@njit(cache=True, inline="always")
def _cjk_kind(data, i, end, kinds):
    """For the UTF-8 sequence at data[i]: 1 when it is a Chinese or Japanese character (a word of
    its own), 2 when it is CJK or full-width punctuation (a separator), else 0 (``kinds`` is
    ``corpus_tools.cjk.code_point_kinds()``, the definition the n-grams of the Bloom filter share).

    Words of Chinese and Japanese are not separated by spaces: as runs of non-ASCII bytes, a
    whole clause (up to the next ASCII character) was one word, and a page of a few paragraphs
    had fewer than n words, so one shingle, and near-duplicates never matched. Each character
    is a word here, so the shingles are character n-grams, the usual unit of near-duplicate
    detection for these languages. Only 3-byte sequences (U+0800..U+FFFF) are looked at."""
    b = data[i]
    if b < 0xE3 or b > 0xEF or i + 2 >= end:
        return 0
    cp = ((np.int64(b) & 0x0F) << 12) | ((np.int64(data[i + 1]) & 0x3F) << 6) | (np.int64(data[i + 2]) & 0x3F)
    return kinds[cp]


@njit(cache=True)
def _word_hashes(data, start, end, kinds):
    """FNV-1a 64 hash of every word in data[start:end].

    Branch-free per byte (selects instead of ``if``: where a word starts or ends is a coin toss for
    a branch predictor), which made it 2.5x faster; the only branches test for a CJK lead byte, never
    taken in text without CJK characters. ``out`` has room for the most words a text can hold
    (one per two bytes), so the hash of the word before is stored at ``out[n]`` at every byte and
    ``n`` advances where a word ends."""
    out = np.empty((end - start) // 2 + 2, dtype=np.uint64)
    n = 0
    in_word = 0
    h = _FNV_OFFSET
    classes = _CLASSES
    skip = 0  # continuation bytes of a CJK character already taken
    for i in range(start, end):
        if skip:
            skip -= 1
            continue
        c = classes[data[i]]
        if c >= 0xE3:  # the lead byte of a 3-byte sequence: maybe a CJK character or punctuation
            cjk = _cjk_kind(data, i, end, kinds)
            if cjk:
                out[n] = h  # it ends the word before it
                n += in_word
                in_word = 0
                if cjk == 1:  # a character: a word of its own
                    g = _FNV_OFFSET
                    for j in range(i, i + 3):
                        g = (g ^ np.uint64(data[j])) * _FNV_PRIME
                    out[n] = g
                    n += 1
                skip = 2
                continue
        is_word = 1 if c != 0 else 0
        grown = ((h if in_word else _FNV_OFFSET) ^ np.uint64(c)) * _FNV_PRIME
        out[n] = h
        n += in_word & (1 - is_word)  # a separator after a word: its hash stays at out[n]
        h = grown if is_word else h
        in_word = is_word
    out[n] = h
    n += in_word
    return out[:n]


@njit(cache=True)
def _shingle_hashes(words, ngram):
    """64-bit hash of every word n-gram; one shingle of all words when there are fewer than n."""
    nw = words.shape[0]
    if nw == 0:
        return np.empty(0, dtype=np.uint64)
    width = min(ngram, nw)
    ns = nw - width + 1
    out = np.empty(ns, dtype=np.uint64)
    for i in range(ns):
        h = np.uint64(0)
        for j in range(width):
            h = h * _COMBINE + words[i + j]
        out[i] = _fmix64(h)
    return out


@njit(cache=True)
def _signatures_kernel(data, offsets, ngram, a, b, out, kinds):
    """out[d] = MinHash signature of document d = data[offsets[d]:offsets[d+1]]."""
    k = a.shape[0]
    mins = np.empty(k, dtype=np.uint64)
    for d in range(offsets.shape[0] - 1):
        sh = _shingle_hashes(_word_hashes(data, offsets[d], offsets[d + 1], kinds), ngram)
        for p in range(k):
            mins[p] = np.uint64(0xFFFFFFFF)
        for s in range(sh.shape[0]):
            x = sh[s] >> np.uint64(32)
            for p in range(k):
                mins[p] = min(mins[p], (a[p] * x + b[p]) >> np.uint64(32))
        for p in range(k):
            out[d, p] = np.uint32(mins[p])


# --------------------------------------------------------------------------- Python API
def _encode(texts: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
    blobs = [(t or "").encode("utf-8", "surrogatepass") for t in texts]
    offsets = np.zeros(len(blobs) + 1, dtype=np.int64)
    np.cumsum([len(x) for x in blobs], out=offsets[1:])
    data = np.frombuffer(b"".join(blobs), dtype=np.uint8) if blobs else np.empty(0, np.uint8)
    return data, offsets


def permutations(num_perm: int = DEFAULT_NUM_PERM, seed: int = DEFAULT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """The ``(a, b)`` coefficients of the ``num_perm`` hash permutations for ``seed``."""
    if num_perm < 1:
        raise ValueError(f"num_perm must be >= 1, got {num_perm}")
    rng = np.random.Generator(np.random.PCG64(seed))
    a = rng.integers(0, 2**64, size=num_perm, dtype=np.uint64, endpoint=False) | np.uint64(1)
    b = rng.integers(0, 2**64, size=num_perm, dtype=np.uint64, endpoint=False)
    return a, b


class MinHasher:
    """Computes MinHash signatures with fixed parameters (build once, reuse for every batch)."""

    def __init__(self, num_perm: int = DEFAULT_NUM_PERM, ngram: int = DEFAULT_NGRAM, seed: int = DEFAULT_SEED):
        if ngram < 1:
            raise ValueError(f"ngram must be >= 1, got {ngram}")
        self.num_perm, self.ngram, self.seed = num_perm, ngram, seed
        self.a, self.b = permutations(num_perm, seed)

    def signatures(self, texts: Sequence[str]) -> np.ndarray:
        """A ``(len(texts), num_perm)`` uint32 array, one signature per text."""
        data, offsets = _encode(texts)
        out = np.empty((len(offsets) - 1, self.num_perm), dtype=np.uint32)
        _signatures_kernel(data, offsets, self.ngram, self.a, self.b, out, _CJK_KINDS)
        return out

    def signature(self, text: str) -> np.ndarray:
        return self.signatures([text])[0]

    def shingles(self, text: str) -> np.ndarray:
        """The document's distinct shingle hashes (sorted uint64), for exact Jaccard."""
        return shingle_set(text, self.ngram)


def shingle_set(text: str, ngram: int = DEFAULT_NGRAM) -> np.ndarray:
    """Sorted distinct 64-bit hashes of the word n-gram shingles of ``text``."""
    data, offsets = _encode([text])
    return np.unique(_shingle_hashes(_word_hashes(data, 0, int(offsets[1]), _CJK_KINDS), ngram))


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard similarity of two sorted distinct shingle-hash arrays (0.0 when both empty)."""
    union = len(a) + len(b)
    if union == 0:
        return 0.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (union - inter)


def is_empty(sig: np.ndarray) -> bool:
    """True for the signature of a document without shingles."""
    return bool(np.all(sig == EMPTY))


def estimate_jaccard(s: np.ndarray, t: np.ndarray) -> float:
    """Estimated Jaccard similarity: the fraction of equal signature values (0 if either is empty)."""
    if s.shape != t.shape:
        raise ValueError(f"signatures differ in length: {s.shape} vs {t.shape}")
    if is_empty(s) or is_empty(t):
        return 0.0
    return float(np.count_nonzero(s == t)) / s.shape[0]
