"""Links stage: Pushshift submission dumps → canonical outbound URLs with summed karma ≥ min_karma.

Reads ``--input`` dumps (``RS_*.zst|xz|bz2|gz`` or plain NDJSON; one file per worker, files in
parallel), writes ``RUN/links/part-*.parquet`` (LINK_SCHEMA, rows sorted by ``url`` in each
shard), ``RUN/links/urls.txt`` (every kept canonical URL, sorted) and dead letters to
``RUN/links/rejected/``. See docs/stages/links.md.
"""

from __future__ import annotations

import posixpath
from collections import Counter
from typing import Any

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from corpus_tools.links import (
    LinkAggregate,
    LinkCollector,
    PostFilter,
    apply_karma,
    link_summary,
)
from corpus_tools.recipe import LinksConfig
from corpus_tools.rundir import join
from corpus_tools.schema import LINK_SCHEMA, new_reject
from corpus_tools.urls import read_domain_list
from pipelines.deadletter import DEAD_LETTER
from pipelines.metrics import counter
from pipelines.parquet_io import WriteRejects, WriteShards, match_files
from pipelines.stage import Stage, StageContext, StageError, StageResult

NAME = "links"
URL_LIST = "urls.txt"


class ReadDumpFn(beam.DoFn):
    """One dump path → ``(canonical url, partial aggregate)`` pairs and dead letters."""

    def __init__(self, cfg: LinksConfig, domain_lists: dict[str, list[str]]):
        self.cfg = cfg
        self.domain_lists = domain_lists

    def setup(self):
        self.filter = PostFilter.from_config(self.cfg, self.domain_lists)

    def process(self, path: str):
        collector = LinkCollector(self.filter, max_urls=self.cfg.max_urls_in_memory)
        try:
            with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as fh:
                for kind, value in collector.read(fh, path):
                    if kind == "link":
                        yield value
                    else:
                        yield beam.pvalue.TaggedOutput(DEAD_LETTER, value)
        except (OSError, ValueError) as e:  # unreadable file: the lines read so far are kept, the rest reported
            collector.counts["reason.unreadable"] += 1
            yield beam.pvalue.TaggedOutput(
                DEAD_LETTER, new_reject(NAME, "unreadable", source=path, detail=f"{type(e).__name__}: {e}"))
        collector.counts["dump_files"] += 1
        for name, n in collector.counts.items():
            counter(NAME, name).inc(n)


class MergeLinksFn(beam.CombineFn):
    """Sum partial aggregates of one canonical URL (order-independent)."""

    def create_accumulator(self) -> LinkAggregate:
        return LinkAggregate()

    def add_input(self, acc: LinkAggregate, agg: LinkAggregate) -> LinkAggregate:
        return acc.merge(agg)

    def merge_accumulators(self, accs) -> LinkAggregate:
        accs = iter(accs)
        out = next(accs)
        for a in accs:
            out.merge(a)
        return out

    def extract_output(self, acc: LinkAggregate) -> LinkAggregate:
        return acc


class KarmaFn(beam.DoFn):
    """Keep a URL when its summed score reaches ``min_karma``; emit its LINK_SCHEMA row."""

    def __init__(self, min_karma: int):
        self.min_karma = min_karma

    def process(self, element):
        url, agg = element
        counts: Counter[str] = Counter()
        row = apply_karma(url, agg, self.min_karma, counts)
        for name, n in counts.items():
            counter(NAME, name).inc(n)
        if row is not None:
            yield row


def _url_key(row: dict[str, Any]) -> str:
    return row["url"]


def _write_url_list(urls: list[str], path: str) -> int:
    urls = sorted(urls)
    tmp = path + ".tmp"
    with FileSystems.create(tmp, mime_type="text/plain", compression_type=CompressionTypes.UNCOMPRESSED) as fh:
        fh.write("".join(u + "\n" for u in urls).encode("utf-8"))
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([tmp], [path])
    return len(urls)


def read_domain_files(paths: list[str]) -> dict[str, list[str]]:
    """``{file stem: domains}`` for ``[links] blocked_domain_files`` (local or remote)."""
    lists: dict[str, list[str]] = {}
    for path in paths:
        stem = posixpath.basename(path.rstrip("/")).split(".")[0] or "file"
        try:
            with FileSystems.open(path, compression_type=CompressionTypes.AUTO) as fh:
                lines = fh.read().decode("utf-8").splitlines()
        except (OSError, ValueError) as e:
            raise StageError(f"[links] blocked_domain_files: cannot read {path}: {e}") from None
        lists.setdefault(stem, []).extend(read_domain_list(lines))
    return lists


def _read_link_rows(out: str, columns: list[str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in match_files([out], suffixes=(".parquet",)):
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as fh:
            rows.extend(pq.read_table(fh, columns=columns).to_pylist())
    return rows


class LinksStage(Stage):
    name = NAME
    sections = ("links",)

    def run(self, ctx: StageContext) -> StageResult:
        if not ctx.inputs:
            raise StageError("the links stage needs Reddit submission dumps: pass --input RS_*.zst ...")
        files = match_files(ctx.inputs)
        if not files:
            raise StageError(f"no dump files in {', '.join(ctx.inputs)}")
        cfg = ctx.recipe.links
        domain_lists = read_domain_files(cfg.blocked_domain_files)
        PostFilter.from_config(cfg, domain_lists)  # fail here, before the pipeline, on a bad list
        out = ctx.run.stage_dir(NAME)
        url_list = join(out, URL_LIST)
        num_shards = ctx.recipe.run.num_shards

        def build(p):
            read = (p | "ListDumps" >> beam.Create(files)
                    | "SpreadFiles" >> beam.Reshuffle()
                    | "ReadDumps" >> beam.ParDo(ReadDumpFn(cfg, domain_lists)).with_outputs(DEAD_LETTER, main="links"))
            rows = (read.links
                    | "MergeByUrl" >> beam.CombinePerKey(MergeLinksFn())
                    | "MinKarma" >> beam.ParDo(KarmaFn(cfg.min_karma)))
            rows | "WriteLinks" >> WriteShards(out, LINK_SCHEMA, num_shards, key=_url_key)
            (rows | "Urls" >> beam.Map(_url_key)
             | "AllUrls" >> beam.combiners.ToList()
             | "WriteUrlList" >> beam.Map(_write_url_list, url_list))
            read[DEAD_LETTER] | "WriteRejects" >> WriteRejects(join(out, "rejected"))

        counters = ctx.run_beam(build)
        summary = link_summary(_read_link_rows(out, ["domain", "n_posts", "subreddits", "score_sum"]), cfg.top_n)
        details = {
            "units": {"records_in": "posts (non-blank dump lines)", "records_out": "canonical URLs",
                      "reasons": "posts (truncated_stream/corrupt_stream/unreadable: files)"},
            "dump_files": counters.get("dump_files", 0),
            "posts_read": counters.get("in", 0),
            "link_posts": counters.get("link_posts", 0),
            "posts_after_filters": counters.get("posts_kept", 0),
            "posts_kept": counters.get("posts_out", 0),
            "canonical_urls_before_karma": counters.get("urls_grouped", 0),
            "canonical_urls_below_karma": counters.get("urls_below_karma", 0),
            "canonical_urls_kept": counters.get("out", 0),
            "min_karma": cfg.min_karma,
            **summary,
        }
        return StageResult(details=details,
                           outputs={"links": out, "urls": url_list, "rejected": join(out, "rejected")})


STAGE = LinksStage()
