"""GPT-2 parity: our encoder on GPT-2's own files against tiktoken, HF tokenizers and a plain
re-statement of GPT-2's encoder.py algorithm, all built offline from the same two files."""

from __future__ import annotations

import json
import shutil

import pytest
import regex

from bpe.byte_level import GPT2_PATTERN, bytes_to_unicode, pretokenize, pretokenize_bytes, token_to_bytes
from bpe.encoder import Encoder, ranks_follow_merges
from bpe.tokenizer_files import load_bpe_files

HARD_CASES = [
    # whitespace runs and the space exception
    "a   b", "   leading spaces", "trailing spaces   ", "\t\ttabs\tand\tmore", "\n\n\nthree newlines",
    "mixed \t\n whitespace \r\n runs", "  \n  ", " ", "", "word\n", "x  \n\n  y",
    # contractions (lower case only in GPT-2's pattern)
    "don't", "I'll we've they're it's I'd I'm", "DON'T SHOUT'S", "rock 'n' roll", "'s's's", "O'Neill's",
    # emoji and symbols
    "😀", "👨\u200d👩\u200d👧\u200d👦 family", "🇫🇷 flag", "∑∫√ ≤≥ ±", "€100 £5 ¥30", "<|endoftext|>",
    # CJK and other scripts
    "日本語のテキスト", "中文分词测试，标点。", "한국어 텍스트", "Привет, мир!", "Ёлка и ёж", "Ελληνικά γράμματα",
    "שלום עולם", "مرحبا بالعالم", "नमस्ते दुनिया", "e\u0301 combining", "ǅungla",
    # digits
    "1234567890", "3.14159 2.71828", "2026-11-22T23:59:59Z", "１２３ fullwidth", "٣٤٥ arabic-indic", "x²+y³",
    # control and invisible characters
    "\x00\x01\x02\x03", "a\x7fb", "\x1b[31mred\x1b[0m", "a\u00a0b nbsp", "\u3000ideographic space",
    "\u0085next line", "zero\u200bwidth", "\ufeffbom", "soft\u00adhyphen",
    # text-ish
    "https://example.com/path?q=1&x=2#frag", "def f(x):\n    return x ** 2\n", "a" * 200,
    "indivisibilities" * 5, "Ġ already byte-level", "hello world", " hello world",
]


def _ref_bytes_to_unicode() -> dict[int, str]:
    # written out from GPT-2's description: printable Latin-1 maps to itself, the rest from U+0100 on
    keep = set(range(33, 127)) | set(range(161, 173)) | set(range(174, 256))
    out, n = {}, 0
    for b in range(256):
        if b in keep:
            out[b] = chr(b)
        else:
            out[b] = chr(256 + n)
            n += 1
    return out


class ReferenceGPT2:
    """GPT-2's encoder.py algorithm restated: regex split, then repeatedly merge every
    occurrence of the best-ranked (lowest merge index) adjacent pair."""

    def __init__(self, folder):
        self.encoder = json.loads((folder / "encoder.json").read_text(encoding="utf-8"))
        lines = (folder / "vocab.bpe").read_text(encoding="utf-8").split("\n")[1:]
        self.ranks = {tuple(l.split()): i for i, l in enumerate(lines) if l}
        self.b2u = _ref_bytes_to_unicode()
        self.pat = regex.compile(GPT2_PATTERN)
        self.cache: dict[str, list[str]] = {}

    def bpe(self, token: str) -> list[str]:
        if token in self.cache:
            return self.cache[token]
        word = list(token)
        while len(word) > 1:
            pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            merged, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and (word[i], word[i + 1]) == best:
                    merged.append(word[i] + word[i + 1])
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = merged
        self.cache[token] = word
        return word

    def encode(self, text: str) -> list[int]:
        ids = []
        for piece in self.pat.findall(text):
            spelled = "".join(self.b2u[b] for b in piece.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self.bpe(spelled))
        return ids


@pytest.fixture(scope="module")
def gpt2_dir(shared_data):
    d = shared_data / "gpt2-bpe"
    if not (d / "encoder.json").exists():
        pytest.skip(f"GPT-2 BPE files not found in {d}")
    return d


@pytest.fixture(scope="module")
def tiktoken_gpt2(gpt2_dir):
    import os

    import tiktoken
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks
    from tiktoken_ext.openai_public import r50k_pat_str

    old = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = ""  # read the local files, cache nothing
    try:
        ranks = data_gym_to_mergeable_bpe_ranks(str(gpt2_dir / "vocab.bpe"), str(gpt2_dir / "encoder.json"))
    finally:
        if old is None:
            del os.environ["TIKTOKEN_CACHE_DIR"]
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = old
    return tiktoken.Encoding("gpt2-offline", pat_str=r50k_pat_str, mergeable_ranks=ranks,
                             special_tokens={"<|endoftext|>": 50256}, explicit_n_vocab=50257)


@pytest.fixture(scope="module")
def ours(gpt2_dir):
    return Encoder.from_dir(str(gpt2_dir))


@pytest.fixture(scope="module")
def ours_hf(gpt2_dir):
    return Encoder.from_dir(str(gpt2_dir), backend="hf")


@pytest.fixture(scope="module")
def reference(gpt2_dir):
    return ReferenceGPT2(gpt2_dir)


def test_byte_level_alphabet_matches_gpt2():
    table = bytes_to_unicode()
    assert table == _ref_bytes_to_unicode()
    assert len(set(table.values())) == 256
    assert table[ord(" ")] == "Ġ" and table[ord("\n")] == "Ċ" and table[0] == "Ā" and table[ord("A")] == "A"
    assert token_to_bytes("ĠhelloĊ") == b" hello\n"


def test_pretokenizer_space_exception_and_categories():
    assert pretokenize("a   b") == ["a", "  ", " b"]
    assert pretokenize("don't stop") == ["don", "'t", " stop"]
    assert pretokenize("abc123def!!") == ["abc", "123", "def", "!!"]
    assert pretokenize("Hi  \n") == ["Hi", "  \n"]
    assert pretokenize("hello") != pretokenize(" hello")  # no prefix space is added


def test_pretokenize_bytes_is_lossless_on_invalid_utf8():
    data = b"ok \xff\xfe caf\xc3\xa9 \xed\xa0\x80 end\x80"
    pieces = pretokenize_bytes(data)
    assert b"".join(pieces) == data
    assert pretokenize_bytes("café au lait".encode()) == [p.encode() for p in pretokenize("café au lait")]


def test_files_load_with_gpt2_layout(gpt2_dir, ours):
    files = load_bpe_files(str(gpt2_dir))
    assert len(files.merges) == 50000
    assert files.special_tokens == {"<|endoftext|>": 50256}
    assert files.vocab_size == 50257
    assert ranks_follow_merges(files)
    assert ours.backend == "tiktoken" and ours.eot_id == 50256


@pytest.mark.parametrize("text,ids", [
    ("hello world", [31373, 995]),
    ("This is some text", [1212, 318, 617, 2420]),
    ("indivisible", [521, 452, 12843]),
])
def test_known_gpt2_ids(ours, ours_hf, reference, text, ids):
    assert ours.encode(text) == ids
    assert ours_hf.encode(text) == ids
    assert reference.encode(text) == ids


def test_hard_cases_match_tiktoken_hf_and_reference(ours, ours_hf, reference, tiktoken_gpt2):
    assert len(HARD_CASES) >= 30
    mismatches = []
    for text in HARD_CASES:
        want = tiktoken_gpt2.encode_ordinary(text)
        got = {"ours": ours.encode(text), "hf": ours_hf.encode(text), "reference": reference.encode(text),
               "bytes": ours.encode_bytes(text.encode("utf-8"))}
        for name, ids in got.items():
            if ids != want:
                mismatches.append((text, name, ids, want))
        assert ours.decode(want) == text
    assert not mismatches, mismatches[:5]


def test_batch_and_documents_match_one_by_one(ours, ours_hf, tiktoken_gpt2):
    texts = HARD_CASES * 3
    want = [tiktoken_gpt2.encode_ordinary(t) for t in texts]
    assert ours.encode_batch(texts) == want
    assert ours_hf.encode_batch(texts) == want
    flat = []
    for ids in want:
        flat += [50256] + ids
    assert ours.encode_documents(texts).tolist() == flat
    assert ours_hf.encode_documents(texts).tolist() == flat


def test_literal_special_token_in_text_is_ordinary_text(ours, ours_hf):
    ids = ours.encode("a <|endoftext|> b")
    assert 50256 not in ids and ours.decode(ids) == "a <|endoftext|> b"
    assert ours_hf.encode("a <|endoftext|> b") == ids
    docs = ours.encode_documents(["x", "y <|endoftext|>"]).tolist()
    assert docs.count(50256) == 2  # only the two separators


def test_invalid_utf8_bytes_round_trip(ours, ours_hf):
    import random

    from bpe.encoder import _bpe_bytes

    long_run = b"\xff" * 50_000 + b" ok " + b"\x80\x81" * 10_000  # one long pre-token of invalid bytes
    for enc in (ours, ours_hf):
        assert enc.decode_bytes(enc.encode_bytes(long_run)) == long_run
    rng = random.Random(7)
    for _ in range(200):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
        for enc in (ours, ours_hf):
            ids = enc.encode_bytes(data)
            assert enc.decode_bytes(ids) == data
            assert all(0 <= i < 50256 for i in ids)
        # tiktoken's and HF's merge loops agree with the plain rank rule on every piece
        want = [i for p in pretokenize_bytes(data) for i in _bpe_bytes(p, ours._ranks)]
        assert ours.encode_bytes(data) == want == ours_hf.encode_bytes(data)


def test_invalid_bytes_leave_the_valid_text_around_them_encoded_as_gpt2_does(ours, ours_hf, tiktoken_gpt2):
    # (a whitespace run just before the invalid byte would split as before any symbol, so none here)
    for text in ["hello world", "This is some text", "日本語 and Привет", "don't   stop"]:
        want = tiktoken_gpt2.encode_ordinary(text)
        for enc in (ours, ours_hf):
            ids = enc.encode_bytes(text.encode() + b"\xff")
            assert ids[: len(want)] == want and enc.decode_bytes(ids[len(want):]) == b"\xff"
            ids = enc.encode_bytes(b"\x80" + text.encode())
            assert enc.decode_bytes(ids[:1]) == b"\x80" and ids[1:] == want


def test_folder_with_standard_names_loads_the_same(gpt2_dir, tmp_path, ours):
    shutil.copy(gpt2_dir / "encoder.json", tmp_path / "vocab.json")
    shutil.copy(gpt2_dir / "vocab.bpe", tmp_path / "merges.txt")
    again = Encoder.from_dir(str(tmp_path))
    assert again.encode("Hello, world! 123") == ours.encode("Hello, world! 123")


def test_tokenizer_json_maps_a_literal_special_token_where_webtext_does_not(gpt2_dir, ours, tiktoken_gpt2, tmp_path):
    """The one exception to "identical ids" that docs/stages/tokenize.md states: HF matches the added
    special token in the text; webtext, tiktoken's encode_ordinary and HF with split_special_tokens do not."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    from bpe.tokenizer_files import export_tokenizer_dir

    export_tokenizer_dir(str(gpt2_dir), str(tmp_path))  # as the tokenize stage writes RUN/tokenizer
    text = "a <|endoftext|> b"
    webtext, special = [64, 1279, 91, 437, 1659, 5239, 91, 29, 275], [64, 220, 50256, 275]
    assert ours.encode(text) == webtext
    assert Tokenizer.from_file(str(tmp_path / "tokenizer.json")).encode(text).ids == special
    fast = PreTrainedTokenizerFast(tokenizer_file=str(tmp_path / "tokenizer.json"))
    assert fast.encode(text, add_special_tokens=False) == special
    assert fast.encode(text, add_special_tokens=False, split_special_tokens=True) == webtext
    assert tiktoken_gpt2.encode_ordinary(text) == webtext
    assert tiktoken_gpt2.encode(text, allowed_special="all") == special
    with pytest.raises(ValueError, match="disallowed special token"):
        tiktoken_gpt2.encode(text)
