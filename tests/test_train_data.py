"""The shard loader: windows, determinism, epochs, rank disjointness, resume, bad headers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bpe.shards import HEADER_BYTES, ShardFormatError, write_shard
from training_bridge.data import ShardLoader, split_shards

T = 16


@pytest.fixture
def shards(tmp_path):
    """Two shards whose token at each position is its global index, so a token names its place."""
    a = np.arange(0, 1001)
    b = np.arange(1001, 2502)
    pa, pb = str(tmp_path / "train_a.bin"), str(tmp_path / "train_b.bin")
    write_shard(pa, a, 4096)
    write_shard(pb, b, 4096)
    return [pa, pb], (a, b)


def expected_window_starts(arrays) -> list[int]:
    """Every window's first token: shards cut every T tokens, each window needs T+1 tokens."""
    starts = []
    for arr in arrays:
        i = 0
        while i + T + 1 <= len(arr):
            starts.append(int(arr[i]))
            i += T
    return starts


def epoch_starts(loader: ShardLoader) -> list[int]:
    out = []
    for _ in range(loader.batches_per_epoch):
        x, _ = loader.next_batch()
        out.extend(int(v) for v in x[:, 0])
    return out


def test_split_shards_takes_the_first_name_for_validation(tmp_path):
    for name in ("tokens_000002.bin", "tokens_000000.bin", "tokens_000001.bin"):
        write_shard(str(tmp_path / name), np.arange(10), 50257)
    (tmp_path / "notes.txt").write_text("not a shard")
    val, train = split_shards(str(tmp_path))
    assert [p.rsplit("/", 1)[1] for p in val] == ["tokens_000000.bin"]
    assert [p.rsplit("/", 1)[1] for p in train] == ["tokens_000001.bin", "tokens_000002.bin"]


def test_split_shards_follows_llm_c_val_and_train_names(tmp_path):
    # "webtext_train_..." sorts before "webtext_val_...": the names, not the order, decide
    for name in ("webtext_train_000001.bin", "webtext_train_000002.bin", "webtext_val_000000.bin"):
        write_shard(str(tmp_path / name), np.arange(10), 50257)
    val, train = split_shards(str(tmp_path))
    assert [p.rsplit("/", 1)[1] for p in val] == ["webtext_val_000000.bin"]
    assert [p.rsplit("/", 1)[1] for p in train] == ["webtext_train_000001.bin", "webtext_train_000002.bin"]


def test_split_shards_refuses_train_shards_without_a_validation_shard(tmp_path):
    for name in ("webtext_train_000001.bin", "webtext_train_000002.bin"):
        write_shard(str(tmp_path / name), np.arange(10), 50257)
    with pytest.raises(ValueError, match="no validation shard"):
        split_shards(str(tmp_path))


def test_split_shards_needs_a_validation_and_a_training_shard(tmp_path):
    write_shard(str(tmp_path / "only.bin"), np.arange(10), 50257)
    with pytest.raises(ValueError, match="need at least 2"):
        split_shards(str(tmp_path))


def test_windows_are_inputs_and_next_token_targets(shards):
    paths, arrays = shards
    loader = ShardLoader(paths, 4, T, shuffle=True, seed=1)
    for _ in range(5):
        x, y = loader.next_batch()
        assert x.shape == y.shape == (4, T) and x.dtype == torch.long
        for row_x, row_y in zip(x, y):
            first = int(row_x[0])
            assert row_x.tolist() == list(range(first, first + T))  # one contiguous run of a shard
            assert row_y.tolist() == list(range(first + 1, first + T + 1))


def test_an_epoch_reads_every_window_once_in_a_seeded_order(shards):
    paths, arrays = shards
    want = expected_window_starts(arrays)
    assert len(want) == 62 + 93
    loader = ShardLoader(paths, 5, T, shuffle=True, seed=7)
    got = epoch_starts(loader)
    assert len(got) == len(set(got)) == (len(want) // 5) * 5
    assert set(got) <= set(want)
    assert got != sorted(got)  # shuffled
    again = epoch_starts(ShardLoader(paths, 5, T, shuffle=True, seed=7))
    other = epoch_starts(ShardLoader(paths, 5, T, shuffle=True, seed=8))
    assert again == got
    assert other != got
    next_epoch = epoch_starts(loader)  # epoch 1 has a different order of the same windows
    assert next_epoch != got and len(set(next_epoch) & set(want)) == len(next_epoch)


def test_sequential_mode_reads_in_shard_order(shards):
    paths, arrays = shards
    loader = ShardLoader(paths, 5, T, shuffle=False)
    got = epoch_starts(loader)
    want = expected_window_starts(arrays)
    assert got == want[: len(got)]


@pytest.mark.parametrize("shuffle", [True, False])
def test_ranks_read_disjoint_windows_that_together_cover_the_epoch(shards, shuffle):
    paths, arrays = shards
    world = 3
    per_rank = [epoch_starts(ShardLoader(paths, 4, T, shuffle=shuffle, seed=3, rank=r, world_size=world))
                for r in range(world)]
    sets = [set(s) for s in per_rank]
    for i in range(world):
        for j in range(i + 1, world):
            assert not sets[i] & sets[j]
    single = ShardLoader(paths, 4 * world, T, shuffle=shuffle, seed=3)
    assert set().union(*sets) == set(epoch_starts(single))  # same windows as one process with B*world


def test_state_dict_resumes_the_exact_sequence(shards):
    paths, _ = shards
    a = ShardLoader(paths, 6, T, seed=11)
    for _ in range(30):  # crosses an epoch boundary (25 batches per epoch)
        a.next_batch()
    state = a.state_dict()
    rest = [a.next_batch()[0] for _ in range(10)]
    b = ShardLoader(paths, 6, T, seed=11)
    b.load_state_dict(state)
    assert state["epoch"] == 1
    for want in rest:
        assert torch.equal(b.next_batch()[0], want)


def test_too_few_tokens_for_one_global_batch_is_an_error(tmp_path):
    p = str(tmp_path / "small.bin")
    write_shard(p, np.arange(40), 100)
    with pytest.raises(ValueError, match="one global batch needs 8"):
        ShardLoader(p, 4, T, world_size=2)


def test_token_ids_beyond_the_model_vocabulary_are_refused(tmp_path):
    p = str(tmp_path / "big_ids.bin")
    write_shard(p, np.full(200, 900), 1000)
    with pytest.raises(ValueError, match="vocab_size 512"):
        ShardLoader(p, 2, T, vocab_size=512).next_batch()


def _header(magic: int, version: int, n: int) -> bytes:
    h = np.zeros(256, dtype="<i4")
    h[:3] = (magic, version, n)
    return h.tobytes()


@pytest.mark.parametrize("content,match", [
    (_header(12345, 1, 10) + np.arange(10, dtype="<u2").tobytes(), "bad magic"),
    (_header(20240520, 7, 10) + np.arange(10, dtype="<u2").tobytes(), "needs version 1"),
    (_header(20240520, 1, 100) + np.arange(10, dtype="<u2").tobytes(), "header says 100 tokens"),
    (b"\x00" * (HEADER_BYTES - 4), "shorter than"),
])
def test_bad_shard_headers_are_rejected(tmp_path, content, match):
    good = str(tmp_path / "good.bin")
    write_shard(good, np.arange(500), 1000)
    bad = tmp_path / "bad.bin"
    bad.write_bytes(content)
    with pytest.raises(ShardFormatError, match=match):
        ShardLoader([good, str(bad)], 2, T)
