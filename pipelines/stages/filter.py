"""Filter stage: language ID, heuristic quality rules and the GPT-3 quality classifier.

Reads ``RUN/docs`` (or ``--input``), writes kept documents to ``RUN/filtered`` and every removed
document, in full, to ``RUN/filtered/_removed/<reason>/`` (the reason's detail is in its
``metadata`` JSON under ``filter``). Records that cannot be processed at all go to
``RUN/filtered/_rejected`` as dead letters: records that are not documents (no id or text, a
value of the wrong type; pipelines/document_input.py) and documents the filter failed on.
Counters: ``in``, ``out``, ``reason.<reason>``.
"""

from __future__ import annotations

import apache_beam as beam

from corpus_tools.document_filter import REASONS, DocumentFilter
from corpus_tools.quality_classifier import check_model
from corpus_tools.recipe import FilterConfig
from corpus_tools.rundir import REJECTED_DIR, REMOVED_DIR, join
from pipelines.deadletter import DEAD_LETTER
from pipelines.document_input import ReadValidDocs, document_reject
from pipelines.metrics import counter
from pipelines.parquet_io import WriteDocs, WriteRejects
from pipelines.stage import Stage, StageContext, StageError, StageResult

NAME = "filter"
REMOVED = "removed"


class FilterFn(beam.DoFn):
    def __init__(self, cfg: FilterConfig, seed: int):
        self.cfg, self.seed = cfg, seed
        self._filter = None

    def setup(self):
        self._filter = DocumentFilter(self.cfg, self.seed)  # loads lid.176 and the quality model once

    def process(self, doc: dict):
        try:
            decision = self._filter.decide(doc)
        except Exception as e:  # one bad record must not kill the run
            counter(NAME, "reason.filter_error").inc()
            yield beam.pvalue.TaggedOutput(DEAD_LETTER, document_reject(
                NAME, doc, "filter_error", f"{doc.get('id')}: {type(e).__name__}: {str(e)[:300]}"))
            return
        for check in decision.skipped:  # rules that do not apply to the document's language
            counter(NAME, f"skipped.{check}").inc()
        if decision.reason is None:
            counter(NAME, "out").inc()
            yield decision.doc
        else:
            counter(NAME, f"reason.{decision.reason}").inc()
            yield beam.pvalue.TaggedOutput(REMOVED, (decision.reason, decision.doc))


class FilterStage(Stage):
    name = NAME
    upstream = "extract"
    sections = ("filter",)
    run_keys = ("num_shards", "seed")  # the [run] keys its output depends on
    files = ("filter.quality_model",)  # retrained at the same path: the finished stage is changed

    def check(self, recipe) -> None:
        path = recipe.filter.quality_model
        if path:
            try:
                check_model(path)
            except ValueError as e:
                raise StageError(f"[filter] quality_model = {path!r}: {e}") from None

    def run(self, ctx: StageContext) -> StageResult:
        docs = ctx.input_or(previous=self.upstream)
        out = ctx.run.stage_dir(NAME)
        cfg = ctx.recipe.filter
        shards = ctx.recipe.run.num_shards

        def build(p):
            checked = p | "ReadDocs" >> ReadValidDocs(docs, NAME)
            res = (checked.docs
                   | "Filter" >> beam.ParDo(FilterFn(cfg, ctx.recipe.run.seed)).with_outputs(
                       DEAD_LETTER, REMOVED, main="kept"))
            res.kept | "WriteKept" >> WriteDocs(out, shards)
            for reason in REASONS:
                (res[REMOVED]
                 | f"Only_{reason}" >> beam.FlatMap(lambda rd, r=reason: [rd[1]] if rd[0] == r else [])
                 | f"Write_{reason}" >> WriteDocs(join(out, REMOVED_DIR, reason), shards))
            ((checked[DEAD_LETTER], res[DEAD_LETTER]) | "AllRejects" >> beam.Flatten()
             | "WriteRejects" >> WriteRejects(join(out, REJECTED_DIR)))

        counters = ctx.run_beam(build)
        removed = {r: join(out, REMOVED_DIR, r) for r in REASONS}
        return StageResult(
            records_in=counters.get("in", 0),  # a counter that never fired is absent: 0, not null
            records_out=counters.get("out", 0),
            details={"rules": list(cfg.rules), "languages": list(cfg.languages),
                     "quality_model": cfg.quality_model or None, "removed_dirs": removed,
                     # documents on which a check was skipped for their language, by check
                     "skipped_checks": {k[len("skipped."):]: v for k, v in sorted(counters.items())
                                        if k.startswith("skipped.")}},
            outputs={"docs": out, "removed": join(out, REMOVED_DIR), "rejected": join(out, REJECTED_DIR)},
        )


STAGE = FilterStage()
