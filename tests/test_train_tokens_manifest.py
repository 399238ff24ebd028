"""``webtext train`` checks the token shards against the tokenizer through the tokens folder's
manifest.json, on runs made by the real ``webtext tokenize`` and ``webtext bpe train``."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import torch

from bpe.tokenizer_files import tokenizer_fingerprint
from pipelines.webtext import main


def cli(*args) -> int:
    return main([str(a) for a in args])


BASE = ["--device", "cpu", "--model", "tiny", "--seq-len", "32", "--batch-size", "4"]
END = ["--eval-interval", "0", "--no-progress", "--no-export"]
TRAIN = BASE + ["--steps", "2"] + END


def _one_error_line(capsys, command: str = "train") -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith(f"webtext {command}: error: "), err
    return err


@pytest.fixture(scope="module")
def corpora(shared_data, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("corpora")
    out = {}
    for name, src in (("shakespeare", "tinyshakespeare.txt"), ("news", "lee-news-background.txt")):
        out[name] = folder / f"{name}.txt"
        out[name].write_text((shared_data / "corpora" / src).read_text(encoding="utf-8")[:60_000], encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def made_run(corpora, tmp_path_factory) -> Path:
    """A run directory made by `webtext tokenize`, its tokenizer (400 entries) trained on the corpus."""
    root = tmp_path_factory.mktemp("made")
    recipe = root / "r.toml"
    recipe.write_text("[tokenize]\nvocab_size = 400\nval_fraction = 0.1\n")
    assert cli("tokenize", "--out", root / "run", "--input", corpora["shakespeare"], "--recipe", recipe) == 0
    return root / "run"


@pytest.fixture
def run(made_run, tmp_path) -> Path:
    """A copy of the made run that a test may change."""
    return Path(shutil.copytree(made_run, tmp_path / "run"))


def test_the_manifest_records_the_tokenizers_fingerprint(run, shared_data, tmp_path):
    manifest = json.loads((run / "tokens" / "manifest.json").read_text())
    assert manifest["vocab_size"] == 400 and manifest["eot_id"] == 399
    assert manifest["tokenizer_sha256"] == tokenizer_fingerprint(str(run / "tokenizer"))
    # the same definition a checkpoint records: GPT-2's files give the run's copy's fingerprint
    f = tmp_path / "one.jsonl"
    f.write_text('{"text": "a first document"}\n{"text": "and a second one"}\n')
    assert cli("tokenize", "--out", tmp_path / "gpt2run", "--input", f, "--tokenizer", shared_data / "gpt2-bpe") == 0
    gpt2_manifest = json.loads((tmp_path / "gpt2run" / "tokens" / "manifest.json").read_text())
    assert gpt2_manifest["tokenizer_sha256"] == tokenizer_fingerprint(str(shared_data / "gpt2-bpe")) is not None


def replace_tokenizer(run, corpus, vocab_size: str, tmp_path) -> None:
    """RUN/tokenizer's files replaced by those of a tokenizer trained on ``corpus``."""
    other = tmp_path / f"tok-{vocab_size}-{os.path.basename(str(corpus))}"
    assert cli("bpe", "train", "--input", corpus, "--out", other, "--vocab-size", vocab_size) == 0
    shutil.rmtree(run / "tokenizer")
    shutil.copytree(other, run / "tokenizer")


def test_a_tokenizer_that_did_not_make_the_shards_is_refused(run, corpora, shared_data, tmp_path, capsys):
    ck = tmp_path / "ck"
    # GPT-2's 50257 entries on shards of 400: it trained, and sampling decoded garbage
    assert cli("train", "--data", run / "tokens", "--tokenizer", shared_data / "gpt2-bpe", "--out", ck, *TRAIN) == 2
    err = _one_error_line(capsys)
    assert f"tokenizer {shared_data / 'gpt2-bpe'} (50257 entries, <|endoftext|> = 50256)" in err
    assert f"did not make the shards in {run / 'tokens'} (manifest.json: 400 entries, <|endoftext|> = 399)" in err
    assert "--tokenizer" in err and "webtext tokenize" in err  # what to do
    # RUN/tokenizer replaced by another size after tokenizing
    # (bpe train refuses a run's tokenizer/ as --out: trained beside it and copied in, as a user could)
    replace_tokenizer(run, corpora["shakespeare"], "500", tmp_path)
    capsys.readouterr()
    assert cli("train", "--data", run, "--out", ck, *TRAIN) == 2
    err = _one_error_line(capsys)
    assert f"tokenizer {run / 'tokenizer'} (500 entries, <|endoftext|> = 499)" in err and "manifest.json: 400 entries" in err
    # the same size, another tokenizer: only the fingerprint tells
    replace_tokenizer(run, corpora["news"], "400", tmp_path)
    capsys.readouterr()
    assert cli("train", "--data", run, "--out", ck, *TRAIN) == 2
    err = _one_error_line(capsys)
    sha = json.loads((run / "tokens" / "manifest.json").read_text())["tokenizer_sha256"]
    assert "vocabulary and merges differ" in err and sha[:12] in err
    assert tokenizer_fingerprint(str(run / "tokenizer"))[:12] in err
    assert cli("train", "--data", run / "tokens", "--tokenizer", tmp_path / "none", "--out", ck, *TRAIN) == 2
    assert f"--tokenizer {tmp_path / 'none'}: tokenizer folder not found" in _one_error_line(capsys)
    # a model vocabulary that cannot hold the shards' ids
    alone = shutil.copytree(run / "tokens", tmp_path / "alone" / "tokens")
    assert cli("train", "--data", alone, "--out", ck, *TRAIN, "--vocab-size", "300") == 2
    assert f"[train] vocab_size 300 is smaller than the shards' 400 ({alone}/manifest.json)" in _one_error_line(capsys)
    assert not ck.exists()


def test_shards_without_their_tokenizer_size_the_model_from_the_manifest(run, tmp_path, capsys):
    elsewhere = Path(shutil.copytree(run / "tokens", tmp_path / "elsewhere" / "tokens"))
    ck = tmp_path / "ck"
    assert cli("train", "--data", elsewhere, "--out", ck, *TRAIN) == 0
    out = capsys.readouterr().out
    assert (f"no tokenizer found for {elsewhere} (no --tokenizer, no tokenizer/ beside it): the model's vocabulary "
            f"is vocab_size 400 from {elsewhere / 'manifest.json'}") in out
    state = torch.load(ck / "ckpt.pt", weights_only=True)
    assert state["model_config"]["vocab_size"] == 400  # was GPT-2's 50257
    assert state["data"]["tokenizer_sha256"] == json.loads((elsewhere / "manifest.json").read_text())["tokenizer_sha256"]
    assert state["tokenizer"] is None


def test_the_runs_own_tokenizer_trains_and_a_resume_checks_the_shards_fingerprint(run, corpora, tmp_path, capsys):
    ck = tmp_path / "ck"
    assert cli("train", "--data", run, "--out", ck, *TRAIN) == 0
    state = torch.load(ck / "ckpt.pt", weights_only=True)
    assert state["model_config"]["vocab_size"] == 400
    assert state["data"]["tokenizer_sha256"] == tokenizer_fingerprint(str(run / "tokenizer"))
    # other shards of another tokenizer of the same size, copied without it: the manifest says whose they are
    other = tmp_path / "other.toml"
    other.write_text("[tokenize]\nvocab_size = 400\nval_fraction = 0.1\n")
    assert cli("tokenize", "--out", tmp_path / "run2", "--input", corpora["news"], "--recipe", other) == 0
    moved = Path(shutil.copytree(tmp_path / "run2" / "tokens", tmp_path / "moved" / "tokens"))
    capsys.readouterr()
    assert cli("train", "--data", moved, "--out", ck, *BASE, "--steps", "4", *END) == 2
    err = _one_error_line(capsys)
    assert f"the shards of {moved} were not made with the tokenizer {ck / 'ckpt.pt'} was trained with" in err
    # the same shards elsewhere resume as before
    same = Path(shutil.copytree(run / "tokens", tmp_path / "same" / "tokens"))
    assert cli("train", "--data", same, "--out", ck, *BASE, "--steps", "4", *END) == 0
    assert "holds the same shards" in capsys.readouterr().out
