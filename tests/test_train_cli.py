"""``webtext train`` and ``webtext sample`` end to end with a real BPE tokenizer and real shards."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from bpe.shards import read_shard, write_shard
from pipelines.webtext import main as webtext

REPO = Path(__file__).resolve().parents[1]
SENTENCE = "the quick brown fox jumps over the lazy dog. "


def make_tokenizer(folder: Path, texts: list[str], vocab_size: int = 300) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    return tok


def make_run(root: Path, text: str, val_text: str) -> tuple[Path, Tokenizer]:
    """RUN/tokenizer and RUN/tokens the way the tokenize stage lays them out."""
    tok = make_tokenizer(root / "tokenizer", [text])
    (root / "tokens").mkdir(parents=True)
    vocab = tok.get_vocab_size()
    write_shard(str(root / "tokens" / "tokens_000000.bin"), np.array(tok.encode(val_text).ids), vocab)
    write_shard(str(root / "tokens" / "tokens_000001.bin"), np.array(tok.encode(text).ids), vocab)
    return root / "tokens", tok


def metrics(ck: Path) -> list[dict]:
    return [json.loads(line) for line in (ck / "metrics.jsonl").read_text().splitlines()]


def test_train_then_sample_through_the_cli(tmp_path, capsys):
    tokens, tok = make_run(tmp_path / "run", SENTENCE * 300, SENTENCE * 40)
    ck = tmp_path / "ck"
    rc = webtext(["train", "--data", str(tokens), "--out", str(ck), "--device", "cpu", "--model", "tiny",
                  "--steps", "60", "--seq-len", "32", "--batch-size", "8", "--lr", "3e-3", "--eval-interval", "30",
                  "--eval-batches", "2", "--no-progress"])
    assert rc == 0
    rows = metrics(ck)
    assert len(rows) == 60 and rows[-1]["loss"] < 0.5 and rows[-1]["val_loss"] < 0.5
    # the tokenizer next to the tokens folder was found, copied, and sized the model
    assert (ck / "tokenizer" / "tokenizer.json").is_file()
    cfg = json.loads((ck / "hf" / "config.json").read_text())
    assert cfg["vocab_size"] == tok.get_vocab_size()
    assert cfg["eos_token_id"] == tok.token_to_id("<|endoftext|>")
    assert (ck / "hf" / "tokenizer.json").is_file()
    capsys.readouterr()
    rc = webtext(["sample", "--ckpt", str(ck), "--prompt", "the quick brown", "--temperature", "0",
                  "--max-new-tokens", "12"])
    assert rc == 0
    out = capsys.readouterr().out
    assert out.startswith("the quick brown fox jumps over the lazy dog")


def test_train_on_real_text_lowers_validation_loss(shared_data, tmp_path):
    text = (shared_data / "corpora" / "tinyshakespeare.txt").read_text()[:200_000]
    tokens, tok = make_run(tmp_path / "run", text[20_000:], text[:20_000])
    ck = tmp_path / "ck"
    rc = webtext(["train", "--data", str(tokens), "--out", str(ck), "--device", "cpu", "--model", "tiny",
                  "--steps", "40", "--seq-len", "64", "--batch-size", "8", "--lr", "3e-3", "--eval-interval", "20",
                  "--eval-batches", "4", "--no-progress", "--no-export"])
    assert rc == 0
    val = [r["val_loss"] for r in metrics(ck) if "val_loss" in r]
    assert len(val) == 2
    assert val[-1] < math.log(tok.get_vocab_size()) - 1.0  # well below a uniform guess over the vocabulary


def test_train_says_how_far_the_default_steps_go_and_which_validation_it_reports(tmp_path, capsys):
    tokens, _ = make_run(tmp_path / "run", SENTENCE * 300, SENTENCE * 40)
    train_tokens = len(read_shard(str(tokens / "tokens_000001.bin")))
    steps_per_epoch = (train_tokens - 1) // 32 // 8  # windows of 32 tokens, 8 a step
    common = ["train", "--data", str(tokens), "--device", "cpu", "--model", "tiny", "--seq-len", "32",
              "--batch-size", "8", "--no-progress", "--no-export"]
    # no --steps: the default is named, with what one epoch would take; no validation ran
    assert webtext(common + ["--out", str(tmp_path / "a"), "--eval-interval", "0", "--stop-at", "2"]) == 0
    out = capsys.readouterr().out
    assert "training to step 2 of 50 (the default; set --steps N)" in out
    assert f"one epoch is about {steps_per_epoch} steps" in out
    assert "warning" not in out  # warmup_steps 10 < 50
    assert out.splitlines()[-1].endswith("step 2, loss " + f"{metrics(tmp_path / 'a')[-1]['loss']:.4f}"
                                         + ", val_loss not evaluated")
    # --steps given and shorter than the warm-up; the last validation was before the last step
    assert webtext(common + ["--out", str(tmp_path / "b"), "--steps", "6", "--eval-interval", "4",
                             "--stop-at", "5"]) == 0
    out = capsys.readouterr().out
    assert "training to step 5 of 6:" in out and "the default" not in out
    assert "warning: warmup_steps 10 > steps 6" in out
    val = [r["val_loss"] for r in metrics(tmp_path / "b") if "val_loss" in r]
    assert len(val) == 1 and out.splitlines()[-1].endswith(f"val_loss {val[0]:.4f} (at step 4)")


def test_bad_inputs_exit_2_with_one_line(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert webtext(["train", "--data", str(empty), "--out", str(tmp_path / "ck"), "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip()
    assert "need at least 2" in err and len(err.splitlines()) == 1

    bad = tmp_path / "bad"
    bad.mkdir()
    write_shard(str(bad / "a.bin"), np.arange(500), 1000)
    (bad / "b.bin").write_bytes(np.zeros(256, dtype="<i4").tobytes())
    assert webtext(["train", "--data", str(bad), "--out", str(tmp_path / "ck"), "--device", "cpu"]) == 2
    assert "bad magic" in capsys.readouterr().err

    with pytest.raises(SystemExit) as e:
        webtext(["train", "--data", str(bad), "--out", str(tmp_path / "ck"), "--model", "9B"])
    assert e.value.code == 2
    assert "invalid choice: '9B'" in capsys.readouterr().err

    assert webtext(["train", "--data", str(bad), "--out", str(tmp_path / "ck"), "--lr", "-1"]) == 2
    assert capsys.readouterr().err == "webtext train: error: --lr -1.0: must be >= 0.0\n"  # the flag given

    # a pair (min_lr <= lr) broken by a flag: the flags given are named as flags, the other end by the flag
    # that sets it; a recipe's keys stay recipe keys
    def error(*flags: str, recipe: Path | None = None) -> str:
        more = ["--recipe", str(recipe)] if recipe else []
        assert webtext(["train", "--data", str(bad), "--out", str(tmp_path / "ck"), *more, *flags]) == 2
        return capsys.readouterr().err.strip()

    assert error("--lr", "1e-5") == ("webtext train: error: [train] min_lr = 6e-05: must be <= --lr 1e-05 "
                                     "(--min-lr sets [train] min_lr)")
    assert error("--lr", "1e-5", "--min-lr", "2e-5") == "webtext train: error: --min-lr 2e-05: must be <= --lr 1e-05"
    recipe = tmp_path / "r.toml"
    recipe.write_text("[train]\nlr = 1e-5\n", encoding="utf-8")
    assert error(recipe=recipe) == f"webtext train: error: {recipe}: [train] min_lr = 6e-05: must be <= [train] lr = 1e-05"

    assert webtext(["sample", "--ckpt", str(tmp_path / "nothing"), "--prompt", "x"]) == 2
    assert "no checkpoint" in capsys.readouterr().err


def test_a_shard_file_as_data_and_a_truncated_checkpoint_say_what_to_do(tmp_path, capsys):
    tokens, _ = make_run(tmp_path / "run", SENTENCE * 300, SENTENCE * 40)
    shard = tokens / "tokens_000001.bin"
    # it said "token shard folder not found" of a file that exists
    assert webtext(["train", "--data", str(shard), "--out", str(tmp_path / "ck"), "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not found" not in err
    assert f"{shard} is a file, not a folder of token shards: give the folder that holds the shards ({tokens})" in err

    ck = tmp_path / "ck"
    ck.mkdir()
    (ck / "ckpt.pt").write_bytes(b"PK\x03\x04" + b"\0" * 100)  # a write cut short
    common = ["train", "--data", str(tokens), "--out", str(ck), "--device", "cpu", "--model", "tiny", "--seq-len", "32",
              "--batch-size", "8", "--steps", "2", "--eval-interval", "0", "--no-progress", "--no-export"]
    assert webtext(common) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a readable checkpoint" in err, err
    assert err.endswith("to start afresh (overwriting it), add --no-resume")
    assert webtext(common + ["--no-resume"]) == 0


def test_a_bug_mid_training_says_the_checkpoint_before_it_resumes(tmp_path, capsys, monkeypatch):
    """An unexpected error (a bug: here the learning-rate schedule raises during step 5) is its
    traceback and one closing line that tells what a rerun finds: the checkpoint of step 4 (not
    "the stage reruns", which is the stages' line); the same command then resumes from it."""
    import training_bridge.train as loop

    tokens, _ = make_run(tmp_path / "run", SENTENCE * 300, SENTENCE * 40)
    ck = tmp_path / "ck"
    cmd = ["train", "--data", str(tokens), "--out", str(ck), "--device", "cpu", "--model", "tiny", "--seq-len", "32",
           "--batch-size", "4", "--steps", "8", "--warmup-steps", "2", "--ckpt-interval", "4", "--eval-interval", "0",
           "--no-progress", "--no-export"]
    schedule = loop.lr_at

    def buggy(step, cfg):
        if step == 5:  # asked for as the fifth update ends: after the checkpoint of step 4
            raise ZeroDivisionError("a bug in the schedule")
        return schedule(step, cfg)

    monkeypatch.setattr(loop, "lr_at", buggy)
    assert webtext(cmd) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):"), err
    assert err.splitlines()[-1] == ("webtext train: failed: ZeroDivisionError: a bug in the schedule (an unexpected "
                                    "error, not bad input: the traceback above; a checkpoint written before it is "
                                    "kept: the same command resumes from it)")
    monkeypatch.setattr(loop, "lr_at", schedule)
    assert webtext(cmd) == 0
    assert f"resumed from {ck / 'ckpt.pt'} at step 4" in capsys.readouterr().out
    assert [row["step"] for row in metrics(ck)] == list(range(1, 9))


def test_under_torchrun_the_closing_line_is_printed_once(tmp_path):
    tokens, _ = make_run(tmp_path / "run", SENTENCE * 300, SENTENCE * 40)
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           "-m", "pipelines.webtext", "train", "--data", str(tokens), "--out", str(tmp_path / "ck"),
                           "--device", "cpu", "--model", "tiny", "--seq-len", "32", "--batch-size", "4",
                           "--steps", "3", "--eval-interval", "0", "--no-progress", "--no-export"],
                          cwd=str(REPO), env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    closing = [line for line in proc.stdout.splitlines() if line.startswith("checkpoint ")]
    assert closing == [f"checkpoint {tmp_path / 'ck' / 'ckpt.pt'}, step 3, loss {metrics(tmp_path / 'ck')[-1]['loss']:.4f}, "
                       "val_loss not evaluated"], proc.stdout
    assert proc.stdout.count("model tiny:") == 1  # the other lines were rank 0's alone already


@pytest.mark.parametrize("command, shown", [
    ("sample", ["--max-new-tokens MAX_NEW_TOKENS stop after this many tokens (default: 100)",
                "--temperature TEMPERATURE 0 = greedy (default: 1.0)", "(default: 0)", "(default: 1.0)",
                "--device DEVICE cpu, cuda, cuda:N or mps (default: cuda when available, else cpu"]),
    ("train", ["--device {cpu,cuda} device to train on (default: cuda when available, else cpu)",
               "(default: 50)", "(default: tiny)", "(default: True)",
               # the rule training_bridge/data.py follows: webtext's own names say which shard is which
               "files named *_val_*.bin are validation and the others training",
               "without _val_/_train_ names the first .bin by name is validation"]),
])
def test_help_shows_the_defaults_and_both_commands_pick_the_device_alike(command, shown, capsys):
    with pytest.raises(SystemExit) as e:
        webtext([command, "--help"])
    assert e.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for words in shown:
        assert words in text


def test_help_works_without_torch():
    code = ("import sys; sys.modules['torch'] = None; from pipelines.webtext import main; "
            "main(['train', '--help'])")
    proc = subprocess.run([sys.executable, "-c", code], cwd=str(REPO), capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "--grad-accum" in proc.stdout and "--data TOKENS_DIR" in proc.stdout
