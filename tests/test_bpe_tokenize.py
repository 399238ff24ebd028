"""Documents → llm.c shards: round trip, header validation, seeded validation split."""

from __future__ import annotations

import hashlib
import os
import random

import numpy as np
import pytest

from bpe.encoder import Encoder
from bpe.shards import HEADER_BYTES, MAGIC_U16, MAGIC_U32, ShardFormatError, ShardWriter, read_header, read_shard
from bpe.text_source import iter_documents
from bpe.tokenize_docs import read_manifest, tokenize_documents
from corpus_tools.schema import make_doc_id, new_document
from corpus_tools.shards import write_records


@pytest.fixture(scope="module")
def gpt2(shared_data):
    return Encoder.from_dir(str(shared_data / "gpt2-bpe"))


@pytest.fixture(scope="module")
def docs_dir(shared_data, tmp_path_factory):
    """Real Parquet shards in the document schema: lee news articles + Shakespeare paragraphs."""
    lines = (shared_data / "corpora" / "lee-news-background.txt").read_text(encoding="utf-8").splitlines()
    paras = (shared_data / "corpora" / "tinyshakespeare.txt").read_text(encoding="utf-8").split("\n\n")[:800]
    texts = [t for t in lines + paras if t.strip()] + ["has a literal <|endoftext|> inside", "emoji 😀 and 日本語"]
    out = tmp_path_factory.mktemp("docs")
    recs = [new_document(id=make_doc_id(f"u{i}", t), url=f"u{i}", text=t) for i, t in enumerate(texts)]
    write_records(recs[: len(recs) // 2], str(out / "part-00000-of-00002.parquet"))
    write_records(recs[len(recs) // 2 :], str(out / "part-00001-of-00002.parquet"))
    return out, recs


def _split_docs(tokens: np.ndarray, eot: int) -> list[np.ndarray]:
    t = np.asarray(tokens, dtype=np.int64)
    starts = np.flatnonzero(t == eot)
    assert starts.size == 0 or starts[0] == 0  # every document starts with <|endoftext|>
    bounds = list(starts) + [t.size]
    return [t[a + 1 : b] for a, b in zip(bounds, bounds[1:])]


def _my_split(doc_id: str, seed: int, frac: float) -> bool:
    # restated from the documented rule: keyed BLAKE2b-64 of the id, big-endian, / 2**64
    h = hashlib.blake2b(doc_id.encode(), digest_size=8, key=seed.to_bytes(8, "little")).digest()
    return int.from_bytes(h, "big") < frac * 2**64


def test_shards_round_trip_every_document(gpt2, docs_dir, tmp_path):
    folder, recs = docs_dir
    res = tokenize_documents(iter_documents(str(folder)), gpt2, str(tmp_path), shard_tokens=50_000,
                             val_fraction=0.05, seed=11)
    names = sorted(os.listdir(tmp_path))
    assert names[0] == "manifest.json" and "webtext_val_000000.bin" in names and "webtext_train_000001.bin" in names
    train_files = sorted(n for n in names if "_train_" in n)
    counts = [read_header(str(tmp_path / n))[2] for n in train_files]
    assert all(c == 50_000 for c in counts[:-1]) and 0 < counts[-1] <= 50_000
    assert read_header(str(tmp_path / train_files[0]))[0] == MAGIC_U16

    train = np.concatenate([read_shard(str(tmp_path / n)) for n in train_files])
    val = read_shard(str(tmp_path / "webtext_val_000000.bin"))
    want_val = [r["text"] for r in recs if _my_split(r["id"], 11, 0.05)]
    want_train = [r["text"] for r in recs if not _my_split(r["id"], 11, 0.05)]
    assert 0 < len(want_val) < len(recs) // 10
    assert [gpt2.decode(d) for d in _split_docs(val, 50256)] == want_val
    assert [gpt2.decode(d) for d in _split_docs(train, 50256)] == want_train
    # tokens are GPT-2's own ids for each document
    assert _split_docs(train, 50256)[0].tolist() == gpt2.encode(want_train[0])

    assert res.documents == len(recs) and res.val_documents == len(want_val)
    assert res.tokens == train.size + val.size and res.val_tokens == val.size
    total_bytes = sum(len(r["text"].encode()) for r in recs)
    assert res.bytes == total_bytes
    assert res.bytes_per_token == pytest.approx(total_bytes / (res.tokens - len(recs)))
    man = read_manifest(str(tmp_path))
    assert man["tokens"] == res.tokens and man["vocab_size"] == 50257 and man["eot_id"] == 50256
    assert [s["file"] for s in man["shards"]] == ["webtext_val_000000.bin"] + train_files


def test_output_is_byte_identical_across_runs_and_val_split_is_order_free(gpt2, docs_dir, tmp_path):
    folder, recs = docs_dir
    tokenize_documents(iter_documents(str(folder)), gpt2, str(tmp_path / "a"), shard_tokens=30_000, seed=5, val_fraction=0.1)
    tokenize_documents(iter_documents(str(folder)), gpt2, str(tmp_path / "b"), shard_tokens=30_000, seed=5, val_fraction=0.1)
    for name in os.listdir(tmp_path / "a"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    shuffled = [(r["id"], r["text"]) for r in recs]
    random.Random(0).shuffle(shuffled)
    tokenize_documents(iter(shuffled), gpt2, str(tmp_path / "c"), shard_tokens=30_000, seed=5, val_fraction=0.1)
    val_a = {gpt2.decode(d) for d in _split_docs(read_shard(str(tmp_path / "a" / "webtext_val_000000.bin")), 50256)}
    val_c = {gpt2.decode(d) for d in _split_docs(read_shard(str(tmp_path / "c" / "webtext_val_000000.bin")), 50256)}
    assert val_a == val_c and len(val_a) > 10
    tokenize_documents(iter(shuffled), gpt2, str(tmp_path / "d"), shard_tokens=30_000, seed=6, val_fraction=0.1)
    val_d = {gpt2.decode(d) for d in _split_docs(read_shard(str(tmp_path / "d" / "webtext_val_000000.bin")), 50256)}
    assert val_d != val_a  # another seed, another split


def test_header_validation(tmp_path):
    path = str(tmp_path / "s.bin")
    w = ShardWriter(str(tmp_path), "train", vocab_size=50257, shard_tokens=10, prefix="t")
    w.write(np.arange(25))
    paths = w.close()
    assert [read_header(p)[2] for p in paths] == [10, 10, 5]
    assert np.concatenate([read_shard(p) for p in paths]).tolist() == list(range(25))

    good = open(paths[0], "rb").read()

    def corrupt(offset: int, value: int) -> str:
        data = bytearray(good)
        data[offset : offset + 4] = np.int32(value).tobytes()
        with open(path, "wb") as fh:
            fh.write(data)
        return path

    with pytest.raises(ShardFormatError, match="magic"):
        read_shard(corrupt(0, 12345))
    with pytest.raises(ShardFormatError, match="version"):
        read_shard(corrupt(4, 2))
    with pytest.raises(ShardFormatError, match="tokens"):
        read_shard(corrupt(8, 11))
    with open(path, "wb") as fh:
        fh.write(good[:-1])
    with pytest.raises(ShardFormatError):
        read_shard(path)
    with open(path, "wb") as fh:
        fh.write(good[:100])
    with pytest.raises(ShardFormatError, match="shorter"):
        read_shard(path)


def test_large_vocabulary_uses_uint32_shards(tmp_path):
    w = ShardWriter(str(tmp_path), "train", vocab_size=100_000, shard_tokens=1000)
    w.write(np.array([0, 65_535, 65_536, 99_999]))
    (p,) = w.close()
    magic, version, n, dtype = read_header(p)
    assert (magic, version, n, dtype.itemsize) == (MAGIC_U32, 7, 4, 4)
    assert os.path.getsize(p) == HEADER_BYTES + 16
    assert read_shard(p).tolist() == [0, 65_535, 65_536, 99_999]
    with pytest.raises(ValueError):
        w2 = ShardWriter(str(tmp_path), "x", vocab_size=50257, shard_tokens=10)
        w2.write(np.array([50257]))


def test_text_sources(tmp_path):
    (tmp_path / "a.txt").write_text("one\n\ntwo\nthree\n", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text('{"text": "j1", "id": "x"}\n"j2"\n', encoding="utf-8")
    assert [t for _, t in iter_documents(str(tmp_path / "a.txt"))] == ["one", "two", "three"]
    assert [t for _, t in iter_documents(str(tmp_path / "a.txt"), text_docs="paragraph")] == ["one", "two\nthree"]
    assert [t for _, t in iter_documents(str(tmp_path / "a.txt"), text_docs="file")] == ["one\n\ntwo\nthree\n"]
    docs = list(iter_documents(str(tmp_path / "b.jsonl")))
    assert docs == [("x", "j1"), (make_doc_id(None, "j2"), "j2")]


def test_bad_records_go_to_on_bad_with_where_they_were(tmp_path):
    from bpe.text_source import BadRecordError

    txt = tmp_path / "a.txt"
    txt.write_bytes(b"one\r\ntwo \xc3\xa9\r\n\r\nbad \xe9 here\r\nfour\r\n\r\nfive\n")
    bad = []
    assert [t for _, t in iter_documents(str(txt), on_bad=bad.append)] == ["one", "two é", "four", "five"]
    assert [(b.source, b.offset, b.reason) for b in bad] == [(str(txt), 4, "not_utf8")]
    assert str(bad[0]) == f"{txt}:4: not UTF-8: byte 0xe9 at character 4"
    bad = []
    assert [t for _, t in iter_documents(str(txt), "paragraph", on_bad=bad.append)] == ["one\ntwo é", "five"]  # CRLF read as LF
    assert [(b.offset, b.reason) for b in bad] == [(4, "not_utf8")]  # the paragraph's first bad byte
    bad = []
    assert list(iter_documents(str(txt), "file", on_bad=bad.append)) == [] and [b.offset for b in bad] == [4]
    with pytest.raises(BadRecordError, match=f"{txt}:4: not UTF-8"):  # no on_bad: raised, never skipped
        list(iter_documents(str(txt)))

    jl = tmp_path / "b.jsonl"
    jl.write_bytes(b'"s1"\n{"text": null}\n{"id": "x"}\n{"text": ["l"]}\n7\n{nope\n{"text": "\xff"}\n{"text": "ok", "id": "i"}\n')
    bad = []
    assert list(iter_documents(str(jl), on_bad=bad.append)) == [(make_doc_id(None, "s1"), "s1"), ("i", "ok")]
    assert [(b.offset, b.reason) for b in bad] == [(2, "missing_text"), (3, "missing_text"), (4, "bad_text"),
                                                   (5, "missing_text"), (6, "not_json"), (7, "not_utf8")]


def test_iter_ids_are_the_ids_of_the_documents(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from bpe.text_source import iter_ids

    n = 5000  # two row groups of 4096: the first clean (its ids read alone), the second not
    ids = [f"{i:032x}" for i in range(n)]
    texts = [f"document {i}" for i in range(n)]
    ids[4500], texts[4600], ids[4700] = None, None, ""
    path = str(tmp_path / "d.parquet")
    pq.write_table(pa.table({"id": ids, "text": texts}), path, row_group_size=4096)
    # a missing id is made from the text, as iter_documents does; the row without a text is no document
    expected = [i or make_doc_id(None, t) for i, t in zip(ids, texts) if t is not None]
    assert list(iter_ids(path)) == expected
    bad = []
    assert [i for i, _ in iter_documents(path, on_bad=bad.append)] == expected
    assert [(b.offset, b.reason, b.unit) for b in bad] == [(4600, "missing_text", "row")]
