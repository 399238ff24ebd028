"""Extract stage: WARC response records (HTML) and WET conversion records → documents.

Reads ``--input`` WARC/WET files (e.g. Common Crawl) or the fetch stage's ``RUN/warc``;
writes ``RUN/docs`` (DOC_SCHEMA) and ``RUN/docs/_rejected`` (dead letters with reasons).
When the WARC files are the fetch stage's, each document is joined back through the fetch
log to its Reddit link, so ``score_sum`` and ``subreddits`` are filled.
"""

from __future__ import annotations

import dataclasses
import posixpath

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from corpus_tools.extract import extract_document, payload_to_document
from corpus_tools.input_kind import DUMP, WARC_SUFFIXES
from corpus_tools.recipe import ExtractConfig
from corpus_tools.rundir import REJECTED_DIR, join
from corpus_tools.schema import new_reject
from corpus_tools.time_limit import TimeLimited
from corpus_tools.warc import WarcPayload, WarcStats, iter_warc
from pipelines.deadletter import DEAD_LETTER
from pipelines.metrics import counter
from pipelines.parquet_io import ReadDocs, WriteDocs, WriteRejects, match_files
from pipelines.stage import Stage, StageContext, StageError, StageResult

NAME = "extract"


class ReadWarcFn(beam.DoFn):
    """One WARC/WET path → candidate records (as dicts) and dead letters."""

    def __init__(self, name_of: dict[str, str], max_body_bytes: int):
        self.name_of = name_of  # path -> the name recorded in `warc_file`
        self.max_body_bytes = max_body_bytes  # an HTTP body decoding to more is `too_large`

    def process(self, path: str):
        stats = WarcStats()
        name = self.name_of.get(path, path)
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as fh:
            for item in iter_warc(fh, name, stats, self.max_body_bytes):
                counter(NAME, "in").inc()
                if isinstance(item, WarcPayload):
                    yield dataclasses.asdict(item)
                else:
                    counter(NAME, f"reason.{item['reason']}").inc()
                    yield beam.pvalue.TaggedOutput(DEAD_LETTER, item)
        for rtype, n in stats.skipped.items():
            counter(NAME, f"skipped_{rtype}").inc(n)
        for note, n in stats.notes.items():  # about a whole file, not a record: not in records_in
            counter(NAME, f"note.{note}").inc(n)


class ExtractFn(beam.DoFn):
    def __init__(self, cfg: ExtractConfig):
        self.cfg = cfg
        self._extract = None

    def setup(self):
        # Extraction runs in a child process so that a page that hangs the parser is killed
        # after timeout_s and dead-lettered as `timeout` instead of stalling the worker.
        warmup = ("<html><body><article><p>" + "Warm-up text. " * 40 + "</p></article></body></html>", None, self.cfg)
        self._extract = TimeLimited(extract_document, self.cfg.timeout_s, warmup=warmup)

    def teardown(self):
        if self._extract is not None:
            self._extract.close()

    def process(self, item: dict):
        try:
            doc, rej = payload_to_document(item, self.cfg, self._extract or extract_document)
        except Exception as e:  # an extractor bug on one page must not kill the run
            doc, rej = None, new_reject(NAME, "extract_error", source=item["warc_file"], offset=item["offset"],
                                        url=item["url"], detail=f"{type(e).__name__}: {str(e)[:300]}")
        if rej is not None:
            counter(NAME, f"reason.{rej['reason']}").inc()
            yield beam.pvalue.TaggedOutput(DEAD_LETTER, rej)
        else:
            counter(NAME, "out").inc()
            if item.get("truncated"):  # a partial page kept (WARC-Truncated, short_body), marked in its metadata
                counter(NAME, f"truncated.{item['truncated']}").inc()
            yield doc


# ---------------------------------------------------------------- join back to Reddit links
def _attach_link(element):
    """CoGroupByKey result → documents with the link URL they came from (None when unknown)."""
    _, groups = element
    urls = groups["log"]
    for doc in groups["docs"]:
        yield (urls[0] if urls else None), doc


def _attach_karma(element):
    link_url, groups = element
    info = groups["links"][0] if groups["links"] else None
    for doc in groups["docs"]:
        if info is not None:
            doc = dict(doc, score_sum=info["score_sum"], subreddits=info["subreddits"])
        yield doc


class JoinLinks(beam.PTransform):
    """Fill score_sum/subreddits from RUN/links through RUN/warc/fetch_log."""

    def __init__(self, fetch_log: str, links: str):
        super().__init__()
        self.fetch_log, self.links = fetch_log, links

    def expand(self, docs):
        p = docs.pipeline
        log = (p | "ReadFetchLog" >> ReadDocs([self.fetch_log])
               | "LogKey" >> beam.FlatMap(lambda r: [((r["warc_file"], r["warc_offset"]), r["url"])]
                                         if r.get("warc_file") else []))
        keyed = docs | "DocKey" >> beam.Map(lambda d: ((posixpath.basename(d["warc_file"]), d["warc_offset"]), d))
        with_url = ({"docs": keyed, "log": log} | "JoinLog" >> beam.CoGroupByKey()
                    | "AttachLink" >> beam.FlatMap(_attach_link))
        links = (p | "ReadLinks" >> ReadDocs([self.links])
                 | "LinkKey" >> beam.Map(lambda r: (r["url"], {"score_sum": r["score_sum"], "subreddits": r["subreddits"]})))
        return ({"docs": with_url, "links": links} | "JoinLinks" >> beam.CoGroupByKey()
                | "AttachKarma" >> beam.FlatMap(_attach_karma))


class ExtractStage(Stage):
    name = NAME
    upstream = "fetch"
    sections = ("extract",)
    run_keys = ("num_shards",)  # the [run] keys its output depends on

    def run(self, ctx: StageContext) -> StageResult:
        from_fetch = not ctx.inputs
        sources = ctx.input_or(previous=self.upstream)
        inputs = ctx.input_files(sources)
        inputs.refuse_wat()
        inputs.refuse(DUMP, NAME)
        files = inputs.warc
        if not files:
            raise StageError(f"no WARC/WET files ({', '.join(WARC_SUFFIXES)}, or starting with a WARC record) "
                             f"in {', '.join(sources)}")
        if inputs.other:
            ctx.log(f"[{NAME}] not read: {len(inputs.other)} file(s) neither WARC/WET nor Reddit dumps, "
                    f"e.g. {inputs.other[0]}")
        # Record WARC names relative to the run's warc/ folder when they are the fetch stage's.
        name_of = {f: posixpath.basename(f) for f in files} if from_fetch else {f: f for f in files}
        out = ctx.run.stage_dir(NAME)
        cfg = ctx.recipe.extract
        fetch_log = join(ctx.run.stage_dir("fetch"), "fetch_log")
        links_dir = ctx.run.stage_dir("links")
        join_links = from_fetch and ctx.run.is_done("links") and bool(match_files([fetch_log], (".parquet",)))

        def build(p):
            read = (p | "ListWarcs" >> beam.Create(files)
                    | "SpreadFiles" >> beam.Reshuffle()
                    | "ReadWarc" >> beam.ParDo(ReadWarcFn(name_of, cfg.max_html_bytes)).with_outputs(DEAD_LETTER, main="records"))
            extracted = (read.records
                         | "SpreadRecords" >> beam.Reshuffle()
                         | "Extract" >> beam.ParDo(ExtractFn(cfg)).with_outputs(DEAD_LETTER, main="docs"))
            docs = extracted.docs
            if join_links:
                docs = docs | "JoinLinks" >> JoinLinks(fetch_log, links_dir)
            docs | "WriteDocs" >> WriteDocs(out, ctx.recipe.run.num_shards)
            ((read[DEAD_LETTER], extracted[DEAD_LETTER]) | "AllRejects" >> beam.Flatten()
             | "WriteRejects" >> WriteRejects(join(out, REJECTED_DIR)))

        ctx.run_beam(build)
        if ctx.ran_beam and not ctx.counters.get("in"):
            _warn_no_page(ctx, len(files))
        return StageResult(details={"warc_files": len(files), "joined_links": join_links},
                           outputs={"docs": out, "rejected": join(out, REJECTED_DIR)})


def _warn_no_page(ctx: StageContext, n_files: int) -> None:
    """Say so when not one record of the input was a page: the stage ends with no document and no
    dead letter, and the record types read tell why (a WAT file under another name: metadata)."""
    seen = {k.removeprefix("skipped_"): n for k, n in sorted(ctx.counters.items()) if k.startswith("skipped_")}
    what = ", ".join(f"{rtype} {n}" for rtype, n in seen.items()) or "none"
    ctx.log(f"[{NAME}] warning: no record of the {n_files} input file(s) is a page (a WARC response or a WET "
            f"conversion record); records read by type: {what}"
            + ("; metadata records alone are what a WAT file holds: give the crawl's WARC or WET files"
               if "metadata" in seen else ""))


STAGE = ExtractStage()
