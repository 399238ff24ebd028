"""``webtext bloom``: build an n-gram Bloom filter of a corpus (Beam), or self-check one.

    webtext bloom build --input DOCS --out BLOOM [--n 8] [--fpr 1e-8] [--partitions P] [beam flags]
    webtext bloom check --bloom BLOOM [--queries 1000000]
"""

from __future__ import annotations

import json
import sys

from corpus_tools.recipe import BloomConfig


def _default(name):
    return BloomConfig.__dataclass_fields__[name].default


def add_parser(sub):
    p = sub.add_parser("bloom", help="n-gram Bloom filter of a corpus (build, check)",
                       description="Build the GPT-2-style n-gram Bloom filter of a corpus of Parquet documents, "
                                   "or measure a filter's false-positive rate.")
    bsub = p.add_subparsers(dest="bloom_command", metavar="ACTION")
    bsub.required = True
    b = bsub.add_parser("build", help="corpus (Parquet documents) → Bloom filter folder (Beam pipeline)",
                        description="Hash every document's normalised word n-grams into a Bloom filter sized for "
                                    "--fpr; Beam combines partial filters per worker by OR. Unknown --flags go to Beam.")
    b.add_argument("--input", nargs="+", required=True, metavar="DOCS", help="Parquet document folders, globs or files")
    b.add_argument("--out", required=True, metavar="BLOOM", help="output folder (manifest + partitions)")
    b.add_argument("--n", type=int, default=_default("n"), help="n-gram length (default: %(default)s, GPT-2)")
    b.add_argument("--fpr", type=float, default=_default("fpr"), help="false-positive bound (default: %(default)g)")
    b.add_argument("--partitions", type=int, default=_default("partitions"),
                   help="split by hash prefix into this many files (default: %(default)s)")
    b.add_argument("--capacity", type=int, default=_default("capacity"),
                   help="distinct n-grams to size for; 0 counts them first (default)")
    b.add_argument("--self-check", type=int, default=_default("self_check_queries"), metavar="QUERIES",
                   help="random absent n-grams to query afterwards (default: %(default)s; 0 skips)")
    c = bsub.add_parser("check", help="query random absent n-grams and report the empirical false-positive rate")
    c.add_argument("--bloom", required=True, metavar="BLOOM", help="Bloom folder or .bloom file")
    c.add_argument("--queries", type=int, default=1_000_000,
                   help="random n-grams (absent from the corpus by construction) to query (default: %(default)s)")
    c.add_argument("--seed", type=int, default=1234, help="seed of the random n-grams (default: %(default)s)")
    return p


def main(args) -> int:
    from corpus_tools.bloom import BloomFileError, open_bloom
    from corpus_tools.contamination import open_ngram_bloom, self_check
    from corpus_tools.ngrams import HASH_ID
    from pipelines.stage import StageError as UserError  # caught by webtext.main also under `python -m`

    if args.bloom_command == "check":
        if getattr(args, "beam_args", None):
            raise UserError(f"unrecognized arguments: {' '.join(args.beam_args)}")
        if args.queries < 1:
            raise UserError("--queries must be >= 1")
        try:
            bloom = open_ngram_bloom(args.bloom)
        except BloomFileError as e:
            raise UserError(str(e)) from None
        res = self_check(bloom, args.queries, seed=args.seed)
        print(json.dumps(res, indent=2))
        return 0

    if args.n < 1:
        raise UserError("--n must be >= 1")
    if not 0 < args.fpr < 1:
        raise UserError("--fpr must be in (0, 1)")
    if args.partitions < 1:
        raise UserError("--partitions must be >= 1")
    if args.capacity < 0 or args.self_check < 0:
        raise UserError("--capacity and --self-check must be >= 0")
    from corpus_tools.rundir import refuse_run_folder
    from pipelines.stage import check_inputs
    from pipelines.stages.bloom import build_bloom_pipeline

    refuse_run_folder(args.out)
    check_inputs(args.input)
    manifest, counters = build_bloom_pipeline(args.input, args.out, n=args.n, fpr=args.fpr,
                                              partitions=args.partitions, capacity=args.capacity,
                                              beam_args=args.beam_args, replace=True)
    summary = {k: manifest[k] for k in ("partitions", "k", "capacity", "bytes", "n_inserted", "distinct_estimate",
                                         "bits_per_distinct", "fpr_estimated")}
    summary["documents"] = counters.get("in", 0)
    summary["rejected"] = {k[len("reason."):]: v for k, v in counters.items() if k.startswith("reason.")}
    if args.self_check:
        summary["self_check"] = self_check(open_bloom(args.out, HASH_ID), args.self_check, n=args.n)
    print(json.dumps(summary, indent=2), file=sys.stdout)
    return 0
