"""``webtext sample`` and ``python -m training_bridge.export`` on real tiny checkpoints: bad input is
one line with exit status 2, GPT-2's tokenizer files and empty prompts work, exported files get
the usual permissions."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from bpe.encoder import Encoder
from bpe.shards import write_shard
from pipelines.webtext import main as webtext
from tests.test_train_cli import SENTENCE, make_run, make_tokenizer
from training_bridge.checkpoint import load_checkpoint
from training_bridge.devices import check_device

REPO = Path(__file__).resolve().parents[1]
TRAIN = ["--device", "cpu", "--model", "tiny", "--seq-len", "32", "--batch-size", "4", "--eval-interval", "0",
         "--no-progress", "--no-export"]


@pytest.fixture(scope="module")
def ck(tmp_path_factory) -> Path:
    """A tiny model trained (briefly) with a 300-token tokenizer saved next to it."""
    root = tmp_path_factory.mktemp("small")
    tokens, _ = make_run(root / "run", SENTENCE * 300, SENTENCE * 40)
    assert webtext(["train", "--data", str(tokens), "--out", str(root / "ck"), "--steps", "40",
                    "--lr", "3e-3", *TRAIN]) == 0
    return root / "ck"


@pytest.fixture(scope="module")
def gpt2_ck(tmp_path_factory, shared_data) -> tuple[Path, Path]:
    """A tiny model over GPT-2's 50257 ids (tokens made with GPT-2's encoder.json + vocab.bpe) and that folder."""
    bpe_dir = shared_data / "gpt2-bpe"
    if not (bpe_dir / "encoder.json").is_file():
        pytest.skip(f"GPT-2's tokenizer files not found in {bpe_dir}")
    root = tmp_path_factory.mktemp("gpt2")
    enc = Encoder.from_dir(str(bpe_dir))
    (root / "tokens").mkdir()
    for i, text in enumerate([SENTENCE * 40, SENTENCE * 300]):
        write_shard(str(root / "tokens" / f"tokens_{i:06d}.bin"), np.array(enc.encode(text)), enc.vocab_size)
    assert webtext(["train", "--data", str(root / "tokens"), "--out", str(root / "ck"), "--steps", "2", *TRAIN]) == 0
    return root / "ck", bpe_dir


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("webtext sample: error: "), err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("device", ["cuda", "cuda:1", "mps"])
def test_sample_on_a_device_torch_does_not_see_is_one_line(ck, device, capsys):
    if device.startswith("cuda") and torch.cuda.is_available() or device == "mps" and torch.backends.mps.is_available():
        pytest.skip(f"this machine has {device}")
    assert webtext(["sample", "--ckpt", str(ck), "--prompt", "the", "--device", device]) == 2
    err = one_error_line(capsys)
    kind = "MPS" if device == "mps" else "CUDA"
    assert err.endswith(f"device {device} was asked for but torch sees no {kind} device")


def test_check_device_names_what_was_asked_and_what_torch_sees(monkeypatch):
    assert check_device("cpu") == "cpu"
    with pytest.raises(ValueError, match="expected cpu, cuda, cuda:N or mps"):
        check_device("tpu")
    with pytest.raises(ValueError, match="expected cpu, cuda, cuda:N or mps"):
        check_device("cuda:x")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert check_device("cuda:0") == "cuda:0"
    with pytest.raises(ValueError, match=r"device cuda:1 was asked for but torch sees 1 CUDA device \(cuda:0 to"):
        check_device("cuda:1")


def test_sample_with_another_models_tokenizer_is_refused_in_one_line(ck, shared_data, capsys):
    gpt2 = shared_data / "gpt2-bpe"
    assert webtext(["sample", "--ckpt", str(ck), "--tokenizer", str(gpt2), "--prompt", "hello world",
                    "--max-new-tokens", "2"]) == 2
    err = one_error_line(capsys)
    vocab = load_checkpoint(str(ck))["model_config"]["vocab_size"]
    assert f"has 50257 token ids but the model's vocabulary has {vocab}" in err


def test_an_empty_prompt_samples_from_endoftext(ck, capsys):
    assert webtext(["sample", "--ckpt", str(ck), "--prompt", "", "--temperature", "0", "--max-new-tokens", "12"]) == 0
    out = capsys.readouterr().out
    assert out.strip() and "<|endoftext|>" not in out
    # the same as prompting with the token itself (which decoding leaves out)
    assert webtext(["sample", "--ckpt", str(ck), "--prompt", "<|endoftext|>", "--temperature", "0",
                    "--max-new-tokens", "12"]) == 0
    assert capsys.readouterr().out == out


def test_an_empty_prompt_without_endoftext_is_refused(ck, tmp_path, capsys):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.train_from_iterator([SENTENCE], trainers.BpeTrainer(vocab_size=280,
                                                            initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.save(str(tmp_path / "tokenizer.json"))
    assert webtext(["sample", "--ckpt", str(ck), "--tokenizer", str(tmp_path), "--prompt", ""]) == 2
    assert "the prompt is empty and the tokenizer in" in one_error_line(capsys)


BAD_VALUES = [
    ("--temperature", "nan", "--temperature nan: must be a finite number >= 0"),
    ("--temperature", "inf", "--temperature inf: must be a finite number >= 0"),
    ("--temperature", "-1", "--temperature -1.0: must be a finite number >= 0"),
    ("--top-p", "nan", "--top-p nan: must be > 0 and <= 1"),
    ("--top-p", "inf", "--top-p inf: must be > 0 and <= 1"),
    ("--top-p", "0", "--top-p 0.0: must be > 0 and <= 1"),
    ("--top-p", "1.5", "--top-p 1.5: must be > 0 and <= 1"),
    ("--top-k", "-1", "--top-k -1: must be >= 0"),
    ("--max-new-tokens", "-1", "--max-new-tokens -1: must be >= 0"),
    ("--num-samples", "0", "--num-samples 0: must be >= 1"),
]


@pytest.mark.parametrize("flag, value, need", BAD_VALUES, ids=[f"{f}={v}" for f, v, _ in BAD_VALUES])
def test_a_bad_sampling_value_is_named_with_its_flag(ck, flag, value, need, capsys):
    assert webtext(["sample", "--ckpt", str(ck), "--prompt", "the", flag, value]) == 2
    assert one_error_line(capsys) == f"webtext sample: error: {need}"


def test_sample_reads_gpt2s_encoder_json_and_vocab_bpe(gpt2_ck, capsys):
    ckpt, bpe_dir = gpt2_ck
    assert sorted(os.listdir(bpe_dir)) == ["encoder.json", "vocab.bpe"]
    for prompt in ("hello world", ""):
        assert webtext(["sample", "--ckpt", str(ckpt), "--tokenizer", str(bpe_dir), "--prompt", prompt,
                        "--max-new-tokens", "5"]) == 0
        assert capsys.readouterr().out.startswith(prompt)


def test_sample_given_the_checkpoint_file_finds_the_tokenizer_beside_it(ck, capsys):
    assert webtext(["sample", "--ckpt", str(ck), "--prompt", "the quick", "--temperature", "0",
                    "--max-new-tokens", "6"]) == 0
    by_folder = capsys.readouterr().out
    assert webtext(["sample", "--ckpt", str(ck / "ckpt.pt"), "--prompt", "the quick", "--temperature", "0",
                    "--max-new-tokens", "6"]) == 0
    assert capsys.readouterr().out == by_folder


def test_sample_with_a_tokenizer_folder_holding_no_tokenizer_is_one_line(ck, tmp_path, capsys):
    assert webtext(["sample", "--ckpt", str(ck), "--tokenizer", str(tmp_path), "--prompt", "the"]) == 2
    assert "needs tokenizer.json, or vocab.json or encoder.json and merges.txt or vocab.bpe" in one_error_line(capsys)


def test_export_finds_endoftext_in_gpt2s_files_and_falls_back_without_files(shared_data, tmp_path):
    from training_bridge.export import _eos_id

    assert _eos_id(str(shared_data / "gpt2-bpe"), 50257) == 50256
    tok = make_tokenizer(tmp_path / "custom", [SENTENCE], vocab_size=280)  # <|endoftext|> is id 0 here
    assert _eos_id(str(tmp_path / "custom"), 280) == tok.token_to_id("<|endoftext|>") == 0
    (tmp_path / "empty").mkdir()  # what train copies from a folder of encoder.json + vocab.bpe
    assert _eos_id(str(tmp_path / "empty"), 300) == 299


def test_export_command_errors_are_one_line(ck, tmp_path, capsys):
    assert webtext(["export", str(tmp_path / "nope"), str(tmp_path / "hf")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"webtext export: error: no checkpoint at {tmp_path / 'nope' / 'ckpt.pt'}"
    (tmp_path / "file").write_text("x")
    assert webtext(["export", str(ck), str(tmp_path / "file")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("webtext export: error: ") and "file exists" in err
    assert webtext(["export", str(ck), str(tmp_path / "hf")]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "hf")
    assert (tmp_path / "hf" / "config.json").is_file() and (tmp_path / "hf" / "model.safetensors").is_file()


def test_the_export_module_entry_point_is_one_line_too_and_help_exits_0(ck, tmp_path):
    def export(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "training_bridge.export", *args], cwd=str(REPO),
                              capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=300)

    proc = export(str(tmp_path / "nope"), str(tmp_path / "hf"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"python -m training_bridge.export: error: no checkpoint at {tmp_path / 'nope' / 'ckpt.pt'}"
    proc = export("--help")
    assert proc.returncode == 0 and "CKPT_DIR" in proc.stdout and "OUT_DIR" in proc.stdout


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002], ids=oct)
def test_export_writes_the_weights_with_the_same_mode_as_the_other_files(ck, tmp_path, umask):
    from training_bridge.export import export_hf

    old = os.umask(umask)
    try:
        out = Path(export_hf(str(ck), str(tmp_path / "hf")))
    finally:
        os.umask(old)
    mode = stat.S_IMODE((out / "config.json").stat().st_mode)
    assert mode == 0o666 & ~umask
    for name in ("model.safetensors", "tokenizer.json"):
        assert stat.S_IMODE((out / name).stat().st_mode) == mode, name


def test_num_samples_loads_the_checkpoint_once_and_equals_one_call_per_seed(ck, capsys, monkeypatch):
    import training_bridge.sample as sample_module

    args = ["sample", "--ckpt", str(ck), "--prompt", "the", "--max-new-tokens", "12", "--device", "cpu"]
    singles = []
    for seed in (5, 6, 7):
        assert webtext(args + ["--seed", str(seed)]) == 0
        singles.append(capsys.readouterr().out.rstrip("\n"))
    assert len(set(singles)) > 1  # the seeds give different samples
    loads = []
    real_load = sample_module.load_model
    monkeypatch.setattr(sample_module, "load_model", lambda *a, **k: loads.append(a) or real_load(*a, **k))
    assert webtext(args + ["--seed", "5", "--num-samples", "3"]) == 0
    out = capsys.readouterr().out.rstrip("\n").split("\n")
    assert out[0] == "--- sample 1" and len(loads) == 1
    got = "\n".join(out).split("--- sample ")[1:]
    assert [g.split("\n", 1)[1].rstrip("\n") for g in got] == singles


def test_train_keeps_a_tokenizer_given_as_vocab_and_merges_files(tmp_path, shared_data, capsys):
    """--tokenizer may be any folder `webtext tokenize` reads: GPT-2's encoder.json + vocab.bpe, or
    vocab.json + merges.txt without tokenizer.json. Train used to size the model 50257 whatever the
    files said and keep an empty CKPT/tokenizer/, which `webtext sample` then could not read."""
    from bpe.tokenizer_files import export_tokenizer_dir
    from bpe.tokenizer_files import tokenizer_fingerprint

    corpus = tmp_path / "corpus.txt"
    corpus.write_text(SENTENCE * 300, encoding="utf-8")
    pair = tmp_path / "pair"  # a 300-token tokenizer as vocab.json + merges.txt only
    assert webtext(["bpe", "train", "--input", str(corpus), "--out", str(pair), "--vocab-size", "300"]) == 0
    (pair / "tokenizer.json").unlink(missing_ok=True)
    assert sorted(p.name for p in pair.iterdir()) == ["merges.txt", "vocab.json"]
    enc = Encoder.from_dir(str(pair))
    (tmp_path / "tokens").mkdir()
    for i, text in enumerate([SENTENCE * 40, SENTENCE * 300]):
        write_shard(str(tmp_path / "tokens" / f"tokens_{i:06d}.bin"), np.array(enc.encode(text)), enc.vocab_size)
    assert webtext(["train", "--data", str(tmp_path / "tokens"), "--out", str(tmp_path / "ck"), "--steps", "2",
                    "--tokenizer", str(pair), *TRAIN]) == 0
    state = load_checkpoint(str(tmp_path / "ck"))
    assert state["model_config"]["vocab_size"] == enc.vocab_size < 300  # the files' size, not 50257
    assert sorted(p.name for p in (tmp_path / "ck" / "tokenizer").iterdir()) == [
        "merges.txt", "tokenizer.json", "vocab.json"]
    # the same tokenizer, however it is saved
    assert state["data"]["tokenizer_sha256"] == tokenizer_fingerprint(str(pair)) \
        == tokenizer_fingerprint(str(tmp_path / "ck" / "tokenizer"))
    capsys.readouterr()
    assert webtext(["sample", "--ckpt", str(tmp_path / "ck"), "--prompt", "the", "--max-new-tokens", "3",
                    "--device", "cpu"]) == 0
    assert capsys.readouterr().out.startswith("the")
    gpt2 = shared_data / "gpt2-bpe"  # GPT-2's own pair: the fingerprint of its tokenizer.json form
    export_tokenizer_dir(str(gpt2), str(tmp_path / "gpt2-std"))
    assert tokenizer_fingerprint(str(gpt2)) == tokenizer_fingerprint(str(tmp_path / "gpt2-std")) is not None
