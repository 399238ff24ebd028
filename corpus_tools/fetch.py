"""The polite fetcher: per-host politeness, limits, retries and the SSRF guard.

:class:`Crawler` takes a list of URLs and returns one fetch-log row per URL
(:data:`corpus_tools.schema.FETCH_LOG_SCHEMA`), handing every successful capture to a sink
(normally :class:`corpus_tools.warc_writer.RotatingWarcWriter`).

Politeness. The unit of politeness is the *site* (:func:`site_of`: the host without a leading
``www.``, with its port unless 80/443), so ``http://`` and ``https://``, ``www.`` and bare
spellings of one server share it. robots.txt is fetched once per origin (``scheme://host:port``,
RFC 9309's scope) and obeyed (:mod:`corpus_tools.robots`). A request to a site starts at least
``delay_s`` (or the largest robots.txt ``Crawl-delay`` of its origins, capped) after the previous
one started and after it finished, at most ``host_concurrency`` requests to one site are in flight,
and a 429/503 pushes the site's next allowed request time past the back-off. Redirect hops to
another site obey that site's delay and in-flight cap as well. Many sites are fetched at once by a
thread pool; a worker never sleeps while another site is ready (the sites wait in a heap ordered by
their next allowed request time).

Hand-over. With ``hand_over(current, next) -> bool``, a redirect hop the callable claims is not
followed: the URL's row is a :class:`Handover` (the chain so far), and another crawler — the Beam
worker that owns the target's site — resumes it by crawling the :class:`Handover` itself.
That crawler starts from the :meth:`Crawler.memories` of the one before it (:meth:`Crawler.remember`):
robots.txt outcomes and each site's next allowed request time travel with the work, so a site's
robots.txt is fetched once per run and its delay holds from one round to the next.

Blocklists. With ``blocklist`` (the links stage's :class:`corpus_tools.urls.Blocklist`, see
:meth:`corpus_tools.links.PostFilter.from_config`), a redirect to a host the links stage would drop
(bit.ly → wikipedia.org) ends its URL with the links stage's reason, ``blocked_domain:<list>``,
before anything is sent there: the links stage checks only the posted URL, so without this a
shortener would carry a blocked site into the corpus.

Safety. Every hop (the first request and each redirect) resolves the host, refuses
non-public addresses (:mod:`corpus_tools.netguard`) and connects to the checked address
itself. Connect and total timeouts, a streamed body cap, a decompression-bomb guard and a
content-type check bound what one URL can cost.

HTTP is urllib3 (chosen over ``requests`` by measurement, see docs/benchmarks.md): a
connection pool per (origin, address) gives keep-alive and lets us connect to the checked IP
while sending the right ``Host`` header and TLS server name.
"""

from __future__ import annotations

import contextlib
import email.utils
import heapq
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from corpus_tools.content_encoding import BoundedDecoder, DecodeError, parse_encodings, supported_encodings
from corpus_tools.netguard import BlockedAddress, Resolver, parse_networks, pick_address, system_resolver
from corpus_tools.pages import is_page_status, looks_like_html, media_type
from corpus_tools.recipe import FetchConfig
from corpus_tools.robots import RobotsRules, rules_from_response
from corpus_tools.schema import FETCH_LOG_SCHEMA
from corpus_tools.urls import Blocklist, UrlRejected, canonical_parts, domain_of
from corpus_tools.warc_writer import Capture

try:
    import certifi

    _CA_CERTS: str | None = certifi.where()
except ImportError:  # pragma: no cover
    _CA_CERTS = None

# Every value the ``reason`` column can take.
REASONS = (
    "ok",  # archived (possibly truncated at max_bytes: see the `truncated` column)
    "robots",  # disallowed by robots.txt (or robots.txt unreachable: RFC 9309)
    "bad_url",  # not an http(s) URL with a host
    "dns",  # the host name does not resolve
    "ssrf",  # the host resolves only to non-public addresses (not allowed by allow_networks)
    "timeout",  # connect or total timeout
    "tls",  # TLS handshake failed (bad certificate, wrong host name): not retried
    "connection",  # refused, reset, broken body (after retries)
    "too_large",  # declared Content-Length above max_bytes
    "bad_type",  # content type not accepted
    "bomb",  # compressed body expanding past max_bytes at an absurd ratio
    "bad_encoding",  # corrupt or unknown Content-Encoding
    "http_4xx",  # final status 4xx (429 after retries included)
    "http_5xx",  # final status 5xx after retries
    "http_other",  # 1xx, 3xx without a usable Location, or 204/205/206 (no whole page: pages.NOT_A_PAGE)
    "redirect_loop",  # a redirect chain that comes back to a URL already visited
    "too_many_redirects",  # more than max_redirects hops
    "bad_redirect",  # Location to a non-http(s) URL
    "blocked_domain",  # as "blocked_domain:<list>": a redirect to a host on a links blocklist (links' reason)
    "error",  # anything unexpected (a bug): the row says what
)

REDIRECT_STATUSES = (301, 302, 303, 307, 308)
# robots.txt failures that make the whole host unreachable: its URLs are logged with this
# reason (RFC 9309 would disallow them anyway) rather than as `robots`.
UNREACHABLE = ("connection", "timeout", "tls")
CHUNK = 64 * 1024
LOG_FIELDS = tuple(FETCH_LOG_SCHEMA.names)


class _Failure(Exception):
    def __init__(self, reason: str, detail: str = "", *, status: int | None = None,
                 retryable: bool = False, content_type: str | None = None):
        super().__init__(detail or reason)
        self.reason = reason
        self.detail = detail
        self.status = status
        self.retryable = retryable
        self.content_type = content_type


@dataclass
class _Response:
    url: str
    ip: str
    status: int
    reason_phrase: str
    headers: list[tuple[str, str]]
    request_line: str
    request_headers: list[tuple[str, str]]
    body: bytes = b""
    truncated: bool = False
    location: str | None = None
    retry_after: float | None = None

    def header(self, name: str) -> str | None:
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None


@dataclass
class _Site:
    """The politeness unit (:func:`site_of`): one delay, one in-flight cap, one scheduling queue."""

    key: str
    delay: float
    slots: threading.Semaphore  # host_concurrency requests in flight at most, whoever sends them
    gate: threading.Lock = field(default_factory=threading.Lock)
    next_time: float = 0.0  # earliest start of the next request (monotonic clock)
    origins: list = field(default_factory=list)  # the _Origin objects of this site
    pending: list = field(default_factory=list)  # (index, url, domain, target, resume), consumed from the front
    pos: int = 0
    inflight: int = 0
    in_heap: bool = False


@dataclass
class _Origin:
    """What the crawler knows about one ``scheme://host:port``: robots.txt and connection pools."""

    origin: str
    site: _Site
    robots: RobotsRules | None = None
    robots_source: tuple | None = None  # (status, body, error) of its robots.txt fetch, see rules_from_response
    robots_lock: threading.Lock = field(default_factory=threading.Lock)
    robots_started: bool = False
    pools: dict = field(default_factory=dict)
    pools_lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class Handover:
    """A URL whose redirect chain was handed over at a hop to ``next_url`` (not yet requested).

    Crawling it resumes the chain: the address and robots.txt checks of ``next_url``, then its
    request, as if the hop had been followed in place; ``seen``, ``hops``, ``attempts`` and
    ``elapsed_s`` carry the chain's state so the final row is the one a single crawler would write.
    """

    url: str
    domain: str | None
    next_url: str
    seen: tuple[str, ...]
    hops: int
    attempts: int
    elapsed_s: float
    status: int  # the redirect's HTTP status (a failure at next_url's checks reports it)


@dataclass(frozen=True)
class SiteMemory:
    """What a crawler learnt about one site, for a crawler that fetches it later (the next Beam round,
    perhaps in another process): the wall-clock time before which the site gets no request, its delay
    (a robots.txt Crawl-delay included) and the robots.txt outcome of each origin, so that robots.txt
    is fetched once per origin and run, and a site's delay holds from one crawler to the next."""

    site: str
    not_before: float  # time.time() of the earliest next request
    delay: float
    origins: tuple[tuple[str, tuple | None], ...]  # (origin, (status, body, error) of its robots.txt or None)


class _HandOverSignal(Exception):
    def __init__(self, next_url: str, seen: set, hops: int, status: int):
        super().__init__(next_url)
        self.next_url, self.seen, self.hops, self.status = next_url, seen, hops, status


def origin_of(url: str) -> str:
    """``scheme://host:port`` (lower-case, explicit port) or "" when the URL has no host."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return ""
    port = port or (443 if scheme == "https" else 80)
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


def site_of(url: str) -> str:
    """The politeness unit of a URL: its origin's host, without a leading ``www.``, followed by
    ``:port`` unless the port is 80 or 443; "" when it has no http(s) host.

    ``http://www.example.com/a`` and ``https://example.com/b`` share ``example.com``: one delay,
    one in-flight cap, one Beam worker (pipelines/stages/fetch.py keys its groups by it).
    """
    origin = origin_of(url)
    if not origin:
        return ""
    host, _, port = origin.split("://", 1)[1].rpartition(":")
    if host.startswith("www."):
        host = host[4:]
    return host if port in ("80", "443") else f"{host}:{port}"


def _request_target(parts) -> str:
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    if parts.query:
        path += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
    return path


def _ascii_host(hostname: str) -> str:
    try:
        return hostname.encode("idna").decode("ascii")
    except UnicodeError:
        return hostname


def _host_header(parts) -> str:
    host = _ascii_host(parts.hostname)
    if ":" in host:
        host = f"[{host}]"
    default = 443 if parts.scheme.lower() == "https" else 80
    return host if parts.port in (None, default) else f"{host}:{parts.port}"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        dt = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return max(0.0, dt.timestamp() - (time.time() if now is None else now))


def _archived_headers(headers: list[tuple[str, str]], body_len: int) -> list[tuple[str, str]]:
    """Response headers as stored: the payload is stored decoded (Common Crawl convention),
    so transfer/content coding headers are kept under an ``X-Crawler-`` name and
    ``Content-Length`` states the stored length."""
    out = []
    for k, v in headers:
        if k.lower() in ("content-encoding", "transfer-encoding", "content-length"):
            out.append((f"X-Crawler-{k}", v))
        else:
            out.append((k, v))
    out.append(("Content-Length", str(body_len)))
    return out


def empty_row(url: str, domain: str | None = None) -> dict[str, Any]:
    row = {k: None for k in LOG_FIELDS}
    row.update(url=url, domain=domain or domain_of(url), attempts=0, truncated=False, bytes=0)
    return row


class Crawler:
    """Fetch URLs politely; one log row per URL, captures go to ``sink``.

    ``sink(capture) -> (warc_file, warc_offset)`` is called from worker threads and must
    be thread-safe (RotatingWarcWriter is). ``resolver``, ``clock`` and ``sleep`` are the
    system's unless a caller (a test with its own name table) passes others. ``hand_over``
    (see the module docstring) decides which redirect hops become :class:`Handover` results;
    ``blocklist`` (the links stage's) refuses redirects to the hosts it blocks.
    """

    def __init__(self, config: FetchConfig, *, seed: int = 0,
                 sink: Callable[[Capture], tuple[str, int]] | None = None,
                 resolver: Resolver = system_resolver,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 hand_over: Callable[[str, str], bool] | None = None,
                 blocklist: Blocklist | None = None):
        self.cfg = config
        self.blocklist = blocklist
        self.seed = seed
        self.sink = sink
        self.resolver = resolver
        self.clock = clock
        self.sleep = sleep
        self.hand_over = hand_over
        self.allow = parse_networks(config.allow_networks)
        self.accept = {t.strip().lower() for t in config.content_types}
        self._sites: dict[str, _Site] = {}
        self._origins: dict[str, _Origin] = {}
        self._lock = threading.Lock()
        self.robots_fetches = 0  # robots.txt fetches (one per origin unless remembered)
        self._base_headers = [
            ("User-Agent", config.user_agent),
            ("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"),
            ("Accept-Encoding", ", ".join(supported_encodings())),
            ("Connection", "keep-alive"),
        ]

    # ------------------------------------------------------------------ scheduling
    def crawl(self, items: Iterable[str | tuple[str, str | None] | tuple[str, str | None, str | None] | Handover]
              ) -> list[dict[str, Any] | Handover]:
        """Fetch every URL (or resume every :class:`Handover`); results come back in input order,
        one per item: a fetch-log row, or a :class:`Handover` where ``hand_over`` claimed a hop.

        An item is a URL, ``(url, domain)`` or ``(url, domain, target)``: ``target`` is what is
        requested when it differs from the ``url`` the row is logged under (a link's canonical URL
        is its key; the crawler asks for the spelling a post had, see ``urls.request_url``)."""
        rows: list[dict[str, Any] | Handover | None] = []
        for i, it in enumerate(items):
            resume = it if isinstance(it, Handover) else None
            target = None
            if resume is not None:
                url, domain = resume.url, resume.domain
            elif isinstance(it, str):
                url, domain = it, None
            else:
                url, domain = it[0], it[1]
                target = it[2] if len(it) > 2 else None
            target = target or url
            rows.append(None)
            first = resume.next_url if resume is not None else target
            if not origin_of(first):
                row = empty_row(url, domain)
                row.update(reason="bad_url", detail="not an http(s) URL with a host",
                           fetched_at=_now_iso(), elapsed_s=0.0)
                rows[i] = row
                continue
            self._origin(first).site.pending.append((i, url, domain, target, resume))
        remaining = sum(1 for r in rows if r is None)
        heap: list[tuple[float, int, str]] = []
        cond = threading.Condition()
        state = {"remaining": remaining, "seq": 0}

        def push(site: _Site) -> None:
            heapq.heappush(heap, (site.next_time, state["seq"], site.key))
            state["seq"] += 1
            site.in_heap = True

        for site in list(self._sites.values()):
            if site.pending and not site.in_heap:
                push(site)

        def worker() -> None:
            while True:
                with cond:
                    while True:
                        if state["remaining"] == 0:
                            cond.notify_all()
                            return
                        if heap:
                            ready, _, key = heap[0]
                            wait = ready - self.clock()
                            if wait <= 0:
                                heapq.heappop(heap)
                                break
                            cond.wait(min(wait, 1.0))
                        else:
                            cond.wait(1.0)
                    site = self._sites[key]
                    site.in_heap = False
                    site.inflight += 1
                    i, url, domain, target, resume = site.pending[site.pos]
                    origin = self._origin(resume.next_url if resume is not None else target)
                    # An origin's first job is its robots.txt alone: the worker then moves on to
                    # another ready site instead of sleeping through this site's delay.
                    robots_job = self.cfg.obey_robots and not origin.robots_started
                    if robots_job:
                        origin.robots_started = True
                    else:
                        site.pos += 1
                        if site.pos < len(site.pending) and site.inflight < self.cfg.host_concurrency:
                            push(site)
                if robots_job:
                    try:
                        self._robots_allow(origin.origin + "/", origin)
                    except Exception:  # noqa: BLE001 - a failure here is seen again, per URL, below
                        pass
                    with cond:
                        site.inflight -= 1
                        if not site.in_heap:
                            push(site)
                        cond.notify_all()
                    continue
                try:
                    row = self.fetch_one(url, domain, resume=resume, target=target)
                except Exception as e:  # never lose a URL, whatever happens
                    row = empty_row(url, domain)
                    row.update(reason="error", detail=f"{type(e).__name__}: {e}", fetched_at=_now_iso())
                with cond:
                    rows[i] = row
                    state["remaining"] -= 1
                    site.inflight -= 1
                    if site.pos < len(site.pending) and not site.in_heap:
                        push(site)
                    if site.pos >= len(site.pending) and site.inflight == 0:
                        self._close_pools(site)
                    cond.notify_all()

        n_threads = max(1, min(self.cfg.threads, len(self._sites) * self.cfg.host_concurrency))
        if remaining:
            threads = [threading.Thread(target=worker, name=f"fetch-{k}", daemon=True) for k in range(n_threads)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        for site in self._sites.values():
            self._close_pools(site)
        return rows  # type: ignore[return-value]

    def _origin(self, url: str) -> _Origin:
        """The origin of ``url`` (created with its site on first use)."""
        key = origin_of(url)
        with self._lock:
            origin = self._origins.get(key)
            if origin is None:
                skey = site_of(url)
                site = self._sites.get(skey)
                if site is None:
                    site = self._sites[skey] = _Site(skey, self.cfg.delay_s,
                                                     threading.BoundedSemaphore(self.cfg.host_concurrency))
                origin = self._origins[key] = _Origin(key, site)
                site.origins.append(origin)
            return origin

    def remember(self, memories: Iterable[SiteMemory]) -> None:
        """Start from what earlier crawlers learnt (their :meth:`memories`): a remembered robots.txt
        is not fetched again, and a site's next request waits for its ``not_before`` and ``delay``."""
        now, wall = self.clock(), time.time()
        for memory in memories:
            site = None
            for key, source in memory.origins:
                origin = self._origin(key)
                site = origin.site
                if source is not None and origin.robots is None:
                    origin.robots_source, origin.robots = source, rules_from_response(*source)
                    origin.robots_started = True
            if site is None:
                continue
            with site.gate:
                site.delay = max(site.delay, memory.delay)
                site.next_time = max(site.next_time, now + max(0.0, memory.not_before - wall))

    def memories(self) -> list[SiteMemory]:
        """One :class:`SiteMemory` per site this crawler knows (fetched, or remembered), by site."""
        now, wall = self.clock(), time.time()
        with self._lock:
            sites = sorted(self._sites.values(), key=lambda s: s.key)
        out = []
        for site in sites:
            with site.gate:
                not_before, delay = wall + max(0.0, site.next_time - now), site.delay
            origins = tuple((o.origin, o.robots_source) for o in sorted(site.origins, key=lambda o: o.origin))
            out.append(SiteMemory(site.key, not_before, delay, origins))
        return out

    @contextlib.contextmanager
    def _turn(self, site: _Site):
        """Wait until this site may receive a request, and hold its next request back until
        ``delay`` after this one has finished (so requests are spaced on the server's side too:
        a server sees at least ``delay`` between a response and the next request).

        The site's ``slots`` cap the requests in flight to it at ``host_concurrency``. The
        scheduler already starts no more jobs than that per site, but a redirect hop is sent
        to another site (bit.ly → a news site) from whichever job follows it: the slot makes
        that site as polite to redirected requests as to its own."""
        site.slots.acquire()
        try:
            with site.gate:
                now = self.clock()
                start = max(now, site.next_time)
                site.next_time = start + site.delay
            if start > now:
                self.sleep(start - now)
            try:
                yield
            finally:
                with site.gate:
                    site.next_time = max(site.next_time, self.clock() + site.delay)
        finally:
            site.slots.release()

    def _hold_off(self, site: _Site, seconds: float) -> None:
        """Nothing goes to this site for ``seconds`` (back-off after 429/5xx/errors)."""
        with site.gate:
            site.next_time = max(site.next_time, self.clock() + seconds)

    @staticmethod
    def _close_pools(site: _Site) -> None:
        for origin in site.origins:
            with origin.pools_lock:
                for pool in origin.pools.values():
                    pool.close()
                origin.pools.clear()

    # ------------------------------------------------------------------ one URL
    def fetch_one(self, url: str, domain: str | None = None, *, resume: Handover | None = None,
                  target: str | None = None) -> dict[str, Any] | Handover:
        """Fetch one URL (robots, redirects, retries), or resume a handed-over chain; its log row
        (or a :class:`Handover` when ``hand_over`` claims a hop). Archives the page via the sink.
        ``target`` (default ``url``) is the URL requested; the row is logged under ``url``."""
        t0 = self.clock()
        if resume is not None:
            url, domain = resume.url, resume.domain
        row = empty_row(url, domain)
        counter = {"attempts": resume.attempts if resume is not None else 0}
        before = resume.elapsed_s if resume is not None else 0.0
        try:
            if resume is None:
                target = target or url
                self._check_address(target)
                self._check_robots(target)
                resp = self._follow(target, counter, {target}, 0)
            else:
                self._enter_redirect(resume.next_url, resume.status)
                resp = self._follow(resume.next_url, counter, set(resume.seen), resume.hops)
            row.update(final_url=resp.url, status=resp.status, content_type=resp.header("Content-Type"))
            if is_page_status(resp.status):
                row.update(reason="ok", bytes=len(resp.body), truncated=resp.truncated)
                if self.sink is not None:
                    capture = Capture(url=resp.url, request_line=resp.request_line,
                                      request_headers=resp.request_headers, status=resp.status,
                                      reason_phrase=resp.reason_phrase,
                                      response_headers=_archived_headers(resp.headers, len(resp.body)),
                                      body=resp.body, ip=resp.ip, truncated=resp.truncated)
                    row["warc_file"], row["warc_offset"] = self.sink(capture)
                    row["fetched_at"] = _iso(capture.date)
            elif 400 <= resp.status < 500:
                row.update(reason="http_4xx", detail=f"HTTP {resp.status} {resp.reason_phrase}".strip())
            elif resp.status >= 500:
                row.update(reason="http_5xx", detail=f"HTTP {resp.status} {resp.reason_phrase}".strip())
            else:
                why = ": no whole page, not archived" if 200 <= resp.status < 300 else ""
                row.update(reason="http_other", detail=f"HTTP {resp.status} {resp.reason_phrase}".strip() + why)
        except _Failure as f:
            row.update(reason=f.reason, detail=f.detail or None, status=f.status, content_type=f.content_type)
        except _HandOverSignal as h:
            return Handover(url=url, domain=domain, next_url=h.next_url, seen=tuple(sorted(h.seen)), hops=h.hops,
                            attempts=counter["attempts"], elapsed_s=round(before + self.clock() - t0, 6),
                            status=h.status)
        row["attempts"] = counter["attempts"]
        row["elapsed_s"] = round(before + self.clock() - t0, 6)
        if row["fetched_at"] is None:
            row["fetched_at"] = _now_iso()
        return row

    def _robots_allow(self, url: str, origin: _Origin) -> bool:
        if not self.cfg.obey_robots:
            return True
        with origin.robots_lock:
            if origin.robots is None:
                origin.robots_source = self._fetch_robots(origin)
                origin.robots = rules_from_response(*origin.robots_source)
                delay = origin.robots.crawl_delay(self.cfg.user_agent)
                if delay is not None:
                    new = max(self.cfg.delay_s, min(delay, self.cfg.max_crawl_delay_s))
                    site = origin.site
                    with site.gate:  # the robots.txt request itself was spaced by the old delay
                        if new > site.delay:  # a site's origins: the largest Crawl-delay holds
                            site.next_time += new - site.delay
                            site.delay = new
        return origin.robots.can_fetch(url, self.cfg.user_agent)

    def _fetch_robots(self, origin: _Origin) -> tuple[int | None, bytes, str | None]:
        """Fetch an origin's robots.txt: ``(status, body, error)``, the arguments of ``rules_from_response``."""
        with self._lock:
            self.robots_fetches += 1
        url = origin.origin + "/robots.txt"
        try:
            for _ in range(6):  # RFC 9309: follow at least five redirects
                resp = self._robots_exchange(url)
                if resp.location is None:
                    return resp.status, resp.body, None
                url = urljoin(url, resp.location)
                if not origin_of(url):
                    return None, b"", "redirect to a non-http URL"
            return None, b"", "too many redirects"
        except _Failure as f:
            return None, b"", f.reason

    def _robots_exchange(self, url: str) -> _Response:
        """robots.txt request, retried after connection errors only (a 5xx answer is final)."""
        origin = self._origin(url)
        for attempt in range(self.cfg.max_retries + 1):
            try:
                return self._exchange(url, origin, robots=True)
            except _Failure as f:
                if not f.retryable or attempt == self.cfg.max_retries:
                    raise
                self._hold_off(origin.site, self._backoff(url, attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _follow(self, current: str, counter: dict, seen: set[str], hops: int) -> _Response:
        """Request ``current`` (checked already) and follow its redirects; ``seen``/``hops``: the chain so far."""
        while True:
            resp = self._with_retries(current, counter)
            if resp.location is None:
                return resp
            nxt = urljoin(current, resp.location)
            if not origin_of(nxt):
                raise _Failure("bad_redirect", f"redirect to {nxt!r}", status=resp.status)
            nxt = urlunsplit(urlsplit(nxt)._replace(fragment=""))
            if nxt in seen:
                raise _Failure("redirect_loop", f"{current} -> {nxt} was visited before", status=resp.status)
            if hops >= self.cfg.max_redirects:
                raise _Failure("too_many_redirects", f"more than {self.cfg.max_redirects} redirects",
                               status=resp.status)
            hops += 1
            seen.add(nxt)
            self._check_blocklist(nxt, resp.status)  # before a hand-over: a blocked hop goes nowhere
            if self.hand_over is not None and self.hand_over(current, nxt):
                raise _HandOverSignal(nxt, seen, hops, resp.status)
            self._enter_redirect(nxt, resp.status)
            current = nxt

    def _check_blocklist(self, url: str, status: int) -> None:
        """A redirect target whose host the links stage would drop: its reason (``blocked_domain:<list>``).
        The host is the links stage's (:func:`corpus_tools.urls.canonical_parts`); a URL it cannot
        read is left to the address check, which refuses it in its own words."""
        if self.blocklist is None:
            return
        try:
            host = canonical_parts(url)[1]
        except (UrlRejected, ValueError, UnicodeError):
            return
        reason = self.blocklist.reason(host)
        if reason is not None:
            raise _Failure(reason, f"redirect target {url} is on a links blocklist ({host})", status=status)

    def _enter_redirect(self, url: str, status: int) -> None:
        """A redirect target's checks before anything is sent there: its address, its robots.txt."""
        self._check_address(url, status=status)
        self._check_robots(url, status, f"redirect target {url} ")

    def _check_robots(self, url: str, status: int | None = None, what: str = "") -> None:
        """``robots`` when ``url``'s robots.txt disallows it; when robots.txt failed because the host
        itself is unreachable (``connection``, ``timeout``, ``tls``), that reason instead: the page
        would fail the same way, for a redirect target as for a requested URL."""
        origin = self._origin(url)
        if self._robots_allow(url, origin):
            return
        if origin.robots.cause in UNREACHABLE:
            raise _Failure(origin.robots.cause, f"{what}host unreachable, nothing fetched: {origin.robots.detail}",
                           status=status)
        raise _Failure("robots", f"{what}disallowed by robots.txt ({origin.robots.detail})", status=status)

    def _check_address(self, url: str, status: int | None = None) -> str:
        """The address ``url`` would be fetched from; ``ssrf``/``dns`` failures before anything
        (robots.txt included) is sent there. ``_exchange`` checks again right before connecting."""
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        try:
            return pick_address(_ascii_host(parts.hostname), port, self.allow, self.resolver)
        except BlockedAddress as e:
            raise _Failure("ssrf", str(e), status=status) from None
        except (OSError, UnicodeError) as e:
            raise _Failure("dns", f"{parts.hostname}: {e}", status=status) from None

    def _backoff(self, url: str, attempt: int) -> float:
        base = min(self.cfg.backoff_max_s, self.cfg.backoff_s * (2 ** attempt))
        jitter = random.Random(f"{self.seed}:{url}:{attempt}").uniform(0.5, 1.0)  # "equal jitter"
        return base * jitter

    def _with_retries(self, url: str, counter: dict) -> _Response:
        origin = self._origin(url)
        retries = self.cfg.max_retries
        for attempt in range(retries + 1):
            counter["attempts"] += 1
            try:
                resp = self._exchange(url, origin)
            except _Failure as f:
                if not f.retryable or attempt == retries:
                    raise
                self._hold_off(origin.site, self._backoff(url, attempt))
                continue
            if resp.status == 429 or resp.status >= 500:
                if attempt == retries:
                    return resp
                wait = self._backoff(url, attempt)
                if resp.retry_after is not None:
                    if resp.retry_after > self.cfg.max_retry_after_s:
                        return resp  # the server asks for longer than we are willing to wait
                    wait = max(wait, resp.retry_after)
                self._hold_off(origin.site, wait)
                continue
            return resp
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------------ one request
    def _pool(self, origin: _Origin, scheme: str, ip: str, port: int, hostname: str):
        key = (scheme, ip, port, hostname)
        with origin.pools_lock:
            pool = origin.pools.get(key)
            if pool is None:
                kw = dict(maxsize=self.cfg.host_concurrency, block=False, retries=False)
                if scheme == "https":
                    pool = urllib3.HTTPSConnectionPool(ip, port, server_hostname=hostname,
                                                       assert_hostname=hostname, cert_reqs="CERT_REQUIRED",
                                                       ca_certs=self.cfg.ca_bundle or _CA_CERTS, **kw)
                else:
                    pool = urllib3.HTTPConnectionPool(ip, port, **kw)
                origin.pools[key] = pool
            return pool

    def _exchange(self, url: str, origin: _Origin, robots: bool = False) -> _Response:
        """One HTTP request to ``url`` (no redirects followed), body read within the limits."""
        cfg = self.cfg
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port or (443 if scheme == "https" else 80)
        hostname = parts.hostname
        ascii_host = _ascii_host(hostname)
        ip = self._check_address(url)  # resolved and checked now; the connection goes to this IP

        target = _request_target(parts)
        headers = [("Host", _host_header(parts))] + self._base_headers
        with self._turn(origin.site):
            start = self.clock()
            deadline = start + cfg.timeout_s
            pool = self._pool(origin, scheme, ip, port, ascii_host)
            timeout = urllib3.Timeout(connect=min(cfg.connect_timeout_s, cfg.timeout_s), read=cfg.timeout_s)
            try:
                r = pool.urlopen("GET", target, headers=dict(headers), redirect=False, retries=False,
                                 preload_content=False, decode_content=False, timeout=timeout,
                                 assert_same_host=False)
            except NewConnectionError as e:  # refused, unreachable (a ConnectTimeoutError subclass in urllib3)
                raise _Failure("connection", f"{type(e).__name__}: {e}", retryable=True) from None
            except ConnectTimeoutError:
                raise _Failure("timeout", f"connect timeout after {cfg.connect_timeout_s}s", retryable=True) from None
            except ReadTimeoutError:
                raise _Failure("timeout", f"no response within {cfg.timeout_s}s") from None
            except SSLError as e:
                raise _Failure("tls", f"{hostname}: {e}") from None
            except (ProtocolError, HTTPError, OSError) as e:
                raise _Failure("connection", f"{type(e).__name__}: {e}", retryable=True) from None

            resp = _Response(url=url, ip=ip, status=r.status, reason_phrase=r.reason or "",
                             headers=list(r.headers.items()), request_line=f"GET {target} HTTP/1.1",
                             request_headers=headers)
            complete = False
            try:
                if r.status in REDIRECT_STATUSES and resp.header("Location"):
                    resp.location = resp.header("Location").strip()
                    return resp
                if r.status == 429 or r.status == 503:
                    resp.retry_after = parse_retry_after(resp.header("Retry-After"))
                if not is_page_status(r.status):
                    return resp  # the body of an error page (or of a 204/206) is not needed
                ctype = resp.header("Content-Type")
                cap = cfg.robots_max_bytes if robots else cfg.max_bytes
                length = resp.header("Content-Length")
                if not robots:
                    media = media_type(ctype)
                    if media and media not in self.accept:
                        raise _Failure("bad_type", f"Content-Type {ctype!r} not accepted", status=r.status,
                                       content_type=ctype)
                    if length and length.strip().isdigit() and int(length) > cap:
                        raise _Failure("too_large", f"Content-Length {length} > max_bytes {cap}",
                                       status=r.status, content_type=ctype)
                resp.body, resp.truncated = self._read_body(r, resp, cap, deadline, robots)
                complete = not resp.truncated
                if not robots and not media_type(ctype) and not looks_like_html(resp.body):
                    raise _Failure("bad_type", "no Content-Type and the body does not look like HTML",
                                   status=r.status)
                return resp
            finally:
                if not complete:
                    r.close()  # drop the connection: the unread rest of the body stays unread
                r.release_conn()  # a fully read response leaves its connection open for keep-alive

    def _read_body(self, r, resp: _Response, cap: int, deadline: float, robots: bool) -> tuple[bytes, bool]:
        encodings = parse_encodings(resp.header("Content-Encoding"))
        try:
            decoder = BoundedDecoder(encodings, cap)
        except DecodeError as e:
            raise _Failure("bad_encoding", str(e), status=resp.status, content_type=resp.header("Content-Type"))
        out = bytearray()
        ctype = resp.header("Content-Type")
        sock = getattr(getattr(r, "connection", None), "sock", None)
        try:
            while True:
                remaining = deadline - self.clock()
                if remaining <= 0:
                    raise _Failure("timeout", f"body not complete within {self.cfg.timeout_s}s",
                                   status=resp.status, content_type=ctype)
                if sock is not None:
                    sock.settimeout(remaining)
                chunk = r.read1(CHUNK, decode_content=False)
                if not chunk:
                    out += decoder.finish()
                    if not decoder.complete:  # a compressed stream cut short decodes to a prefix, no error
                        raise _Failure("bad_encoding", f"the {', '.join(encodings)} body ended before its "
                                       f"compressed stream did (cut short)", status=resp.status, content_type=ctype)
                    break
                out += decoder.feed(chunk)
                if decoder.capped or decoder.raw_bytes > cap:
                    if encodings and decoder.capped and not robots \
                            and decoder.ratio > self.cfg.max_compression_ratio:
                        raise _Failure("bomb", f"decoded past {cap} bytes at ratio {decoder.ratio:.0f}:1",
                                       status=resp.status, content_type=ctype)
                    return bytes(out[:cap]), True
        except DecodeError as e:
            raise _Failure("bad_encoding", str(e), status=resp.status, content_type=ctype) from None
        except ReadTimeoutError:
            raise _Failure("timeout", f"body not complete within {self.cfg.timeout_s}s",
                           status=resp.status, content_type=ctype) from None
        except (ProtocolError, HTTPError, OSError) as e:
            if isinstance(e, TimeoutError) or "timed out" in str(e):
                raise _Failure("timeout", f"body not complete within {self.cfg.timeout_s}s",
                               status=resp.status, content_type=ctype) from None
            raise _Failure("connection", f"body broken: {type(e).__name__}: {e}", status=resp.status,
                           content_type=ctype, retryable=True) from None
        return bytes(out), False


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _now_iso() -> str:
    return _iso(datetime.now(timezone.utc))


def fetch_urls(urls: Iterable[str | tuple[str, str | None]], config: FetchConfig, *, seed: int = 0,
               sink: Callable[[Capture], tuple[str, int]] | None = None,
               resolver: Resolver = system_resolver) -> list[dict[str, Any]]:
    """Convenience: crawl ``urls`` with a fresh :class:`Crawler`; one log row per URL."""
    return Crawler(config, seed=seed, sink=sink, resolver=resolver).crawl(urls)
