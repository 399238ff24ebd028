import numpy as np
import pytest
from datasketch.lsh import _optimal_param

from corpus_tools.lsh import band_hashes, band_keys, collision_probability, optimal_bands_rows
from corpus_tools.minhash import EMPTY


@pytest.mark.parametrize("threshold,num_perm", [(0.5, 128), (0.7, 128), (0.8, 128), (0.9, 128), (0.8, 64)])
def test_bands_rows_match_datasketch(threshold, num_perm):
    assert optimal_bands_rows(threshold, num_perm) == _optimal_param(threshold, num_perm, 0.5, 0.5)


def test_weights_move_the_choice():
    b0, r0 = optimal_bands_rows(0.8, 128)
    # penalising false negatives more gives a curve that collides more at s = 0.7
    b1, r1 = optimal_bands_rows(0.8, 128, fp_weight=0.1, fn_weight=0.9)
    assert collision_probability(0.7, b1, r1) > collision_probability(0.7, b0, r0)
    assert b0 * r0 <= 128 and b1 * r1 <= 128


def test_collision_probability_formula():
    assert collision_probability(0.5, 2, 3) == pytest.approx(1 - (1 - 0.125) ** 2)


def test_band_keys_differ_only_in_the_changed_band():
    rng = np.random.default_rng(0)
    sig = rng.integers(0, 2**32 - 1, size=128, dtype=np.uint32)
    other = sig.copy()
    other[40] ^= 1  # band 40 // 13 = 3 with 9 x 13
    k1, k2 = band_keys(sig, 9, 13), band_keys(other, 9, 13)
    assert [b for b, _ in k1] == list(range(9))
    assert [i for i in range(9) if k1[i] != k2[i]] == [3]
    assert band_keys(np.full(128, EMPTY, dtype=np.uint32), 9, 13) == []


def test_band_hashes_separate_bands_and_are_vectorised():
    sig = np.zeros((2, 20), dtype=np.uint32)  # same values in every band still give different keys per band
    h = band_hashes(sig, 4, 5)
    assert h.shape == (2, 4) and len(set(h[0].tolist())) == 4 and np.array_equal(h[0], h[1])
    with pytest.raises(ValueError):
        band_hashes(sig, 5, 5)
