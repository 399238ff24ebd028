"""Contamination stage: RUN/bloom + the recipe's benchmarks → RUN/contamination report.

When ``[contamination] benchmarks`` lists ``NAME=PATH[:FIELD]`` test sets, writes
``report.md``, ``report.json`` and ``examples-<name>.csv`` to RUN/contamination (GPT-2 §4
n-gram overlap, GPT-3 App. C dirty/clean); with ``exact = true`` every Bloom hit is
re-checked against the corpus (RUN/dedup, or ``--input``). With no benchmarks configured it
records ``{"configured": false}`` and finishes. Test sets are small, so the report is
computed in the driver; the corpus pass of exact mode is a Beam pipeline
(``pipelines/exact_overlap.py``) on the run's runner.
"""

from __future__ import annotations

from corpus_tools.bloom import BloomFileError
from corpus_tools.contamination import BenchmarkError, compute_report, open_ngram_bloom, read_benchmark, write_report
from corpus_tools.rundir import join
from pipelines.exact_overlap import CorpusMembership
from pipelines.parquet_io import match_files
from pipelines.stage import Stage, StageContext, StageError, StageResult

NAME = "contamination"


class ContaminationStage(Stage):
    name = NAME
    sections = ("bloom", "contamination")

    def input_stages(self, recipe) -> tuple[str, ...]:
        # no upstream (two folders): the filter, and with `exact` the corpus it re-checks hits against
        return ("bloom", "dedup") if recipe.contamination.exact else ("bloom",)

    def needs(self, recipe, given_input: bool) -> tuple[str, ...]:
        # nothing without benchmarks; --input replaces the corpus `exact` re-checks, never the filter
        cfg = recipe.contamination
        if not cfg.benchmarks:
            return ()
        return ("bloom", "dedup") if cfg.exact and not given_input else ("bloom",)

    def check(self, recipe) -> None:
        cfg = recipe.contamination
        for spec in cfg.benchmarks:  # test sets are small: read whole, so a bad one is found before any stage runs
            try:
                read_benchmark(spec)
            except BenchmarkError as e:
                raise StageError(f"[contamination] benchmarks: {e}") from None

    def run(self, ctx: StageContext) -> StageResult:
        cfg = ctx.recipe.contamination
        out = ctx.run.stage_dir(NAME)
        if not cfg.benchmarks:
            ctx.run.makedirs(out)
            return StageResult(records_in=0, records_out=0, reasons={}, details={"configured": False},
                               outputs={"dir": out})
        if not ctx.run.is_done("bloom"):
            raise StageError(f"stage 'contamination' reads RUN/bloom, which has not run in {ctx.run.root}; run it first")
        bloom_dir = ctx.reads("bloom")
        try:
            bloom = open_ngram_bloom(bloom_dir)
            benches = [read_benchmark(spec) for spec in cfg.benchmarks]
        except (BloomFileError, BenchmarkError) as e:
            raise StageError(str(e)) from None
        membership = None
        if cfg.exact:
            docs_in = ctx.input_or(previous="dedup")
            files = match_files(docs_in, suffixes=(".parquet",))  # and any file named outright
            if not files:
                raise StageError(f"[contamination] exact = true: no Parquet documents in {' '.join(docs_in)}")
            membership = CorpusMembership(files, ctx.beam_args, out, log=ctx.log)
        try:
            report = compute_report(bloom, benches, exact=cfg.exact, membership=membership, dirty_min=cfg.dirty_min,
                                    dirty_max=cfg.dirty_max, bloom_label=bloom_dir)
        except BloomFileError as e:
            raise StageError(str(e)) from None
        paths = write_report(report, out)
        public = {k: v for k, v in report.items() if not k.startswith("_")}
        examples = sum(b["examples"] for b in public["benchmarks"])
        dirty = sum(b["dirty_examples"] for b in public["benchmarks"])
        return StageResult(records_in=examples, records_out=examples - dirty, reasons={"dirty": dirty} if dirty else {},
                           details={"configured": True, **public},
                           outputs={"report": join(out, "report.json"), **paths})


STAGE = ContaminationStage()
