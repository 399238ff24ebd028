"""``webtext decontaminate``: GPT-3-style removal of benchmark n-grams from a corpus.

    webtext decontaminate --input DOCS --bench NAME=PATH[:FIELD]... --out DOCS_OUT [--run RUN] [beam flags]

A Beam pipeline (pipelines/decontamination.py): local by default, Dataflow/Flink/Spark by flags.
Records that are not documents (no id or text, a value of the wrong type) are written as dead
letters to ``DOCS_OUT/_rejected``; a local file that cannot hold documents is refused in one line.

With ``--run RUN`` the counts are also recorded as ``RUN/stats/decontaminate.json`` (the stats
contract of docs/architecture.md), where ``webtext datacard RUN`` reads them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import time
import uuid

from apache_beam.io.filesystems import FileSystems

from corpus_tools.recipe import ContaminationConfig


NAME = "decontaminate"  # RUN/stats/decontaminate.json with --run
COUNTS_FILE = "_decontamination.json"  # "_": Parquet readers of DOCS_OUT skip it
PARAMETER_KEYS = ("n", "window", "min_piece", "max_splits", "max_doc_freq")  # in the counts dict, not counts


def _default(name):
    return ContaminationConfig.__dataclass_fields__[name].default


def add_parser(sub):
    p = sub.add_parser("decontaminate", help="remove benchmark n-grams from a corpus (GPT-3 App. C)",
                       description="Remove each 13-gram that collides with a test set (by default, GPT-3 App. C; with --run RUN, "
                                   "that run's [contamination] recipe), with 200 characters either "
                                   "side, from the corpus documents; drop pieces under 200 characters and documents "
                                   "split more than 10 times; ignore n-grams found in more than 10 documents. Writes "
                                   "Parquet documents, DOCS_OUT/_decontamination.json (the counts) and DOCS_OUT/_rejected "
                                   "(records that are not documents, with the reason); with --run RUN "
                                   "also RUN/stats/decontaminate.json, which `webtext datacard RUN` shows. A Beam pipeline: "
                                   "unknown --flags go to Beam.")
    p.add_argument("--input", nargs="+", required=True, metavar="DOCS", help="Parquet documents (folders, globs, files)")
    p.add_argument("--bench", nargs="+", action="extend", required=True, metavar="NAME=PATH[:FIELD]")
    p.add_argument("--out", required=True, metavar="DOCS_OUT", help="output folder for the decontaminated shards")
    # Unset flags take the [contamination] values of --run RUN's recipe.toml, else the defaults.
    for flag, key, what in (("--n", "decontaminate_n", "collision n-gram length"),
                            ("--window", "decontaminate_window", "characters removed either side"),
                            ("--min-piece", "decontaminate_min_piece", "drop pieces shorter than this"),
                            ("--max-splits", "decontaminate_max_splits", "drop documents split more often"),
                            ("--max-doc-freq", "decontaminate_max_doc_freq", "ignore n-grams found in more documents")):
        p.add_argument(flag, type=int, default=None,
                       help=f"{what} (default: [contamination] {key} of --run RUN's recipe, else {_default(key)})")
    p.add_argument("--num-shards", type=int, default=4, help="output shards (default: %(default)s)")
    p.add_argument("--run", metavar="RUN", help="run directory to record the counts in (RUN/stats/decontaminate.json) "
                                                "for its data card")
    return p


def main(args) -> int:
    from corpus_tools.contamination import BenchmarkError, DecontaminationConfig, decontamination_parameters, read_benchmark
    from corpus_tools.rundir import refuse_run_folder
    from pipelines.decontamination import run_decontamination
    from pipelines.errors import UserError
    from pipelines.parquet_io import match_files

    refuse_run_folder(args.out)
    _fill_from_recipe(args)
    if args.n < 1 or args.window < 0 or args.min_piece < 0 or args.max_splits < 0 or args.max_doc_freq < 1:
        raise UserError("--n and --max-doc-freq must be >= 1; --window, --min-piece, --max-splits >= 0")
    if args.num_shards < 1:
        raise UserError("--num-shards must be >= 1")
    if args.run and "://" not in args.run and not os.path.isdir(args.run):
        raise UserError(f"--run: no run directory at {args.run}")
    started, t0 = _now(), time.perf_counter()
    try:
        benches = [read_benchmark(spec) for spec in args.bench]
    except BenchmarkError as e:
        raise UserError(str(e)) from None
    files = match_files(args.input, suffixes=(".parquet",))  # and any file named outright
    if not files:
        raise UserError(f"--input: no Parquet files in {' '.join(args.input)}")
    _clear_earlier_output(args.out, files)
    cfg = DecontaminationConfig(n=args.n, window=args.window, min_piece=args.min_piece,
                                max_splits=args.max_splits, max_doc_freq=args.max_doc_freq)
    doc_counts, ngram_counts = run_decontamination(files, benches, cfg, args.out, args.num_shards,
                                                   getattr(args, "beam_args", None) or [])
    stats = {**decontamination_parameters(cfg, benches), **ngram_counts, **doc_counts}
    with FileSystems.create(FileSystems.join(args.out, COUNTS_FILE)) as fh:
        fh.write((json.dumps(stats, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    if args.run:
        record_stats(args, stats, started, time.perf_counter() - t0)
    print(json.dumps(stats, indent=2, sort_keys=True))
    return 0


_OWN_OUTPUT = re.compile(r"part-\d{5}-of-\d{5}\.parquet(\.tmp)?|_rejected|" + re.escape(COUNTS_FILE))


def _clear_earlier_output(out: str, inputs: list[str]) -> None:
    """Make ``out`` ready for this run's shards, or refuse it (UserError) before anything runs.

    The shards are written beside whatever ``out`` holds, and readers of ``out`` read every
    ``*.parquet`` in it: an earlier decontaminated corpus there (4 shards, rerun with
    ``--num-shards 2``), or the input corpus itself (``--out`` = the ``--input`` folder), would
    be read with the new shards, every document twice. So ``out`` may not hold an input file;
    what an earlier ``webtext decontaminate`` wrote there is removed; and a folder holding
    anything else is refused."""
    import fsspec

    from pipelines.errors import UserError

    fs, root = fsspec.core.url_to_fs(out)  # the path without its protocol (local: absolute)
    for f in inputs:
        ffs, fpath = fsspec.core.url_to_fs(f)
        if type(ffs) is type(fs) and fpath.rsplit("/", 1)[0] == root.rstrip("/"):
            raise UserError(f"--out {out} holds the --input file {f}: the decontaminated shards would be read "
                            f"with the corpus they came from; write them to another folder")
    if not fs.exists(root):
        return
    if not fs.isdir(root):
        raise UserError(f"--out {out} is a file, not a folder")
    names = sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(root, detail=False))
    others = [n for n in names if not _OWN_OUTPUT.fullmatch(n)]
    if others:
        raise UserError(f"--out {out} holds files that webtext decontaminate did not write (e.g. {others[0]}); "
                        f"give a new or empty folder")
    for name in names:  # an earlier decontaminated corpus: replaced
        fs.rm(root.rstrip("/") + "/" + name, recursive=True)


def _fill_from_recipe(args) -> None:
    """Flags left unset take ``[contamination]`` from ``RUN/recipe.toml`` (with ``--run``), else
    the recipe defaults, so the counts recorded in a run follow that run's recipe."""
    from corpus_tools.recipe import Recipe, load_recipe
    from corpus_tools.rundir import RunDir

    recipe = Recipe()
    if args.run:
        run = RunDir(args.run)
        if run.exists(run.recipe_path):
            recipe = load_recipe(run.recipe_path)
    cfg = recipe.contamination
    for attr, key in (("n", "decontaminate_n"), ("window", "decontaminate_window"),
                      ("min_piece", "decontaminate_min_piece"), ("max_splits", "decontaminate_max_splits"),
                      ("max_doc_freq", "decontaminate_max_doc_freq")):
        if getattr(args, attr) is None:
            setattr(args, attr, getattr(cfg, key))


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _inside(path: str, folder: str) -> bool:
    """``path`` is ``folder`` or a file or glob directly in it."""
    def norm(p: str) -> str:
        return p.rstrip("/") if "://" in p else os.path.abspath(p)
    path, folder = norm(path), norm(folder)
    return path == folder or (path.startswith(folder + "/") and "/" not in path[len(folder) + 1:])


def record_stats(args, counts: dict, started: str, elapsed: float) -> str:
    """``RUN/stats/decontaminate.json`` in the stats contract: records in, documents (pieces
    included) out, the documents dropped and the records rejected by reason, every count in ``details``."""
    from corpus_tools.rundir import REJECTED_DIR, STAGE_DIRS, RunDir
    from corpus_tools.versions import library_versions

    run = RunDir(args.run)
    out = args.out if "://" in args.out else os.path.abspath(args.out)
    # the run's stage outputs it read (--input RUN/dedup, or files and globs in it), by execution id
    # as a stage records them, so the stats name which execution of the corpus was decontaminated
    read = [s for s in STAGE_DIRS if any(_inside(i, run.stage_dir(s)) for i in args.input)]
    reasons = {"too_many_splits": counts["documents_dropped_too_many_splits"],
               "all_pieces_short": counts["documents_dropped_all_pieces_short"], **counts["rejected"]}
    stats = {
        "stage": NAME,
        "records_in": counts["documents_in"],
        "records_out": counts["documents_out"],
        "reasons": {k: v for k, v in reasons.items() if v},
        "counters": {k: v for k, v in counts.items() if isinstance(v, int) and k not in PARAMETER_KEYS},
        "details": counts,
        "parameters": {"contamination": {"decontaminate_n": args.n, "decontaminate_window": args.window,
                                         "decontaminate_min_piece": args.min_piece,
                                         "decontaminate_max_splits": args.max_splits,
                                         "decontaminate_max_doc_freq": args.max_doc_freq},
                       "benchmarks": list(args.bench)},
        "inputs": list(args.input),
        # where it wrote, absolute (a relative --out says nothing once the command's folder is forgotten)
        "outputs": {"docs": out, "counts": FileSystems.join(out, COUNTS_FILE),
                    "rejected": FileSystems.join(out, REJECTED_DIR)},
        "execution_id": uuid.uuid4().hex,
        "input_executions": {s: (run.read_stats(s) or {}).get("execution_id") for s in read},
        "started_at": started,
        "finished_at": _now(),
        "elapsed_s": round(elapsed, 3),
        "versions": library_versions(),
    }
    run.write_stats(NAME, stats)
    return run.stats_path(NAME)
