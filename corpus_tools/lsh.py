"""LSH banding for MinHash signatures: choosing bands × rows, and the bucket keys of a signature.

A signature of ``num_perm`` values is cut into ``bands`` bands of ``rows`` values. Two documents
become a candidate pair when they agree on every value of at least one band; with Jaccard
similarity s that happens with probability ``P(s) = 1 - (1 - s^rows)^bands``.

:func:`optimal_bands_rows` picks ``(bands, rows)`` with ``bands * rows <= num_perm`` that
minimises ``fp_weight * ∫_0^t P(s) ds + fn_weight * ∫_t^1 (1 - P(s)) ds`` for the target
threshold t: the weighted false-positive and false-negative areas (datasketch's and
text-dedup's ``optimal_param``), integrated here with Simpson's rule on a fixed grid.
"""

from __future__ import annotations

import numpy as np

from corpus_tools.minhash import EMPTY

_GRID = 1001  # odd: Simpson's rule


def _area(f, lo: float, hi: float) -> float:
    if hi <= lo:
        return 0.0
    x = np.linspace(lo, hi, _GRID)
    y = f(x)
    h = (hi - lo) / (_GRID - 1)
    return float(h / 3 * (y[0] + y[-1] + 4 * y[1:-1:2].sum() + 2 * y[2:-1:2].sum()))


def collision_probability(s, bands: int, rows: int):
    """P(candidate) for Jaccard similarity ``s`` (scalar or array)."""
    return 1.0 - (1.0 - np.asarray(s, dtype=np.float64) ** rows) ** bands


def false_positive_area(threshold: float, bands: int, rows: int) -> float:
    return _area(lambda s: collision_probability(s, bands, rows), 0.0, threshold)


def false_negative_area(threshold: float, bands: int, rows: int) -> float:
    return _area(lambda s: 1.0 - collision_probability(s, bands, rows), threshold, 1.0)


def optimal_bands_rows(threshold: float, num_perm: int, fp_weight: float = 0.5,
                       fn_weight: float = 0.5) -> tuple[int, int]:
    """``(bands, rows)`` minimising the weighted false-positive and false-negative areas."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    best, best_err = (1, 1), float("inf")
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            err = (fp_weight * false_positive_area(threshold, bands, rows)
                   + fn_weight * false_negative_area(threshold, bands, rows))
            if err < best_err:
                best, best_err = (bands, rows), err
    return best


_C1 = np.uint64(0xFF51AFD7ED558CCD)
_C2 = np.uint64(0xC4CEB9FE1A85EC53)
_MUL = np.uint64(0x9E3779B97F4A7C15)


def _fmix64(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(33))
    h = h * _C1
    h = h ^ (h >> np.uint64(33))
    h = h * _C2
    return h ^ (h >> np.uint64(33))


def band_hashes(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """``(n, bands)`` uint64 bucket hashes: band ``i`` hashes values ``[i*rows, (i+1)*rows)``.

    Equal bands give equal hashes (stable across processes); different bands collide with
    probability about 2^-64, and verification drops any such pair anyway. Vectorised over
    documents and bands: call it on a batch of signatures.
    """
    sig = np.atleast_2d(np.asarray(signatures, dtype=np.uint32))
    if bands * rows > sig.shape[1]:
        raise ValueError(f"bands*rows = {bands * rows} > signature length {sig.shape[1]}")
    values = sig[:, : bands * rows].reshape(sig.shape[0], bands, rows).astype(np.uint64)
    h = np.tile(np.arange(1, bands + 1, dtype=np.uint64), (sig.shape[0], 1))
    with np.errstate(over="ignore"):
        for j in range(rows):
            h = _fmix64(h * _MUL + values[:, :, j])
    return h


def batch_band_keys(signatures: np.ndarray, bands: int, rows: int) -> list[list[tuple[int, int]]]:
    """``[(band, bucket)]`` keys of each signature of a batch; none for an empty signature (no shingles).

    ``bucket`` is the band hash as a signed 64-bit int (fits every serialiser's int64)."""
    sig = np.atleast_2d(np.asarray(signatures, dtype=np.uint32))
    hashes = band_hashes(sig, bands, rows).view(np.int64)
    empty = np.all(sig == EMPTY, axis=1)
    return [[] if e else list(enumerate(h.tolist())) for e, h in zip(empty, hashes)]


def band_keys(signature: np.ndarray, bands: int, rows: int) -> list[tuple[int, int]]:
    """The keys of one signature (see :func:`batch_band_keys`)."""
    return batch_band_keys(np.asarray(signature)[None, :], bands, rows)[0]
