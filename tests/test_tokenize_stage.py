"""`webtext tokenize`, `webtext bpe train` and `webtext bpe encode` end to end on real files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bpe.encoder import Encoder
from bpe.shards import read_shard
from corpus_tools.schema import make_doc_id, new_document
from corpus_tools.shards import write_records
from pipelines.webtext import main


def cli(*args) -> int:
    return main([str(a) for a in args])


@pytest.fixture(scope="module")
def docs(shared_data, tmp_path_factory):
    lines = (shared_data / "corpora" / "lee-news-background.txt").read_text(encoding="utf-8").splitlines()
    texts = [t for t in lines if t.strip()]
    folder = tmp_path_factory.mktemp("dedup")
    recs = [new_document(id=make_doc_id(f"https://n/{i}", t), url=f"https://n/{i}", text=t) for i, t in enumerate(texts)]
    write_records(recs, str(folder / "part-00000-of-00001.parquet"))
    return folder, recs


def _docs_in(shard: np.ndarray, eot: int) -> list[np.ndarray]:
    t = np.asarray(shard, dtype=np.int64)
    starts = list(np.flatnonzero(t == eot)) + [t.size]
    return [t[a + 1 : b] for a, b in zip(starts, starts[1:])]


def test_tokenize_with_gpt2_files(docs, shared_data, tmp_path, capsys):
    folder, recs = docs
    run = tmp_path / "run"
    assert cli("tokenize", "--out", run, "--input", folder, "--tokenizer", shared_data / "gpt2-bpe") == 0
    tokens = run / "tokens"
    val = read_shard(str(tokens / "webtext_val_000000.bin"))
    train = read_shard(str(tokens / "webtext_train_000001.bin"))
    gpt2 = Encoder.from_dir(str(shared_data / "gpt2-bpe"))
    decoded = [gpt2.decode(d) for d in _docs_in(val, 50256)] + [gpt2.decode(d) for d in _docs_in(train, 50256)]
    assert sorted(decoded) == sorted(r["text"] for r in recs)
    assert 1 <= len(_docs_in(val, 50256)) < len(recs) // 10
    stats = json.loads((run / "stats" / "tokenize.json").read_text())
    d = stats["details"]
    assert stats["records_in"] == stats["records_out"] == len(recs) and stats["reasons"] == {}
    assert d["vocab_size"] == 50257 and d["eot_id"] == 50256 and d["encoder"] == "tiktoken"
    assert d["tokens"] == val.size + train.size and d["val_tokens"] == val.size
    assert d["documents"] == len(recs)
    n_bytes = sum(len(r["text"].encode()) for r in recs)
    assert d["bytes_per_token"] == pytest.approx(n_bytes / (d["tokens"] - len(recs)), rel=1e-3)
    assert 3.5 < d["bytes_per_token"] < 5.5  # GPT-2 on English news: about 4 bytes per token
    assert (tokens / "_SUCCESS").exists()
    assert str(shared_data / "gpt2-bpe") in (run / "recipe.toml").read_text()
    # the run keeps its own copy of the tokenizer, with a tokenizer.json that transformers loads
    from transformers import PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(tokenizer_file=str(run / "tokenizer" / "tokenizer.json"))
    assert fast.encode("hello world") == [31373, 995] and fast.convert_tokens_to_ids("<|endoftext|>") == 50256
    assert (run / "tokenizer" / "vocab.json").read_bytes() != b""
    assert Encoder.from_dir(str(run / "tokenizer")).encode(recs[0]["text"]) == gpt2.encode(recs[0]["text"])
    # a rerun skips the finished stage and leaves the shards untouched
    before = (tokens / "webtext_train_000001.bin").read_bytes()
    assert cli("tokenize", "--out", run, "--input", folder, "--tokenizer", shared_data / "gpt2-bpe") == 0
    assert "already done" in capsys.readouterr().err
    assert (tokens / "webtext_train_000001.bin").read_bytes() == before
    # a rerun with other settings for a finished stage is refused, naming them, and changes nothing
    recipe_before = (run / "recipe.toml").read_text()
    other = run.parent / "other.toml"
    other.write_text("[tokenize]\nshard_tokens = 50000\n")
    assert cli("tokenize", "--out", run, "--input", folder, "--tokenizer", shared_data / "gpt2-bpe",
               "--recipe", other) == 2
    err = capsys.readouterr().err
    assert "[tokenize] shard_tokens" in err and "--force tokenize" in err and len(err.strip().splitlines()) == 1
    assert (run / "recipe.toml").read_text() == recipe_before
    assert (tokens / "webtext_train_000001.bin").read_bytes() == before
    # --force redoes it with the new settings, and the run records them
    assert cli("tokenize", "--out", run, "--input", folder, "--tokenizer", shared_data / "gpt2-bpe",
               "--recipe", other, "--force", "tokenize") == 0
    assert json.loads((run / "stats" / "tokenize.json").read_text())["parameters"]["tokenize"]["shard_tokens"] == 50000
    assert "shard_tokens = 50000" in (run / "recipe.toml").read_text()


def test_a_stage_made_from_an_older_upstream_output_is_refused(docs, shared_data, tmp_path, capsys):
    # Single-stage commands: tokenize reads RUN/dedup; once dedup is redone, the finished
    # tokenize no longer matches its input, so skipping it would be wrong.
    folder, _ = docs
    run = tmp_path / "run"
    tok = ("tokenize", "--out", run, "--tokenizer", shared_data / "gpt2-bpe")
    assert cli("dedup", "--out", run, "--input", folder) == 0
    assert cli(*tok) == 0
    stats = json.loads((run / "stats" / "tokenize.json").read_text())
    dedup_id = json.loads((run / "stats" / "dedup.json").read_text())["execution_id"]
    assert stats["input_executions"] == {"dedup": dedup_id}
    capsys.readouterr()
    assert cli(*tok) == 0 and "already done" in capsys.readouterr().err
    assert cli("dedup", "--out", run, "--input", folder, "--force", "dedup") == 0
    capsys.readouterr()
    assert cli(*tok) == 2
    err = capsys.readouterr().err
    assert "earlier output of dedup" in err and "--force tokenize" in err
    assert cli(*tok, "--force", "tokenize") == 0
    capsys.readouterr()
    assert cli(*tok) == 0 and "already done" in capsys.readouterr().err


def test_a_stage_folder_copied_in_from_another_run_is_refused(docs, tmp_path, capsys):
    # Its _SUCCESS names the execution that made it; this run's stats name another (or none).
    import shutil

    folder, _ = docs
    a, b = tmp_path / "a", tmp_path / "b"
    assert cli("dedup", "--out", a, "--input", folder) == 0
    assert cli("dedup", "--out", b, "--input", folder) == 0
    assert (a / "dedup" / "_SUCCESS").read_text() == json.loads((a / "stats" / "dedup.json").read_text())["execution_id"]
    shutil.rmtree(a / "dedup")
    shutil.copytree(b / "dedup", a / "dedup")
    capsys.readouterr()
    assert cli("dedup", "--out", a, "--input", folder) == 2
    err = capsys.readouterr().err
    assert "does not belong to this run" in err and "names execution" in err and "--force dedup" in err
    c = tmp_path / "c"  # a run with no stats for it at all
    shutil.copytree(b / "dedup", c / "dedup")
    assert cli("dedup", "--out", c, "--input", folder) == 2
    assert f"there is no {c / 'stats' / 'dedup.json'}" in capsys.readouterr().err
    assert cli("dedup", "--out", a, "--input", folder, "--force", "dedup") == 0
    capsys.readouterr()
    assert cli("dedup", "--out", a, "--input", folder) == 0 and "already done" in capsys.readouterr().err


def test_tokenize_trains_a_tokenizer_when_asked(docs, tmp_path):
    folder, recs = docs
    run = tmp_path / "run"
    recipe = tmp_path / "r.toml"
    recipe.write_text('[tokenize]\nvocab_size = 3000\nextra_special_tokens = ["<|pad|>"]\nshard_tokens = 40000\n')
    assert cli("tokenize", "--out", run, "--input", folder, "--recipe", recipe) == 0
    enc = Encoder.from_dir(str(run / "tokenizer"))
    assert enc.vocab_size == 3000 and enc.eot_id == 2998
    assert enc.files.special_tokens == {"<|endoftext|>": 2998, "<|pad|>": 2999}
    shards = sorted((run / "tokens").glob("*_train_*.bin"))
    assert len(shards) > 1
    all_train = np.concatenate([read_shard(str(p)) for p in shards])
    assert all_train.max() <= 2998
    texts = [enc.decode(d) for d in _docs_in(all_train, 2998)]
    val = [enc.decode(d) for d in _docs_in(read_shard(str(run / "tokens" / "webtext_val_000000.bin")), 2998)]
    assert sorted(texts + val) == sorted(r["text"] for r in recs)
    stats = json.loads((run / "stats" / "tokenize.json").read_text())
    assert stats["details"]["vocab_size"] == 3000 and stats["details"]["merges"] == 3000 - 256 - 2


def test_tiny_corpus_still_gets_one_validation_document(tmp_path, shared_data):
    f = tmp_path / "few.jsonl"
    texts = ["first document", "second one", "third", "fourth text here"]
    f.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    run = tmp_path / "run"
    assert cli("tokenize", "--out", run, "--input", f, "--tokenizer", shared_data / "gpt2-bpe") == 0
    gpt2 = Encoder.from_dir(str(shared_data / "gpt2-bpe"))
    val = [gpt2.decode(d) for d in _docs_in(read_shard(str(run / "tokens" / "webtext_val_000000.bin")), 50256)]
    train = [gpt2.decode(d) for d in _docs_in(read_shard(str(run / "tokens" / "webtext_train_000001.bin")), 50256)]
    assert len(val) == 1 and sorted(val + train) == sorted(texts)


def test_bpe_encode_command(shared_data, tmp_path, capsys):
    tok = shared_data / "gpt2-bpe"
    plain = tmp_path / "in.txt"
    plain.write_bytes(b"hello world\nThis is some text\nindivisible\nbad \xff\xfe bytes\n")
    assert cli("bpe", "encode", "--tokenizer", tok, "--input", plain) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(x) for x in lines[:3]] == [[31373, 995], [1212, 318, 617, 2420], [521, 452, 12843]]
    gpt2 = Encoder.from_dir(str(tok))
    assert gpt2.decode_bytes(json.loads(lines[3])) == b"bad \xff\xfe bytes"
    jl = tmp_path / "in.jsonl"
    jl.write_text(json.dumps("two\nlines") + "\n" + json.dumps("hello world") + "\n")
    assert cli("bpe", "encode", "--tokenizer", tok, "--input", jl, "--jsonl") == 0
    out = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert out == [gpt2.encode("two\nlines"), [31373, 995]] and 198 in out[0]  # 198 = "\n"
    jl.write_text('{"text": 1}\n')
    assert cli("bpe", "encode", "--tokenizer", tok, "--input", jl, "--jsonl") == 2
    assert "expected a JSON string" in capsys.readouterr().err
    assert cli("bpe", "encode", "--tokenizer", tmp_path / "missing") == 2


def test_bpe_train_command(shared_data, tmp_path, capsys):
    out = tmp_path / "tok"
    assert cli("bpe", "train", "--input", shared_data / "corpora" / "tinyshakespeare.txt", "--out", out,
               "--vocab-size", "1000", "--special-token", "<|sep|>") == 0
    vocab = json.loads((out / "vocab.json").read_text())
    assert len(vocab) == 1000 and vocab["<|endoftext|>"] == 998 and vocab["<|sep|>"] == 999
    assert (out / "merges.txt").read_text().startswith("#version: 0.2\n")
    enc = Encoder.from_dir(str(out))
    line = "To be, or not to be: that is the question."
    assert enc.decode(enc.encode(line)) == line and len(enc.encode(line)) < len(line.encode()) / 2
    assert cli("bpe", "train", "--input", shared_data / "corpora" / "tinyshakespeare.txt", "--out", out,
               "--vocab-size", "100") == 2


def test_remote_paths_through_fsspec(shared_data):
    """A run directory and inputs on a non-local filesystem (fsspec's in-memory one stands in for gs://)."""
    import fsspec

    from bpe.shards import HEADER_BYTES
    from corpus_tools.recipe import Recipe
    from corpus_tools.rundir import RunDir
    from pipelines.stage import StageContext, execute_stage
    from pipelines.stages import load_stage

    fs = fsspec.filesystem("memory")
    texts = [f"remote document number {i}: {'word ' * (i % 7)}" for i in range(40)]
    with fs.open("/webtext-test-in/docs/part-00000-of-00001.parquet", "wb") as fh:
        write_records([new_document(id=make_doc_id(None, t), text=t) for t in texts], fh)
    recipe = Recipe().replace({"tokenize": {"tokenizer": str(shared_data / "gpt2-bpe")}})
    ctx = StageContext(RunDir("memory://webtext-test-run"), recipe, inputs=["memory://webtext-test-in/docs"],
                       log=lambda m: None)
    stats = execute_stage(load_stage("tokenize"), ctx)
    assert stats["records_in"] == 40
    names = sorted(p.rsplit("/", 1)[-1] for p in fs.ls("/webtext-test-run/tokens", detail=False))
    assert names == ["_SUCCESS", "manifest.json", "webtext_train_000001.bin", "webtext_val_000000.bin"]
    assert fs.exists("/webtext-test-run/tokenizer/tokenizer.json")
    gpt2 = Encoder.from_dir(str(shared_data / "gpt2-bpe"))
    got = []
    for name in ("webtext_val_000000.bin", "webtext_train_000001.bin"):
        data = fs.cat_file(f"/webtext-test-run/tokens/{name}")
        got += [gpt2.decode(d) for d in _docs_in(np.frombuffer(data[HEADER_BYTES:], dtype="<u2"), 50256)]
    assert sorted(got) == sorted(texts)
    fs.rm("/webtext-test-run", recursive=True)
    fs.rm("/webtext-test-in", recursive=True)


# --------------------------------------------------------------------------- bad input
def _error_line(capsys, command: str) -> str:
    err = capsys.readouterr().err.strip()
    lines = [ln for ln in err.splitlines() if not (ln.startswith("[") and ln.endswith("] running"))]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"webtext {command}: error: ")
    return lines[0]


def test_bad_records_are_dead_letters_and_the_rest_is_tokenized_as_if_alone(docs, shared_data, tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    _, recs = docs
    good_json = [json.dumps({"id": r["id"], "text": r["text"]}) for r in recs[:40]]
    good_lines = [r["text"] for r in recs[40:80]]
    good_rows = recs[80:120]
    bad_json = {3: "not json at all", 5: '{"text": null}', 7: '{"text": 5}', 9: "[1, 2]"}
    mixed, clean = tmp_path / "mixed", tmp_path / "clean"
    for d in (mixed, clean):
        d.mkdir()
    lines = [x.encode() for x in good_json[:10]]
    for lineno, bad in bad_json.items():
        lines.insert(lineno - 1, bad.encode())
    lines.insert(10, b'{"text": "caf\xe9 au lait"}')  # line 11: Latin-1, not UTF-8
    (mixed / "a.jsonl").write_bytes(b"\n".join(lines + [x.encode() for x in good_json[10:]]) + b"\n")
    (clean / "a.jsonl").write_text("\n".join(good_json) + "\n", encoding="utf-8")
    text_lines = [x.encode() for x in good_lines]
    (mixed / "b.txt").write_bytes(b"\n".join(text_lines[:3] + [b"\xff\xfe bad bytes"] + text_lines[3:]) + b"\n")
    (clean / "b.txt").write_bytes(b"\n".join(text_lines) + b"\n")
    ids, texts = [r["id"] for r in good_rows], [r["text"] for r in good_rows]
    pq.write_table(pa.table({"id": ids[:2] + ["null-text"] + ids[2:], "text": texts[:2] + [None] + texts[2:]}),
                   mixed / "c.parquet")  # a null text, which the document schema does not allow
    pq.write_table(pa.table({"id": ids, "text": texts}), clean / "c.parquet")

    def tokenize(folder):
        run = tmp_path / f"run-{folder.name}"
        inputs = [folder / "a.jsonl", folder / "b.txt", folder / "c.parquet"]
        assert cli("tokenize", "--out", run, "--input", *inputs, "--tokenizer", shared_data / "gpt2-bpe") == 0
        return run / "tokens", json.loads((run / "stats" / "tokenize.json").read_text())

    tokens, stats = tokenize(mixed)
    err = capsys.readouterr().err
    assert f"{mixed / 'a.jsonl'}:3: not JSON" in err  # the first bad record, named where it is
    clean_tokens, clean_stats = tokenize(clean)
    shards = sorted(p.name for p in clean_tokens.glob("*.bin"))
    assert shards == sorted(p.name for p in tokens.glob("*.bin")) and len(shards) == 2
    for name in shards + ["manifest.json"]:
        assert (tokens / name).read_bytes() == (clean_tokens / name).read_bytes(), name

    rejected = pq.read_table(str(tokens / "_rejected")).to_pylist()
    assert [(r["stage"], r["source"], r["offset"], r["reason"]) for r in rejected] == [
        ("tokenize", str(mixed / "a.jsonl"), 3, "not_json"),
        ("tokenize", str(mixed / "a.jsonl"), 5, "missing_text"),
        ("tokenize", str(mixed / "a.jsonl"), 7, "bad_text"),
        ("tokenize", str(mixed / "a.jsonl"), 9, "missing_text"),
        ("tokenize", str(mixed / "a.jsonl"), 11, "not_utf8"),
        ("tokenize", str(mixed / "b.txt"), 4, "not_utf8"),
        ("tokenize", str(mixed / "c.parquet"), 2, "missing_text"),  # 0-based row
    ]
    assert "byte 0xe9" in rejected[4]["detail"] and "null-text" in rejected[6]["detail"]
    assert stats["reasons"] == {"bad_text": 1, "missing_text": 3, "not_json": 1, "not_utf8": 2}
    assert stats["records_out"] == clean_stats["records_out"] == len(recs[:120])
    assert stats["records_in"] == stats["records_out"] + sum(stats["reasons"].values())
    assert stats["counters"]["reason.not_utf8"] == 2 and stats["counters"]["in"] == stats["records_in"]
    assert stats["details"]["documents"] == clean_stats["details"]["documents"]
    assert not (clean_tokens / "_rejected").exists() and clean_stats["reasons"] == {}


def test_a_file_that_cannot_be_documents_is_one_line_naming_it(tmp_path, shared_data, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    good = tmp_path / "good.jsonl"
    good.write_text('{"text": "a fine document"}\n{"text": "and another one"}\n', encoding="utf-8")
    no_text = tmp_path / "no_text.parquet"
    pq.write_table(pa.table({"a": [1, 2], "b": ["x", "y"]}), no_text)
    int_text = tmp_path / "int_text.parquet"
    pq.write_table(pa.table({"id": ["a1", "a2"], "text": [1, 2]}), int_text)
    not_jsonl = tmp_path / "prose.jsonl"
    not_jsonl.write_text("This file is prose,\nnot JSON lines.\n", encoding="utf-8")
    for bad, words in ((no_text, "no `text` column"), (int_text, "int64"), (not_jsonl, "not JSONL")):
        run = tmp_path / f"run-{bad.stem}"
        assert cli("tokenize", "--out", run, "--input", good, bad, "--tokenizer", shared_data / "gpt2-bpe") == 2
        line = _error_line(capsys, "tokenize")
        assert str(bad) in line and words in line, line
        assert not (run / "tokens" / "_SUCCESS").exists()
        assert cli("bpe", "train", "--input", good, bad, "--out", tmp_path / "tok", "--vocab-size", "300") == 2
        line = _error_line(capsys, "bpe train")
        assert str(bad) in line and words in line, line
    assert not (tmp_path / "tok").exists()


def test_bpe_train_refuses_empty_input_and_names_the_records_it_skips(shared_data, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli("bpe", "train", "--input", empty, "--out", tmp_path / "tok0", "--vocab-size", "300") == 2
    assert "matches no file" in _error_line(capsys, "bpe train")
    blank = tmp_path / "blank.txt"
    blank.write_text("\n\n")
    assert cli("bpe", "train", "--input", blank, "--out", tmp_path / "tok0", "--vocab-size", "300") == 2
    assert "no documents" in _error_line(capsys, "bpe train")
    assert not (tmp_path / "tok0").exists()

    lines = (shared_data / "corpora" / "tinyshakespeare.txt").read_bytes().splitlines()[:3000]
    mixed, clean = tmp_path / "mixed.txt", tmp_path / "clean.txt"
    mixed.write_bytes(b"\n".join(lines[:9] + [b"\xff\xfe bad bytes"] + lines[9:]) + b"\n")
    clean.write_bytes(b"\n".join(lines) + b"\n")
    for src, out in ((mixed, tmp_path / "tok-mixed"), (clean, tmp_path / "tok-clean")):
        assert cli("bpe", "train", "--input", src, "--out", out, "--vocab-size", "600") == 0
    err = capsys.readouterr().err
    assert "skipped 1 records" in err and f"{mixed}:10: not UTF-8: byte 0xff" in err
    for name in ("vocab.json", "merges.txt"):  # trained on the good lines alone
        assert (tmp_path / "tok-mixed" / name).read_bytes() == (tmp_path / "tok-clean" / name).read_bytes()


def test_a_broken_vocabulary_file_is_named(shared_data, tmp_path, capsys):
    import shutil

    tok = tmp_path / "tok"
    shutil.copytree(shared_data / "gpt2-bpe", tok)
    (tok / "encoder.json").write_text('{\n"!": 0,\n')
    src = tmp_path / "in.txt"
    src.write_text("hello world\n")
    assert cli("bpe", "encode", "--tokenizer", tok, "--input", src) == 2
    assert f"{tok / 'encoder.json'}: not a JSON object" in _error_line(capsys, "bpe encode")
    assert cli("tokenize", "--out", tmp_path / "run", "--input", src, "--tokenizer", tok) == 2
    assert f"{tok / 'encoder.json'}: not a JSON object" in _error_line(capsys, "tokenize")


def test_tokenize_with_no_document_says_so(shared_data, tmp_path, capsys):
    # An upstream filter that removed everything: the stage finishes (so a run still ends with its
    # data card, which explains the empty corpus) but says loudly that there is nothing to train on.
    empty = tmp_path / "empty"
    write_records([], str(empty / "part-00000-of-00001.parquet"))
    run = tmp_path / "run"
    assert cli("tokenize", "--out", run, "--input", empty, "--tokenizer", shared_data / "gpt2-bpe") == 0
    assert "[tokenize] warning: no document to tokenize" in capsys.readouterr().err
    assert json.loads((run / "stats" / "tokenize.json").read_text())["details"]["tokens"] == 0


def test_plain_text_documents_follow_the_recipes_text_docs(shared_data, tmp_path):
    # Tiny Shakespeare as a plain-text input: a line per document by default (one <|endoftext|> per
    # line, newlines lost), a speech per document with text_docs = "paragraph".
    text = (shared_data / "corpora" / "tinyshakespeare.txt").read_text(encoding="utf-8")[:20_000]
    text = text[: text.rindex("\n\n")] + "\n"
    src = tmp_path / "shakespeare.txt"
    src.write_text(text, encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    speeches = [p.strip("\n") for p in text.split("\n\n") if p.strip()]
    gpt2 = Encoder.from_dir(str(shared_data / "gpt2-bpe"))
    counts = {}
    for mode in ("line", "paragraph"):
        recipe = tmp_path / f"{mode}.toml"
        recipe.write_text(f'[tokenize]\ntext_docs = "{mode}"\nval_fraction = 0.0\n')
        run = tmp_path / mode
        assert cli("tokenize", "--out", run, "--input", src, "--tokenizer", shared_data / "gpt2-bpe",
                   "--recipe", recipe) == 0
        counts[mode] = json.loads((run / "stats" / "tokenize.json").read_text())["details"]["documents"]
        if mode == "paragraph":
            shards = sorted((run / "tokens").glob("*.bin"))
            decoded = [gpt2.decode(d) for s in shards for d in _docs_in(read_shard(str(s)), 50256)]
            assert sorted(decoded) == sorted(speeches)  # newlines inside a speech kept
    assert counts == {"line": len(lines), "paragraph": len(speeches)}


def test_a_redone_tokenize_replaces_the_tokenizer_folder_whole(docs, shared_data, tmp_path, capsys):
    # RUN/tokenizer/ is tokenize's too: redone with another tokenizer it holds only the new one's
    # files, and a redo refused on its inputs puts the old folder back as it was.
    folder, _ = docs
    run = tmp_path / "run"
    assert cli("tokenize", "--out", run, "--input", folder, "--tokenizer", shared_data / "gpt2-bpe") == 0
    gpt2_vocab = (run / "tokenizer" / "vocab.json").read_bytes()
    (run / "tokenizer" / "notes.txt").write_text("left by hand")  # whatever else is in it goes too
    recipe = tmp_path / "r.toml"
    recipe.write_text('[tokenize]\ntokenizer = "train"\nvocab_size = 1000\n')
    assert cli("tokenize", "--out", run, "--input", folder, "--recipe", recipe, "--force", "tokenize") == 0
    assert sorted(p.name for p in (run / "tokenizer").iterdir()) == ["merges.txt", "tokenizer.json", "vocab.json"]
    assert Encoder.from_dir(str(run / "tokenizer")).vocab_size == 1000
    assert (run / "tokenizer" / "vocab.json").read_bytes() != gpt2_vocab
    trained = {p.name: p.read_bytes() for p in (run / "tokenizer").iterdir()}
    capsys.readouterr()
    assert cli("tokenize", "--out", run, "--input", folder, "--tokenizer", tmp_path / "missing",
               "--force", "tokenize") == 2
    assert "no such folder" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in (run / "tokenizer").iterdir()} == trained
    assert (run / "tokens" / "_SUCCESS").exists() and not (run / ".previous-tokenize").exists()


def _mixed_and_clean_inputs(recs, folder):
    """Inputs holding records that cannot be documents (a text UTF-8 cannot write, a blank text)
    among good ones, and the same good records alone; returns (mixed files, clean files)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    mixed, clean = folder / "mixed", folder / "clean"
    for d in (mixed, clean):
        d.mkdir()
    good_json = [json.dumps({"id": r["id"], "text": r["text"]}) for r in recs[:20]]
    bad_json = {2: '{"text": "lone \\ud800 surrogate"}', 4: '{"text": ""}', 6: '{"text": " \\n\\t "}',
                8: '"\\udc00 alone"'}
    lines = list(good_json)
    for lineno, bad in bad_json.items():
        lines.insert(lineno - 1, bad)
    (mixed / "a.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (clean / "a.jsonl").write_text("\n".join(good_json) + "\n", encoding="utf-8")
    ids, texts = [r["id"] for r in recs[20:40]], [r["text"].encode() for r in recs[20:40]]
    # Arrow string columns may hold bytes that are not UTF-8 (a writer that does not check them)
    bad_ids, bad_texts = ids[:1] + ["latin1", "empty", "blank"] + ids[1:], \
        texts[:1] + [b"caf\xe9", b"", b"  \n"] + texts[1:]
    pq.write_table(pa.table({"id": bad_ids, "text": pa.array(bad_texts, pa.binary()).view(pa.string())}),
                   mixed / "b.parquet")
    pq.write_table(pa.table({"id": ids, "text": [t.decode() for t in texts]}), clean / "b.parquet")
    return [mixed / "a.jsonl", mixed / "b.parquet"], [clean / "a.jsonl", clean / "b.parquet"]


def test_unwritable_and_blank_texts_are_dead_letters(docs, shared_data, tmp_path, capsys):
    import pyarrow.parquet as pq

    _, recs = docs
    mixed, clean = _mixed_and_clean_inputs(recs, tmp_path)
    runs = {}
    for name, inputs in (("mixed", mixed), ("clean", clean)):
        runs[name] = tmp_path / f"run-{name}"
        assert cli("tokenize", "--out", runs[name], "--input", *inputs, "--tokenizer", shared_data / "gpt2-bpe") == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"{mixed[0]}:2: " in err
    tokens, clean_tokens = runs["mixed"] / "tokens", runs["clean"] / "tokens"
    for name in sorted(p.name for p in clean_tokens.glob("*.bin")) + ["manifest.json"]:
        assert (tokens / name).read_bytes() == (clean_tokens / name).read_bytes(), name
    rejected = pq.read_table(str(tokens / "_rejected")).to_pylist()
    assert [(r["source"], r["offset"], r["reason"]) for r in rejected] == [
        (str(mixed[0]), 2, "not_utf8"), (str(mixed[0]), 4, "empty"), (str(mixed[0]), 6, "empty"),
        (str(mixed[0]), 8, "not_utf8"),
        (str(mixed[1]), 1, "not_utf8"), (str(mixed[1]), 2, "empty"), (str(mixed[1]), 3, "empty"),
    ]
    assert "surrogate" in rejected[0]["detail"] and "byte 0xe9" in rejected[4]["detail"]
    stats = json.loads((runs["mixed"] / "stats" / "tokenize.json").read_text())
    assert stats["reasons"] == {"empty": 4, "not_utf8": 3} and stats["records_out"] == 40
    assert stats["records_in"] == 47

    # bpe train leaves the same records out, and says so
    for name, inputs in (("mixed", mixed), ("clean", clean)):
        assert cli("bpe", "train", "--input", *inputs, "--out", tmp_path / f"tok-{name}", "--vocab-size", "400") == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and "skipped 7 records that are not documents (empty 4, not_utf8 3)" in err
    for name in ("vocab.json", "merges.txt"):
        assert (tmp_path / "tok-mixed" / name).read_bytes() == (tmp_path / "tok-clean" / name).read_bytes()


def test_crlf_line_endings_are_line_endings_and_a_lone_cr_is_text(shared_data, tmp_path):
    # A CRLF file gives the documents of the same file with LF endings, in every text_docs mode;
    # a "\r" that does not end a line is part of the text (and does not split it).
    lines = ["first line", "second\rline with a lone CR", "", "third line", "fourth line"]
    lf = "\n".join(lines) + "\n"
    files = {"lf": lf, "crlf": lf.replace("\n", "\r\n")}
    gpt2 = Encoder.from_dir(str(shared_data / "gpt2-bpe"))
    for mode, expected in (("line", [ln for ln in lines if ln]),
                           ("paragraph", ["first line\nsecond\rline with a lone CR", "third line\nfourth line"]),
                           ("file", [lf])):
        recipe = tmp_path / f"{mode}.toml"
        recipe.write_text(f'[tokenize]\ntext_docs = "{mode}"\nval_fraction = 0.0\n')
        got = {}
        for name, text in files.items():
            src = tmp_path / f"{mode}-{name}.txt"
            src.write_bytes(text.encode())
            run = tmp_path / f"run-{mode}-{name}"
            assert cli("tokenize", "--out", run, "--input", src, "--tokenizer", shared_data / "gpt2-bpe",
                       "--recipe", recipe) == 0
            got[name] = (run / "tokens" / "webtext_train_000001.bin").read_bytes()
        assert got["crlf"] == got["lf"], mode
        shard = read_shard(str(tmp_path / f"run-{mode}-lf" / "tokens" / "webtext_train_000001.bin"))
        assert [gpt2.decode(d) for d in _docs_in(shard, 50256)] == expected, mode


def test_the_log_counts_one_shard_in_the_singular(shared_data, tmp_path, capsys):
    f = tmp_path / "few.jsonl"
    f.write_text("".join(json.dumps({"text": f"document {i}"}) + "\n" for i in range(3)))
    recipe = tmp_path / "r.toml"
    recipe.write_text("[tokenize]\nval_fraction = 0.0\n")
    assert cli("tokenize", "--out", tmp_path / "run", "--input", f, "--tokenizer", shared_data / "gpt2-bpe",
               "--recipe", recipe) == 0
    err = capsys.readouterr().err
    assert " in 1 shard in " in err and "1 shards" not in err


def test_a_validation_split_over_several_shards_is_named_as_the_docs_say(docs, shared_data, tmp_path):
    from pathlib import Path

    from training_bridge.data import split_shards

    folder, _ = docs
    recipe = tmp_path / "r.toml"
    recipe.write_text("[tokenize]\nshard_tokens = 2000\nval_fraction = 0.2\n")
    run = tmp_path / "run"
    assert cli("tokenize", "--out", run, "--input", folder, "--tokenizer", shared_data / "gpt2-bpe",
               "--recipe", recipe) == 0
    names = sorted(p.name for p in (run / "tokens").glob("*.bin"))
    val = [n for n in names if "_val_" in n]
    train = [n for n in names if "_train_" in n]
    assert len(val) >= 3 and val == [f"webtext_val_{i:06d}.bin" for i in range(len(val))]
    assert train == [f"webtext_train_{i:06d}.bin" for i in range(1, len(train) + 1)]  # from 1, whatever len(val)
    got_val, got_train = split_shards(str(run / "tokens"))  # `webtext train` goes by the names
    assert [Path(p).name for p in got_val] == val and [Path(p).name for p in got_train] == train
    page = (Path(__file__).resolve().parents[1] / "docs" / "stages" / "tokenize.md").read_text()
    assert "training tokens to shards 1, 2" not in page  # it said validation was shard 0 alone
    assert "`webtext_val_000001.bin` and `webtext_train_000001.bin` may both exist" in page


def test_bpe_encode_reads_a_crlf_line_as_tokenize_does(shared_data, tmp_path, capsys):
    src = tmp_path / "crlf.txt"
    src.write_bytes(b"a\r\nb\rc\n")
    assert cli("bpe", "encode", "--tokenizer", shared_data / "gpt2-bpe", "--input", src) == 0
    gpt2 = Encoder.from_dir(str(shared_data / "gpt2-bpe"))
    assert [json.loads(x) for x in capsys.readouterr().out.splitlines()] == [gpt2.encode("a"), gpt2.encode("b\rc")]


# --------------------------------------------------------------------------- training keys with a given folder
@pytest.fixture(scope="module")
def small_tok(shared_data, tmp_path_factory):
    """A 600-entry tokenizer with <|pad|> after <|endoftext|>, made by `webtext bpe train`."""
    out = tmp_path_factory.mktemp("small") / "tok"
    assert cli("bpe", "train", "--input", shared_data / "corpora" / "tinyshakespeare.txt", "--out", out,
               "--vocab-size", "600", "--special-token", "<|pad|>") == 0
    return out


def _tokenize_with(tmp_path, name, folder, recipe_lines, docs_folder):
    recipe = tmp_path / f"{name}.toml"
    recipe.write_text("[tokenize]\n" + "".join(line + "\n" for line in recipe_lines), encoding="utf-8")
    run = tmp_path / name
    return cli("tokenize", "--out", run, "--input", docs_folder, "--recipe", recipe, "--tokenizer", folder), run


@pytest.mark.parametrize("lines, fault", [
    (["vocab_size = 1000"], "[tokenize] vocab_size = 1000 disagrees with [tokenize] tokenizer = '{gpt2}', which has "
                            "50257 entries; set vocab_size = 50257 or leave it at its default (it sizes a trained "
                            "tokenizer only)"),
    (["extra_special_tokens = ['<|pad|>']"],
     "[tokenize] extra_special_tokens = ['<|pad|>'] disagrees with [tokenize] tokenizer = '{gpt2}', whose special "
     "tokens after <|endoftext|> are []; list those or leave it at its default (it adds tokens to a trained "
     "tokenizer only)"),
    (["min_frequency = 5"], "[tokenize] min_frequency = 5 does nothing with [tokenize] tokenizer = '{gpt2}': it "
                            "applies when training only; leave it at its default"),
])
def test_training_keys_that_disagree_with_a_given_folder_are_refused(docs, shared_data, tmp_path, capsys, lines,
                                                                      fault):
    """They were ignored in silence, and RUN/recipe.toml recorded a vocabulary the shards do not have."""
    folder, _ = docs
    gpt2 = shared_data / "gpt2-bpe"
    code, run = _tokenize_with(tmp_path, "run", gpt2, lines, folder)
    assert code == 2
    assert _error_line(capsys, "tokenize") == f"webtext tokenize: error: {fault.format(gpt2=gpt2)}"
    assert not (run / "tokens").exists()


def test_training_keys_that_agree_with_a_given_folder_are_accepted(docs, small_tok, shared_data, tmp_path, capsys):
    folder, recs = docs
    code, run = _tokenize_with(tmp_path, "agree", small_tok, ["vocab_size = 600",
                                                             "extra_special_tokens = ['<|pad|>']"], folder)
    assert code == 0, capsys.readouterr().err
    d = json.loads((run / "stats" / "tokenize.json").read_text())["details"]
    assert d["vocab_size"] == 600 and d["eot_id"] == 598 and d["documents"] == len(recs)
    # set to GPT-2's size, which is the default, with GPT-2's folder: nothing to disagree about
    code, _ = _tokenize_with(tmp_path, "gpt2", shared_data / "gpt2-bpe", ["vocab_size = 50257"], folder)
    assert code == 0
    # at their defaults they say nothing about a folder of another size and other special tokens
    code, _ = _tokenize_with(tmp_path, "defaults", small_tok, [], folder)
    assert code == 0
    # a special token the folder lacks
    capsys.readouterr()
    code, _ = _tokenize_with(tmp_path, "order", small_tok, ["extra_special_tokens = ['<|pad|>', '<|sep|>']"], folder)
    assert code == 2 and "whose special tokens after <|endoftext|> are ['<|pad|>']" in _error_line(capsys, "tokenize")


def test_a_tokenizer_flag_replaces_the_recorded_training_keys(docs, small_tok, shared_data, tmp_path, capsys):
    """A run that trained with vocab_size = 1000, tokenized again with --tokenizer GPT-2's folder: the
    recorded 1000 described the trained tokenizer, not this folder; RUN/recipe.toml says the folder's."""
    folder, _ = docs
    trained = tmp_path / "trained.toml"
    trained.write_text("[tokenize]\nvocab_size = 1000\nmin_frequency = 3\n", encoding="utf-8")
    run = tmp_path / "run"
    assert cli("tokenize", "--out", run, "--input", folder, "--recipe", trained) == 0
    assert "vocab_size = 1000" in (run / "recipe.toml").read_text()
    assert "min_frequency = 3" in (run / "recipe.toml").read_text()
    gpt2 = shared_data / "gpt2-bpe"
    assert cli("tokenize", "--out", run, "--input", folder, "--tokenizer", gpt2, "--force", "tokenize") == 0
    recorded = (run / "recipe.toml").read_text()
    assert "vocab_size = 50257" in recorded and "min_frequency = 2" in recorded and str(gpt2) in recorded
    # set in this command's own --recipe, a disagreeing value is still refused
    recipe = tmp_path / "again.toml"
    recipe.write_text("[tokenize]\nvocab_size = 1000\n", encoding="utf-8")
    capsys.readouterr()
    assert cli("tokenize", "--out", run, "--input", folder, "--tokenizer", gpt2, "--recipe", recipe,
               "--force", "tokenize") == 2
    assert "[tokenize] vocab_size = 1000 disagrees with" in _error_line(capsys, "tokenize")


def test_a_vocabulary_too_small_for_its_special_tokens_is_refused_before_anything_runs(docs, tmp_path, capsys):
    """257 entries hold the 256 bytes and <|endoftext|>; one extra special token leaves 255 for the
    byte alphabet. `webtext run` refuses it before its first stage (dedup here), not after."""
    folder, _ = docs
    recipe = tmp_path / "small.toml"
    recipe.write_text("[tokenize]\nvocab_size = 257\nextra_special_tokens = ['<|pad|>']\n", encoding="utf-8")
    run = tmp_path / "run"
    assert cli("run", "--out", run, "--input", folder, "--recipe", recipe, "--stages", "dedup,tokenize") == 2
    assert _error_line(capsys, "run") == (
        "webtext run: error: [tokenize] vocab_size = 257, extra_special_tokens = ['<|pad|>']: vocab_size 257 leaves "
        "255 BPE entries; the byte alphabet alone needs 256")
    assert not (run / "dedup").exists() and not (run / "tokens").exists()
    recipe.write_text("[tokenize]\nvocab_size = 258\nextra_special_tokens = ['<|pad|>']\n", encoding="utf-8")
    capsys.readouterr()
    assert cli("run", "--out", tmp_path / "ok", "--input", folder, "--recipe", recipe, "--stages", "dedup,tokenize") == 0
