"""Reddit submissions → canonical outbound links with their summed karma (WebText's link list).

GPT-2 (Radford et al. 2019, sec. 2.1) scraped "all outbound links from Reddit, a social media
platform, which received at least 3 karma". Here, as in OpenWebText2, karma is the score
summed over every post of the same canonical URL.

The pieces, each usable on its own and from a Beam ``DoFn`` alike:

* :class:`PostFilter` decides, per submission record, whether it is a kept link post
  (:class:`LinkPost`) or why not (a reason string);
* :class:`LinkCollector` reads one dump, counts every outcome by reason, and
  pre-aggregates kept posts by canonical URL into partial sums (plain tuples, flushed
  when it holds ``max_urls`` URLs, so memory stays bounded);
* :class:`LinkAggregate` merges partials (associative, commutative, deterministic);
* :class:`LinkMerger` merges partials by URL and applies the karma rule, giving
  ``LINK_SCHEMA`` columns sorted by URL;
* :func:`collect_links` runs all of it in one process (the reference driver);
* :func:`link_summary` gives the top domains/subreddits the data card shows.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import IO, Any, Iterable, Iterator, Mapping, NamedTuple

from corpus_tools.reddit import BadRecord, DumpProblem, Submission, parse_number, parse_submission, read_dump
from corpus_tools.schema import LINK_SCHEMA, new_reject
from corpus_tools.urls import (
    BLOCKED_EXTENSIONS,
    Blocklist,
    UrlRejected,
    canonical_parts,
    host_of,
    url_extension,
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
    if value is False or value is None:
        return False
    if value is True:
        return True
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


class LinkPost(NamedTuple):
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

    def classify(self, record: Submission) -> tuple[str | None, LinkPost | str]:
        """``(None, LinkPost)`` for a kept post, else ``(reason, detail)``."""
        if _truthy(record.is_self):
            return "self_post", ""
        raw_url = record.url
        if not isinstance(raw_url, str) or not raw_url.strip():
            return "no_url", "record has no url" if raw_url is None else f"url is {raw_url!r}"
        if not self.keep_nsfw and _truthy(record.over_18):
            return "nsfw", raw_url
        url, _, reason = self._url_verdict(raw_url)
        if reason is not None:
            return reason, raw_url
        score = parse_number(record.score)
        if score is None:
            return "bad_score", f"score = {record.score!r}"
        post_id = record.id
        subreddit = record.subreddit
        return None, LinkPost(
            url=url,
            score=score,
            created_utc=parse_number(record.created_utc),
            subreddit=subreddit if isinstance(subreddit, str) and subreddit else None,
            post_id=str(post_id) if post_id is not None else None,
            raw_url=raw_url,
        )


# --------------------------------------------------------------------------- aggregation
# A partial aggregate travels as a plain tuple (Beam encodes it without pickling):
#   (score_sum, n_posts, subreddits, first_seen, last_seen, example, post_ids)
# with subreddits/post_ids tuples and example = (created or _NO_TIME, post id, raw URL), the
# smallest of which names the URL "as posted".
Partial = tuple


def post_partial(post: LinkPost) -> Partial:
    """The partial aggregate of a single post."""
    t = post.created_utc
    return (post.score, 1, (post.subreddit,) if post.subreddit is not None else (), t, t,
            (t if t is not None else _NO_TIME, post.post_id or "", post.raw_url),
            (post.post_id,) if post.post_id is not None else ())


@dataclass(slots=True)
class LinkAggregate:
    """Mutable sums for one canonical URL; merging is associative, commutative and deterministic."""

    score_sum: int = 0
    n_posts: int = 0
    subreddits: set[str] = field(default_factory=set)
    first_seen: int | None = None
    last_seen: int | None = None
    example: tuple[int, str, str] | None = None  # the min wins
    post_ids: list[str] = field(default_factory=list)

    @classmethod
    def from_partial(cls, p: Partial) -> "LinkAggregate":
        ex = p[5]
        return cls(p[0], p[1], set(p[2]), p[3], p[4], tuple(ex) if ex is not None else None, list(p[6]))

    def add(self, p: Partial) -> "LinkAggregate":
        """Merge a partial (see :data:`Partial`) into these sums."""
        self.score_sum += p[0]
        self.n_posts += p[1]
        self.subreddits.update(p[2])
        if p[3] is not None and (self.first_seen is None or p[3] < self.first_seen):
            self.first_seen = p[3]
        if p[4] is not None and (self.last_seen is None or p[4] > self.last_seen):
            self.last_seen = p[4]
        ex = p[5]
        if ex is not None:
            ex = tuple(ex)  # a list after a msgpack round trip
            if self.example is None or ex < self.example:
                self.example = ex
        self.post_ids.extend(p[6])
        return self

    def to_partial(self) -> Partial:
        return (self.score_sum, self.n_posts, tuple(sorted(self.subreddits)), self.first_seen, self.last_seen,
                self.example, tuple(self.post_ids))


def merge_partials(partials: Iterable[Partial]) -> LinkAggregate:
    out = LinkAggregate()
    for p in partials:
        out.add(p)
    return out


# --------------------------------------------------------------------------- reading a dump
class LinkCollector:
    """Read dumps, count every outcome, pre-aggregate kept posts by canonical URL.

    :meth:`read` yields ``("reject", REJECT_SCHEMA dict)`` for dead letters and
    ``("link", (url, Partial))`` partial sums (whenever ``max_urls`` distinct URLs are
    held, and at the end of the file). Outcome counts accumulate in :attr:`counts`:
    ``in`` (non-blank lines), ``link_posts`` (records that are link posts with a URL),
    ``posts_kept`` (posts that passed every filter) and ``reason.<reason>``.
    """

    def __init__(self, post_filter: PostFilter, max_urls: int = 200_000):
        self.filter = post_filter
        self.max_urls = max_urls
        self.counts: Counter[str] = Counter()

    @staticmethod
    def _flush(groups: dict[str, LinkPost | LinkAggregate]) -> Iterator[tuple[str, Any]]:
        for url, g in groups.items():
            yield "link", (url, post_partial(g) if type(g) is LinkPost else g.to_partial())

    def read(self, fh: IO[bytes], name: str = "", compression: str | None = None
             ) -> Iterator[tuple[str, Any]]:
        classify = self.filter.classify
        # Most URLs are posted once: a group stays a bare LinkPost until a second post arrives.
        groups: dict[str, LinkPost | LinkAggregate] = {}
        n_in = n_kept = 0
        file_counts: Counter[str] = Counter()
        for item in read_dump(fh, name, compression):
            if type(item) is DumpProblem:
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
                url = result.url  # type: ignore[union-attr]
                prev = groups.get(url)
                if prev is None:
                    if len(groups) >= self.max_urls:
                        yield from self._flush(groups)
                        groups = {}
                    groups[url] = result  # type: ignore[assignment]
                elif type(prev) is LinkPost:
                    groups[url] = LinkAggregate.from_partial(post_partial(prev)).add(post_partial(result))
                else:
                    prev.add(post_partial(result))  # type: ignore[union-attr, arg-type]
                continue
            file_counts[reason] += 1
            if reason in DEAD_LETTER_REASONS:
                url = record.url
                yield "reject", new_reject(STAGE, reason, source=name, offset=item.line,
                                           url=url if isinstance(url, str) else None, detail=str(result))
        counts = self.counts
        counts["in"] += n_in
        counts["link_posts"] += n_in - sum(file_counts[r] for r in _NOT_LINK_POSTS)
        counts["posts_kept"] += n_kept
        for reason, n in file_counts.items():
            counts["reason." + reason] += n
        yield from self._flush(groups)


# --------------------------------------------------------------------------- merging and the karma rule
class LinkMerger:
    """Merge partials by URL, then apply the karma rule and emit LINK_SCHEMA columns sorted by URL.

    A URL seen in one partial only (the usual case) is never turned into a
    :class:`LinkAggregate`; its row is read straight off the partial.
    """

    def __init__(self) -> None:
        self.groups: dict[str, Any] = {}  # url -> Partial, or LinkAggregate once merged

    def add(self, url: str, partial: Partial) -> None:
        prev = self.groups.get(url)
        if prev is None:
            self.groups[url] = partial
        elif type(prev) is LinkAggregate:
            prev.add(partial)
        else:
            self.groups[url] = LinkAggregate.from_partial(prev).add(partial)

    def __len__(self) -> int:
        return len(self.groups)

    def finish(self, min_karma: int, counts: Counter) -> dict[str, list]:
        """Columns of the kept URLs (``score_sum >= min_karma``), sorted by URL.

        Counts ``urls_grouped``, ``urls_below_karma``, ``reason.below_karma`` (in posts, like
        every other reason), ``out`` (URLs kept) and ``posts_out``.
        """
        cols: dict[str, list] = {name: [] for name in LINK_SCHEMA.names}
        below = below_posts = posts_out = 0
        groups = self.groups
        for url in sorted(groups):
            g = groups[url]
            if type(g) is LinkAggregate:
                score_sum, n_posts = g.score_sum, g.n_posts
                if score_sum < min_karma:
                    below += 1
                    below_posts += n_posts
                    continue
                subs, first, last, example, ids = sorted(g.subreddits), g.first_seen, g.last_seen, g.example, g.post_ids
            else:
                score_sum, n_posts = g[0], g[1]
                if score_sum < min_karma:
                    below += 1
                    below_posts += n_posts
                    continue
                subs, first, last, example, ids = sorted(set(g[2])), g[3], g[4], g[5], g[6]
            posts_out += n_posts
            cols["url"].append(url)
            cols["domain"].append(host_of(url))
            cols["score_sum"].append(score_sum)
            cols["n_posts"].append(n_posts)
            cols["subreddits"].append(subs)
            cols["first_seen"].append(first)
            cols["last_seen"].append(last)
            cols["example_url"].append(example[2] if example else None)
            cols["post_ids"].append(sorted(ids))
        counts["urls_grouped"] += len(groups)
        counts["urls_below_karma"] += below
        counts["reason.below_karma"] += below_posts
        counts["out"] += len(cols["url"])
        counts["posts_out"] += posts_out
        return cols


def columns_to_rows(cols: Mapping[str, list]) -> list[dict[str, Any]]:
    names = list(cols)
    return [dict(zip(names, values)) for values in zip(*(cols[n] for n in names))]


# --------------------------------------------------------------------------- the whole stage in one process
@dataclass
class LinksResult:
    rows: list[dict[str, Any]]  # LINK_SCHEMA rows with score_sum >= min_karma, sorted by url
    rejects: list[dict[str, Any]]  # REJECT_SCHEMA dead letters, in reading order
    counts: Counter  # the LinkCollector counts plus those of LinkMerger.finish


def collect_links(paths: Iterable[str], post_filter: PostFilter, min_karma: int = 3,
                  max_urls: int = 200_000) -> LinksResult:
    """Read local dump files and produce the link table in this process (no Beam)."""
    collector = LinkCollector(post_filter, max_urls=max_urls)
    merger = LinkMerger()
    rejects: list[dict[str, Any]] = []
    for path in paths:
        with open(path, "rb") as fh:
            for kind, value in collector.read(fh, path):
                if kind == "reject":
                    rejects.append(value)
                else:
                    merger.add(*value)
    counts = collector.counts
    rows = columns_to_rows(merger.finish(min_karma, counts))
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
