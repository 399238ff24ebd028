"""Links stage: Pushshift submission dumps → canonical outbound URLs with summed karma ≥ min_karma.

Reads ``--input`` dumps (``RS_*.zst|xz|bz2|gz`` or plain NDJSON; one file per worker, files in
parallel), writes ``RUN/links/part-*.parquet`` (LINK_SCHEMA, rows sorted by ``url`` in each
shard), ``RUN/links/_urls.txt`` (every kept canonical URL, sorted) and dead letters to
``RUN/links/_rejected/``. See docs/stages/links.md.
"""

from __future__ import annotations

from collections import Counter

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from corpus_tools.input_kind import WARC
from corpus_tools.links import (
    LinkCollector,
    PostFilter,
    aggregate_posts,
    link_summary,
    table_from_bytes,
    table_to_bytes,
)
from corpus_tools.recipe import LinksConfig
from corpus_tools.rundir import REJECTED_DIR, join
from corpus_tools.schema import LINK_SCHEMA, new_reject
from pipelines.deadletter import DEAD_LETTER
from pipelines.domain_lists import checked_domain_lists
from pipelines.metrics import counter
from pipelines.parquet_io import WriteRejects, match_files, shard_name, write_parquet_table
from pipelines.stage import Stage, StageContext, StageError, StageResult

NAME = "links"
URL_LIST = "_urls.txt"  # "_": Parquet readers of RUN/links skip it


class ReadDumpFn(beam.DoFn):
    """One dump path → ``(shard, Arrow IPC bytes of that shard's kept posts)`` and dead letters.

    Link posts are classified ``[links] batch_posts`` at a time (URLs canonicalised in one
    Arrow pass), and the kept ones split by the output shard of their URL and shipped as
    zstd-compressed Arrow IPC: the shuffle moves a few large byte strings instead of one
    element per post, and one worker per shard sees every post of its URLs.
    """

    def __init__(self, cfg: LinksConfig, domain_lists: dict[str, list[str]], num_shards: int):
        self.cfg, self.domain_lists, self.num_shards = cfg, domain_lists, num_shards

    def setup(self):
        self.filter = PostFilter.from_config(self.cfg, self.domain_lists)

    def process(self, path: str):
        collector = LinkCollector(self.filter, batch_posts=self.cfg.batch_posts, num_shards=self.num_shards)
        try:
            with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as fh:
                for kind, value in collector.read(fh, path):
                    if kind == "reject":
                        yield beam.pvalue.TaggedOutput(DEAD_LETTER, value)
                    else:
                        shard, posts = value
                        yield shard, table_to_bytes(posts)
        except (OSError, ValueError) as e:  # unreadable file: what was read is kept, the rest reported
            collector.counts["reason.unreadable"] += 1
            yield beam.pvalue.TaggedOutput(
                DEAD_LETTER, new_reject(NAME, "unreadable", source=path, detail=f"{type(e).__name__}: {e}"))
        collector.counts["dump_files"] += 1
        for name, n in collector.counts.items():
            counter(NAME, name).inc(n)


class WriteLinkShardFn(beam.DoFn):
    """All posts of one shard's URLs → grouped, karma-filtered rows sorted by URL, in one Parquet file.

    Emits ``(shard, its sorted kept URLs as newline-terminated UTF-8)`` for the URL list.
    """

    def __init__(self, out_dir: str, num_shards: int, min_karma: int):
        self.out_dir, self.num_shards, self.min_karma = out_dir, num_shards, min_karma

    def process(self, element):
        shard, batches = element
        posts = pa.concat_tables([table_from_bytes(b) for b in batches])
        counts: Counter[str] = Counter()
        links = aggregate_posts(posts, self.min_karma, counts)
        if links.num_rows:
            # one chunk per column: the file's bytes then do not depend on how posts were batched
            write_parquet_table(FileSystems.join(self.out_dir, shard_name(shard, self.num_shards)),
                             links.combine_chunks())
        for name, n in counts.items():
            counter(NAME, name).inc(n)
        # one bytes object per shard (not a list of strings): Beam sizes cached values object by object
        yield shard, "".join(u + "\n" for u in links.column("url").to_pylist()).encode("utf-8")


def _write_url_list(shard_urls: list[tuple[int, bytes]], path: str) -> int:
    """One sorted ``_urls.txt`` from the shards' sorted URL lists."""
    # UTF-8 bytes sort in code point order, like the str URLs of the shards; the list is the
    # shards' sorted runs one after another, which list.sort merges in C.
    urls: list[bytes] = []
    for _, blob in shard_urls:
        if blob:
            urls.extend(blob[:-1].split(b"\n"))  # each URL ends with a newline
    urls.sort()
    tmp = path + ".tmp"
    with FileSystems.create(tmp, mime_type="text/plain", compression_type=CompressionTypes.UNCOMPRESSED) as fh:
        fh.write(b"\n".join(urls) + b"\n" if urls else b"")
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([tmp], [path])
    return len(urls)


def _read_links(out: str, columns: list[str]) -> pa.Table:
    tables = []
    for path in match_files([out], suffixes=(".parquet",)):
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as fh:
            tables.append(pq.read_table(fh, columns=columns))
    return pa.concat_tables(tables) if tables else LINK_SCHEMA.empty_table().select(columns)


class LinksStage(Stage):
    name = NAME
    sections = ("links",)
    run_keys = ("num_shards",)  # the [run] keys its output depends on

    def run(self, ctx: StageContext) -> StageResult:
        if not ctx.inputs:
            raise StageError("the links stage needs Reddit submission dumps: pass --input RS_*.zst ...")
        inputs = ctx.input_files(ctx.inputs)
        inputs.refuse_wat()
        inputs.refuse(WARC, NAME)  # a WARC read as NDJSON would be thousands of bad_json dead letters
        files = sorted(inputs.dumps + inputs.other)  # of no known kind: read, and dead-lettered if no dump
        if not files:
            raise StageError(f"no dump files in {', '.join(ctx.inputs)}")
        cfg = ctx.recipe.links
        domain_lists = checked_domain_lists(cfg)  # a bad list fails here, before the pipeline
        out = ctx.run.stage_dir(NAME)
        url_list = join(out, URL_LIST)
        num_shards = ctx.recipe.run.num_shards

        def build(p):
            read = (p | "ListDumps" >> beam.Create(files)
                    | "SpreadFiles" >> beam.Reshuffle()
                    | "ReadDumps" >> beam.ParDo(ReadDumpFn(cfg, domain_lists, num_shards))
                    .with_outputs(DEAD_LETTER, main="partials"))
            (read.partials
             | "GroupByShard" >> beam.GroupByKey()
             | "MergeAndWrite" >> beam.ParDo(WriteLinkShardFn(out, num_shards, cfg.min_karma))
             | "ShardUrls" >> beam.combiners.ToList()
             | "WriteUrlList" >> beam.Map(_write_url_list, url_list))
            read[DEAD_LETTER] | "WriteRejects" >> WriteRejects(join(out, REJECTED_DIR))

        counters = ctx.run_beam(build)
        summary = link_summary(_read_links(out, ["url", "domain", "n_posts", "subreddits", "score_sum"]), cfg.top_n)
        details = {
            "units": {"records_in": "posts (non-blank dump lines)", "records_out": "canonical URLs",
                      "reasons": "posts (truncated_stream/corrupt_stream/unreadable/empty_file: files)"},
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
                           outputs={"links": out, "urls": url_list, "rejected": join(out, REJECTED_DIR)})


STAGE = LinksStage()
