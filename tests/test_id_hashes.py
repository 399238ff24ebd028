"""Compact id sets (sorted 64-bit hashes) and the dedup stage's combiner that builds them."""

from __future__ import annotations

import random

import numpy as np

from corpus_tools.id_hashes import contains, id_hash64, sorted_hashes
from corpus_tools.schema import make_doc_id
from pipelines.stages.dedup import HashSetFn


def test_membership_is_exact_for_the_ids_put_in():
    ids = [make_doc_id(f"http://x/{i}", "t") for i in range(5000)]
    table = sorted_hashes(id_hash64(i) for i in ids[:2500])
    assert table.dtype == np.uint64 and len(table) == 2500 and np.all(table[1:] > table[:-1])
    assert all(contains(table, i) for i in ids[:2500])
    assert not any(contains(table, i) for i in ids[2500:])  # 2500 absent ids: no hash collision
    assert not contains(sorted_hashes([]), ids[0])
    assert id_hash64("abc") == id_hash64("abc") != id_hash64("abd")
    assert id_hash64("abc") == 0x5995D533D814BBD8  # blake2b, 8 bytes, little-endian: the same everywhere


def test_combiner_over_partial_accumulators_gives_the_distinct_sorted_hashes():
    rng = random.Random(4)
    hashes = [rng.randrange(2**64) for _ in range(3000)] * 2  # every hash twice
    rng.shuffle(hashes)
    fn = HashSetFn()
    fn.BUFFER = 100  # compact often, as a large input would
    accs = []
    for k in range(5):  # five workers, each a part of the input
        acc = fn.create_accumulator()
        for h in hashes[k::5]:
            acc = fn.add_input(acc, h)
        accs.append(acc)
    merged = fn.merge_accumulators([fn.merge_accumulators(accs[:2]), fn.merge_accumulators(accs[2:])])
    out = fn.extract_output(merged)
    assert out.dtype == np.uint64 and out.tolist() == sorted(set(hashes))
    assert fn.extract_output(fn.create_accumulator()).tolist() == []
