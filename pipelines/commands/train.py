"""``webtext train``: pretrain the GPT-2 model on token shards (TOKENS_DIR → CKPT_DIR).

Every parameter of the recipe's ``[train]`` section is also a flag (``--batch-size``,
``--grad-accum``, ``--lr`` ...); flags override ``--recipe``. Several GPUs:
``torchrun --nproc_per_node=8 -m pipelines.webtext train --data ... --out ...``.
torch is imported only when the command runs, so ``webtext --help`` works without it.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import typing

from corpus_tools.recipe import Recipe, RecipeError, TrainConfig, load_recipe


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_parser(sub):
    p = sub.add_parser("train", help="pretrain a GPT-2-style model on token shards (TOKENS_DIR → CKPT_DIR)",
                       description="Train (or resume) a GPT-2 model on llm.c-format token shards: files named "
                                   "*_val_*.bin are validation and the others training (webtext tokenize writes "
                                   "webtext_val_000000.bin, ... and webtext_train_000001.bin, ...); in a folder "
                                   "without _val_/_train_ names the first .bin by name is validation. When the "
                                   "folder has the manifest.json webtext tokenize writes, the tokenizer must be the "
                                   "one that made the shards, and without one the manifest's vocab_size sizes the "
                                   "model. Writes CKPT_DIR/ckpt.pt, CKPT_DIR/metrics.jsonl and, when done, a "
                                   "Hugging Face model in CKPT_DIR/hf.")
    p.add_argument("--data", required=True, metavar="TOKENS_DIR",
                   help="folder of .bin token shards, or a run directory (its tokens/ folder is used)")
    p.add_argument("--out", required=True, metavar="CKPT_DIR", help="checkpoint folder (resumed if it holds one)")
    p.add_argument("--device", choices=("cpu", "cuda"), help="device to train on (default: cuda when available, else cpu)")
    p.add_argument("--recipe", metavar="TOML", help="recipe file whose [train] section is used")
    p.add_argument("--tokenizer", metavar="TOKENIZER_DIR",
                   help="tokenizer to store with the checkpoint (default: TOKENS_DIR/../tokenizer if present); "
                        "it must be the one that made the shards (TOKENS_DIR/manifest.json), and on a resume "
                        "the checkpoint's")
    p.add_argument("--no-resume", action="store_true", help="start afresh even if CKPT_DIR holds a checkpoint")
    p.add_argument("--stop-at", type=int, metavar="STEP",
                   help="stop (with a checkpoint) after this step; Ctrl-C does too, after the step under way")
    p.add_argument("--peak-flops", type=float, metavar="FLOPS", help="device peak FLOP/s for MFU (default: known GPUs)")
    p.add_argument("--no-export", action="store_true", help="skip the Hugging Face export at the end")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    hints = typing.get_type_hints(TrainConfig)
    group = p.add_argument_group("recipe [train] parameters (override the recipe)")
    for f in dataclasses.fields(TrainConfig):
        tp, meta = hints[f.name], f.metadata
        kw: dict = {"default": None, "metavar": f.name.upper(), "help": f"{meta.get('doc', '')} (default: {f.default})"}
        if tp is bool:
            kw["action"] = argparse.BooleanOptionalAction
            del kw["metavar"]
        else:
            kw["type"] = tp
            if meta.get("choices"):
                kw["choices"] = meta["choices"]
                del kw["metavar"]
        group.add_argument(_flag(f.name), dest=f"train_{f.name}", **kw)
    return p


def resolve_train_config(args) -> TrainConfig:
    recipe = load_recipe(args.recipe) if args.recipe else Recipe()
    overrides = {f.name: getattr(args, f"train_{f.name}") for f in dataclasses.fields(TrainConfig)
                 if getattr(args, f"train_{f.name}", None) is not None}
    try:
        return recipe.replace({"train": overrides}).train  # validated like a recipe file
    except RecipeError as e:
        raise RecipeError(flag_names(str(e), overrides)) from None


def flag_names(message: str, flags: dict) -> str:
    """A recipe error about ``[train]`` keys, in the words of the command line: a key given as a
    flag is named as that flag (``--lr 1e-05``); one that was not is followed by the flag that sets
    it, so `webtext train --lr 1e-5` says to set ``--min-lr`` too, not only a recipe key."""
    named = re.findall(r"\[train\] (\w+) = ", message)
    for key in named:
        if key in flags:
            message = message.replace(f"[train] {key} = ", f"{_flag(key)} ", 1)
    unset = [key for key in dict.fromkeys(named) if key not in flags]
    if unset and flags:
        message += " (" + "; ".join(f"{_flag(k)} sets [train] {k}" for k in unset) + ")"
    return message


def tokens_dir(data: str) -> str:
    """``--data`` as given, or ``RUN/tokens`` when ``data`` is a run directory (no ``.bin`` of its own,
    a ``tokens/`` folder that has some): ``webtext tokenize --out RUN`` writes its shards there."""
    import os

    if not os.path.isdir(data) or any(n.endswith(".bin") for n in os.listdir(data)):
        return data
    sub = os.path.join(data, "tokens")
    if os.path.isdir(sub) and any(n.endswith(".bin") for n in os.listdir(sub)):
        return sub
    return data


def main(args) -> int:
    import os

    from pipelines.errors import UserError

    cfg = resolve_train_config(args)
    args.data = tokens_dir(args.data)
    from training_bridge.train import result_line, train

    try:
        summary = train(args.data, args.out, cfg, device=args.device, tokenizer_dir=args.tokenizer,
                        resume=not args.no_resume, stop_at=args.stop_at, peak_flops=args.peak_flops,
                        progress=not args.no_progress, export=not args.no_export)
    except ValueError as e:  # bad shards, too little data, no CUDA, seq_len > context...
        raise UserError(str(e)) from None
    if int(os.environ.get("RANK", "0")) == 0 and not summary["nothing_to_do"]:  # once under torchrun
        print(f"checkpoint {summary['checkpoint']}, {result_line(summary)}")
    return 0
