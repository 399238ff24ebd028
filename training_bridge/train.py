"""Pretrain the GPT-2 model on token shards: single process, or several GPUs under ``torchrun``.

The recipe follows GPT-2/GPT-3 practice (GPT-3 paper, appendix B): AdamW with β = (0.9, 0.95)
and weight decay 0.1 on matrices only (not on biases, LayerNorm gains or… anything 1-D), fused on
CUDA; a linear warm-up then cosine decay to ``min_lr``; gradient-norm clipping at 1.0; gradient
accumulation; bf16 autocast on GPU; optional ``torch.compile`` (``compile_mode`` picks inductor's
tuning) and an optional fused output projection + loss (``loss_chunk_rows``). Validation loss on the first
batches of the validation shard every ``eval_interval`` steps. A checkpoint holds model,
optimizer, scheduler, loader position and RNG states, and an existing checkpoint in the output
folder is resumed from exactly where it stopped. A resume keeps :data:`RESUME_FIXED`; the settings of
:data:`RESUME_SCHEDULE` are the new command's from its first step (the learning rate is always
:func:`lr_at` of the step); a checkpoint past the step asked for is refused, one at it is left as it
is; another tokenizer is refused and other data said (the checkpoint's ``data`` record, see
:func:`data_record`). A first Ctrl-C stops at the next step boundary with a checkpoint.

Every logged step appends one JSON object to ``CKPT_DIR/metrics.jsonl``:
``{"step", "loss", "lr", "tokens_per_s", "mfu"}`` plus ``"val_loss"`` where evaluated.
MFU uses PaLM's FLOPs formula (:meth:`GPT.flops_per_token`) against the device's peak dense
bf16 throughput (:data:`PEAK_FLOPS`, or ``peak_flops=``); it is ``null`` when the peak is unknown
(CPUs).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import shutil
import signal
import threading
import time
from typing import Any, Callable

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

from bpe.tokenizer_files import tokenizer_fingerprint
from bpe.tokens_manifest import load_manifest, manifest_sha
from training_bridge.checkpoint import (CKPT_NAME, load_checkpoint, rng_state, save_checkpoint,
                                        set_rng_state, stored_tokenizer_dir)
from training_bridge.data import ShardLoader, split_shards
from training_bridge.devices import pick_device
from training_bridge.model import GPT, GPTConfig, config_for
from training_bridge.vocab import check_model_vocab, check_tokenizer, find_tokenizer, resolve_vocab_size

METRICS_NAME = "metrics.jsonl"
# [train] parameters a resumed run must share with its checkpoint (they decide the model or the data order)
RESUME_FIXED = ("model", "seq_len", "vocab_size", "dropout", "batch_size", "grad_accum", "shuffle", "seed")
# [train] parameters a resumed run may change: they apply from its first step, and the start-up line names them.
# The learning-rate schedule is a function of the step and these settings alone (the scheduler's saved state
# is not used), and the optimizer's hyper-parameters are set from them over the checkpoint's.
RESUME_SCHEDULE = ("steps", "lr", "min_lr", "warmup_steps", "weight_decay", "beta1", "beta2", "grad_clip")
TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "merges.txt")

# Peak dense bf16 tensor throughput (FLOP/s) by device name, from the vendors' data sheets.
PEAK_FLOPS = [
    ("H100 PCIe", 756e12), ("H100 NVL", 835e12), ("H100", 989e12), ("H200", 989e12), ("GH200", 989e12),
    ("B200", 2250e12), ("A100", 312e12), ("L40S", 362e12), ("L4", 121e12), ("A10G", 70e12),
    ("RTX 4090", 165e12), ("RTX 3090", 71e12), ("V100", 125e12),
]


def peak_flops_for(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for key, flops in PEAK_FLOPS:
        if key in name:
            return flops
    return None


def lr_at(step: int, cfg: Any) -> float:
    """Learning rate for optimizer step ``step`` (0-based): linear warm-up, then cosine to ``min_lr``."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    decay_steps = max(1, cfg.steps - cfg.warmup_steps)
    progress = min(1.0, (step - cfg.warmup_steps) / decay_steps)
    return cfg.min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (cfg.lr - cfg.min_lr)


def make_optimizer(model: GPT, cfg: Any, device: torch.device) -> torch.optim.AdamW:
    """AdamW with weight decay on parameters of dim >= 2 (matmuls, embeddings) only; fused on CUDA."""
    params = [p for p in model.parameters() if p.requires_grad]  # tied weights appear once
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=1e-8,
                             fused=(device.type == "cuda"))


def compile_kwargs(mode: str) -> dict[str, Any]:
    """``torch.compile`` arguments for the recipe's ``compile_mode``."""
    if mode == "default":
        return {}
    if mode == "coordinate-descent":
        return {"options": {"coordinate_descent_tuning": True}}
    if mode == "max-autotune-no-cudagraphs":
        return {"mode": mode}
    raise ValueError(f"unknown compile_mode {mode!r}")


def data_record(data_dir: str, paths: list[str], tokenizer_sha256: str | None) -> dict:
    """What a checkpoint keeps of its data (plain types): the tokens folder, its shards' names and
    sizes, and the fingerprint of the tokenizer the model's ids belong to."""
    return {"dir": os.path.abspath(data_dir), "shards": {os.path.basename(p): os.path.getsize(p) for p in paths},
            "tokenizer_sha256": tokenizer_sha256}


def schedule_changes(saved: dict, cfg: Any) -> list[str]:
    """``lr 0.0006 -> 0.001``, … for each :data:`RESUME_SCHEDULE` setting that differs from the checkpoint's."""
    return [f"{k} {saved[k]:g} -> {getattr(cfg, k):g}" for k in RESUME_SCHEDULE
            if k in saved and saved[k] != getattr(cfg, k)]


def startup_line(cfg: Any, model: GPT, seq_len: int, tokens_per_step: int, device: str, bf16: bool,
                 step: int, end: int) -> str:
    """The first line of a run: the model's size as OpenAI counts it (see :meth:`GPT.released_num_params`)."""
    n = model.released_num_params()
    return (f"model {cfg.model}: {n / 1e6:.2f}M parameters ({n:,}), {model.config.n_layer} layers, "
            f"context {seq_len}; {tokens_per_step} tokens/step; device {device}; bf16={bf16}; steps {step}->{end}")


class StopRequest:
    """Ctrl-C during training: the first asks to stop at the next step boundary (with a checkpoint),
    a second one is the usual ``KeyboardInterrupt`` at once.

    Installed only in the main thread and only over a Python-level SIGINT handler (not where SIGINT
    is ignored, as for ``cmd &``); the previous handler is restored on exit and handles the second."""

    def __init__(self):
        self.requested = False
        self._previous: Any = None

    def __enter__(self) -> "StopRequest":
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGINT)
            if callable(previous):
                self._previous = previous
                signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested:
            self._previous(signum, frame)  # the user insists: raises KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


def plan_message(cfg: Any, end: int, loader: ShardLoader, tokens_per_step: int) -> str:
    """How far ``end`` steps go in tokens and epochs of the training shards; flags a default ``steps``."""
    defaults = {f.name: f.default for f in dataclasses.fields(cfg)}
    steps_per_epoch = loader.batches_per_epoch / cfg.grad_accum
    of = "" if end == cfg.steps else f" of {cfg.steps}"
    note = " (the default; set --steps N)" if cfg.steps == defaults["steps"] else ""
    return (f"training to step {end}{of}{note}: {end * tokens_per_step:,} tokens, {end / steps_per_epoch:.3g} epochs "
            f"of the training shards (one epoch is about {max(1, round(steps_per_epoch)):,} steps)")


def warmup_warning(cfg: Any) -> str | None:
    """A warning when the warm-up outlasts the run, so the learning rate never reaches ``lr``."""
    if cfg.steps == 0 or cfg.warmup_steps <= cfg.steps:
        return None
    return (f"warning: warmup_steps {cfg.warmup_steps} > steps {cfg.steps}: the learning rate rises only to "
            f"{lr_at(cfg.steps - 1, cfg):.3g}, never to its peak lr {cfg.lr:g}, and does not decay; "
            f"set --warmup-steps below --steps")


def result_line(summary: dict) -> str:
    """``step S, loss L, val_loss V`` for people: says when no step ran or no validation did."""
    loss = "not measured (no step run)" if summary["loss"] is None else f"{summary['loss']:.4f}"
    if summary["val_loss"] is None:
        val = "not evaluated"
    else:
        val = f"{summary['val_loss']:.4f}"
        if summary["val_step"] != summary["step"]:
            val += f" (at step {summary['val_step']})"
    return f"step {summary['step']}, loss {loss}, val_loss {val}"


def throughput_line(summary: dict) -> str | None:
    """``N tokens/s (M% MFU) over steps A-B …`` for people; ``None`` when no step was timed."""
    if summary["tokens_per_s"] is None:
        return None
    mfu = "" if summary["mfu"] is None else f" ({summary['mfu']:.1%} MFU)"
    return f"{summary['tokens_per_s']:,.0f} tokens/s{mfu} over {summary['throughput_steps']}"


class Throughput:
    """The run's training rate: tokens over the seconds of its timed intervals, not the last one's.

    The first interval of a call (steps up to the first logged step) holds ``torch.compile``, CUDA
    start-up and the loader's first reads, so it is left out whenever a later interval was timed.
    """

    def __init__(self, start_step: int):
        self.intervals: list[tuple[int, int, int, float]] = []  # (first step, last step, tokens, seconds)
        self.next_first = start_step + 1

    def add(self, last_step: int, tokens: int, seconds: float) -> None:
        self.intervals.append((self.next_first, last_step, tokens, seconds))
        self.next_first = last_step + 1

    def restart(self, step: int) -> None:
        """Evaluating and saving after ``step`` are not training time: the next interval starts after it."""
        self.next_first = step + 1

    def summary(self) -> tuple[float | None, str | None]:
        """(tokens/s, which steps it covers), or (None, None) when no interval was timed."""
        timed = self.intervals[1:] or self.intervals
        if not timed:
            return None, None
        tokens, seconds = sum(t[2] for t in timed), sum(t[3] for t in timed)
        where = _steps(timed[0][0], timed[-1][1])
        if len(timed) < len(self.intervals):
            where += f" ({_steps(*self.intervals[0][:2])}, with compilation and warm-up, left out)"
        return tokens / seconds, where


def _steps(first: int, last: int) -> str:
    return f"step {first}" if first == last else f"steps {first}-{last}"


@dataclasses.dataclass
class Dist:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def master(self) -> bool:
        return self.rank == 0


def init_distributed(device: str | None) -> tuple[Dist, torch.device]:
    """Join the ``torchrun`` process group when RANK/WORLD_SIZE say so; pick the device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1:
        d = Dist(int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0")), world)
        use_cuda = device != "cpu" and torch.cuda.is_available()
        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if use_cuda else "gloo")
        if use_cuda:
            torch.cuda.set_device(d.local_rank)
            return d, torch.device("cuda", d.local_rank)
        return d, torch.device("cpu")
    return Dist(), torch.device(pick_device(device))


def _copy_tokenizer(src: str | None, out_dir: str) -> str | None:
    """Keep the tokenizer with the checkpoint (``CKPT_DIR/tokenizer``): its files, or, for a folder
    without ``tokenizer.json`` (``vocab.json`` + ``merges.txt``, GPT-2's ``encoder.json`` +
    ``vocab.bpe``), the same tokenizer under the standard names, ``tokenizer.json`` included."""
    if not src:
        return None
    dst = os.path.join(out_dir, "tokenizer")
    if os.path.abspath(src) != os.path.abspath(dst):
        os.makedirs(dst, exist_ok=True)
        if os.path.isfile(os.path.join(src, "tokenizer.json")):
            for name in TOKENIZER_FILES:
                if os.path.isfile(os.path.join(src, name)):
                    shutil.copyfile(os.path.join(src, name), os.path.join(dst, name))
        else:
            from bpe.tokenizer_files import export_tokenizer_dir

            export_tokenizer_dir(src, dst)
    return "tokenizer"


def _rewrite_metrics(path: str, keep_until_step: int) -> None:
    """Keep the metrics of steps up to the resumed checkpoint; later ones are redone."""
    if not os.path.exists(path):
        return
    with open(path) as fh:
        rows = [line for line in fh if line.strip() and json.loads(line)["step"] <= keep_until_step]
    with open(path, "w") as fh:
        fh.writelines(rows)


@torch.no_grad()
def evaluate(model: torch.nn.Module, loader: ShardLoader, batches: int, autocast: Callable,
             d: Dist, device: torch.device) -> float:
    """Mean loss over the first ``batches`` batches of the validation loader (all ranks)."""
    model.eval()
    loader.reset()
    total = torch.zeros((), device=device, dtype=torch.float64)
    for _ in range(batches):
        x, y = loader.next_batch()
        with autocast():
            _, loss = model(x, y)
        total += loss.double()
    if d.enabled:
        dist.all_reduce(total)
    model.train()
    return float(total) / (batches * d.world_size)


def train(data_dir: str, out_dir: str, cfg: Any, *, device: str | None = None,
          tokenizer_dir: str | None = None, resume: bool = True, stop_at: int | None = None,
          peak_flops: float | None = None, progress: bool = True, export: bool = True,
          log: Callable[[str], None] | None = print) -> dict:
    """Train (or resume) until ``cfg.steps`` optimizer steps, or ``stop_at`` steps if given.

    ``cfg`` is the recipe's ``[train]`` section (:class:`corpus_tools.recipe.TrainConfig`).
    Returns a summary: steps done, last loss, last val_loss and its step (``None`` when this call
    evaluated none), tokens/s and MFU over this call's timed steps (see :class:`Throughput`; the
    steps they cover in ``throughput_steps``) and paths; ``nothing_to_do`` is true when the
    checkpoint was already at the step asked for. A first Ctrl-C (SIGINT) stops at the next step
    boundary with a checkpoint and then raises ``KeyboardInterrupt``; a second one raises it at once.
    """
    d, dev = init_distributed(device)
    log = log if (log and d.master) else (lambda _msg: None)
    if tokenizer_dir is None:
        tokenizer_dir = find_tokenizer(data_dir)
    val_paths, train_paths = split_shards(data_dir)
    manifest = load_manifest(data_dir)  # None for shards made elsewhere
    ckpt_file = os.path.join(out_dir, CKPT_NAME)
    state = None
    if resume and os.path.exists(ckpt_file):
        try:
            state = load_checkpoint(ckpt_file)
        except ValueError as e:  # truncated, corrupt, not ours
            raise ValueError(f"{e}; to start afresh (overwriting it), add --no-resume") from None
    end = cfg.steps if stop_at is None else min(stop_at, cfg.steps)

    # ---- what a resume keeps, may change, and must refuse
    step = 0
    resume_notes: list[str] = []
    tok_sha = tokenizer_fingerprint(tokenizer_dir)
    if manifest is not None and tokenizer_dir:
        check_tokenizer(manifest, tokenizer_dir, tok_sha)
    # the fingerprint of the tokenizer the shards' ids belong to: the tokenizer's, else their manifest's
    tok_sha = tok_sha or manifest_sha(manifest)
    same_data = True
    if state is not None:
        saved = state["train_config"]
        changed = [k for k in RESUME_FIXED if saved.get(k) != getattr(cfg, k)]
        if changed:
            raise ValueError(
                f"{ckpt_file} was trained with " + ", ".join(f"{k}={saved.get(k)!r}" for k in changed)
                + "; resume with the same values or start afresh (--no-resume)")
        step = int(state["step"])
        flag = "--steps" if end == cfg.steps else "--stop-at"
        if end < step:
            raise ValueError(f"{ckpt_file} is already at step {step}, past {flag} {end}: nothing to train; "
                             f"give {flag} above {step} to train further, or --no-resume to start afresh")
        if end == step:
            return _nothing_to_do(state, cfg, out_dir, ckpt_file, flag, end, export and d.master, log, d)
        record = state.get("data")  # absent in checkpoints written before it was recorded
        if record is not None:
            ckpt_sha = record.get("tokenizer_sha256")
        else:
            ckpt_sha = tokenizer_fingerprint(stored_tokenizer_dir(out_dir, state))
        new_sha = tok_sha
        if ckpt_sha and new_sha and ckpt_sha != new_sha:
            which = (f"tokenizer {tokenizer_dir} is not the one" if tokenizer_dir else
                     f"the shards of {data_dir} were not made with the tokenizer")  # their manifest says
            raise ValueError(
                f"{which} {ckpt_file} was trained with (vocabulary and merges "
                f"differ: {new_sha[:12]} vs {ckpt_sha[:12]}): the model's token ids would mean other tokens; "
                "resume on tokens of the checkpoint's tokenizer, or start afresh (--no-resume)")
        tok_sha = ckpt_sha or tok_sha  # the model's tokenizer is the checkpoint's
        if record is not None:
            new = data_record(data_dir, val_paths + train_paths, tok_sha)
            if new["shards"] != record["shards"]:
                same_data = False
                where = ("whose shards changed since the checkpoint" if new["dir"] == record["dir"]
                         else f"not the checkpoint's {record['dir']}")
                tok = ("same tokenizer" if (ckpt_sha and new_sha)
                       else "its tokenizer not known here, taken to be the checkpoint's")
                resume_notes.append(f"data: {new['dir']}, {where} ({tok}): continued pretraining, "
                                    "reading these shards from their start")
            elif new["dir"] != record["dir"]:
                resume_notes.append(f"data: {new['dir']} holds the same shards (names and sizes) as the "
                                    f"checkpoint's {record['dir']}: continuing at the same position")
        moved = schedule_changes(saved, cfg)
        if moved:
            resume_notes.insert(0, "changed since the checkpoint: " + ", ".join(moved)
                                + f"; the new settings apply from step {step + 1}")

    # ---- model
    if state is not None:
        mcfg = GPTConfig.from_dict(state["model_config"])
        check_model_vocab(manifest, mcfg.vocab_size, f"{ckpt_file}: the model's")
    else:
        mcfg = config_for(cfg.model, vocab_size=resolve_vocab_size(cfg, tokenizer_dir, manifest),
                          block_size=cfg.seq_len or None, dropout=cfg.dropout)
        check_model_vocab(manifest, mcfg.vocab_size, "[train]")
        if manifest is not None and not tokenizer_dir and not cfg.vocab_size:
            log(f"no tokenizer found for {data_dir} (no --tokenizer, no tokenizer/ beside it): the model's "
                f"vocabulary is vocab_size {mcfg.vocab_size} from {manifest['path']}; the checkpoint keeps no "
                "tokenizer (give --tokenizer to keep one)")
    seq_len = cfg.seq_len or mcfg.block_size
    if seq_len > mcfg.block_size:
        raise ValueError(f"seq_len {seq_len} exceeds the model's block_size {mcfg.block_size}")
    torch.manual_seed(cfg.seed)
    model = GPT(mcfg).to(dev)
    optimizer = make_optimizer(model, cfg, dev)

    # ---- data
    loader = ShardLoader(train_paths, cfg.batch_size, seq_len, shuffle=cfg.shuffle, seed=cfg.seed,
                         rank=d.rank, world_size=d.world_size, device=dev, vocab_size=mcfg.vocab_size)
    val_loader = ShardLoader(val_paths, cfg.batch_size, seq_len, shuffle=False, rank=d.rank,
                             world_size=d.world_size, device=dev, vocab_size=mcfg.vocab_size)
    # eval_batches counts batches over all ranks, so every world size validates on the same windows
    eval_batches = max(1, min(cfg.eval_batches // d.world_size, val_loader.batches_per_epoch))

    os.makedirs(out_dir, exist_ok=True)
    metrics_path = os.path.join(out_dir, METRICS_NAME)
    tok_name = state.get("tokenizer") if state is not None else None
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        # The optimizer's hyper-parameters and schedule are this run's (RESUME_SCHEDULE), not the saved ones.
        for group, decay in zip(optimizer.param_groups, (cfg.weight_decay, 0.0)):
            group.update(initial_lr=cfg.lr, weight_decay=decay, betas=(cfg.beta1, cfg.beta2))
        if same_data:
            loader.load_state_dict(state["loader"])
        set_rng_state(state["rng"])
        if d.master:
            _rewrite_metrics(metrics_path, step)
        log(f"resumed from {ckpt_file} at step {step}" + "".join(f"; {n}" for n in resume_notes))
    elif d.master:
        open(metrics_path, "w").close()
        tok_name = _copy_tokenizer(tokenizer_dir, out_dir)
    # The schedule is lr_at(step, cfg): LambdaLR's lr is initial_lr (= cfg.lr) × lr_at / cfg.lr, computed
    # afresh from the step (last_epoch), so a resumed step gets the lr an uninterrupted run gives it.
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_at(s, cfg) / cfg.lr if cfg.lr else 0.0,
                                                  last_epoch=step - 1)
    data_rec = data_record(data_dir, val_paths + train_paths, tok_sha)
    del state

    # ---- precision, compile, DDP
    use_bf16 = cfg.dtype == "bfloat16" or (cfg.dtype == "auto" and dev.type == "cuda")
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    def autocast():
        if use_bf16:
            return torch.autocast(device_type=dev.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    model.loss_chunk_rows = cfg.loss_chunk_rows
    run_model: torch.nn.Module = model
    if cfg.compile == "on" or (cfg.compile == "auto" and dev.type == "cuda"):
        run_model = torch.compile(model, **compile_kwargs(cfg.compile_mode))
    if d.enabled:
        run_model = DDP(run_model, device_ids=[d.local_rank] if dev.type == "cuda" else None)
    # Under DDP every rank must stop at the same step: the Ctrl-C flag is all-reduced each step, on the
    # CPU (gloo) so that it costs no device synchronisation.
    stop_group = None
    if d.enabled and dist.get_backend() != "gloo":
        stop_group = dist.new_group(backend="gloo")
    peak = peak_flops or peak_flops_for(dev)
    flops_per_token = model.flops_per_token(seq_len)
    tokens_per_step = cfg.batch_size * seq_len * cfg.grad_accum * d.world_size
    log(startup_line(cfg, model, seq_len, tokens_per_step, f"{dev}{' x' + str(d.world_size) if d.enabled else ''}",
                     use_bf16, step, end))
    log(plan_message(cfg, end, loader, tokens_per_step))
    warning = warmup_warning(cfg)
    if warning:
        log(warning)

    def save(val_loss: float | None) -> None:
        if d.master:
            save_checkpoint(out_dir, {
                "model_config": mcfg.to_dict(), "train_config": dataclasses.asdict(cfg), "step": step,
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "loader": loader.state_dict(), "rng": rng_state(),
                "tokenizer": tok_name, "data": data_rec, "val_loss": val_loss,
            })

    bar = None
    if progress and d.master:
        from tqdm import tqdm

        bar = tqdm(total=end, initial=step, desc="train", unit="step", dynamic_ncols=True)
    run_model.train()
    last = {"loss": None, "val_loss": None, "val_step": None}
    t_log, tokens_since = time.perf_counter(), 0
    rate = Throughput(step)
    metrics_fh = open(metrics_path, "a") if d.master else None
    # A logged step's loss is read (a device sync) only once the next step is queued, so the GPU
    # never waits for Python between steps; evaluation, checkpoints and the last step read it at once.
    # tokens/s is timed between the ends of logged steps. On an asynchronous device (CUDA) a step has
    # ended when reading its loss returns; on the CPU it ended when its Python code returned, before
    # the next step ran, so that moment is recorded with it (the read comes a whole step later, or,
    # at a checkpoint, at once).
    pending: tuple | None = None
    synchronous = dev.type == "cpu"

    def read_pending() -> dict[str, Any]:
        nonlocal pending, t_log
        if pending is None:
            return {}
        logged_step, loss_mean, lr_logged, tokens, ended = pending
        pending = None
        loss_val = float(loss_mean)  # waits for that step on an asynchronous device
        now = ended if ended is not None else time.perf_counter()
        tps = tokens / (now - t_log)
        rate.add(logged_step, tokens, now - t_log)
        t_log = now
        mfu = (flops_per_token * tps / (peak * d.world_size)) if peak else None
        last["loss"] = loss_val
        return {"step": logged_step, "loss": loss_val, "lr": lr_logged, "tokens_per_s": tps, "mfu": mfu}

    def write_row(row: dict[str, Any]) -> None:
        if not row or not d.master:
            return
        metrics_fh.write(json.dumps(row) + "\n")
        metrics_fh.flush()
        shown = {k: f"{v:.4g}" for k, v in row.items() if k != "step" and v is not None}
        if bar is not None:
            bar.set_postfix(shown)
        else:
            log(f"step {row['step']}/{end} " + " ".join(f"{k} {v}" for k, v in shown.items()))

    def stop_requested(stop: StopRequest) -> bool:
        """Whether any rank was asked to stop (Ctrl-C); the same answer on every rank."""
        if not d.enabled:
            return stop.requested
        flag = torch.tensor([int(stop.requested)], dtype=torch.int32)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX, group=stop_group)
        return bool(flag.item())

    try:
        with StopRequest() as stop:
            while step < end:
                lr = scheduler.get_last_lr()[0]
                loss_sum = torch.zeros((), device=dev)
                for micro in range(cfg.grad_accum):
                    x, y = loader.next_batch()
                    sync = (not d.enabled) or micro == cfg.grad_accum - 1
                    with (contextlib.nullcontext() if sync else run_model.no_sync()):
                        with autocast():
                            _, loss = run_model(x, y)
                        (loss / cfg.grad_accum).backward()
                    loss_sum += loss.detach()
                if cfg.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                tokens_since += tokens_per_step
                write_row(read_pending())  # the previous logged step, now that this one is queued

                if step % cfg.log_interval == 0 or step == end:
                    loss_mean = loss_sum / cfg.grad_accum
                    if d.enabled:
                        dist.all_reduce(loss_mean, op=dist.ReduceOp.AVG)
                    ended = time.perf_counter() if synchronous else None
                    pending, tokens_since = (step, loss_mean, lr, tokens_since, ended), 0
                stopping = stop_requested(stop)
                evaluated = cfg.eval_interval and (step % cfg.eval_interval == 0 or step == cfg.steps)
                checkpoint = (evaluated or step == end or (cfg.ckpt_interval and step % cfg.ckpt_interval == 0)
                              or stopping)
                if checkpoint:
                    row = read_pending()
                    if evaluated:
                        last["val_loss"] = evaluate(run_model, val_loader, eval_batches, autocast, d, dev)
                        last["val_step"] = step
                        row = {"step": step, **row, "val_loss": last["val_loss"]}
                    write_row(row)
                if bar is not None:
                    bar.update(1)
                if checkpoint:
                    save(last["val_loss"])
                    t_log, tokens_since = time.perf_counter(), 0  # evaluating and saving are not training time
                    rate.restart(step)
                if stopping:
                    if d.enabled:
                        dist.barrier(group=stop_group)  # no rank exits before rank 0 has written the checkpoint
                    if bar is not None:
                        bar.close()
                        bar = None
                    log(f"interrupted: stopped after step {step} and wrote {ckpt_file}; "
                        "run the same command again to resume from it")
                    raise KeyboardInterrupt
    finally:
        if bar is not None:
            bar.close()
        if metrics_fh is not None:
            metrics_fh.close()
    tps, throughput_steps = rate.summary()
    summary = {"step": step, "loss": last["loss"], "val_loss": last["val_loss"], "val_step": last["val_step"],
               "tokens_per_s": tps, "throughput_steps": throughput_steps,
               "mfu": (flops_per_token * tps / (peak * d.world_size)) if (peak and tps) else None,
               "checkpoint": ckpt_file, "metrics": metrics_path, "hf_dir": None, "nothing_to_do": False}
    if step == 0:
        save(None)  # zero steps asked for: the initialised model is still a usable checkpoint
    if export and d.master and step == cfg.steps:
        from training_bridge.export import export_hf

        summary["hf_dir"] = export_hf(out_dir, os.path.join(out_dir, "hf"))
        log(f"exported a Hugging Face GPT2LMHeadModel to {summary['hf_dir']}")
    if d.enabled:
        dist.barrier()
    if throughput_line(summary):
        log(f"throughput: {throughput_line(summary)}")
    log(f"done: {result_line(summary)}")
    return summary


def _nothing_to_do(state: dict, cfg: Any, out_dir: str, ckpt_file: str, flag: str, end: int, export: bool,
                   log: Callable[[str], None], d: Dist) -> dict:
    """A resume whose checkpoint is already at the step asked for: no step is run. A finished run whose
    Hugging Face export is missing (trained with --no-export, or stopped while exporting) is exported."""
    step = int(state["step"])
    summary = {"step": step, "loss": None, "val_loss": None, "val_step": None, "tokens_per_s": None,
               "throughput_steps": None, "mfu": None, "checkpoint": ckpt_file,
               "metrics": os.path.join(out_dir, METRICS_NAME), "hf_dir": None, "nothing_to_do": True}
    log(f"nothing to do: {ckpt_file} is at step {step} = {flag} {end} (give {flag} above {step} to train further)")
    hf_dir = os.path.join(out_dir, "hf")
    if export and step == cfg.steps and not os.path.isfile(os.path.join(hf_dir, "config.json")):
        from training_bridge.export import export_hf

        summary["hf_dir"] = export_hf(out_dir, hf_dir)
        log(f"exported a Hugging Face GPT2LMHeadModel to {summary['hf_dir']}")
    if d.enabled:
        dist.barrier()
    return summary
