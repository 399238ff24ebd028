"""THE text normalisation and n-gram extraction used by the Bloom filter, the contamination
report and decontamination (one definition, so the three always agree).

Normalisation (GPT-2 §4: "lower-cased alphanumeric words separated by single spaces"):

1. the text is lower-cased with Python's ``str.lower()``;
2. a *CJK character* is a word of its own: an alphanumeric code point of
   ``corpus_tools.cjk.CHARACTERS`` (Hiragana, Katakana and the CJK ideographs of the Basic
   Multilingual Plane). Chinese and Japanese are written without spaces, so a run of them is a
   clause, not a word. MinHash shingles (``corpus_tools.minhash``) make the same code points
   words of their own (and also the few of those blocks that are not alphanumeric, such as the
   katakana middle dot ・, which separate words here). Hangul, written with spaces, is not among
   them, nor are the ideographs outside the Basic Multilingual Plane;
3. every other word is a maximal run of the other characters for which ``str.isalnum()`` is
   true (regular expression ``[^\\W_]+`` on the lower-cased text, less the CJK characters);
   everything else (spaces, punctuation — also CJK and full-width punctuation such as 、。「」！
   —, ``_``, symbols, combining marks) separates words;
4. the normalised text is the words joined by single spaces.

So ``"Don't  STOP-believing!"`` becomes ``"don t stop believing"``, the WikiText token
``"<unk>"`` becomes the word ``"unk"``, and ``"GDP十强，上海2020年"`` becomes
``"gdp 十 强 上 海 2020 年"``. Text with no CJK character (checked first, by looking for
their first UTF-8 bytes) is split with the plain ``[^\\W_]+`` expression, as fast as before
CJK characters were words.
The few alphanumeric marks of the CJK punctuation block (々 〆 〇, the Hangzhou numerals) are
not CJK characters: they join the run of other alphanumeric characters around them, and where
those are CJK characters they are words on their own (``"人々"`` → ``"人 々"``). MinHash, whose
words are runs of any non-ASCII bytes, separates words at them instead.

An *n-gram* is ``n`` consecutive words of one text (n-grams never cross texts). Its
128-bit hash (``HASH_ID``) is computed as follows, so that it can be evaluated for all
positions of many texts at once with NumPy:

* every word ``w`` gets ``xxh3_128(utf8(w))`` (xxhash, seed 0), split into its low and
  high 64-bit halves ``lo(w)``, ``hi(w)``;
* for the n-gram ``w_0 … w_{n-1}`` the two 64-bit lanes are polynomials modulo 2**64:
  ``p1 = Σ_j lo(w_j)·K1^(n-1-j)`` and ``p2 = Σ_j hi(w_j)·K2^(n-1-j)``;
* ``h1 = fmix64(p1 ^ (n·G))`` and ``h2 = fmix64(p2 ^ (n·G))`` where ``fmix64`` is the
  MurmurHash3 64-bit finaliser; ``(h1, h2)`` is the n-gram's 128-bit hash.

Different texts with the same normalised words give the same hashes on every machine
and Python version. The hash of given words is the same as in ``webtext-ngram-v1``; v2 differs
only in the words of text with CJK characters (v1 took a run of them for one word), so a filter
built with v1 is refused, not queried with v2 words.
"""

from __future__ import annotations

import re
from operator import itemgetter
from typing import Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from corpus_tools.cjk import CHARACTERS as CJK_CHARACTERS, char_class, utf8_lead_bytes

WORD_RE = re.compile(r"[^\W_]+")  # the words of text without CJK characters
_CJK = char_class(CJK_CHARACTERS)
# text with CJK characters: a run of alphanumeric characters that are not CJK characters, or else
# one alphanumeric character (which, where the first alternative did not match, is a CJK character)
WORD_CJK_RE = re.compile(f"[^\\W_{_CJK}]+|[^\\W_]")
_CJK_LEAD_BYTES = utf8_lead_bytes(CJK_CHARACTERS)

HASH_ID = "webtext-ngram-v2:lower-alnum-words+cjk-chars/xxh3_128/poly64x2-fmix64"
V1_HASH_ID = "webtext-ngram-v1:lower-alnum-words/xxh3_128/poly64x2-fmix64"  # CJK runs were one word

_M64 = (1 << 64) - 1
K1 = np.uint64(0x9E3779B97F4A7C15)
K2 = np.uint64(0xC2B2AE3D27D4EB4F)
G = 0x165667B19E3779F9
_F1 = np.uint64(0xFF51AFD7ED558CCD)
_F2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)


def _word_re(low: str) -> re.Pattern:
    """The expression that splits the lower-cased ``low`` into words: ``WORD_CJK_RE`` when its
    UTF-8 may hold a CJK character (it holds the first byte of one), else the faster ``WORD_RE``.
    Both give the same words of a text without CJK characters, so a false alarm (a text with
    ``�`` or full-width letters, whose first bytes CJK characters share) only costs time."""
    if low.isascii():
        return WORD_RE
    data = low.encode("utf-8", "surrogatepass")
    return WORD_CJK_RE if any(lead in data for lead in _CJK_LEAD_BYTES) else WORD_RE


def words(text: str) -> list[str]:
    """The normalised words of ``text`` (see the module docstring)."""
    low = text.lower()
    return _word_re(low).findall(low)


def normalize(text: str) -> str:
    """Lower-cased alphanumeric words (each CJK character one word) separated by single spaces."""
    return " ".join(words(text))


def word_spans(text: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The normalised words of ``text`` with their ``[start, end)`` character offsets in
    the *original* text (used by decontamination to cut spans out of documents).

    The words are exactly ``words(text)``; offsets are mapped back when lower-casing
    changed the length of the text (e.g. ``"İ"`` lower-cases to two characters).
    """
    low = text.lower()
    found = [(m.group(), m.start(), m.end()) for m in _word_re(low).finditer(low)]
    ws = [f[0] for f in found]
    starts = np.fromiter((f[1] for f in found), dtype=np.int64, count=len(found))
    ends = np.fromiter((f[2] for f in found), dtype=np.int64, count=len(found))
    if len(low) != len(text):
        # position in `low` -> position in `text`
        back = np.empty(len(low) + 1, dtype=np.int64)
        pos = 0
        for i, ch in enumerate(text):
            width = len(ch.lower())
            back[pos:pos + width] = i
            pos += width
        back[pos] = len(text)
        starts = back[starts]
        # an end offset maps to one past the original character that produced it
        ends = np.where(ends > 0, back[np.maximum(ends - 1, 0)] + 1, 0)
    return ws, starts, ends


def ngram_strings(ws: Sequence[str], n: int) -> list[str]:
    """The n-grams of a word list as normalised strings (words joined by one space)."""
    return [" ".join(ws[i:i + n]) for i in range(len(ws) - n + 1)]


def count_ngrams(num_words: int, n: int) -> int:
    """Number of n-gram positions in a text of ``num_words`` words."""
    return max(0, num_words - n + 1)


def fmix64(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser, in place on a uint64 array (returned)."""
    x ^= x >> _S33
    x *= _F1
    x ^= x >> _S33
    x *= _F2
    x ^= x >> _S33
    return x


class NgramHasher:
    """Hashes n-grams (``HASH_ID``) of many texts at once, caching word hashes.

    The cache maps each distinct word to its xxh3_128 halves; it is cleared when it holds
    more than ``max_words`` words, so memory stays bounded on any corpus.
    """

    hash_id = HASH_ID

    def __init__(self, max_words: int = 2_000_000):
        self.max_words = max_words
        self._reset()

    def _reset(self) -> None:
        self._index: dict[str, int] = {}
        self._lo = np.zeros(1024, dtype=np.uint64)
        self._hi = np.zeros(1024, dtype=np.uint64)

    def _word_ids(self, ws: list[str]) -> np.ndarray:
        """Cache index of every word (hashing the words not seen before)."""
        uniq, inverse = None, None
        if len(ws) >= 4096:
            # Arrow's C++ dictionary encoding finds the distinct words of a large batch far
            # faster than a Python-level pass over every word
            try:
                enc = pc.dictionary_encode(pa.array(ws, type=pa.large_string()))
                uniq, inverse = enc.dictionary.to_pylist(), enc.indices.to_numpy()
            except (pa.ArrowException, UnicodeEncodeError):  # e.g. lone surrogates: not UTF-8
                uniq, inverse = None, None
        if uniq is None:
            uniq = list(set(ws))
        index = self._index
        new = [w for w in uniq if w not in index]
        if new:
            if len(index) + len(new) > self.max_words:
                self._reset()
                index = self._index
                new = uniq
            start = len(index)
            need = start + len(new)
            if need > len(self._lo):
                size = max(need, 2 * len(self._lo))
                self._lo = np.resize(self._lo, size)
                self._hi = np.resize(self._hi, size)
            digests = b"".join(xxhash.xxh3_128_digest(w.encode("utf-8", "surrogatepass")) for w in new)
            # xxh3_128_digest is the big-endian 128-bit value: high 64 bits first
            halves = np.frombuffer(digests, dtype=">u8").reshape(-1, 2)
            self._hi[start:need] = halves[:, 0]
            self._lo[start:need] = halves[:, 1]
            index.update(zip(new, range(start, need)))
        if inverse is not None:
            ids = np.fromiter(map(index.__getitem__, uniq), dtype=np.intp, count=len(uniq))
            return ids[inverse]
        if len(ws) == 1:
            return np.array([index[ws[0]]], dtype=np.intp)
        return np.array(itemgetter(*ws)(index), dtype=np.intp)

    def hash_words(self, ws: list[str], n: int) -> tuple[np.ndarray, np.ndarray]:
        """``(h1, h2)`` uint64 arrays, one entry per n-gram position of the word list."""
        h1, h2, _ = self.hash_word_lists([ws], n)
        return h1, h2

    def hash_text(self, text: str, n: int) -> tuple[np.ndarray, np.ndarray]:
        return self.hash_words(words(text), n)

    def hash_texts(self, texts: Iterable[str], n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Hashes of every n-gram of every text: ``(h1, h2, counts)`` where ``counts[i]``
        is the number of n-grams of text ``i`` (its hashes follow those of text ``i-1``)."""
        return self.hash_word_lists([words(t) for t in texts], n)

    def hash_word_lists(self, lists: Sequence[list[str]], n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if n < 1:
            raise ValueError(f"n-gram length must be >= 1, got {n}")
        lens = np.fromiter((len(w) for w in lists), dtype=np.int64, count=len(lists))
        counts = np.maximum(lens - n + 1, 0)
        total = int(lens.sum())
        if counts.sum() == 0:
            empty = np.zeros(0, dtype=np.uint64)
            return empty, empty.copy(), counts
        flat: list[str] = []
        for w in lists:
            flat.extend(w)
        h1, h2 = self._combine(self._word_ids(flat), n)
        if len(lists) > 1:
            # keep only positions whose n words lie inside one text
            positions = total - n + 1
            offsets = np.concatenate(([0], np.cumsum(lens)[:-1]))
            doc = np.repeat(np.arange(len(lists)), lens)[:positions]
            local = np.arange(positions) - offsets[doc]
            keep = local <= (lens[doc] - n)
            h1 = h1[keep]
            h2 = h2[keep]
        return h1, h2, counts

    def hash_id_rows(self, vocab: list[str], rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Hashes of n-grams given as rows of indices into ``vocab`` (shape (count, n));
        the same values ``hash_words`` gives for ``[vocab[i] for i in row]``."""
        rows = np.asarray(rows)
        count, n = rows.shape
        vocab_ids = self._word_ids(list(vocab))
        h1, h2 = self._combine(vocab_ids[rows.ravel()], n)
        return h1[::n], h2[::n]

    def _combine(self, ids: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The n-gram hash of every position of one word-id sequence (module docstring)."""
        lo = self._lo[ids]
        hi = self._hi[ids]
        positions = len(ids) - n + 1
        p1 = lo[:positions].copy()
        p2 = hi[:positions].copy()
        for j in range(1, n):
            p1 *= K1
            p1 += lo[j:j + positions]
            p2 *= K2
            p2 += hi[j:j + positions]
        tag = np.uint64((n * G) & _M64)
        p1 ^= tag
        p2 ^= tag
        return fmix64(p1), fmix64(p2)


def unique_pairs(h1: np.ndarray, h2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ``(h1, h2)`` pairs, sorted by ``(h1, h2)``."""
    if len(h1) == 0:
        return h1.copy(), h2.copy()
    order = np.lexsort((h2, h1))
    a = h1[order]
    b = h2[order]
    keep = np.ones(len(a), dtype=bool)
    keep[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    return a[keep], b[keep]
