"""Reddit submissions → canonical outbound links with their summed karma (WebText's link list).

GPT-2 (Radford et al. 2019, sec. 2.1) scraped "all outbound links from Reddit, a social media
platform, which received at least 3 karma". Here, as in OpenWebText2, karma is the score
summed over every post of the same canonical URL.

The pieces, each usable on its own and from a Beam ``DoFn`` alike:

* :class:`PostFilter` decides, per submission record, whether it is a kept link post
  (:class:`LinkPost`) or why not (a reason string);
* :class:`LinkCollector` reads one dump, counts every outcome by reason, and yields the
  kept posts in Arrow batches (``POST_SCHEMA``, bounded size);
* :func:`split_by_shard` / :func:`url_shard` route posts to the output shard of their URL;
* :func:`aggregate_posts` groups posts by page (the canonical URL without its scheme,
  :func:`corpus_tools.urls.page_key`; the ``https://`` spelling is kept) and applies the karma rule in
  Arrow kernels, giving a ``LINK_SCHEMA`` table sorted by URL (same result for any
  batching or order of its input);
* :func:`collect_links` runs all of it in one process (the reference driver);
* :func:`link_summary` gives the top domains/subreddits the data card shows.
"""

from __future__ import annotations

import itertools
import zlib
from collections import Counter
from dataclasses import dataclass
from typing import IO, Any, Iterable, Iterator, Mapping, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from corpus_tools.reddit import BadRecord, DumpProblem, Submission, iter_lines, parse_number, parse_submission
from corpus_tools.schema import LINK_SCHEMA, new_reject
from corpus_tools.urls import (
    BLOCKED_EXTENSIONS,
    Blocklist,
    UrlRejected,
    canonical_host,
    canonical_parts,
    page_key,
    url_extension,
)
from corpus_tools.url_batch import canonical_batch

STAGE = "links"

# Reasons a record goes to the dead-letter output (bad input); every other reason is a filter decision.
DEAD_LETTER_REASONS = frozenset({"bad_json", "not_object", "no_url", "bad_score", "truncated_stream", "corrupt_stream",
                                 "empty_file"})
# Reasons that describe a stream, not a post (they are not part of the post accounting).
STREAM_REASONS = frozenset({"truncated_stream", "corrupt_stream", "empty_file"})
# Reasons that mean a record is not a link post at all (the rest were link posts, then filtered).
_NOT_LINK_POSTS = ("bad_json", "not_object", "self_post", "no_url")


def _truthy(value: Any) -> bool:
    if value is False or value is None:
        return False
    if value is True:
        return True
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def _number(value: Any) -> int | None:
    """``score`` / ``created_utc`` as an int (see :func:`parse_number`), None when unusable or beyond ±2**53."""
    if type(value) is int:
        return value if -_INT_LIMIT < value < _INT_LIMIT else None
    t = parse_number(value)
    return t if t is not None and -_INT_LIMIT < t < _INT_LIMIT else None


def _subreddit(value: Any) -> str | None:
    return value if type(value) is str and value else None


def _post_id(value: Any) -> str | None:
    return value if type(value) is str else (str(value) if value is not None else None)


class LinkPost(NamedTuple):
    """One kept link post (``classify`` returns it as a plain tuple in this field order: cheaper)."""

    url: str  # canonical URL
    score: int
    created_utc: int | None
    subreddit: str | None
    post_id: str | None
    raw_url: str  # the URL exactly as posted


class PostFilter:
    """Classify a submission: a kept :class:`LinkPost`, or the reason it is dropped.

    Checks, in order (the first that fails names the reason): ``self_post`` (``is_self``
    true), ``no_url`` (a link post without a string ``url``), ``nsfw`` (``over_18``, unless
    kept), ``not_http`` / ``bad_url`` (see :func:`corpus_tools.urls.canonicalize`),
    ``blocked_domain:<list>``, ``bad_extension``, ``bad_score`` (no usable ``score``).
    """

    def __init__(self, keep_nsfw: bool = False, blocklist: Blocklist | None = None,
                 blocked_extensions: Iterable[str] = BLOCKED_EXTENSIONS):
        self.keep_nsfw = keep_nsfw
        self.blocklist = blocklist if blocklist is not None else Blocklist.build()
        self.blocked_extensions = frozenset(e.lower().lstrip(".") for e in blocked_extensions)
        self._canon_cache: dict[str, tuple[str, str, str | None]] = {}
        self._host_cache: dict[str, tuple[str, str | None]] = {}

    @classmethod
    def from_config(cls, cfg: Any, domain_files: Mapping[str, Iterable[str]] | None = None) -> "PostFilter":
        """From a :class:`corpus_tools.recipe.LinksConfig`; ``domain_files`` maps list name → domains
        (the caller reads ``cfg.blocked_domain_files``, local or remote)."""
        blocklist = Blocklist.build(cfg.block_lists, cfg.blocked_domains, domain_files)
        allowed = {e.lower().lstrip(".") for e in cfg.allow_extensions}
        return cls(keep_nsfw=cfg.keep_nsfw, blocklist=blocklist, blocked_extensions=BLOCKED_EXTENSIONS - allowed)

    def _url_verdict(self, raw_url: str) -> tuple[str, str, str | None]:
        """(canonical URL or "", host or "", drop reason or None), cached per raw URL."""
        hit = self._canon_cache.get(raw_url)
        if hit is not None:
            return hit
        try:
            url, host = canonical_parts(raw_url)
        except UrlRejected as e:
            verdict: tuple[str, str, str | None] = ("", "", e.reason)
        except (ValueError, UnicodeError):  # anything else a hostile URL may trigger in a library
            verdict = ("", "", "bad_url")
        else:
            reason = self.blocklist.reason(host)
            if reason is None and url_extension(url) in self.blocked_extensions:
                reason = "bad_extension"
            verdict = (url, host, reason)
        if len(self._canon_cache) > 100_000:
            self._canon_cache.clear()
        self._canon_cache[raw_url] = verdict
        return verdict

    def _host_verdict(self, host: str) -> tuple[str, str | None]:
        """(canonical host or "", drop reason or None) of a host as spelled in a URL, cached."""
        hit = self._host_cache.get(host)
        if hit is not None:
            return hit
        try:
            canonical = canonical_host(host)
        except UrlRejected as e:
            verdict: tuple[str, str | None] = ("", e.reason)
        except (ValueError, UnicodeError):
            verdict = ("", "bad_url")
        else:
            verdict = (canonical, self.blocklist.reason(canonical))
        if len(self._host_cache) > 100_000:
            self._host_cache.clear()
        self._host_cache[host] = verdict
        return verdict

    def check_record(self, record: Submission) -> tuple[str, str] | None:
        """The rules before the URL is read: ``(reason, detail)`` for ``self_post`` / ``no_url`` /
        ``nsfw``, None when the record goes on to the URL rules."""
        is_self = record.is_self
        if is_self is not False and _truthy(is_self):
            return "self_post", ""
        raw_url = record.url
        if not isinstance(raw_url, str) or not raw_url.strip():
            return "no_url", "record has no url" if raw_url is None else f"url is {raw_url!r}"
        over_18 = record.over_18
        if over_18 is not False and not self.keep_nsfw and _truthy(over_18):
            return "nsfw", raw_url
        return None

    @staticmethod
    def _post(record: Submission, url: str) -> tuple[str | None, tuple | str]:
        """The rule after the URL (``bad_score``), else the kept post tuple."""
        score = _number(record.score)
        if score is None:
            return "bad_score", f"score = {record.score!r}"
        return None, (url, score, _number(record.created_utc), _subreddit(record.subreddit), _post_id(record.id),
                      record.url)

    def classify(self, record: Submission) -> tuple[str | None, tuple | str]:
        """``(None, post)`` for a kept post (a tuple in :class:`LinkPost` field order), else ``(reason, detail)``."""
        early = self.check_record(record)
        if early is not None:
            return early
        url, _, reason = self._url_verdict(record.url)
        if reason is not None:
            return reason, record.url
        return self._post(record, url)

    def classify_checked(self, records: list[Submission]) -> tuple[pa.Table, list[str], list[tuple[int, str, str]]]:
        """:meth:`classify` of many records that passed :meth:`check_record`, with the same results:
        ``(kept posts as a POST_SCHEMA table, their canonical URLs, [(index, reason, detail)] of the others)``.

        URLs of the common shape are canonicalised together in Arrow kernels
        (:func:`corpus_tools.url_batch.canonical_batch`), the others one by one; the kept
        posts' columns are built in Arrow, not as a tuple per post.
        """
        canonical, reasons = canonical_batch([r.url for r in records], self._host_verdict, self.blocked_extensions)
        verdict = self._url_verdict
        kept: list[Submission] = []
        urls: list[str] = []
        scores: list[int] = []
        dropped: list[tuple[int, str, str]] = []
        for i, (record, url, reason) in enumerate(zip(records, canonical, reasons)):
            if url is None:
                url, _, reason = verdict(record.url)
            if reason is not None:
                dropped.append((i, reason, record.url))
                continue
            score = _number(record.score)
            if score is None:
                dropped.append((i, "bad_score", f"score = {record.score!r}"))
                continue
            kept.append(record)
            urls.append(url)
            scores.append(score)
        return _post_table(kept, urls, scores), urls, dropped


def _post_table(records: list[Submission], urls: list[str], scores: list[int]) -> pa.Table:
    """The kept posts as ``POST_SCHEMA`` columns, values as :meth:`PostFilter._post` gives them
    (a column is normalised value by value only when one of its values is not of the usual type)."""
    created = [r.created_utc for r in records]
    if not all(type(t) is int and -_INT_LIMIT < t < _INT_LIMIT for t in created):
        created = [_number(t) for t in created]
    subreddits = [r.subreddit for r in records]
    if all(type(v) is str for v in subreddits):
        subreddit = pa.array(subreddits, pa.string())
        subreddit = pc.if_else(pc.equal(subreddit, ""), pa.scalar(None, pa.string()), subreddit)  # "" -> null
    else:
        subreddit = pa.array([_subreddit(v) for v in subreddits], pa.string())
    ids = [r.id for r in records]
    if not all(type(v) is str for v in ids):
        ids = [_post_id(v) for v in ids]
    return pa.Table.from_arrays(
        [pa.array(urls, pa.string()), pa.array(scores, pa.int64()), pa.array(created, pa.int64()), subreddit,
         pa.array(ids, pa.string()), pa.array([r.url for r in records], pa.string())],
        schema=POST_SCHEMA)


# --------------------------------------------------------------------------- kept posts as Arrow batches
# Kept posts travel in Arrow record batches (never written to disk): grouping, sorting and the
# karma rule then run in Arrow's C++ kernels instead of a Python loop per URL.
POST_SCHEMA = pa.schema(
    [
        pa.field("url", pa.string(), nullable=False),  # canonical URL
        pa.field("score", pa.int64(), nullable=False),
        pa.field("created_utc", pa.int64()),
        pa.field("subreddit", pa.string()),
        pa.field("post_id", pa.string()),
        pa.field("raw_url", pa.string(), nullable=False),
    ]
)
_INT_LIMIT = 2**53  # scores/timestamps beyond this are not real values (and would not fit int64 arithmetic)


def url_shard(url: str, num_shards: int) -> int:
    """The output shard of a canonical URL: CRC-32 of its :func:`page_key`'s UTF-8 bytes (stable
    everywhere, and cheap), so the http and https spellings of a page meet in one shard."""
    return zlib.crc32(page_key(url).encode("utf-8", "surrogatepass")) % num_shards


def split_by_shard(posts: pa.Table, num_shards: int, urls: list[str] | None = None
                   ) -> Iterator[tuple[int, pa.Table]]:
    """``(shard, that shard's posts)`` for every shard that has posts, in shard order
    (``urls``: the ``url`` column as Python strings, when the caller has them already)."""
    if num_shards == 1:
        if posts.num_rows:
            yield 0, posts
        return
    if urls is None:
        urls = posts.column("url").to_pylist()
    crc32 = zlib.crc32
    shards = [crc32(u[u.find("://") + 1:].encode("utf-8", "surrogatepass")) % num_shards
              for u in urls]  # = url_shard, inlined
    yield from _split(posts, pa.array(shards, pa.int32()))


def _split(posts: pa.Table, shards: pa.Array) -> Iterator[tuple[int, pa.Table]]:
    order = pc.sort_indices(shards)
    posts, shards = posts.take(order), shards.take(order)
    start = 0
    for vc in pc.value_counts(shards).to_pylist():  # in order of appearance = ascending shard
        n = vc["counts"]
        yield vc["values"], posts.slice(start, n)
        start += n


# zstd-compressed IPC buffers: URL columns shrink ~7x, for ~0.2 µs per post each way, and every
# copy of the bytes (the runner copies a shuffled element several times; Dataflow ships it) is cheaper.
_IPC_WRITE = pa.ipc.IpcWriteOptions(compression="zstd", use_threads=False)
_IPC_READ = pa.ipc.IpcReadOptions(use_threads=False)


def table_to_bytes(table: pa.Table) -> bytes:
    """An Arrow IPC stream, zstd-compressed (how post batches cross a Beam shuffle)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema, options=_IPC_WRITE) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def table_from_bytes(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.py_buffer(data), options=_IPC_READ).read_all()


def _hosts(urls: pa.ChunkedArray) -> pa.ChunkedArray:
    """The host of each canonical URL (``scheme://host[:port]/...``: the third ``/``-separated field)."""
    if len(urls) == 0:
        return pa.chunked_array([], pa.string())
    authority = pc.list_element(pc.split_pattern(urls, "/", max_splits=3), 2)
    if pc.any(pc.match_substring_regex(authority, r":\d+$")).as_py():
        authority = pc.replace_substring_regex(authority, r":\d+$", "")
    return authority


def _group_posts(posts: list[dict[str, Any]]) -> dict[str, Any]:
    """One URL's row fields from its posts (Python; used for URLs posted more than once)."""
    ids = [p["post_id"] for p in posts]
    ex = min(posts, key=lambda p: (p["created_utc"] is None, p["created_utc"] or 0, p["post_id"] is None,
                                  p["post_id"] or "", p["raw_url"]))
    times = [p["created_utc"] for p in posts if p["created_utc"] is not None]
    return {
        "url": max(p["url"] for p in posts),  # one page: "https://..." sorts after "http://..."
        "score_sum": sum(p["score"] for p in posts),
        "n_posts": len(posts),
        "subreddits": sorted({p["subreddit"] for p in posts if p["subreddit"] is not None}),
        "first_seen": min(times) if times else None,
        "last_seen": max(times) if times else None,
        "example_url": ex["raw_url"],
        "post_ids": sorted(i for i in ids if i is not None) + [None] * ids.count(None),
    }


_COPY_ORDER = [("post_id", "ascending"), ("score", "descending"), ("created_utc", "ascending"),
               ("raw_url", "ascending"), ("url", "ascending"), ("subreddit", "ascending")]


def drop_repeated_posts(posts: pa.Table) -> tuple[pa.Table, int]:
    """``posts`` with one copy of each submission id, and how many copies were dropped.

    Dumps overlap (Pushshift's RS_v2 and RS releases of a month, a month as .bz2 and .zst, a line
    repeated): summed twice, one post's score would carry its URL over the karma threshold. The copy
    kept has the highest score (a later crawl's, usually), then the earliest time, then the
    smallest URL, so the choice does not depend on the order of the dumps. Posts without an id are
    all kept (nothing tells their copies apart)."""
    ids = posts.column("post_id")
    valid = posts.num_rows - ids.null_count
    if valid < 2 or pc.count_distinct(ids, mode="only_valid").as_py() == valid:
        return posts, 0
    order = pc.sort_indices(posts, sort_keys=_COPY_ORDER)  # ids that are null are never repeats
    ids = ids.take(order).combine_chunks()
    repeat = pc.fill_null(pc.equal(ids.slice(1), ids.slice(0, len(ids) - 1)), False)
    keep = order.filter(pc.invert(pa.concat_arrays([pa.array([False]), repeat])))
    return posts.take(keep), posts.num_rows - len(keep)


def aggregate_posts(posts: pa.Table, min_karma: int, counts: Counter) -> pa.Table:
    """Group kept posts by page and keep pages with ``score_sum >= min_karma``.

    A page is a canonical URL without its scheme (:func:`corpus_tools.urls.page_key`): the
    ``http://`` and ``https://`` spellings of one page are one link, under its ``https://`` URL
    when any post used it. Returns a ``LINK_SCHEMA`` table sorted by URL: ``score_sum`` is summed over posts
    (OpenWebText2's rule), ``subreddits`` (distinct) and ``post_ids`` are sorted,
    ``first_seen`` / ``last_seen`` are the min/max ``created_utc``, and ``example_url`` is the
    URL as posted by the earliest post (ties: smallest post id, then smallest URL). The result
    does not depend on the order or batching of ``posts``. Counts ``urls_grouped``,
    ``urls_below_karma``, ``reason.below_karma`` (in posts, like every other reason), ``out``
    (URLs kept) and ``posts_out``.

    A submission id seen more than once (overlapping dumps) counts once
    (:func:`drop_repeated_posts`); its other copies are counted as ``reason.repeated_post``.

    Most URLs are posted once: those rows are read straight off their post (Arrow kernels);
    only URLs with several posts are grouped in Python.
    """
    posts, repeated = drop_repeated_posts(posts)
    if repeated:
        counts["reason.repeated_post"] += repeated
    n = posts.num_rows
    # Order by page; a post shares its page with a neighbour in that order iff the page was
    # posted more than once. Rows are then taken once, in page order.
    keys = pc.replace_substring_regex(posts.column("url").combine_chunks(), pattern="^https?:", replacement="",
                                      max_replacements=1)
    order = pc.sort_indices(keys)
    keys = keys.take(order)
    if n > 1:
        same = pc.equal(keys.slice(0, n - 1), keys.slice(1))
        edge = pa.array([False])
        in_multi = pc.or_(pa.concat_arrays([edge, same]), pa.concat_arrays([same, edge]))
    else:
        in_multi = pa.array([False] * n, pa.bool_())
    singles = posts.take(order.filter(pc.invert(in_multi)))
    multi_posts = posts.take(order.filter(in_multi))
    n_single = singles.num_rows
    offsets = pa.array(range(n_single + 1), pa.int32())  # one post id per URL
    subreddit = singles.column("subreddit").combine_chunks()
    valid = pc.cast(pc.is_valid(subreddit), pa.int32())  # one subreddit per URL, none when null
    sub_offsets = pa.concat_arrays([pa.array([0], pa.int32()), pc.cumulative_sum(valid)]) if n_single else offsets
    single_links = pa.Table.from_arrays(
        [
            singles.column("url"),
            singles.column("url"),  # domain, filled below
            singles.column("score"),
            pa.array([1] * n_single, pa.int64()),
            pa.ListArray.from_arrays(sub_offsets, subreddit.drop_null()),
            singles.column("created_utc"),
            singles.column("created_utc"),
            singles.column("raw_url"),
            pa.ListArray.from_arrays(offsets, singles.column("post_id").combine_chunks()),
        ],
        schema=LINK_SCHEMA,
    )
    multi_rows = [_group_posts(list(group)) for _, group in
                  itertools.groupby(multi_posts.to_pylist(), key=lambda p: page_key(p["url"]))]
    links = pa.concat_tables([single_links, pa.Table.from_pylist(multi_rows, schema=LINK_SCHEMA)])
    n_groups = links.num_rows
    n_posts = links.column("n_posts")
    keep = pc.greater_equal(links.column("score_sum"), min_karma)
    all_posts = pc.sum(n_posts).as_py() or 0
    links = links.filter(keep)
    links = links.take(pc.sort_indices(links.column("url")))  # page order is not URL order (http/https)
    kept_posts = pc.sum(links.column("n_posts")).as_py() or 0
    links = links.set_column(1, LINK_SCHEMA.field("domain"), _hosts(links.column("url")))
    counts["urls_grouped"] += n_groups
    counts["urls_below_karma"] += n_groups - links.num_rows
    counts["reason.below_karma"] += all_posts - kept_posts
    counts["out"] += links.num_rows
    counts["posts_out"] += kept_posts
    return links


# --------------------------------------------------------------------------- reading a dump
class LinkCollector:
    """Read dumps, count every outcome, and batch the kept posts.

    :meth:`read` yields ``("reject", REJECT_SCHEMA dict)`` for dead letters (in line order
    within a batch) and ``("posts", (shard, POST_SCHEMA table))`` batches: every
    ``batch_posts`` link posts that reach the URL rules (and at the end) are classified
    together (:meth:`PostFilter.classify_checked`: URLs canonicalised in Arrow kernels) and the
    kept ones split by the :func:`url_shard` of their URLs (one shard when ``num_shards`` is 1).
    Outcome counts accumulate in :attr:`counts`: ``in`` (non-blank lines), ``link_posts``
    (records that are link posts with a URL), ``posts_kept`` (posts that passed every
    filter) and ``reason.<reason>``.
    """

    def __init__(self, post_filter: PostFilter, batch_posts: int = 100_000, num_shards: int = 1):
        self.filter = post_filter
        self.batch_posts = batch_posts
        self.num_shards = num_shards
        self.counts: Counter[str] = Counter()

    def read(self, fh: IO[bytes], name: str = "", compression: str | None = None
             ) -> Iterator[tuple[str, Any]]:
        check = self.filter.check_record
        batch_posts = self.batch_posts
        pending: list[Submission] = []  # records waiting for the URL rules ...
        pending_lines: list[int] = []  # ... and their line numbers
        rejects: list[dict[str, Any]] = []  # dead letters of the lines read since the last batch
        n_in = line_no = 0
        file_counts: Counter[str] = Counter()
        for line in iter_lines(fh, name, compression):
            line_no += 1
            if type(line) is DumpProblem:
                file_counts[line.reason] += 1
                rejects.append(new_reject(STAGE, line.reason, source=name, offset=line.line, detail=line.detail))
                continue
            if line.isspace():
                continue
            n_in += 1
            try:
                record = parse_submission(line)
            except BadRecord as e:
                file_counts[e.reason] += 1
                rejects.append(new_reject(STAGE, e.reason, source=name, offset=line_no, detail=e.detail))
                continue
            early = check(record)
            if early is None:
                pending.append(record)
                pending_lines.append(line_no)
                if len(pending) >= batch_posts:
                    yield from self._batch(pending, pending_lines, rejects, name, file_counts)
                continue
            reason, detail = early
            file_counts[reason] += 1
            if reason in DEAD_LETTER_REASONS:
                url = record.url
                rejects.append(new_reject(STAGE, reason, source=name, offset=line_no,
                                          url=url if isinstance(url, str) else None, detail=detail))
        yield from self._batch(pending, pending_lines, rejects, name, file_counts)
        counts = self.counts
        counts["in"] += n_in
        counts["link_posts"] += n_in - sum(file_counts[r] for r in _NOT_LINK_POSTS)
        for reason, n in file_counts.items():
            counts["reason." + reason] += n

    def _batch(self, pending: list[Submission], pending_lines: list[int], rejects: list[dict[str, Any]],
               name: str, file_counts: Counter) -> Iterator[tuple[str, Any]]:
        """Apply the URL and score rules to the pending records, then yield the dead letters
        (in line order) and the kept posts by shard; empties ``pending`` and ``rejects``."""
        posts, urls, dropped = self.filter.classify_checked(pending)
        for i, reason, detail in dropped:
            file_counts[reason] += 1
            if reason in DEAD_LETTER_REASONS:
                rejects.append(new_reject(STAGE, reason, source=name, offset=pending_lines[i], url=pending[i].url,
                                          detail=detail))
        self.counts["posts_kept"] += posts.num_rows
        pending.clear()
        pending_lines.clear()
        rejects.sort(key=lambda r: r["offset"])
        yield from (("reject", r) for r in rejects)
        rejects.clear()
        if posts.num_rows:
            yield from (("posts", item) for item in split_by_shard(posts, self.num_shards, urls))


# --------------------------------------------------------------------------- the whole stage in one process
@dataclass
class LinksResult:
    table: pa.Table  # LINK_SCHEMA, score_sum >= min_karma, sorted by url
    rejects: list[dict[str, Any]]  # REJECT_SCHEMA dead letters, in reading order
    counts: Counter  # the LinkCollector counts plus those of aggregate_posts

    @property
    def rows(self) -> list[dict[str, Any]]:
        return self.table.to_pylist()


def collect_links(paths: Iterable[str], post_filter: PostFilter, min_karma: int = 3,
                  batch_posts: int = 100_000) -> LinksResult:
    """Read local dump files and produce the link table in this process (no Beam)."""
    collector = LinkCollector(post_filter, batch_posts=batch_posts)
    batches: list[pa.Table] = []
    rejects: list[dict[str, Any]] = []
    for path in paths:
        with open(path, "rb") as fh:
            for kind, value in collector.read(fh, path):
                if kind == "reject":
                    rejects.append(value)
                else:
                    batches.append(value[1])
    posts = pa.concat_tables(batches) if batches else POST_SCHEMA.empty_table()
    counts = collector.counts
    return LinksResult(table=aggregate_posts(posts, min_karma, counts), rejects=rejects, counts=counts)


def link_summary(links: pa.Table, top_n: int = 50) -> dict[str, Any]:
    """What the data card shows about a LINK_SCHEMA table (computed in Arrow).

    ``distinct_domains``; ``top_domains`` (by kept URLs) and ``top_domains_by_posts``;
    ``top_subreddits`` (by kept URLs linked from it), each a list of ``[name, count]``,
    ties broken by name; ``score_sum_quantiles`` (p50/p90/p99/max of the kept URLs' karma).
    """

    def top(names: pa.Array, counts: pa.Array) -> list[list[Any]]:
        pairs = sorted(zip(names.to_pylist(), counts.to_pylist()), key=lambda kv: (-kv[1], kv[0] or ""))
        return [[k, v] for k, v in pairs[:top_n]]

    if links.num_rows == 0:
        return {"distinct_domains": 0, "top_domains": [], "top_domains_by_posts": [], "top_subreddits": [],
                "score_sum_quantiles": {}}
    by_domain = links.group_by("domain").aggregate([("url", "count"), ("n_posts", "sum")])
    subs = pc.list_flatten(links.column("subreddits"))
    sub_counts = pc.value_counts(subs) if len(subs) else pa.array([], pa.struct([("values", pa.string()),
                                                                                 ("counts", pa.int64())]))
    karma = pc.sort_indices(links.column("score_sum"))
    ks = links.column("score_sum").take(karma).to_numpy()
    quantiles = {f"p{int(q * 100)}": int(ks[min(len(ks) - 1, int(q * len(ks)))]) for q in (0.5, 0.9, 0.99)}
    quantiles["max"] = int(ks[-1])
    return {
        "distinct_domains": by_domain.num_rows,
        "top_domains": top(by_domain.column("domain"), by_domain.column("url_count")),
        "top_domains_by_posts": top(by_domain.column("domain"), by_domain.column("n_posts_sum")),
        "top_subreddits": top(sub_counts.field("values"), sub_counts.field("counts")),
        "score_sum_quantiles": quantiles,
    }
