"""Datacard stage: the run's measurements → RUN/card (README.md dataset card, datacard.json, figures/).

Not a Beam stage: it reads ``RUN/stats/*.json``, profiles the Parquet outputs of the other
stages and writes the card (:func:`corpus_tools.datacard.write_datacard`). Every stage the
card reports on is one record: it is passed on when its stats were read, and counted under
``not_run``, ``did_not_finish`` (stats but no ``_SUCCESS``) or ``unreadable_stats`` otherwise, so
``records_in = records_out + reasons``.

The card describes every stage whose stats it read, so it records each one's ``execution_id`` as
an input (``input_executions``): a stage made again since (``webtext tokenize --force tokenize``)
makes the card stale, as it makes any later stage stale (docs/architecture.md, "The run directory"),
and so does a stage it would read now that had not run when it was made (``webtext decontaminate
--run RUN``, ``webtext dedup --out RUN`` after the card).
"""

from __future__ import annotations

from corpus_tools.datacard import CARD_STAGES, DID_NOT_FINISH, reported_stages, stage_summary, write_datacard
from corpus_tools.rundir import RunDir
from pipelines.stage import Stage, StageContext, StageResult

NAME = "datacard"
READ = ("ran", DID_NOT_FINISH)  # card statuses of a stage whose stats the card read


class DatacardStage(Stage):
    name = NAME
    redo_when_stale = True  # cheap, and holds nothing a user made: a stale card is remade
    sections = ("datacard",)

    def input_stages(self, recipe) -> tuple[str, ...]:
        return CARD_STAGES  # it reports on every stage: one redone by `webtext run` remakes it

    def reads_when_present(self, run: RunDir) -> tuple[str, ...]:
        # the stages whose stats it would read now: those it reads (ctx.reads) when it runs
        return tuple(s for s in reported_stages(run) if stage_summary(run, s)["status"] in READ)

    def run(self, ctx: StageContext) -> StageResult:
        out = ctx.run.stage_dir(NAME)
        if getattr(ctx, "build_only", False):  # no Beam graph to build, and nothing may be written
            return StageResult(records_in=0, records_out=0, reasons={})
        data = write_datacard(ctx.run.root, recipe=ctx.recipe, out_dir=out)
        for stage, summary in data["stages"].items():
            if summary["status"] in READ:  # its stats were read: the card is made from this execution of it
                ctx.reads(stage)
        status = [s["status"] for s in data["stages"].values()]
        reasons = {"not_run": status.count("not run"), "did_not_finish": status.count(DID_NOT_FINISH),
                   "unreadable_stats": status.count("unreadable")}
        corpus = data["corpus"]
        ctx.log(f"[{NAME}] card written to {out}/README.md")
        ctx.log(f"[{NAME}] records are the {len(status)} stages the card reports on: {status.count('ran')} finished, stats read"
                + "".join(f", {n} {k.replace('_', ' ')}" for k, n in reasons.items() if n))
        return StageResult(
            records_in=len(status),
            records_out=status.count("ran"),
            reasons={k: v for k, v in reasons.items() if v},
            details={
                "units": {"records_in": "stages the card reports on", "records_out": "finished stages whose stats were read",
                          "reasons": "stages not run / that did not finish / with unreadable stats"},
                "stages_reported": sorted(data["stages"]),
                "documents": corpus.get("documents"),
                "corpus_source": corpus.get("source_stage"),
                "figures": sorted(data["figures"]),
            },
            outputs={"card": out},
        )


STAGE = DatacardStage()
