"""``webtext contamination report``: how much of each benchmark's test set is in the corpus.

    webtext contamination report --bloom BLOOM --bench NAME=PATH[:FIELD]... --out DIR [--exact --corpus DOCS] [BEAM OPTIONS]

With ``--exact`` the corpus pass is a Beam pipeline (``pipelines/exact_overlap.py``): local by
default, Dataflow/Flink/Spark by the usual pipeline options.
"""

from __future__ import annotations

from corpus_tools.recipe import ContaminationConfig


def _default(name):
    return ContaminationConfig.__dataclass_fields__[name].default


def add_parser(sub):
    p = sub.add_parser("contamination", help="benchmark overlap report against a corpus Bloom filter",
                       description="Benchmark contamination (GPT-2 §4 n-gram overlap, GPT-3 App. C dirty/clean).")
    csub = p.add_subparsers(dest="contamination_command", metavar="ACTION")
    csub.required = True
    r = csub.add_parser("report", help="write report.md, report.json and per-example CSVs",
                        description="For each test set: the share of its n-grams found in the corpus's Bloom filter "
                                    "(GPT-2 table), and GPT-3-style dirty examples. Test sets are plain text (one "
                                    "example a line), JSONL (FIELD, default text), Parquet (FIELD column) or a "
                                    "folder of those; names starting wikitext/ptb/lambada/cbt use presets.")
    r.add_argument("--bloom", required=True, metavar="BLOOM", help="Bloom folder (webtext bloom build) or .bloom file")
    r.add_argument("--bench", nargs="+", action="extend", required=True, metavar="NAME=PATH[:FIELD]",
                   help="test sets (repeatable)")
    r.add_argument("--out", required=True, metavar="DIR", help="output folder")
    r.add_argument("--exact", action="store_true",
                   help="re-check Bloom hits against the corpus (needs --corpus): no false positives")
    r.add_argument("--corpus", nargs="+", metavar="DOCS",
                   help="the corpus's Parquet documents (for --exact: read by a Beam pipeline; other --flags "
                        "are Beam options, e.g. --runner DataflowRunner)")
    r.add_argument("--dirty-min", type=int, default=_default("dirty_min"), help="GPT-3 N lower clamp (default: %(default)s)")
    r.add_argument("--dirty-max", type=int, default=_default("dirty_max"), help="GPT-3 N upper clamp (default: %(default)s)")
    return p


def main(args) -> int:
    from corpus_tools.bloom import BloomFileError
    from corpus_tools.contamination import (BenchmarkError, compute_report, format_table, open_ngram_bloom,
                                            read_benchmark, write_report)
    from corpus_tools.rundir import refuse_run_folder
    from pipelines.exact_overlap import CorpusMembership
    from pipelines.parquet_io import match_files
    from pipelines.stage import StageError as UserError  # caught by webtext.main also under `python -m`

    refuse_run_folder(args.out)
    if args.exact and not args.corpus:
        raise UserError("--exact needs --corpus DOCS (the second pass re-checks Bloom hits against it)")
    if not 1 <= args.dirty_min <= args.dirty_max:
        raise UserError("--dirty-min must be >= 1 and <= --dirty-max")
    try:
        bloom = open_ngram_bloom(args.bloom)
        benches = [read_benchmark(spec) for spec in args.bench]
    except (BloomFileError, BenchmarkError) as e:
        raise UserError(str(e)) from None
    names = [b.name for b in benches]
    if len(set(names)) != len(names):
        raise UserError(f"benchmark names must be distinct: {', '.join(names)}")
    membership = None
    if args.exact:
        files = match_files(args.corpus, suffixes=(".parquet",))  # and any file named outright
        if not files:
            raise UserError(f"--corpus: no Parquet files in {' '.join(args.corpus)}")
        membership = CorpusMembership(files, args.beam_args, args.out)
    elif args.beam_args:
        raise UserError(f"Beam options ({' '.join(args.beam_args)}) only apply with --exact (the corpus pass)")
    try:  # partitions are opened (and checked) as they are queried
        report = compute_report(bloom, benches, exact=args.exact, membership=membership, dirty_min=args.dirty_min,
                                dirty_max=args.dirty_max, bloom_label=args.bloom)
    except BloomFileError as e:
        raise UserError(str(e)) from None
    if membership is not None and membership.documents == 0:  # every hit would read as a false positive
        raise UserError(f"--corpus: no document with a text in {len(membership.files)} file(s) "
                        f"({' '.join(args.corpus)}); --exact needs the corpus the Bloom filter was built from")
    paths = write_report(report, args.out)
    print(format_table(report))
    print(f"\nfalse-positive bound {report['fpr']:g}; mode: {'exact' if report['exact'] else 'bloom'}; "
          f"written: {', '.join(paths.values())}")
    return 0
