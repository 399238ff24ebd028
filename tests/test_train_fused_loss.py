"""The fused output projection + cross-entropy: same loss and gradients as the plain path, without the logits."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from training_bridge.fused_loss import linear_cross_entropy
from training_bridge.model import GPT, GPTConfig
from training_bridge.train import compile_kwargs, train
from tests.test_train_loop import cfg, read_metrics, tokens_dir  # noqa: F401 - the fixture is used by name


def reference(x, w, t, vocab):
    return F.cross_entropy((x @ w.t())[:, :vocab], t)


@pytest.mark.parametrize("chunk_rows", [1, 7, 64, 1000])
def test_loss_and_gradients_equal_the_plain_cross_entropy_for_any_chunking(chunk_rows):
    # 64 rows, a table padded from 50 to 64 ids: padding ids get no probability and no gradient
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 16, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(64, 16, generator=g, dtype=torch.float64, requires_grad=True)
    t = torch.randint(0, 50, (64,), generator=g)
    loss = linear_cross_entropy(x, w, t, 50, chunk_rows)
    (gx, gw) = torch.autograd.grad(loss * 3.0, (x, w))  # a scale on the way back reaches both gradients
    ref = reference(x, w, t, 50)
    rx, rw = torch.autograd.grad(ref * 3.0, (x, w))
    assert abs(loss.item() - ref.item()) < 1e-12
    assert torch.allclose(gx, rx, atol=1e-12) and torch.allclose(gw, rw, atol=1e-12)
    assert gw[50:].abs().max().item() == 0.0 and gw[:50].abs().max().item() > 0


def test_ignored_targets_count_neither_in_the_loss_nor_in_the_mean():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(10, 8, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(20, 8, generator=g, dtype=torch.float64, requires_grad=True)
    t = torch.randint(0, 20, (10,), generator=g)
    t[[0, 3, 4]] = -100
    loss = linear_cross_entropy(x, w, t, 20, chunk_rows=4)
    ref = reference(x, w, t, 20)  # F.cross_entropy ignores -100 by default
    assert abs(loss.item() - ref.item()) < 1e-12
    gx, = torch.autograd.grad(loss, x)
    assert gx[[0, 3, 4]].abs().max().item() == 0.0
    assert torch.allclose(gx, torch.autograd.grad(ref, x)[0], atol=1e-12)


def test_without_gradients_only_the_loss_is_computed():
    g = torch.Generator().manual_seed(2)
    x, w = torch.randn(12, 8, generator=g), torch.randn(16, 8, generator=g)
    t = torch.randint(0, 16, (12,), generator=g)
    loss = linear_cross_entropy(x, w, t, 16, chunk_rows=5)
    assert not loss.requires_grad
    assert abs(loss.item() - reference(x, w, t, 16).item()) < 1e-5


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="chunk_rows"):
        linear_cross_entropy(torch.zeros(2, 4), torch.zeros(3, 4), torch.zeros(2, dtype=torch.long), 3, 0)
    with pytest.raises(ValueError, match="rows"):
        linear_cross_entropy(torch.zeros(2, 2, 4), torch.zeros(3, 4), torch.zeros(2, dtype=torch.long), 3)


def plain_and_fused(model: GPT, run, x, y, chunk_rows: int, device: str) -> list[tuple[float, dict]]:
    """(loss, gradients by parameter name) of one bf16 step with the plain loss, then with the fused one."""
    out = []
    for rows in (0, chunk_rows):
        model.zero_grad()
        model.loss_chunk_rows = rows
        with torch.autocast(device, dtype=torch.bfloat16):
            logits, loss = run(x, y)
        assert (logits is None) == (rows > 0)
        loss.backward()
        out.append((loss.item(), {n: p.grad.float().clone() for n, p in model.named_parameters()}))
    return out


def assert_same_step(results, vocab: int) -> None:
    (plain_loss, plain), (fused_loss, fused) = results
    assert abs(plain_loss - fused_loss) < 0.01
    for name, g in plain.items():
        scale = g.abs().max().item()
        assert (fused[name] - g).abs().max().item() <= 0.05 * scale + 1e-6, name
    assert fused["transformer.wte.weight"][vocab:].abs().max().item() == 0.0


def test_model_with_a_fused_loss_matches_the_plain_model_under_bf16_autocast():
    # bf16 autocast as on a GPU: the projection in bf16, softmax and loss in fp32, on both paths
    torch.manual_seed(4)
    model = GPT(GPTConfig(vocab_size=250, block_size=32, n_layer=2, n_head=2, n_embd=64))
    x, y = torch.randint(0, 250, (3, 32)), torch.randint(0, 250, (3, 32))
    assert_same_step(plain_and_fused(model, model, x, y, 40, "cpu"), 250)


def test_compiled_training_with_a_fused_loss_follows_the_plain_curve(tokens_dir, tmp_path):  # noqa: F811
    # The fused path as the GPU benchmark runs it (inductor, bf16, coordinate-descent tuning) learns
    # what the plain eager path learns.
    c = cfg(steps=10, eval_interval=5, warmup_steps=3)
    plain = str(tmp_path / "plain")
    train(tokens_dir, plain, c, device="cpu", progress=False, export=False, log=None)
    fused = str(tmp_path / "fused")
    fc = dataclasses.replace(c, compile="on", dtype="bfloat16", loss_chunk_rows=100,
                             compile_mode="coordinate-descent")
    train(tokens_dir, fused, fc, device="cpu", progress=False, export=False, log=None)
    a, b = read_metrics(plain), read_metrics(fused)
    assert np.allclose([r["loss"] for r in a], [r["loss"] for r in b], rtol=0, atol=0.03)
    assert np.allclose([r["val_loss"] for r in a if "val_loss" in r],
                       [r["val_loss"] for r in b if "val_loss" in r], rtol=0, atol=0.03)
    assert b[-1]["loss"] < b[0]["loss"] - 0.5


def test_compile_modes_map_to_torch_compile_arguments():
    assert compile_kwargs("default") == {}
    assert compile_kwargs("coordinate-descent") == {"options": {"coordinate_descent_tuning": True}}
    assert compile_kwargs("max-autotune-no-cudagraphs") == {"mode": "max-autotune-no-cudagraphs"}
    with pytest.raises(ValueError):
        compile_kwargs("fast")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (torch sees none)")
def test_fused_loss_on_cuda_matches_the_plain_loss_compiled_in_bf16():
    # The benchmark's setting on a GPU: bf16 autocast, compiled, 124M's vocabulary padding (50257 -> 50304)
    torch.manual_seed(6)
    model = GPT(GPTConfig(vocab_size=50257, block_size=128, n_layer=2, n_head=4, n_embd=128)).cuda()
    x = torch.randint(0, 50257, (8, 128), device="cuda")
    y = torch.randint(0, 50257, (8, 128), device="cuda")
    assert_same_step(plain_and_fused(model, torch.compile(model), x, y, 300, "cuda"), 50257)
