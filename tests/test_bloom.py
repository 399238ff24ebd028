"""Bloom filter, n-gram hashing and HyperLogLog (corpus_tools.bloom / ngrams / hyperloglog)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import xxhash

from corpus_tools.bloom import (BloomFileError, BloomFilter, STRING_HASH_ID, bloom_size,
                                open_bloom, partition_of, string_hashes)
from corpus_tools.contamination import build_bloom, partition_capacity, self_check
from corpus_tools.hyperloglog import HyperLogLog
from corpus_tools.ngrams import HASH_ID, NgramHasher, normalize, word_spans, words

M64 = (1 << 64) - 1


def random_hashes(n, seed):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 2**63, n, dtype=np.uint64) * np.uint64(2) + rng.integers(0, 2, n, dtype=np.uint64),
            rng.integers(0, 2**63, n, dtype=np.uint64) * np.uint64(2) + rng.integers(0, 2, n, dtype=np.uint64))


# ---------------------------------------------------------------- normalisation and n-gram hashes
def test_normalisation_is_lowercase_alphanumeric_words():
    assert normalize("Don't  STOP-believing!") == "don t stop believing"
    assert normalize("  Robert <unk> is an @-@ actor , 2000 .") == "robert unk is an actor 2000"
    assert normalize("Café_au-lait\n\t3D") == "café au lait 3d"
    assert words("") == []


def test_word_spans_point_into_the_original_text():
    text = "İstanbul, CAFÉ-Bar; x_y  42"
    ws, starts, ends = word_spans(text)
    assert ws == words(text)
    assert ws[:2] == ["i", "stanbul"]  # "İ" lower-cases to "i" + a combining dot, which separates words
    assert [text[s:e] for s, e in zip(starts, ends)] == ["İ", "stanbul", "CAFÉ", "Bar", "x", "y", "42"]


def _fmix(x):
    x ^= x >> 33
    x = (x * 0xFF51AFD7ED558CCD) & M64
    x ^= x >> 33
    x = (x * 0xC4CEB9FE1A85EC53) & M64
    return x ^ (x >> 33)


def _reference_hash(ws):
    """The n-gram hash written out from the module documentation, in plain Python."""
    n = len(ws)
    p1 = p2 = 0
    for w in ws:
        v = xxhash.xxh3_128_intdigest(w.encode())
        p1 = (p1 * 0x9E3779B97F4A7C15 + (v & M64)) & M64
        p2 = (p2 * 0xC2B2AE3D27D4EB4F + (v >> 64)) & M64
    tag = (n * 0x165667B19E3779F9) & M64
    return _fmix(p1 ^ tag), _fmix(p2 ^ tag)


def test_ngram_hash_matches_documented_definition():
    ws = words("The quick brown fox jumps over the lazy dog again and again")
    h1, h2 = NgramHasher().hash_words(ws, 8)
    assert len(h1) == len(ws) - 7
    for i in range(len(h1)):
        assert (int(h1[i]), int(h2[i])) == _reference_hash(ws[i:i + 8])


def test_batched_hashing_never_crosses_texts_and_ignores_cache_state():
    texts = ["one two three four five", "a b", "", "six seven eight nine ten eleven", "one two three four"]
    lists = [words(t) for t in texts]
    h1, h2, counts = NgramHasher().hash_word_lists(lists, 3)
    assert counts.tolist() == [3, 0, 0, 4, 2]
    expected = [_reference_hash(w[i:i + 3]) for w in lists for i in range(len(w) - 2)]
    assert list(zip(h1.tolist(), h2.tolist())) == expected
    tiny = NgramHasher(max_words=3)  # cache is reset over and over
    t1, t2, _ = tiny.hash_word_lists(lists, 3)
    assert np.array_equal(t1, h1) and np.array_equal(t2, h2)


# ---------------------------------------------------------------- sizing and probing
def test_sizing_follows_the_formula():
    m, k = bloom_size(1_000_000, 1e-8)
    assert k == 27
    theory = -math.log(1e-8) / math.log(2) ** 2
    assert abs(theory - 38.34) < 0.01
    assert theory <= m / 1_000_000 <= theory * 1.05
    assert m % 64 == 0
    assert bloom_size(1000, 1e-3)[1] == 10


@pytest.mark.parametrize("capacity", [5, 50, 500])
def test_a_small_filter_keeps_its_false_positive_bound(capacity):
    """Double hashing puts a floor of about 3·n/m² under the false-positive rate (a query whose two
    32-bit halves lie near an inserted key's hits all its bits): sized by the textbook formula
    alone, 50 n-grams at 1e-8 answered 5.9e-5 of absent queries "present". Sized as now, 2M
    random absent queries find nothing (0.02 expected at 1e-8)."""
    rng = np.random.default_rng(capacity)
    f = BloomFilter.create(capacity, 1e-8, "t")
    f.add_hashes(rng.integers(0, 2**64, capacity, dtype=np.uint64), rng.integers(0, 2**64, capacity, dtype=np.uint64))
    hits = sum(int(np.count_nonzero(f.contains_hashes(rng.integers(0, 2**64, 500_000, dtype=np.uint64),
                                                      rng.integers(0, 2**64, 500_000, dtype=np.uint64))))
               for _ in range(4))
    assert hits == 0
    # large filters are sized by the formula alone: the floor is far below the bound there
    assert bloom_size(1_000_000, 1e-8)[0] == -(-math.ceil(1_000_000 * -math.log(1e-8) / math.log(2) ** 2) // 64) * 64


def test_probe_positions_follow_double_hashing_definition():
    f = BloomFilter(m=4096, k=7, hash_id="t", hll_p=None)
    key = 0x0123456789ABCDEF_FEDCBA9876543210 & M64
    a, b = key & 0xFFFFFFFF, (key >> 32) | 1
    expected = {(((a + i * b) % 2**32) * 4096) >> 32 for i in range(7)}
    f.add_hashes(np.array([key], dtype=np.uint64))
    bits = np.unpackbits(f.bits, bitorder="little")
    assert set(np.flatnonzero(bits).tolist()) == expected


def test_dense_batches_lose_no_bit():
    # many keys into a tiny filter: most probes of a batch share bytes
    f = BloomFilter(m=512, k=5, hash_id="t", hll_p=None)
    h1, _ = random_hashes(3000, 1)
    f.add_hashes(h1)
    expected = set()
    for key in h1.tolist():
        a, b = key & 0xFFFFFFFF, (key >> 32) | 1
        expected |= {(((a + i * b) % 2**32) * 512) >> 32 for i in range(5)}
    assert set(np.flatnonzero(np.unpackbits(f.bits, bitorder="little")).tolist()) == expected


def test_no_false_negatives_and_fpr_near_target_at_1e3():
    h1, h2 = random_hashes(40_000, 2)
    f = BloomFilter.create(20_000, 1e-3, HASH_ID)
    f.add_hashes(h1[:20_000], h2[:20_000])
    assert f.contains_hashes(h1[:20_000], h2[:20_000]).all()
    q1, q2 = random_hashes(300_000, 3)
    fp = int(f.contains_hashes(q1, q2).sum())
    # expected ~300 (binomial sd ~17)
    assert 150 <= fp <= 500
    assert 0.5e-3 <= f.estimated_fpr() <= 1.5e-3


def test_string_keys_use_xxh3_128():
    f = BloomFilter.create(100, 1e-6, STRING_HASH_ID)
    f.add_strings(["alpha beta", "gamma"])
    assert f.contains_strings(["alpha beta", "gamma", "delta"]).tolist()[:2] == [True, True]
    h1, h2 = string_hashes(["gamma"])
    v = xxhash.xxh3_128_intdigest(b"gamma")
    assert (int(h1[0]), int(h2[0])) == (v & M64, v >> 64)
    with pytest.raises(ValueError, match="hashes keys with"):
        BloomFilter.create(100, 1e-6, HASH_ID).add_strings(["x"])


# ---------------------------------------------------------------- merge, files
def test_merge_of_partial_filters_equals_one_filter():
    h1, h2 = random_hashes(30_000, 4)
    whole = BloomFilter.create(30_000, 1e-8, HASH_ID)
    whole.add_hashes(h1, h2)
    parts = [BloomFilter.create(30_000, 1e-8, HASH_ID) for _ in range(3)]
    for i, p in enumerate(parts):
        p.add_hashes(h1[i::3], h2[i::3])
    merged = parts[0].merge(parts[1]).merge(parts[2])
    assert np.array_equal(merged.bits, whole.bits)
    assert np.array_equal(merged.hll.registers, whole.hll.registers)
    assert merged.n_inserted == whole.n_inserted == 30_000
    with pytest.raises(ValueError, match="cannot merge"):
        merged.merge(BloomFilter.create(10, 1e-8, HASH_ID))


def test_save_load_round_trip(tmp_path):
    h1, h2 = random_hashes(5000, 5)
    f = BloomFilter.create(5000, 1e-8, HASH_ID, meta={"n": 8})
    f.add_hashes(h1, h2)
    path = str(tmp_path / "f.bloom")
    f.save(path)
    g = BloomFilter.load(path, expected_hash_id=HASH_ID)
    assert (g.m, g.k, g.hash_id, g.n_inserted, g.meta) == (f.m, f.k, f.hash_id, 5000, {"n": 8})
    assert np.array_equal(g.bits, f.bits)
    assert g.distinct_estimate() == f.distinct_estimate()
    assert g.contains_hashes(h1, h2).all()
    assert g.to_bytes() == f.to_bytes()


def test_load_refuses_other_hash_corruption_and_garbage(tmp_path):
    f = BloomFilter.create(1000, 1e-8, HASH_ID)
    f.add_hashes(*random_hashes(1000, 6))
    path = tmp_path / "f.bloom"
    f.save(str(path))
    with pytest.raises(BloomFileError, match="hash id"):
        BloomFilter.load(str(path), expected_hash_id="some-other-hash")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    (tmp_path / "bad.bloom").write_bytes(bytes(data))
    with pytest.raises(BloomFileError, match="checksum"):
        BloomFilter.load(str(tmp_path / "bad.bloom"))
    (tmp_path / "short.bloom").write_bytes(path.read_bytes()[:-100])
    with pytest.raises(BloomFileError, match="checksum"):
        BloomFilter.load(str(tmp_path / "short.bloom"))
    (tmp_path / "junk.bloom").write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(BloomFileError, match="magic"):
        BloomFilter.load(str(tmp_path / "junk.bloom"))


# ---------------------------------------------------------------- partitions, HLL, self-check
def test_partitioned_build_matches_single_and_each_part_is_smaller(tmp_path, shared_data):
    text = (shared_data / "corpora" / "lee-news-background.txt").read_text(encoding="utf-8")
    docs = text.splitlines()
    single = build_bloom(lambda: docs, str(tmp_path / "one"), n=8, fpr=1e-8)
    split = build_bloom(lambda: docs, str(tmp_path / "four"), n=8, fpr=1e-8, partitions=4)
    assert split["partitions"] == 4 and len(list((tmp_path / "four").glob("part-*.bloom"))) == 4
    one, four = open_bloom(str(tmp_path / "one")), open_bloom(str(tmp_path / "four"))
    h1, h2, _ = NgramHasher().hash_texts(docs, 8)
    assert one.contains_hashes(h1, h2).all() and four.contains_hashes(h1, h2).all()
    total = sum(max(0, len(words(d)) - 7) for d in docs)
    assert single["n_inserted"] == split["n_inserted"] == total
    # every key went to exactly the partition its h2 prefix names
    part = partition_of(h2, 4)
    for i in range(4):
        assert four.load_part(i).n_inserted == int((part == i).sum())
    # each part is sized for its share (the mean plus 4 sigma); this corpus is small enough that the
    # double-hashing floor sizes them (m ~ sqrt(n)), so a quarter of the n-grams takes half the bits
    share = partition_capacity(total, 4)
    assert [p["m"] for p in split["parts"]] == [bloom_size(share, 1e-8)[0]] * 4
    assert max(p["m"] for p in split["parts"]) < single["bits"] / 1.9
    # at a real corpus's size the formula sizes them: a quarter of the n-grams, under a third of the bits
    assert bloom_size(partition_capacity(10**8, 4), 1e-8)[0] < bloom_size(10**8, 1e-8)[0] / 3
    q1, q2 = random_hashes(200_000, 7)
    assert int(four.contains_hashes(q1, q2).sum()) <= 1


def test_hyperloglog_estimates_distinct_count():
    h1, h2 = random_hashes(100_000, 8)
    hll = HyperLogLog(14)
    hll.add_hashes(np.concatenate([h1, h1[:50_000]]), np.concatenate([h2, h2[:50_000]]))
    assert abs(hll.estimate() - 100_000) / 100_000 < 0.03
    small = HyperLogLog(14)
    small.add_hashes(h1[:500], h2[:500])
    assert abs(small.estimate() - 500) < 15


def test_self_check_measures_the_false_positive_rate(shared_data):
    text = (shared_data / "corpora" / "tinyshakespeare.txt").read_text(encoding="utf-8")
    docs = [p for p in re.split(r"\n\n+", text) if p.strip()]
    loose = build_bloom(lambda: docs, None, n=8, fpr=1e-3)[0]
    check = self_check(loose, queries=200_000, n=8)
    assert 0.5e-3 <= check["empirical_fpr"] <= 1.6e-3
    tight = build_bloom(lambda: docs, None, n=8, fpr=1e-8)[0]
    # expected 0.002 false positives in 200k queries at 1e-8
    assert self_check(tight, queries=200_000, n=8)["false_positives"] <= 1


def test_id_rows_hash_like_words():
    vocab = ["alpha", "beta", "gamma", "delta", "eps"]
    rows = np.array([[0, 1, 2], [4, 4, 3], [2, 1, 0]])
    h1, h2 = NgramHasher().hash_id_rows(vocab, rows)
    for r, a, b in zip(rows, h1.tolist(), h2.tolist()):
        assert (a, b) == _reference_hash([vocab[i] for i in r])


def test_filter_pickles_without_work_buffers():
    import pickle

    f = BloomFilter.create(1000, 1e-8, HASH_ID)
    h1, h2 = random_hashes(1000, 9)
    f.add_hashes(h1, h2)
    g = pickle.loads(pickle.dumps(f))
    assert "_buf" not in g.__dict__ and np.array_equal(g.bits, f.bits)
    assert g.contains_hashes(h1, h2).all()


def test_large_batches_hash_like_small_ones(shared_data):
    # batches of >= 4096 words take the Arrow dictionary-encoding path; < 4096 the set path
    ws = words((shared_data / "corpora" / "lee-news-background.txt").read_text(encoding="utf-8"))[:20_000]
    big1, big2 = NgramHasher().hash_words(ws, 8)
    small = NgramHasher()
    parts = [small.hash_words(ws[i:i + 3000 + 7], 8) for i in range(0, len(ws) - 7, 3000)]
    assert np.array_equal(big1, np.concatenate([p[0] for p in parts]))
    assert np.array_equal(big2, np.concatenate([p[1] for p in parts]))
    for i in (0, 777, len(big1) - 1):
        assert (int(big1[i]), int(big2[i])) == _reference_hash(ws[i:i + 8])


def test_words_that_are_not_utf8_still_hash():
    ws = ["ok", "bad\udcff"] * 3000  # a lone surrogate (surrogateescape-decoded byte)
    h1, _ = NgramHasher().hash_words(ws, 2)
    assert len(h1) == len(ws) - 1 and h1[0] == h1[2] and h1[0] != h1[1]
