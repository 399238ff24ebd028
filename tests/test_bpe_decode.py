"""`webtext bpe decode`: token shards back to text, end to end through the CLI on real files."""

from __future__ import annotations

import json
import shutil

import pytest

from bpe.byte_level import ENDOFTEXT
from pipelines.webtext import main

SPECIAL = ["Two lines\nand a tab\there.", f"A literal {ENDOFTEXT} inside a document stays text.",
           "Unicode: café, 中文, emoji 🙂, combining é.", "  leading and trailing spaces  "]


def cli(*args) -> int:
    return main([str(a) for a in args])


def _error_line(capsys, command: str) -> str:
    err = capsys.readouterr().err.strip()
    lines = [ln for ln in err.splitlines() if not (ln.startswith("[") and ln.endswith("] running"))]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"webtext {command}: error: "), lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def texts(shared_data):
    news = [t for t in (shared_data / "corpora" / "lee-news-background.txt").read_text(encoding="utf-8").splitlines()
            if t.strip()]
    return news[:120] + SPECIAL


@pytest.fixture(scope="module")
def jsonl(texts, tmp_path_factory):
    path = tmp_path_factory.mktemp("in") / "docs.jsonl"
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    return path


def _tokenize(tmp_path, jsonl, tokenizer, name, **keys):
    recipe = tmp_path / f"{name}.toml"
    recipe.write_text("[tokenize]\n" + "".join(f"{k} = {v!r}\n" for k, v in keys.items()), encoding="utf-8")
    run = tmp_path / name
    assert cli("tokenize", "--out", run, "--input", jsonl, "--recipe", recipe, "--tokenizer", tokenizer) == 0
    return run


def _decode(capsys, *args) -> bytes:
    capsys.readouterr()
    assert cli("bpe", "decode", *args) == 0
    return capsys.readouterr().out.encode("utf-8", "surrogateescape")


def test_round_trip_in_order_through_the_cli(texts, jsonl, shared_data, tmp_path, capsys):
    """Encode a JSONL with `webtext tokenize`, decode the shards: the texts come back exactly. Small
    shards, so documents run on from one shard into the next."""
    gpt2 = shared_data / "gpt2-bpe"
    run = _tokenize(tmp_path, jsonl, gpt2, "run", val_fraction=0.0, shard_tokens=997)
    shards = sorted((run / "tokens").glob("*.bin"))
    assert len(shards) > 5
    out = tmp_path / "docs.out.jsonl"
    assert cli("bpe", "decode", "--tokenizer", gpt2, "--input", run / "tokens", "--jsonl", "--out", out) == 0
    err = capsys.readouterr().err
    assert f"{len(shards)} shards" in err and f"{len(texts)} documents" in err, err
    assert [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] == texts
    # the plain output is the documents each preceded by <|endoftext|>, byte for byte
    want = "".join(ENDOFTEXT + t for t in texts).encode("utf-8")
    assert cli("bpe", "decode", "--tokenizer", gpt2, "--input", run / "tokens", "--out", tmp_path / "docs.txt") == 0
    assert (tmp_path / "docs.txt").read_bytes() == want
    # the files named one by one in order, and the run directory itself, read the same
    assert cli("bpe", "decode", "--tokenizer", gpt2, "--input", *shards, "--out", tmp_path / "files.txt") == 0
    assert (tmp_path / "files.txt").read_bytes() == want
    assert _decode(capsys, "--tokenizer", gpt2, "--input", run) == want
    # a shard that starts inside a document: that piece is a document of its own in --jsonl
    tail = [json.loads(x) for x in _decode(capsys, "--tokenizer", gpt2, "--input", *shards[1:], "--jsonl").splitlines()]
    assert tail[-len(SPECIAL):] == SPECIAL and tail[0] and tail[0] not in texts and any(t.endswith(tail[0]) for t in texts)


def test_round_trip_of_both_splits_with_a_trained_tokenizer(texts, jsonl, tmp_path, capsys):
    run = tmp_path / "run"
    assert cli("tokenize", "--out", run, "--input", jsonl) == 0  # trains RUN/tokenizer (the default recipe)
    manifest = json.loads((run / "tokens" / "manifest.json").read_text())
    assert {s["split"] for s in manifest["shards"]} == {"val", "train"}
    got = [json.loads(x) for x in _decode(capsys, "--tokenizer", run / "tokenizer", "--input", run, "--jsonl").splitlines()]
    assert sorted(got) == sorted(texts)
    # validation documents first, as the manifest lists the shards
    n_val = manifest["val_documents"]
    val = [json.loads(x) for x in _decode(capsys, "--tokenizer", run / "tokenizer", "--input",
                                          run / "tokens" / "webtext_val_000000.bin", "--jsonl").splitlines()]
    assert len(got) == manifest["documents"] and n_val >= 1 and got[:n_val] == val


def test_another_tokenizer_is_refused_in_one_line(jsonl, shared_data, tmp_path, capsys):
    gpt2 = shared_data / "gpt2-bpe"
    run = _tokenize(tmp_path, jsonl, gpt2, "run", val_fraction=0.0)
    small = tmp_path / "small"
    assert cli("bpe", "train", "--input", jsonl, "--out", small, "--vocab-size", "400") == 0
    capsys.readouterr()
    out = tmp_path / "out.txt"
    assert cli("bpe", "decode", "--tokenizer", small, "--input", run / "tokens", "--out", out) == 2
    line = _error_line(capsys, "bpe decode")
    assert (f"tokenizer {small} (400 entries, <|endoftext|> = 399) did not make the shards in {run / 'tokens'} "
            "(manifest.json: 50257 entries, <|endoftext|> = 50256)") in line, line
    assert "give --tokenizer the folder they were tokenized with" in line and not out.exists()
    # the same shards without their manifest: the ids the small vocabulary lacks say so
    bare = tmp_path / "bare"
    bare.mkdir()
    shard = next((run / "tokens").glob("*.bin"))
    shutil.copy(shard, bare / shard.name)
    assert cli("bpe", "decode", "--tokenizer", small, "--input", bare / shard.name, "--out", out) == 2
    line = _error_line(capsys, "bpe decode")
    assert f"{bare / shard.name}: token 0 is id 50256, which the tokenizer (400 entries) does not have" in line, line
    assert not out.exists()


def test_a_bad_shard_header_is_refused_before_any_text(jsonl, shared_data, tmp_path, capsys):
    gpt2 = shared_data / "gpt2-bpe"
    run = _tokenize(tmp_path, jsonl, gpt2, "run", val_fraction=0.0, shard_tokens=2000)
    shards = sorted((run / "tokens").glob("*.bin"))
    last = shards[-1]
    last.write_bytes(last.read_bytes()[:-2])  # one uint16 token short of its header's count
    capsys.readouterr()
    assert cli("bpe", "decode", "--tokenizer", gpt2, "--input", run / "tokens") == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing decoded from the good shards before it
    assert captured.err.strip().startswith("webtext bpe decode: error: ")
    assert f"{last}: header says" in captured.err and "but the file has" in captured.err, captured.err
    assert len(captured.err.strip().splitlines()) == 1
    missing = tmp_path / "nope"
    assert cli("bpe", "decode", "--tokenizer", gpt2, "--input", missing) == 2
    assert "no such shard file or folder" in _error_line(capsys, "bpe decode")
