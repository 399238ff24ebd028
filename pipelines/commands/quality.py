"""``webtext quality train``: the GPT-3 quality classifier (fastText, curated vs raw crawl)."""

from __future__ import annotations

import dataclasses
import json
import sys

from corpus_tools.quality_classifier import ClassifierParams

FLAG_HELP = {"epoch": "fastText training epochs", "lr": "learning rate", "word_ngrams": "word n-gram length",
             "dim": "vector size", "val_fraction": "share of each side held out for precision/recall",
             "seed": "seed of the held-out split and of fastText"}


def add_parser(sub):
    p = sub.add_parser("quality", help="train the GPT-3-style document quality classifier",
                       description="GPT-3 quality classifier: a fastText model telling curated text from raw crawl.")
    qsub = p.add_subparsers(dest="quality_command", metavar="SUBCOMMAND")
    qsub.required = True
    t = qsub.add_parser("train", help="train, evaluate on a held-out split, save MODEL and MODEL.json",
                        description="Train on positives (curated text) against negatives (raw crawl). Inputs: "
                                    "Parquet documents, JSONL with a text field, or plain text (one document per "
                                    "--chunk-lines lines). Writes MODEL (fastText .bin) and MODEL.json (recipe, data "
                                    "sizes, held-out precision/recall). Use it with [filter] quality_model = MODEL.")
    t.add_argument("--positive", nargs="+", required=True, metavar="PATH", help="curated text (high quality)")
    t.add_argument("--negative", nargs="+", required=True, metavar="PATH", help="raw crawl text (low quality)")
    t.add_argument("--out", required=True, metavar="MODEL", help="model file to write (MODEL.json beside it)")
    t.add_argument("--chunk-lines", type=int, default=1, help="plain text: lines per document (default 1)")
    t.add_argument("--limit", type=int, default=None, help="at most this many texts per side")
    # one flag per ClassifierParams field, its default taken from there (max_chars is not a flag)
    for f in dataclasses.fields(ClassifierParams):
        if f.name in FLAG_HELP:
            t.add_argument("--" + f.name.replace("_", "-"), type=type(f.default), default=f.default,
                           help=f"{FLAG_HELP[f.name]} (default {f.default})")
    return p


def main(args) -> int:
    from corpus_tools.quality_classifier import load_texts, train_classifier
    from corpus_tools.rundir import refuse_run_folder
    from pipelines.errors import UserError

    refuse_run_folder(args.out)
    if args.chunk_lines < 1 or args.epoch < 1 or args.word_ngrams < 1 or args.dim < 1 or not args.lr > 0:
        raise UserError("need --chunk-lines, --epoch, --word-ngrams, --dim >= 1 and --lr > 0")
    if not 0 < args.val_fraction < 1 or (args.limit is not None and args.limit < 1):
        raise UserError("need 0 < --val-fraction < 1 and --limit >= 1")

    try:
        pos = load_texts(args.positive, args.chunk_lines, args.limit)
        neg = load_texts(args.negative, args.chunk_lines, args.limit)
    except ValueError as e:  # a JSONL line that is not a JSON object
        raise UserError(str(e)) from None
    params = ClassifierParams(**{name: getattr(args, name) for name in FLAG_HELP})
    try:
        info = train_classifier(pos, neg, args.out, params,
                                sources={"positive": args.positive, "negative": args.negative,
                                         "chunk_lines": args.chunk_lines})
    except ValueError as e:  # classes nothing can be learnt from (class_warnings)
        raise UserError(str(e)) from None
    for warning in info["warnings"]:  # also in MODEL.json
        print(f"webtext quality train: warning: {warning}", file=sys.stderr)
    v = info["validation"]
    print(f"wrote {args.out} (+ .json): {info['n_train']} train, {info['n_validation']} held out; "
          f"precision {v['precision']:.3f} recall {v['recall']:.3f} f1 {v['f1']:.3f}")
    print(json.dumps(v))
    return 0
