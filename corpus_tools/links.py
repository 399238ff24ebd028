"""Reddit submissions → canonical outbound links with their summed karma (WebText's link list).

GPT-2 (Radford et al. 2019, sec. 2.1) scraped "all outbound links from Reddit, a social media
platform, which received at least 3 karma". Here, as in OpenWebText2, karma is the score
summed over every post of the same canonical URL.

The pieces, each usable on its own and from a Beam ``DoFn`` alike:

* :class:`PostFilter` decides, per submission record, whether it is a kept link post
  (:class:`LinkPost`) or why not (a reason string);
* :class:`LinkCollector` reads one dump, counts every outcome by reason, and
  pre-aggregates kept posts by canonical URL into :class:`LinkAggregate` partials (flushed
  when it holds ``max_urls`` URLs, so memory stays bounded);
* :func:`merge_aggregates` combines partials (associative, commutative, deterministic);
* :func:`finalize` turns a URL's aggregate into a ``LINK_SCHEMA`` row;
* :func:`collect_links` runs all of it in one process (the reference driver);
* :func:`link_summary` gives the top domains/subreddits the data card shows.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import IO, Any, Iterable, Iterator, Mapping

from corpus_tools.reddit import BadRecord, DumpProblem, parse_number, parse_submission, read_dump
from corpus_tools.schema import new_reject
from corpus_tools.urls import (
    BLOCKED_EXTENSIONS,
    Blocklist,
    UrlRejected,
    blocked_extension,
    canonicalize,
    host_of,
)

STAGE = "links"

# Reasons a record goes to the dead-letter output (bad input); every other reason is a filter decision.
DEAD_LETTER_REASONS = frozenset({"bad_json", "not_object", "no_url", "bad_score", "truncated_stream", "corrupt_stream"})
# Reasons that describe a stream, not a post (they are not part of the post accounting).
STREAM_REASONS = frozenset({"truncated_stream", "corrupt_stream"})
# Reasons that mean a record is not a link post at all (the rest were link posts, then filtered).
_NOT_LINK_POSTS = ("bad_json", "not_object", "self_post", "no_url")

_NO_TIME = 1 << 62  # sorts after every real timestamp when choosing the example URL


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


@dataclass(frozen=True, slots=True)
class LinkPost:
    """One kept link post."""

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
            url = canonicalize(raw_url)
        except UrlRejected as e:
            verdict: tuple[str, str, str | None] = ("", "", e.reason)
        else:
            host = host_of(url)
            reason = self.blocklist.reason(host)
            if reason is None and blocked_extension(url, self.blocked_extensions):
                reason = "bad_extension"
            verdict = (url, host, reason)
        if len(self._canon_cache) > 100_000:
            self._canon_cache.clear()
        self._canon_cache[raw_url] = verdict
        return verdict

    def classify(self, record: Mapping[str, Any]) -> tuple[str | None, LinkPost | str]:
        """``(None, LinkPost)`` for a kept post, else ``(reason, detail)``."""
        if _truthy(record.get("is_self")):
            return "self_post", ""
        raw_url = record.get("url")
        if not isinstance(raw_url, str) or not raw_url.strip():
            return "no_url", "record has no url" if raw_url is None else f"url is {raw_url!r}"
        if not self.keep_nsfw and _truthy(record.get("over_18")):
            return "nsfw", raw_url
        url, _, reason = self._url_verdict(raw_url)
        if reason is not None:
            return reason, raw_url
        score = parse_number(record.get("score"))
        if score is None:
            return "bad_score", f"score = {record.get('score')!r}"
        post_id = record.get("id")
        subreddit = record.get("subreddit")
        return None, LinkPost(
            url=url,
            score=score,
            created_utc=parse_number(record.get("created_utc")),
            subreddit=subreddit if isinstance(subreddit, str) and subreddit else None,
            post_id=str(post_id) if post_id is not None else None,
            raw_url=raw_url,
        )


# --------------------------------------------------------------------------- aggregation
@dataclass(slots=True)
class LinkAggregate:
    """Partial sums for one canonical URL (mergeable in any order)."""

    score_sum: int = 0
    n_posts: int = 0
    subreddits: set[str] = field(default_factory=set)
    first_seen: int | None = None
    last_seen: int | None = None
    example: tuple[int, str, str] | None = None  # (created or _NO_TIME, post id, raw URL): the min wins
    post_ids: list[str] = field(default_factory=list)

    def add(self, post: LinkPost) -> None:
        self.score_sum += post.score
        self.n_posts += 1
        if post.subreddit is not None:
            self.subreddits.add(post.subreddit)
        t = post.created_utc
        if t is not None:
            if self.first_seen is None or t < self.first_seen:
                self.first_seen = t
            if self.last_seen is None or t > self.last_seen:
                self.last_seen = t
        ex = (t if t is not None else _NO_TIME, post.post_id or "", post.raw_url)
        if self.example is None or ex < self.example:
            self.example = ex
        if post.post_id is not None:
            self.post_ids.append(post.post_id)

    def merge(self, other: "LinkAggregate") -> "LinkAggregate":
        self.score_sum += other.score_sum
        self.n_posts += other.n_posts
        self.subreddits |= other.subreddits
        if other.first_seen is not None and (self.first_seen is None or other.first_seen < self.first_seen):
            self.first_seen = other.first_seen
        if other.last_seen is not None and (self.last_seen is None or other.last_seen > self.last_seen):
            self.last_seen = other.last_seen
        if other.example is not None and (self.example is None or other.example < self.example):
            self.example = other.example
        self.post_ids.extend(other.post_ids)
        return self


def merge_aggregates(aggs: Iterable[LinkAggregate]) -> LinkAggregate:
    out = LinkAggregate()
    for a in aggs:
        out.merge(a)
    return out


def finalize(url: str, agg: LinkAggregate) -> dict[str, Any]:
    """A ``LINK_SCHEMA`` row."""
    return {
        "url": url,
        "domain": host_of(url),
        "score_sum": agg.score_sum,
        "n_posts": agg.n_posts,
        "subreddits": sorted(agg.subreddits),
        "first_seen": agg.first_seen,
        "last_seen": agg.last_seen,
        "example_url": agg.example[2] if agg.example else None,
        "post_ids": sorted(agg.post_ids),
    }


# --------------------------------------------------------------------------- reading a dump
class LinkCollector:
    """Read dumps, count every outcome, pre-aggregate kept posts by canonical URL.

    :meth:`read` yields ``("reject", REJECT_SCHEMA dict)`` for dead letters and
    ``("link", (url, LinkAggregate))`` partials (whenever ``max_urls`` distinct URLs are
    held, and at the end of the file). Outcome counts accumulate in :attr:`counts`:
    ``in`` (non-blank lines), ``link_posts`` (records that are link posts with a URL),
    ``posts_kept`` (posts that passed every filter) and ``reason.<reason>``.
    """

    def __init__(self, post_filter: PostFilter, max_urls: int = 200_000):
        self.filter = post_filter
        self.max_urls = max_urls
        self.counts: Counter[str] = Counter()

    def read(self, fh: IO[bytes], name: str = "", compression: str | None = None
             ) -> Iterator[tuple[str, Any]]:
        classify = self.filter.classify
        counts = self.counts
        groups: dict[str, LinkAggregate] = {}
        n_in = n_kept = 0
        file_counts: Counter[str] = Counter()
        for item in read_dump(fh, name, compression):
            if isinstance(item, DumpProblem):
                file_counts[item.reason] += 1
                yield "reject", new_reject(STAGE, item.reason, source=name, offset=item.line, detail=item.detail)
                continue
            n_in += 1
            try:
                record = parse_submission(item.data)
            except BadRecord as e:
                file_counts[e.reason] += 1
                yield "reject", new_reject(STAGE, e.reason, source=name, offset=item.line, detail=e.detail)
                continue
            reason, result = classify(record)
            if reason is None:
                n_kept += 1
                post: LinkPost = result  # type: ignore[assignment]
                agg = groups.get(post.url)
                if agg is None:
                    if len(groups) >= self.max_urls:
                        yield from (("link", kv) for kv in groups.items())
                        groups = {}
                    agg = groups[post.url] = LinkAggregate()
                agg.add(post)
                continue
            file_counts[reason] += 1
            if reason in DEAD_LETTER_REASONS:
                url = record.get("url")
                yield "reject", new_reject(STAGE, reason, source=name, offset=item.line,
                                           url=url if isinstance(url, str) else None, detail=str(result))
        counts["in"] += n_in
        counts["link_posts"] += n_in - sum(file_counts[r] for r in _NOT_LINK_POSTS)
        counts["posts_kept"] += n_kept
        for reason, n in file_counts.items():
            counts["reason." + reason] += n
        yield from (("link", kv) for kv in groups.items())


# --------------------------------------------------------------------------- the whole stage in one process
@dataclass
class LinksResult:
    rows: list[dict[str, Any]]  # LINK_SCHEMA rows with score_sum >= min_karma, sorted by url
    rejects: list[dict[str, Any]]  # REJECT_SCHEMA dead letters, in reading order
    counts: Counter  # the LinkCollector counts plus urls_grouped, urls_below_karma, reason.below_karma, out


def apply_karma(url: str, agg: LinkAggregate, min_karma: int, counts: Counter) -> dict[str, Any] | None:
    """The finished row when the URL has enough karma; counts the outcome either way."""
    counts["urls_grouped"] += 1
    if agg.score_sum < min_karma:
        counts["urls_below_karma"] += 1
        counts["reason.below_karma"] += agg.n_posts  # in posts, like every other reason
        return None
    counts["out"] += 1
    counts["posts_out"] += agg.n_posts
    return finalize(url, agg)


def collect_links(paths: Iterable[str], post_filter: PostFilter, min_karma: int = 3,
                  max_urls: int = 200_000) -> LinksResult:
    """Read local dump files and produce the link table in this process (no Beam)."""
    collector = LinkCollector(post_filter, max_urls=max_urls)
    groups: dict[str, LinkAggregate] = {}
    rejects: list[dict[str, Any]] = []
    for path in paths:
        with open(path, "rb") as fh:
            for kind, value in collector.read(fh, path):
                if kind == "reject":
                    rejects.append(value)
                else:
                    url, agg = value
                    if url in groups:
                        groups[url].merge(agg)
                    else:
                        groups[url] = agg
    counts = collector.counts
    rows = []
    for url in sorted(groups):
        row = apply_karma(url, groups[url], min_karma, counts)
        if row is not None:
            rows.append(row)
    return LinksResult(rows=rows, rejects=rejects, counts=counts)


def link_summary(rows: Iterable[Mapping[str, Any]], top_n: int = 50) -> dict[str, Any]:
    """Top domains (by kept URLs and by posts) and top subreddits (by kept URLs), ties broken by name."""
    by_domain: Counter[str] = Counter()
    posts_by_domain: Counter[str] = Counter()
    by_subreddit: Counter[str] = Counter()
    karma = []
    for row in rows:
        by_domain[row["domain"]] += 1
        posts_by_domain[row["domain"]] += row["n_posts"]
        for sub in row["subreddits"] or ():
            by_subreddit[sub] += 1
        karma.append(row["score_sum"])

    def top(c: Counter) -> list[list[Any]]:
        return [[k, v] for k, v in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:top_n]]

    karma.sort()
    quantiles = {}
    if karma:
        for q in (0.5, 0.9, 0.99):
            quantiles[f"p{int(q * 100)}"] = karma[min(len(karma) - 1, int(q * len(karma)))]
        quantiles["max"] = karma[-1]
    return {
        "distinct_domains": len(by_domain),
        "top_domains": top(by_domain),
        "top_domains_by_posts": top(posts_by_domain),
        "top_subreddits": top(by_subreddit),
        "score_sum_quantiles": quantiles,
    }
