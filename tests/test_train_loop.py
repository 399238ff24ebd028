"""The training loop on CPU with a tiny model: overfitting, exact resume, metrics, schedule, sampling."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from bpe.shards import write_shard
from corpus_tools.recipe import TrainConfig
from training_bridge.checkpoint import load_model
from training_bridge.model import GPT, GPTConfig
from training_bridge.sample import filter_logits, generate
from training_bridge.train import Throughput, find_tokenizer, make_optimizer, throughput_line, train

REPO = Path(__file__).resolve().parents[1]
VOCAB = 64
PERIOD = 48
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (torch sees none)")


def pattern() -> np.ndarray:
    """A fixed cycle of distinct ids: the next token is a function of the current one."""
    return np.random.default_rng(0).permutation(VOCAB)[:PERIOD]


@pytest.fixture
def tokens_dir(tmp_path):
    d = tmp_path / "tokens"
    d.mkdir()
    cycle = pattern()
    write_shard(str(d / "tokens_000000.bin"), np.tile(cycle, 40), VOCAB)  # validation
    write_shard(str(d / "tokens_000001.bin"), np.tile(cycle, 200), VOCAB)
    return str(d)


def cfg(**kw) -> TrainConfig:
    base = dict(model="tiny", steps=60, batch_size=8, seq_len=32, vocab_size=VOCAB, lr=3e-3, min_lr=3e-4,
                warmup_steps=5, eval_interval=20, eval_batches=2, seed=5)
    base.update(kw)
    return TrainConfig(**base)


def read_metrics(out: str) -> list[dict]:
    with open(os.path.join(out, "metrics.jsonl")) as fh:
        return [json.loads(line) for line in fh]


def test_overfits_a_periodic_shard_and_logs_every_step(tokens_dir, tmp_path):
    out = str(tmp_path / "ck")
    summary = train(tokens_dir, out, cfg(), device="cpu", progress=False, log=None)
    rows = read_metrics(out)
    assert [r["step"] for r in rows] == list(range(1, 61))
    assert rows[0]["loss"] > 3.5  # ~ln(64) = 4.16 at initialisation
    assert rows[-1]["loss"] < 0.5  # stated target: the cycle is learned
    assert summary["val_loss"] < 0.5
    assert [r["step"] for r in rows if "val_loss" in r] == [20, 40, 60]
    for r in rows:
        assert set(r) >= {"step", "loss", "lr", "tokens_per_s", "mfu"}
        assert r["tokens_per_s"] > 0 and r["mfu"] is None  # CPU: no known peak
    # The checkpoint is plain data: it loads with weights_only=True.
    state = torch.load(os.path.join(out, "ckpt.pt"), weights_only=True)
    assert state["step"] == 60 and set(state) >= {"model", "optimizer", "scheduler", "loader", "rng"}
    # Greedy generation continues the cycle.
    model, _ = load_model(out)
    cycle = pattern().tolist()
    ids = generate(model, cycle[:3], 2 * PERIOD, temperature=0)
    assert ids == (cycle * 4)[: 3 + 2 * PERIOD]


def test_sparse_logging_writes_each_logged_step_once_with_validation_on_its_own_steps(tokens_dir, tmp_path):
    # A logged loss is read one step late (so the GPU is never idle); rows must still be
    # one per logged step, in order, with val_loss joined to its step or alone on an unlogged one.
    out = str(tmp_path / "sparse")
    train(tokens_dir, out, cfg(steps=11, log_interval=3, eval_interval=5), device="cpu", progress=False, log=None)
    rows = read_metrics(out)
    assert [(r["step"], "loss" in r, "val_loss" in r) for r in rows] == [
        (3, True, False), (5, False, True), (6, True, False), (9, True, False), (10, False, True),
        (11, True, True)]
    dense = str(tmp_path / "dense")
    train(tokens_dir, dense, cfg(steps=11, eval_interval=5), device="cpu", progress=False, log=None)
    by_step = {r["step"]: r for r in read_metrics(dense)}
    for r in rows:
        for key in ("loss", "lr", "val_loss"):
            if key in r:
                assert r[key] == pytest.approx(by_step[r["step"]][key], abs=1e-6), (r["step"], key)
        if "loss" in r:
            assert r["tokens_per_s"] > 0


def test_summary_rate_is_the_whole_run_after_its_first_interval_not_the_last_step(tokens_dir, tmp_path):
    # The summary used to report the last step's tokens/s (one noisy interval); it is now every timed
    # interval's tokens over their seconds, leaving out the first (compilation, warm-up).
    out = str(tmp_path / "ck")
    summary = train(tokens_dir, out, cfg(steps=12, log_interval=2, eval_interval=6), device="cpu",
                    progress=False, export=False, log=None)
    rows = read_metrics(out)
    timed = [r for r in rows if "tokens_per_s" in r]
    assert [r["step"] for r in timed] == [2, 4, 6, 8, 10, 12]
    tokens = 8 * 32 * 2  # batch × context × steps per logged interval
    seconds = sum(tokens / r["tokens_per_s"] for r in timed[1:])
    assert summary["tokens_per_s"] == pytest.approx(tokens * 5 / seconds, rel=1e-9)
    assert summary["throughput_steps"] == "steps 3-12 (steps 1-2, with compilation and warm-up, left out)"
    assert summary["mfu"] is None  # CPU: no known peak
    assert throughput_line(summary) == (
        f"{summary['tokens_per_s']:,.0f} tokens/s over steps 3-12 (steps 1-2, with compilation and warm-up, left out)")
    assert throughput_line({**summary, "mfu": 0.3961}).startswith(f"{summary['tokens_per_s']:,.0f} tokens/s (39.6% MFU) over")


def test_throughput_of_one_interval_and_of_none():
    one = Throughput(start_step=40)
    one.add(45, 1000, 2.0)
    assert one.summary() == (500.0, "steps 41-45")  # nothing to leave out
    assert Throughput(start_step=0).summary() == (None, None)
    restarted = Throughput(start_step=0)
    restarted.add(1, 100, 10.0)
    restarted.restart(1)  # evaluation and saving after step 1 are not timed
    restarted.add(2, 100, 1.0)
    restarted.add(3, 100, 1.0)
    assert restarted.summary() == (100.0, "steps 2-3 (step 1, with compilation and warm-up, left out)")


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=[pytest.mark.gpu, needs_cuda])])
def test_tokens_per_s_at_evaluation_and_checkpoint_steps_is_like_the_other_steps(tokens_dir, tmp_path, device):
    # On the CPU a step has finished before the next one starts: a step whose loss is read at once
    # (evaluation, checkpoint) must still be timed over its own run, not over the instant of the read.
    out = str(tmp_path / "ck")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # steadier step times on a shared machine
    try:
        train(tokens_dir, out, cfg(steps=24, eval_interval=6, ckpt_interval=4), device=device,
              progress=False, export=False, log=None)
    finally:
        torch.set_num_threads(threads)
    rows = read_metrics(out)[1:]  # step 1 carries start-up costs
    at_ckpt = [r["tokens_per_s"] for r in rows if r["step"] % 4 == 0 or r["step"] % 6 == 0]
    others = [r["tokens_per_s"] for r in rows if r["step"] % 4 and r["step"] % 6]
    assert len(at_ckpt) == 8 and len(others) == 15
    assert statistics.median(others) / 3 < statistics.median(at_ckpt) < 3 * statistics.median(others)
    for tps in at_ckpt:
        assert min(others) / 3 < tps < 3 * max(others), (at_ckpt, others)


def test_learning_rate_warms_up_linearly_then_decays_by_cosine(tokens_dir, tmp_path):
    c = cfg(steps=30, warmup_steps=6, lr=1e-3, min_lr=1e-4, eval_interval=0)
    out = str(tmp_path / "ck")
    train(tokens_dir, out, c, device="cpu", progress=False, export=False, log=None)
    lrs = [r["lr"] for r in read_metrics(out)]
    for i, lr in enumerate(lrs):  # i = optimizer steps already taken
        if i < 6:
            want = 1e-3 * (i + 1) / 6
        else:
            want = 1e-4 + 0.5 * (1e-3 - 1e-4) * (1 + math.cos(math.pi * (i - 6) / 24))
        assert lr == pytest.approx(want, rel=1e-9)
    assert lrs[5] == pytest.approx(1e-3) and lrs[-1] > 1e-4 and lrs[-1] < 1.1e-4


def test_a_warmup_longer_than_the_run_is_warned_about(tokens_dir, tmp_path):
    logs: list[str] = []
    c = cfg(steps=5, warmup_steps=10, lr=1e-3, eval_interval=0)
    train(tokens_dir, str(tmp_path / "short"), c, device="cpu", progress=False, export=False, log=logs.append)
    lrs = [r["lr"] for r in read_metrics(str(tmp_path / "short"))]
    assert max(lrs) == pytest.approx(5e-4)  # what the warning is about: the peak 1e-3 is never used
    warned = [m for m in logs if m.startswith("warning:")]
    assert len(warned) == 1 and "warmup_steps 10 > steps 5" in warned[0] and "0.0005" in warned[0]
    logs.clear()
    train(tokens_dir, str(tmp_path / "ok"), cfg(steps=5, warmup_steps=5, eval_interval=0), device="cpu",
          progress=False, export=False, log=logs.append)
    assert not [m for m in logs if m.startswith("warning:")]


def test_resume_gives_the_same_curve_as_an_uninterrupted_run(tokens_dir, tmp_path):
    # dropout, shuffling and accumulation make the RNG, loader and optimizer state all matter
    c = cfg(steps=16, dropout=0.1, grad_accum=2, eval_interval=4, warmup_steps=3)
    full = str(tmp_path / "full")
    train(tokens_dir, full, c, device="cpu", progress=False, export=False, log=None)
    part = str(tmp_path / "part")
    first = train(tokens_dir, part, c, device="cpu", stop_at=7, progress=False, export=False, log=None)
    assert first["step"] == 7
    assert torch.load(os.path.join(part, "ckpt.pt"), weights_only=True)["step"] == 7
    train(tokens_dir, part, c, device="cpu", progress=False, export=False, log=None)
    a, b = read_metrics(full), read_metrics(part)
    assert [r["step"] for r in b] == list(range(1, 17))
    assert [r["loss"] for r in a] == [r["loss"] for r in b]
    assert [r.get("val_loss") for r in a] == [r.get("val_loss") for r in b]
    assert [r["lr"] for r in a] == [r["lr"] for r in b]
    with pytest.raises(ValueError, match="batch_size=8"):  # a different data order is not a resume
        train(tokens_dir, part, cfg(steps=20, dropout=0.1, grad_accum=2, eval_interval=4, warmup_steps=3,
                                    batch_size=4), device="cpu", progress=False, export=False, log=None)
    ma, _ = load_model(full)
    mb, _ = load_model(part)
    for (na, pa), (nb, pb) in zip(ma.state_dict().items(), mb.state_dict().items()):
        assert na == nb and torch.equal(pa, pb)


def test_compiled_bf16_training_follows_the_eager_curve_and_resumes(tokens_dir, tmp_path):
    # The GPU benchmark's path (torch.compile + bf16 autocast) on CPU, where inductor runs too:
    # compiling must not change what is learned, and a compiled run resumes from its checkpoint.
    c = cfg(steps=12, eval_interval=6, warmup_steps=3)
    eager = str(tmp_path / "eager")
    train(tokens_dir, eager, c, device="cpu", progress=False, export=False, log=None)
    compiled = str(tmp_path / "compiled")
    cc = dataclasses.replace(c, compile="on", dtype="bfloat16")
    first = train(tokens_dir, compiled, cc, device="cpu", stop_at=6, progress=False, export=False, log=None)
    assert first["step"] == 6
    train(tokens_dir, compiled, cc, device="cpu", progress=False, export=False, log=None)
    a, b = read_metrics(eager), read_metrics(compiled)
    assert [r["step"] for r in b] == list(range(1, 13))
    # bf16 autocast rounds matmul inputs: close to the fp32 eager curve, not bit-equal
    assert np.allclose([r["loss"] for r in a], [r["loss"] for r in b], rtol=0, atol=0.02)
    assert np.allclose([r["val_loss"] for r in a if "val_loss" in r],
                       [r["val_loss"] for r in b if "val_loss" in r], rtol=0, atol=0.02)
    assert b[-1]["loss"] < b[0]["loss"] - 0.5
    # the checkpoint holds the plain module's names, not the compiled wrapper's (_orig_mod.)
    state = torch.load(os.path.join(compiled, "ckpt.pt"), weights_only=True)
    assert not any(k.startswith("_orig_mod") for k in state["model"])


def test_weight_decay_applies_to_matrices_only():
    model = GPT(GPTConfig(vocab_size=50, block_size=16, n_layer=2, n_head=2, n_embd=32))
    opt = make_optimizer(model, cfg(weight_decay=0.1), torch.device("cpu"))
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert opt.defaults["betas"] == (0.9, 0.95)
    assert all(p.dim() == 2 for p in decay["params"]) and all(p.dim() == 1 for p in no_decay["params"])
    names = {id(p): n for n, p in model.named_parameters()}
    assert {names[id(p)] for p in no_decay["params"]} == {
        n for n, p in model.named_parameters() if n.endswith("bias") or ".ln_" in n}
    assert sum(p.numel() for g in opt.param_groups for p in g["params"]) == model.num_params(non_embedding=False)


def test_top_k_and_top_p_keep_the_expected_tokens():
    probs = torch.tensor([0.5, 0.2, 0.15, 0.1, 0.05])
    logits = probs.log()
    kept = lambda t: torch.isfinite(t).nonzero().flatten().tolist()  # noqa: E731
    assert kept(filter_logits(logits, top_k=2)) == [0, 1]
    assert kept(filter_logits(logits, top_p=0.6)) == [0, 1]  # 0.5 < 0.6 <= 0.7
    assert kept(filter_logits(logits, top_p=0.7)) == [0, 1]
    assert kept(filter_logits(logits, top_p=0.71)) == [0, 1, 2]
    assert kept(filter_logits(logits, top_p=0.1)) == [0]
    shuffled = logits[[3, 0, 4, 2, 1]]
    assert kept(filter_logits(shuffled, top_p=0.6)) == [1, 4]


def test_cached_generation_equals_recomputing_the_whole_context():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=50, block_size=16, n_layer=2, n_head=2, n_embd=32)).eval()
    x = torch.randint(0, 50, (1, 12))
    cache = model.new_cache()
    model(x[:, :5], cache=cache)
    for t in range(5, 12):  # one token at a time against the full forward pass
        step, _ = model(x[:, t:t + 1], cache=cache)
        full, _ = model(x[:, : t + 1])
        assert (step[0, -1] - full[0, -1]).abs().max().item() < 1e-5
    for kw in (dict(temperature=0), dict(temperature=1.0, top_p=0.9, seed=3)):
        # 30 new tokens from a 4-token prompt: the text outgrows the 16-token context
        assert generate(model, [1, 2, 3, 4], 30, **kw) == generate(model, [1, 2, 3, 4], 30, use_cache=False, **kw)


def test_sampling_is_seeded(tmp_path):
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=50, block_size=16, n_layer=1, n_head=2, n_embd=16))
    a = generate(model, [1, 2], 20, temperature=1.0, top_k=20, seed=9)
    b = generate(model, [1, 2], 20, temperature=1.0, top_k=20, seed=9)
    c = generate(model, [1, 2], 20, temperature=1.0, top_k=20, seed=10)
    assert a == b and a != c and len(a) == 22  # also longer than block_size: the context is cropped


def test_ddp_on_two_cpu_processes_matches_one_process_with_accumulation(tokens_dir, tmp_path):
    """Two gloo ranks with batch B read the windows one process reads with B and grad_accum 2."""
    c = cfg(steps=6, eval_interval=3, batch_size=4)
    one = str(tmp_path / "one")
    train(tokens_dir, one, cfg(steps=6, eval_interval=3, batch_size=4, grad_accum=2),
          device="cpu", progress=False, export=False, log=None)
    two = str(tmp_path / "two")
    script = (
        "from corpus_tools.recipe import TrainConfig; from training_bridge.train import train; "
        f"train({tokens_dir!r}, {two!r}, TrainConfig(**{c.__dict__!r}), device='cpu', progress=False, export=False)"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           "--no-python", sys.executable, "-c", script],
                          cwd=str(REPO), env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    a, b = read_metrics(one), read_metrics(two)
    assert [r["step"] for r in b] == list(range(1, 7))
    assert np.allclose([r["loss"] for r in a], [r["loss"] for r in b], rtol=0, atol=1e-5)
    assert np.allclose([r["val_loss"] for r in a if "val_loss" in r],
                       [r["val_loss"] for r in b if "val_loss" in r], rtol=0, atol=1e-5)


@pytest.mark.gpu
@needs_cuda
def test_gpu_training_uses_bf16_compile_and_reports_mfu(tokens_dir, tmp_path):
    out = str(tmp_path / "gpu")
    summary = train(tokens_dir, out, cfg(steps=40, compile="on"), device="cuda", progress=False, log=None)
    rows = read_metrics(out)
    assert rows[-1]["loss"] < 1.0
    if any(k in torch.cuda.get_device_name() for k in ("H100", "H200", "A100")):
        assert all(r["mfu"] is not None and r["mfu"] > 0 for r in rows)
    assert summary["hf_dir"] and os.path.isfile(os.path.join(summary["hf_dir"], "model.safetensors"))


def test_the_tokenizer_is_found_next_to_the_tokens_or_through_the_tokenize_stats(tmp_path):
    run = tmp_path / "run"
    (run / "tokens").mkdir(parents=True)
    assert find_tokenizer(str(run / "tokens")) is None
    elsewhere = tmp_path / "my-tokenizer"
    elsewhere.mkdir()
    (elsewhere / "tokenizer.json").write_text("{}")
    (run / "stats").mkdir()
    (run / "stats" / "tokenize.json").write_text(json.dumps({"outputs": {"tokenizer": str(elsewhere)}}))
    assert find_tokenizer(str(run / "tokens") + "/") == str(elsewhere)
    (run / "tokenizer").mkdir()
    (run / "tokenizer" / "tokenizer.json").write_text("{}")
    assert find_tokenizer(str(run / "tokens")) == str(run / "tokenizer")
