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


def _chunked(x: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor, vocab_size: int, chunk_rows: int,
             dtype: torch.dtype, grads: bool):
    """Mean loss over the valid rows and, with ``grads``, its gradients for ``x`` and ``weight``
    (``None`` otherwise), one chunk of ``chunk_rows`` rows at a time; matmuls in ``dtype``."""
    acc = torch.promote_types(dtype, torch.float32)  # fp32, or fp64 when the inputs are
    valid_rows = (targets != IGNORE_INDEX).sum().clamp(min=1)
    total = torch.zeros((), dtype=acc, device=x.device)
    grad_x = torch.empty_like(x) if grads else None
    grad_w = torch.zeros(weight.shape, dtype=acc, device=weight.device) if grads else None
    with torch.autocast(x.device.type, enabled=False):
        wc = weight.to(dtype)
        for start in range(0, x.size(0), chunk_rows):
            xc = x[start:start + chunk_rows].to(dtype)
            tgt = targets[start:start + chunk_rows]
            logits = (xc @ wc.t()).to(acc)
            if logits.size(-1) > vocab_size:
                logits[:, vocab_size:] = float("-inf")
            valid = tgt != IGNORE_INDEX
            safe = torch.where(valid, tgt, torch.zeros_like(tgt))
            lse = torch.logsumexp(logits, dim=-1)
            total = total + ((lse - logits.gather(1, safe.unsqueeze(1)).squeeze(1)) * valid).sum()
            if grads:
                # d(loss)/d(logits) = (softmax - one_hot) / rows, zero on ignored rows and padding ids
                g = torch.exp(logits - lse.unsqueeze(1))
                g.scatter_add_(1, safe.unsqueeze(1), -torch.ones_like(lse).unsqueeze(1))
                g = (g * (valid.unsqueeze(1) / valid_rows)).to(dtype)
                grad_x[start:start + chunk_rows] = (g @ wc).to(x.dtype)
                grad_w += (g.t() @ xc).to(acc)
    return total / valid_rows, grad_x, grad_w


class _LinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, targets, vocab_size, chunk_rows, dtype):
        loss, grad_x, grad_w = _chunked(x, weight, targets, vocab_size, chunk_rows, dtype, grads=True)
        ctx.save_for_backward(grad_x, grad_w)
        ctx.weight_dtype = weight.dtype
        return loss

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
    return _chunked(x, weight, targets, vocab_size, chunk_rows, dtype, grads=False)[0]
