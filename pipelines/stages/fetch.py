"""Fetch stage: links (Parquet ``LINK_SCHEMA`` or a plain URL list) → ``RUN/warc/*.warc.gz`` + fetch log.

URLs are keyed by site (:func:`corpus_tools.fetch.site_of`: host without ``www.``, any scheme)
and the sites spread over ``[fetch] host_groups`` Beam keys, so one site is always fetched by
one worker. A worker fetches all the groups of its bundle together with one
:class:`corpus_tools.fetch.Crawler` (many sites in parallel, each site politely) and writes its
own rotating WARC files through Beam ``FileSystems``.

A redirect hop into another group is not followed by the worker that met it: the chain is handed
over (:class:`corpus_tools.fetch.Handover`), keyed by the target's group and fetched in the next
round by the worker that owns that site, so redirected requests obey the target's politeness
even across workers. ``[fetch] redirect_rounds`` rounds are unrolled in the graph; in the last
one, hops are followed in place (counted as ``uncoordinated_hops``). Each round's crawlers pass
what they learnt about their sites (:class:`corpus_tools.fetch.SiteMemory`: robots.txt outcomes, the
next allowed request time) to the next round through the same shuffle, keyed by the same groups, so
robots.txt is fetched once per origin and run and a site's delay holds between rounds.

A redirect to a host on the run's ``[links]`` blocklists (``block_lists``, ``blocked_domains``,
``blocked_domain_files``, built as the links stage builds them) ends its URL with the links stage's
reason, ``blocked_domain:<list>``; nothing is requested from or archived for the blocked target.

The fetch log (``RUN/warc/fetch_log/part-*.parquet``, ``FETCH_LOG_SCHEMA``) has one row per
input URL, written by whichever round finished it; input rows without a URL are dead-lettered
to ``RUN/warc/_rejected/``.
"""

from __future__ import annotations

import hashlib
import ssl
import time

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindows

from corpus_tools.fetch import Crawler, Handover, SiteMemory, site_of
from corpus_tools.links import PostFilter
from corpus_tools.recipe import FetchConfig, LinksConfig
from corpus_tools.rundir import REJECTED_DIR, join
from corpus_tools.schema import FETCH_LOG_SCHEMA, new_reject
from corpus_tools.urls import request_url
from corpus_tools.versions import library_versions
from corpus_tools.warc_writer import RotatingWarcWriter
from pipelines.deadletter import DEAD_LETTER
from pipelines.domain_lists import checked_domain_lists
from pipelines.metrics import counter
from pipelines.parquet_io import ReadDocs, WriteRejects, WriteShards, match_files
from pipelines.stage import Stage, StageContext, StageError, StageResult

NAME = "fetch"


HANDOVER = "handover"
MEMORY = "memory"


def site_group(url: str, groups: int) -> int:
    """The Beam key of a URL: a stable hash of its site (all URLs of a site share it)."""
    site = site_of(url) or url
    return int.from_bytes(hashlib.blake2b(site.encode("utf-8", "surrogatepass"), digest_size=8).digest(),
                          "big") % groups


def _to_url(row) -> list:
    """A links row (dict) or a text line → [(url, domain, target)], or a dead letter. A link is
    logged under its canonical ``url`` (the key extract joins on) and requested as posted
    (``example_url``, see :func:`corpus_tools.urls.request_url`)."""
    if isinstance(row, str):
        line = row.strip()
        if not line or line.startswith("#"):
            return []
        return [(line, None, line)]
    url = row.get("url") if isinstance(row, dict) else None
    if not isinstance(url, str) or not url.strip():
        counter(NAME, "in").inc()  # records_in = records_out + sum(reasons) holds with dead letters too
        counter(NAME, "reason.no_url").inc()
        return [beam.pvalue.TaggedOutput(DEAD_LETTER, new_reject(NAME, "no_url", detail=str(row)[:300]))]
    url = url.strip()
    posted = row.get("example_url")
    return [(url, row.get("domain"), request_url(posted if isinstance(posted, str) else None, url))]


def _warc_create(path: str):
    return FileSystems.create(path, mime_type="application/warc", compression_type=CompressionTypes.UNCOMPRESSED)


def _warc_rename(src: str, dst: str) -> None:
    if FileSystems.exists(dst):
        FileSystems.delete([dst])
    FileSystems.rename([src], [dst])


def _item_order(item) -> tuple:
    if isinstance(item, Handover):
        return (item.next_url, item.url, item.domain or "")
    return (item[2], item[0], item[1] or "")


class FetchGroupsFn(beam.DoFn):
    """(group, [(url, domain), Handover or SiteMemory ...]) elements → fetch-log rows; WARC files as a
    side effect.

    The groups of a bundle are fetched together in ``finish_bundle`` so that all their sites
    share one thread pool (many sites in parallel inside a worker). Unless it is the last round,
    round ``round_no`` hands a redirect hop into another group over (tagged output ``handover``,
    keyed by that group) and passes every site's memory, the ones it was given included, to the
    next round (tagged output ``memory``, keyed by the site's group).
    """

    def __init__(self, cfg: FetchConfig, seed: int, out_dir: str, run_name: str, round_no: int = 0,
                 last_round: bool = True, links: LinksConfig | None = None,
                 domain_lists: dict[str, list[str]] | None = None):
        self.cfg, self.seed, self.out_dir, self.run_name = cfg, seed, out_dir, run_name
        self.round_no, self.last_round = round_no, last_round
        self.links, self.domain_lists = links, domain_lists  # the links stage's blocklists, for redirects

    def setup(self):
        self.blocklist = None if self.links is None else \
            PostFilter.from_config(self.links, self.domain_lists).blocklist

    def start_bundle(self):
        self._groups: list[tuple[int, list]] = []
        self._memories: list[SiteMemory] = []

    def process(self, element):
        group, items = element
        work = []
        for it in items:
            (self._memories if isinstance(it, SiteMemory) else work).append(it)
        if work:
            self._groups.append((group, sorted(work, key=_item_order)))

    def _pass_on(self, memories):
        if self.last_round:
            return
        for memory in memories:
            yield beam.pvalue.TaggedOutput(MEMORY, GlobalWindows.windowed_value(
                (site_group(memory.site, self.cfg.host_groups), memory)))

    def finish_bundle(self):
        if not self._groups:
            yield from self._pass_on(self._memories)
            return
        self._groups.sort(key=lambda g: g[0])
        items = [it for _, its in self._groups for it in its]
        info = {
            "software": f"webtext (warcio {library_versions().get('warcio', '?')})",
            "format": "WARC File Format 1.1",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
            "isPartOf": self.run_name,
            "http-header-user-agent": self.cfg.user_agent,
            "robots": "obey" if self.cfg.obey_robots else "ignore",
            "description": "webtext fetch stage: pages linked from Reddit (WebText recipe)",
        }
        prefix = f"webtext-{self._groups[0][0]:05d}" if self.round_no == 0 \
            else f"webtext-r{self.round_no}-{self._groups[0][0]:05d}"
        writer = RotatingWarcWriter(self.out_dir, prefix, max_file_bytes=self.cfg.warc_file_bytes, info=info,
                                    open_fn=_warc_create, rename_fn=_warc_rename, join=FileSystems.join)
        groups = self.cfg.host_groups
        crossed: list[str] = []  # last round: hops into another group followed here (list.append is atomic)

        def hand_over(current: str, nxt: str) -> bool:
            if site_group(nxt, groups) == site_group(current, groups):
                return False
            if self.last_round:
                crossed.append(nxt)
                return False
            return True

        crawler = Crawler(self.cfg, seed=self.seed, sink=writer.write, hand_over=hand_over,
                          blocklist=self.blocklist)
        crawler.remember(self._memories)
        try:
            rows = crawler.crawl(items)
        except BaseException:  # Ctrl-C or a bug: the open file is not complete, it keeps its .tmp name
            writer.abandon()
            raise
        files = writer.close()  # only a crawl that ended normally names its last file
        yield from self._pass_on(crawler.memories())
        counter(NAME, "robots_fetches").inc(crawler.robots_fetches)
        counter(NAME, "warc_files").inc(len(files))
        counter(NAME, "uncoordinated_hops").inc(len(crossed))
        for row in rows:
            if isinstance(row, Handover):
                counter(NAME, "handovers").inc()
                yield beam.pvalue.TaggedOutput(HANDOVER, GlobalWindows.windowed_value(
                    (site_group(row.next_url, groups), row)))
                continue
            counter(NAME, "in").inc()
            if row["reason"] == "ok":
                counter(NAME, "out").inc()
                counter(NAME, "bytes").inc(row["bytes"] or 0)
                if row["truncated"]:
                    counter(NAME, "truncated").inc()
            else:
                counter(NAME, f"reason.{row['reason']}").inc()
            counter(NAME, f"attempts.{row['attempts']}").inc()
            yield GlobalWindows.windowed_value(row)


def _log_key(row: dict) -> str:
    return row["url"]


class FetchStage(Stage):
    name = NAME
    upstream = "links"
    sections = ("fetch",)
    run_keys = ("num_shards",)  # the [run] keys its output depends on (the seed times retries only)

    def check(self, recipe) -> None:
        path = recipe.fetch.ca_bundle
        if path:  # urllib3 would fail every https URL on it, each a dead letter
            try:
                ssl.create_default_context(cafile=path)
            except FileNotFoundError:
                raise StageError(f"[fetch] ca_bundle = {path!r}: no such file (a PEM file of CA certificates; "
                                 "empty: certifi's bundle)") from None
            except (ssl.SSLError, OSError, UnicodeDecodeError) as e:
                raise StageError(f"[fetch] ca_bundle = {path!r}: not a PEM file of CA certificates ({e})") from None

    def run(self, ctx: StageContext) -> StageResult:
        sources = ctx.input_or(previous=self.upstream)
        files = match_files(sources)
        parquet = [f for f in files if f.endswith(".parquet")]
        # A links folder holds both Parquet and _urls.txt: plain text is read only without Parquet.
        text = [] if parquet else files
        if not files:
            raise StageError(f"no link files (*.parquet or URL lists) in {', '.join(sources)}")
        cfg = ctx.recipe.fetch
        links = ctx.recipe.links  # redirect targets are checked against the links stage's blocklists
        domain_lists = checked_domain_lists(links)  # a bad list fails here, before the pipeline
        out = ctx.run.stage_dir(NAME)

        def build(p):
            inputs = []
            if parquet:
                inputs.append(p | "ReadLinks" >> ReadDocs(parquet))
            if text:
                inputs.append(p | "ListUrlFiles" >> beam.Create(text) | "ReadUrlLines" >> beam.io.ReadAllFromText())
            rows = inputs[0] if len(inputs) == 1 else tuple(inputs) | "AllInputs" >> beam.Flatten()
            urls = rows | "ToUrl" >> beam.FlatMap(_to_url).with_outputs(DEAD_LETTER, main="urls")
            keyed = urls.urls | "KeyBySite" >> beam.Map(lambda it, n=cfg.host_groups: (site_group(it[2], n), it))
            logs = []
            for r in range(cfg.redirect_rounds + 1):
                suffix = "" if r == 0 else f"Round{r}"  # round r fetches the hops handed over in round r - 1
                fetched = (keyed
                           | f"GroupBySite{suffix}" >> beam.GroupByKey()
                           | f"Fetch{suffix}" >> beam.ParDo(FetchGroupsFn(
                               cfg, ctx.recipe.run.seed, out, ctx.recipe.run.name, round_no=r,
                               last_round=(r == cfg.redirect_rounds), links=links,
                               domain_lists=domain_lists)).with_outputs(HANDOVER, MEMORY, main="rows"))
                logs.append(fetched.rows)
                if r < cfg.redirect_rounds:  # the hand-overs and what the crawlers learnt, for round r + 1
                    keyed = (fetched[HANDOVER], fetched[MEMORY]) | f"ToRound{r + 1}" >> beam.Flatten()
            log = logs[0] if len(logs) == 1 else tuple(logs) | "AllRounds" >> beam.Flatten()
            log | "WriteFetchLog" >> WriteShards(join(out, "fetch_log"), FETCH_LOG_SCHEMA,
                                                 ctx.recipe.run.num_shards, key=_log_key)
            urls[DEAD_LETTER] | "WriteRejects" >> WriteRejects(join(out, REJECTED_DIR))

        t0 = time.perf_counter()
        counters = ctx.run_beam(build)
        elapsed = time.perf_counter() - t0
        details = {**fetch_details(counters, elapsed), "redirect_rounds": cfg.redirect_rounds}
        return StageResult(records_out=counters.get("out", 0), details=details,
                           outputs={"warc": out, "fetch_log": join(out, "fetch_log"),
                                    "rejected": join(out, REJECTED_DIR)},
                           failure=nothing_fetched(details, join(out, "fetch_log")))


NETWORK_REASONS = {"dns", "connection", "timeout", "tls"}


def nothing_fetched(details: dict, fetch_log: str) -> str | None:
    """The failure message of a fetch that archived no page of the URLs it had, else None."""
    by_reason = {r: n for r, n in details["by_reason"].items() if r != "no_url"}  # input rows, not URLs
    if not details["urls"] or by_reason.get("ok"):
        return None
    why = ", ".join(f"{r} {n}" for r, n in sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0])))
    hint = ""
    if set(by_reason) <= NETWORK_REASONS:
        hint = " Is the network reachable from here?"
    elif "ssrf" in by_reason:
        hint = " Private or loopback addresses need --allow-network CIDR ([fetch] allow_networks)."
    return (f"fetched none of {details['urls']} URLs ({why}).{hint} The fetch log is in {fetch_log}; "
            "the stage is not marked done, so a rerun fetches again")


def fetch_details(counters: dict[str, int], elapsed_s: float) -> dict:
    """stats/fetch.json ``details`` from the stage's counters (keys documented in docs/stages/fetch.md)."""
    by_reason = {k[len("reason."):]: v for k, v in counters.items() if k.startswith("reason.") and v}
    ok = counters.get("out", 0)
    if ok:
        by_reason["ok"] = ok
    hist = {k[len("attempts."):]: v for k, v in counters.items() if k.startswith("attempts.") and v}
    return {
        "urls": counters.get("in", 0) - counters.get("reason.no_url", 0),
        "by_reason": dict(sorted(by_reason.items())),
        "bytes": counters.get("bytes", 0),
        "truncated": counters.get("truncated", 0),
        "warc_files": counters.get("warc_files", 0),
        "pages_per_s": round(ok / elapsed_s, 3) if elapsed_s > 0 else None,
        "fetch_elapsed_s": round(elapsed_s, 3),
        "attempts_histogram": dict(sorted(hist.items(), key=lambda kv: int(kv[0]))),
        "handovers": counters.get("handovers", 0),
        "uncoordinated_hops": counters.get("uncoordinated_hops", 0),
        "robots_fetches": counters.get("robots_fetches", 0),
    }


STAGE = FetchStage()
