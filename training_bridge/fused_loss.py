"""The output projection and the cross-entropy in one pass over row chunks, without the full logits.

GPT-2's last matmul makes a ``(tokens, vocab)`` logits tensor: 32 sequences × 1024 tokens ×
50,304 padded ids is 3.3 GB in bf16, written once, read back for the log-sum-exp, read again in
backward and followed by a gradient of the same size. :func:`linear_cross_entropy` instead takes
``chunk_rows`` rows at a time: logits of the chunk, their log-sum-exp, and — when a gradient is
wanted — the gradient of the logits (``softmax - one_hot``, scaled by ``1 / rows``) turned at once
into the chunk's input gradient and its share of the weight gradient. Backward then only scales
the stored gradients by the incoming one. This is llm.c's "fused classifier" (Karpathy 2024) and
Liger-Kernel's fused linear cross-entropy (Hsu et al. 2024), written with plain torch ops so that
``torch.compile`` can fuse the element-wise parts.

Numerics follow autocast: the matmuls run in the autocast dtype (bf16 on GPU), the softmax and the
loss in fp32, the weight gradient accumulates in fp32. Padding ids (``>= vocab_size``) are masked
to −inf: probability 0 and gradient 0, as in the model's unfused path. Targets equal to
``ignore_index`` count neither in the loss nor in the mean.
"""

from __future__ import annotations

import torch

IGNORE_INDEX = -100


def _compute_dtype(x: torch.Tensor) -> torch.dtype:
    kind = x.device.type
    if torch.is_autocast_enabled(kind):
        return torch.get_autocast_dtype(kind)
    return x.dtype


def _chunk_loss(xc: torch.Tensor, wc: torch.Tensor, tgt: torch.Tensor, vocab_size: int):
    """Logits of one chunk (fp32), summed loss of its valid rows, and the validity mask."""
    logits = (xc @ wc.t()).to(torch.promote_types(xc.dtype, torch.float32))
    if logits.size(-1) > vocab_size:
        logits[:, vocab_size:] = float("-inf")
    valid = tgt != IGNORE_INDEX
    safe = torch.where(valid, tgt, torch.zeros_like(tgt))
    lse = torch.logsumexp(logits, dim=-1)
    picked = logits.gather(1, safe.unsqueeze(1)).squeeze(1)
    return logits, lse, ((lse - picked) * valid).sum(), valid, safe


class _LinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, targets, vocab_size, chunk_rows, dtype):
        n = x.size(0)
        valid_rows = (targets != IGNORE_INDEX).sum().clamp(min=1)
        grad_x = torch.empty_like(x)
        acc = torch.promote_types(dtype, torch.float32)  # fp32, or fp64 when the inputs are
        grad_w = torch.zeros(weight.shape, dtype=acc, device=weight.device)
        total = torch.zeros((), dtype=acc, device=x.device)
        with torch.autocast(x.device.type, enabled=False):
            wc = weight.to(dtype)
            for start in range(0, n, chunk_rows):
                xc = x[start:start + chunk_rows].to(dtype)
                logits, lse, loss, valid, safe = _chunk_loss(xc, wc, targets[start:start + chunk_rows], vocab_size)
                total = total + loss
                # d(loss)/d(logits) = (softmax - one_hot) / rows, zero on ignored rows and padding ids
                g = torch.exp(logits - lse.unsqueeze(1))
                g.scatter_add_(1, safe.unsqueeze(1), -torch.ones_like(lse).unsqueeze(1))
                g = (g * (valid.unsqueeze(1) / valid_rows)).to(dtype)
                grad_x[start:start + chunk_rows] = (g @ wc).to(x.dtype)
                grad_w += (g.t() @ xc).to(acc)
        ctx.save_for_backward(grad_x, grad_w)
        ctx.weight_dtype = weight.dtype
        return total / valid_rows

    @staticmethod
    def backward(ctx, grad_out):
        grad_x, grad_w = ctx.saved_tensors
        return grad_x * grad_out, (grad_w * grad_out).to(ctx.weight_dtype), None, None, None, None


def linear_cross_entropy(x: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor, vocab_size: int,
                         chunk_rows: int = 4096) -> torch.Tensor:
    """Mean cross-entropy of ``x @ weight.T`` (ids ``>= vocab_size`` excluded) against ``targets``.

    ``x`` is ``(rows, C)``, ``weight`` ``(padded_vocab, C)``, ``targets`` ``(rows,)``. The same value
    as ``F.cross_entropy((x @ weight.T)[:, :vocab_size], targets)`` without ever holding more than
    ``chunk_rows`` rows of logits.
    """
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    if x.dim() != 2 or targets.shape != x.shape[:1]:
        raise ValueError(f"x must be (rows, C) and targets (rows,); got {tuple(x.shape)} and {tuple(targets.shape)}")
    dtype = _compute_dtype(x)
    if torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad):
        return _LinearCrossEntropy.apply(x, weight, targets, vocab_size, chunk_rows, dtype)
    total = torch.zeros((), dtype=torch.promote_types(dtype, torch.float32), device=x.device)
    with torch.autocast(x.device.type, enabled=False):
        wc = weight.to(dtype)
        for start in range(0, x.size(0), chunk_rows):
            total = total + _chunk_loss(x[start:start + chunk_rows].to(dtype), wc,
                                        targets[start:start + chunk_rows], vocab_size)[2]
    return total / (targets != IGNORE_INDEX).sum().clamp(min=1)
