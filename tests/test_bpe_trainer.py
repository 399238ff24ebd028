"""A tokenizer trained on the shared corpora: GPT-2 file layout, loads in tokenizers,
transformers and tiktoken with identical ids, and round-trips every document."""

from __future__ import annotations

import json
import os

import pytest

from bpe.encoder import Encoder
from bpe.text_source import iter_texts
from bpe.tokenizer_files import load_bpe_files
from bpe.trainer import train_bpe, train_to_dir


@pytest.fixture(scope="module")
def corpus(shared_data):
    texts = list(iter_texts(shared_data / "corpora"))
    assert len(texts) > 1000
    return texts


@pytest.fixture(scope="module")
def trained(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("tok")
    files = train_to_dir(iter(corpus), str(out), vocab_size=50257, length=len(corpus))
    return out, files


def test_files_have_gpt2_layout(trained):
    out, files = trained
    assert sorted(os.listdir(out)) == ["merges.txt", "tokenizer.json", "vocab.json"]
    lines = (out / "merges.txt").read_text(encoding="utf-8").split("\n")
    assert lines[0] == "#version: 0.2" and lines[-1] == ""
    vocab = json.loads((out / "vocab.json").read_text(encoding="utf-8"))
    n_merges = len(lines) - 2
    assert n_merges > 10000
    # 256 byte symbols, then one token per merge in merge order, then <|endoftext|> last
    assert len(vocab) == 256 + n_merges + 1
    assert vocab["<|endoftext|>"] == len(vocab) - 1
    assert sorted(vocab.values()) == list(range(len(vocab)))
    first = lines[1].split(" ")
    assert vocab[first[0] + first[1]] == 256
    assert vocab["Ġ"] == 220 and vocab["Ā"] == 188 and vocab["!"] == 0  # GPT-2's ids for " ", b"\\x00", "!"
    assert load_bpe_files(str(out)).special_tokens == {"<|endoftext|>": len(vocab) - 1}


def test_loads_everywhere_with_identical_ids_and_round_trips(trained, corpus):
    import tiktoken
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks
    from tiktoken_ext.openai_public import r50k_pat_str
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    out, files = trained
    os.environ["TIKTOKEN_CACHE_DIR"] = ""
    ranks = data_gym_to_mergeable_bpe_ranks(str(out / "merges.txt"), str(out / "vocab.json"))
    eot = files.vocab["<|endoftext|>"]
    tt = tiktoken.Encoding("trained", pat_str=r50k_pat_str, mergeable_ranks=ranks, special_tokens={"<|endoftext|>": eot})
    hf = Tokenizer.from_file(str(out / "tokenizer.json"))
    fast = PreTrainedTokenizerFast(tokenizer_file=str(out / "tokenizer.json"))
    ours = Encoder.from_dir(str(out))
    ours_hf = Encoder.from_dir(str(out), backend="hf")
    assert ours.backend == "tiktoken"

    want = tt.encode_ordinary_batch(corpus, num_threads=2)
    assert [e.ids for e in hf.encode_batch(corpus, add_special_tokens=False)] == want
    assert ours.encode_batch(corpus) == want
    sample = corpus[::50]
    assert ours_hf.encode_batch(sample) == want[::50]
    assert [fast.encode(t, add_special_tokens=False) for t in sample] == want[::50]
    assert fast.convert_tokens_to_ids("<|endoftext|>") == eot
    assert hf.encode("<|endoftext|>").ids == [eot]
    bad = [i for i, (t, ids) in enumerate(zip(corpus, want)) if ours.decode(ids) != t]
    assert not bad
    assert all(hf.decode(ids) == t for t, ids in zip(sample, want[::50]))
    assert ours.decode_bytes(ours.encode_bytes(b"\xff\xfe\x00 caf\xc3\xa9 \x80\x80 end")) == b"\xff\xfe\x00 caf\xc3\xa9 \x80\x80 end"


def test_arbitrary_bytes_round_trip_with_trained_vocabulary(trained):
    import random

    out, _ = trained
    enc = Encoder.from_dir(str(out))
    rng = random.Random(3)
    for _ in range(300):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 80)))
        assert enc.decode_bytes(enc.encode_bytes(data)) == data


def test_small_vocab_extra_special_tokens_and_determinism(corpus, tmp_path):
    texts = corpus[-400:]  # plain-text lines (the Wikipedia pages come first)
    a = train_to_dir(iter(texts), str(tmp_path / "a"), vocab_size=600, special_tokens=["<|endoftext|>", "<|pad|>"])
    train_to_dir(iter(texts), str(tmp_path / "b"), vocab_size=600, special_tokens=["<|endoftext|>", "<|pad|>"])
    assert a.special_tokens == {"<|endoftext|>": 598, "<|pad|>": 599}
    assert len(a.merges) == 600 - 256 - 2
    for name in ("vocab.json", "merges.txt", "tokenizer.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    enc = Encoder.from_dir(str(tmp_path / "a"))
    assert enc.eot_id == 598 and enc.vocab_size == 600
    assert max(max(ids) for ids in enc.encode_batch(texts)) < 598
    assert "<|pad|>" in enc.decode(enc.encode("x <|pad|> y"))


def test_vocab_size_below_byte_alphabet_is_refused():
    with pytest.raises(ValueError, match="256"):
        train_bpe(iter(["abc"]), vocab_size=200)
