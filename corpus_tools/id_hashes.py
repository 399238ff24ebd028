"""Compact sets of document ids: 64-bit hashes in a sorted NumPy array (8 bytes an id).

A Python ``set``/``dict`` of 32-character ids costs over 100 bytes an entry; where a set of ids
is only a filter before an exact join by id (dedup's candidate-node set, sent to every worker),
the hashes do the same work in a twelfth of the memory. Two ids with one hash (probability
~ n²/2⁶⁵) only let one more document through the filter; the join after it is exact.
"""

from __future__ import annotations

import hashlib
from typing import Iterable

import numpy as np


def id_hash64(doc_id: str) -> int:
    """A document id's 64-bit hash (blake2b; the same on every machine and Python)."""
    return int.from_bytes(hashlib.blake2b(doc_id.encode("utf-8"), digest_size=8).digest(), "little")


def sorted_hashes(hashes: Iterable[int] | np.ndarray) -> np.ndarray:
    """Distinct hashes, sorted, as uint64."""
    return np.unique(np.asarray(hashes if isinstance(hashes, np.ndarray) else list(hashes), dtype=np.uint64))


def contains(table: np.ndarray, doc_id: str) -> bool:
    """Whether ``doc_id``'s hash is in ``table`` (a :func:`sorted_hashes` array)."""
    h = np.uint64(id_hash64(doc_id))
    i = int(np.searchsorted(table, h))
    return i < len(table) and table[i] == h
