"""The polite fetcher against real HTTP servers on 127.0.0.1 with injected faults.

One crawl over several fault servers runs once per module; each test checks one fault's
fetch-log row against what the server itself saw (request counts and arrival times) and the
WARC files against two independent readers (warcio, and fastwarc from resiliparse).
"""

from __future__ import annotations

import glob
import os
import socket
import subprocess
import sys
import threading
from dataclasses import replace

import pytest
from warcio.archiveiterator import ArchiveIterator

from urllib.parse import quote

from corpus_tools.fetch import REASONS, Crawler, Handover, SiteMemory, origin_of, parse_retry_after, site_of
from corpus_tools.recipe import FetchConfig
from corpus_tools.schema import FETCH_LOG_SCHEMA, to_table
from corpus_tools.warc_writer import RotatingWarcWriter

from http_faults import BIG_SIZE, FaultServer, big_body, page_html

WARCIO = os.path.join(os.path.dirname(sys.executable), "warcio")
DELAY = 0.1
MAX_BYTES = 1_000_000
MAX_RETRIES = 3
UA = "webtext-test/1.0 (+https://example.org/contact)"
# Politeness is measured on the server's clock (the same monotonic clock: one process). The
# crawler starts a request only `delay` after the previous response to that host was finished,
# so the server's arrival times are `delay` apart with no allowance for network jitter.

# Every socket.connect() made in this process while ``_CONNECTS`` is being recorded.
_CONNECTS: list = []
_RECORDING = threading.Event()


def _audit(event, args):
    if event == "socket.connect" and _RECORDING.is_set():
        _CONNECTS.append(args[1])


sys.addaudithook(_audit)

NAMES = {"site-a.test": ["127.0.0.1"], "evil.test": ["10.0.0.5"], "metadata.test": ["169.254.169.254"],
         "mixed.test": ["10.0.0.7", "127.0.0.1"]}


def resolver(host: str, port: int) -> list[str]:
    if host in NAMES:
        return list(NAMES[host])
    raise socket.gaierror(socket.EAI_NONAME, f"{host}: name not known")


A_PATHS = ["/page/1", "/page/2", "/private/secret", "/slow", "/drip", "/huge", "/big", "/bomb", "/gzipped", "/gzip-cut",
           "/zstd", "/zstd-cut",
           "/loop-a", "/chain?n=3", "/chain?n=9", "/redirect?to=http://10.0.0.1/",
           "/redirect?to=http://169.254.169.254/latest/meta-data/", "/redirect?to=http://evil.test/x",
           "/ratelimited", "/flaky", "/down", "/missing", "/image", "/json", "/xhtml", "/badcharset",
           "/reset", "/redirect?to=/page/target", "/redirect?to=ftp://example.org/file"]


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("warc"))
    cfg = FetchConfig(user_agent=UA, allow_networks=["127.0.0.0/8"], delay_s=DELAY, timeout_s=0.5,
                      connect_timeout_s=0.5, max_bytes=MAX_BYTES, backoff_s=0.05, max_retries=MAX_RETRIES,
                      threads=8, warc_file_bytes=20_000)
    with FaultServer(robots_body="User-agent: *\nDisallow: /private\n") as a, \
            FaultServer(robots_status=500) as b, FaultServer(robots_status=404) as c, FaultServer() as d:
        urls = [a.url(p) for p in A_PATHS]
        urls += [b.url("/page/b"), c.url("/page/c"), c.url("/page/c"),  # a duplicate input URL
                 f"http://site-a.test:{c.port}/page/named", "http://evil.test/", "http://nosuch.test/",
                 f"http://mixed.test:{c.port}/page/mixed", "ftp://example.org/x", "not a url"]
        urls += [d.url(f"/page/polite-{i}") for i in range(8)]
        writer = RotatingWarcWriter(out, "test", max_file_bytes=cfg.warc_file_bytes, info={"software": "webtext"})
        _CONNECTS.clear()
        _RECORDING.set()
        try:
            rows = Crawler(cfg, seed=7, sink=writer.write, resolver=resolver).crawl(urls)
        finally:
            _RECORDING.clear()
        writer.close()
        servers = {"a": a, "b": b, "c": c, "d": d}
        yield dict(rows=rows, urls=urls, out=out, servers=servers, connects=list(_CONNECTS), cfg=cfg,
                   by_url={r["url"]: r for r in rows})


def row_of(crawl, server: str, path: str) -> dict:
    return crawl["by_url"][crawl["servers"][server].url(path)]


def hits(crawl, server: str, path: str) -> int:
    return len(crawl["servers"][server].requests(path))


def response_at(out: str, warc_file: str, offset: int):
    """Read the one record at ``offset`` with warcio; (headers, http headers, payload)."""
    with open(os.path.join(out, warc_file), "rb") as fh:
        fh.seek(offset)
        rec = next(iter(ArchiveIterator(fh)))
        return rec.rec_headers, rec.http_headers, rec.content_stream().read()


# ------------------------------------------------------------------ the log
def test_one_row_per_input_url_in_order_and_schema(crawl):
    rows = crawl["rows"]
    assert [r["url"] for r in rows] == crawl["urls"]
    table = to_table(rows, FETCH_LOG_SCHEMA)  # raises on any column of the wrong type
    assert table.num_rows == len(crawl["urls"])
    assert all(r["reason"] in REASONS for r in rows)
    assert all(r["fetched_at"] and r["fetched_at"].endswith("Z") for r in rows)
    assert crawl["by_url"]["http://evil.test/"]["domain"] == "evil.test"  # filled when the input has none


def test_ok_pages_are_archived_with_exact_payload(crawl):
    for path in ["/page/1", "/page/2", "/xhtml"]:
        row = row_of(crawl, "a", path)
        assert (row["reason"], row["status"], row["attempts"]) == ("ok", 200, 1)
        assert row["bytes"] == len(page_html(path))
        rec, http, payload = response_at(crawl["out"], row["warc_file"], row["warc_offset"])
        assert rec.get_header("WARC-Type") == "response"
        assert rec.get_header("WARC-Target-URI") == row["final_url"] == row["url"]
        assert rec.get_header("WARC-IP-Address") == "127.0.0.1"
        assert http.get_statuscode() == "200"
        assert payload == page_html(path)


def test_user_agent_is_sent(crawl):
    headers = crawl["servers"]["a"].headers_of("/page/1")
    assert headers and headers[0]["User-Agent"] == UA
    assert crawl["servers"]["a"].headers_of("/robots.txt")[0]["User-Agent"] == UA


def test_duplicate_input_urls_each_get_a_row(crawl):
    c = crawl["servers"]["c"]
    dup = [r for r in crawl["rows"] if r["url"] == c.url("/page/c")]
    assert len(dup) == 2 and all(r["reason"] == "ok" for r in dup)


# ------------------------------------------------------------------ robots
def test_robots_disallowed_path_is_never_requested(crawl):
    row = row_of(crawl, "a", "/private/secret")
    assert (row["reason"], row["attempts"], row["warc_file"]) == ("robots", 0, None)
    assert hits(crawl, "a", "/private/secret") == 0
    assert hits(crawl, "a", "/robots.txt") == 1  # fetched once, cached for the whole host


def test_robots_500_disallows_the_whole_host(crawl):
    row = row_of(crawl, "b", "/page/b")
    assert row["reason"] == "robots" and "500" in row["detail"]
    assert [p for p, _ in crawl["servers"]["b"].requests()] == ["/robots.txt"]


def test_robots_404_allows_everything(crawl):
    assert row_of(crawl, "c", "/page/c")["reason"] == "ok"
    # Server c is reached under three origins (127.0.0.1, site-a.test, mixed.test): robots.txt
    # is fetched once per origin, as RFC 9309 scopes it.
    port = crawl["servers"]["c"].port
    hosts = sorted(h["Host"] for h in crawl["servers"]["c"].headers_of("/robots.txt"))
    assert hosts == sorted(f"{n}:{port}" for n in ("127.0.0.1", "site-a.test", "mixed.test"))


# ------------------------------------------------------------------ limits
def test_slow_response_times_out_once(crawl):
    row = row_of(crawl, "a", "/slow")
    assert (row["reason"], row["attempts"], row["status"]) == ("timeout", 1, None)
    assert hits(crawl, "a", "/slow") == 1
    assert row["elapsed_s"] < 2.0  # the server answers only after 2 s: we did not wait for it


def test_dripping_body_hits_the_total_timeout(crawl):
    row = row_of(crawl, "a", "/drip")
    assert (row["reason"], row["status"], row["attempts"]) == ("timeout", 200, 1)
    assert row["elapsed_s"] < 10.0  # the drip lasts 10 s


def test_ten_gigabyte_claim_is_refused_unread(crawl):
    row = row_of(crawl, "a", "/huge")
    assert (row["reason"], row["status"], row["attempts"], row["warc_file"]) == ("too_large", 200, 1, None)


def test_large_body_is_cut_at_the_cap_and_marked(crawl):
    row = row_of(crawl, "a", "/big")
    assert BIG_SIZE > MAX_BYTES
    assert (row["reason"], row["truncated"], row["bytes"]) == ("ok", True, MAX_BYTES)
    rec, _, payload = response_at(crawl["out"], row["warc_file"], row["warc_offset"])
    assert rec.get_header("WARC-Truncated") == "length"
    assert payload == big_body()[:MAX_BYTES]


def test_gzip_bomb_is_refused(crawl):
    row = row_of(crawl, "a", "/bomb")
    assert (row["reason"], row["attempts"], row["warc_file"]) == ("bomb", 1, None)


def test_a_gzip_body_cut_short_is_not_archived_as_a_page(crawl):
    """A response whose gzip stream stops half-way (its HTTP message whole) decoded to half a page
    without an error, which was archived as the page; now refused as bad_encoding, nothing archived."""
    row = row_of(crawl, "a", "/gzip-cut")
    assert (row["reason"], row["warc_file"]) == ("bad_encoding", None)
    assert "ended before its compressed stream did" in row["detail"]


def test_gzip_page_is_stored_decoded(crawl):
    row = row_of(crawl, "a", "/gzipped")
    assert row["reason"] == "ok"
    _, http, payload = response_at(crawl["out"], row["warc_file"], row["warc_offset"])
    assert payload == page_html("/gzipped")
    assert http.get_header("X-Crawler-Content-Encoding") == "gzip"
    assert http.get_header("Content-Encoding") is None
    assert http.get_header("Content-Length") == str(len(page_html("/gzipped")))


def test_zstd_is_asked_for_and_stored_decoded(crawl):
    """zstd was neither asked for nor decoded (a server sending it anyway gave bad_encoding, unsupported).
    It is decoded by the same bounded decoder as gzip, so it is in Accept-Encoding; cut short it is
    bad_encoding like a cut gzip body."""
    (sent,) = crawl["servers"]["a"].headers_of("/zstd")
    assert [e.strip() for e in sent["Accept-Encoding"].split(",")] == ["gzip", "deflate", "br", "zstd"]
    row = row_of(crawl, "a", "/zstd")
    assert row["reason"] == "ok"
    _, http, payload = response_at(crawl["out"], row["warc_file"], row["warc_offset"])
    assert payload == page_html("/zstd") * 20
    assert http.get_header("X-Crawler-Content-Encoding") == "zstd" and http.get_header("Content-Encoding") is None
    cut = row_of(crawl, "a", "/zstd-cut")
    assert (cut["reason"], cut["warc_file"]) == ("bad_encoding", None)
    assert "ended before its compressed stream did" in cut["detail"]


@pytest.mark.parametrize("path,reason", [("/image", "bad_type"), ("/json", "bad_type")])
def test_wrong_content_types_are_refused(crawl, path, reason):
    row = row_of(crawl, "a", path)
    assert (row["reason"], row["status"], row["attempts"], row["warc_file"]) == (reason, 200, 1, None)
    assert row["content_type"].startswith(("image/", "application/json"))


def test_invalid_charset_is_archived_byte_exact(crawl):
    row = row_of(crawl, "a", "/badcharset")
    assert row["reason"] == "ok"
    _, http, payload = response_at(crawl["out"], row["warc_file"], row["warc_offset"])
    assert payload == b"<html><body>caf\xe9 \xff\xfe na\xefve</body></html>"
    assert "x-no-such-charset" in http.get_header("Content-Type")


# ------------------------------------------------------------------ redirects
def test_redirect_loop(crawl):
    row = row_of(crawl, "a", "/loop-a")
    assert (row["reason"], row["attempts"]) == ("redirect_loop", 2)
    assert hits(crawl, "a", "/loop-a") == 1 and hits(crawl, "a", "/loop-b") == 1


def test_redirect_chain_is_followed_to_the_final_url(crawl):
    row = row_of(crawl, "a", "/chain?n=3")
    final = crawl["servers"]["a"].url("/page/end-of-chain")
    assert (row["reason"], row["final_url"]) == ("ok", final)
    assert row["attempts"] == 3 + 2  # n=3,2,1,0 redirect, then the page
    rec, _, payload = response_at(crawl["out"], row["warc_file"], row["warc_offset"])
    assert rec.get_header("WARC-Target-URI") == final
    assert payload == page_html("/page/end-of-chain")


def test_too_many_redirects(crawl):
    row = row_of(crawl, "a", "/chain?n=9")
    cfg = crawl["cfg"]
    assert (row["reason"], row["attempts"]) == ("too_many_redirects", cfg.max_redirects + 1)


def test_relative_redirect(crawl):
    row = row_of(crawl, "a", "/redirect?to=/page/target")
    assert (row["reason"], row["final_url"]) == ("ok", crawl["servers"]["a"].url("/page/target"))


def test_redirect_to_non_http_scheme(crawl):
    assert row_of(crawl, "a", "/redirect?to=ftp://example.org/file")["reason"] == "bad_redirect"


# ------------------------------------------------------------------ SSRF
@pytest.mark.parametrize("target", ["http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/",
                                    "http://evil.test/x"])
def test_redirect_to_private_address_is_refused_before_connecting(crawl, target):
    row = row_of(crawl, "a", f"/redirect?to={target}")
    assert (row["reason"], row["status"], row["attempts"]) == ("ssrf", 302, 1)
    contacted = {addr[0] for addr in crawl["connects"] if isinstance(addr, tuple)}
    assert contacted, "the audit hook saw no connection at all"
    assert contacted <= {"127.0.0.1"}, contacted


def test_names_resolving_to_private_addresses_are_refused(crawl):
    by = crawl["by_url"]
    assert by["http://evil.test/"]["reason"] == "ssrf"
    assert by["http://evil.test/"]["attempts"] == 0
    assert by["http://nosuch.test/"]["reason"] == "dns"
    # A name with a private and an allowed address is fetched from the allowed one only.
    port = crawl["servers"]["c"].port
    mixed = by[f"http://mixed.test:{port}/page/mixed"]
    assert mixed["reason"] == "ok"
    rec, _, _ = response_at(crawl["out"], mixed["warc_file"], mixed["warc_offset"])
    assert rec.get_header("WARC-IP-Address") == "127.0.0.1"
    named = by[f"http://site-a.test:{port}/page/named"]
    assert named["reason"] == "ok"
    host_headers = [h["Host"] for h in crawl["servers"]["c"].headers_of("/page/named")]
    assert host_headers == [f"site-a.test:{port}"]  # connected to the IP, asked for the name


def test_bad_urls(crawl):
    assert crawl["by_url"]["ftp://example.org/x"]["reason"] == "bad_url"
    assert crawl["by_url"]["not a url"]["reason"] == "bad_url"


# ------------------------------------------------------------------ retries
def test_429_with_retry_after_then_200(crawl):
    row = row_of(crawl, "a", "/ratelimited")
    assert (row["reason"], row["attempts"]) == ("ok", 2)
    times = [t for _, t in crawl["servers"]["a"].requests("/ratelimited")]
    assert len(times) == 2 and times[1] - times[0] >= 1.0  # Retry-After: 1 honoured


def test_503_twice_then_200(crawl):
    row = row_of(crawl, "a", "/flaky")
    assert (row["reason"], row["status"], row["attempts"]) == ("ok", 200, 3)
    assert hits(crawl, "a", "/flaky") == 3


def test_503_forever_gives_up_after_max_retries(crawl):
    row = row_of(crawl, "a", "/down")
    assert (row["reason"], row["status"], row["attempts"]) == ("http_5xx", 503, MAX_RETRIES + 1)
    assert hits(crawl, "a", "/down") == MAX_RETRIES + 1


def test_404_is_not_retried(crawl):
    row = row_of(crawl, "a", "/missing")
    assert (row["reason"], row["status"], row["attempts"]) == ("http_4xx", 404, 1)
    assert hits(crawl, "a", "/missing") == 1


def test_connection_reset_mid_body_is_retried_then_logged(crawl):
    row = row_of(crawl, "a", "/reset")
    assert (row["reason"], row["attempts"], row["warc_file"]) == ("connection", MAX_RETRIES + 1, None)
    assert hits(crawl, "a", "/reset") == MAX_RETRIES + 1


# ------------------------------------------------------------------ politeness
def test_requests_to_one_host_are_spaced_by_the_delay(crawl):
    for name in ("a", "d"):
        times = sorted(t for _, t in crawl["servers"][name].requests())
        assert len(times) >= 9
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert min(gaps) >= DELAY, (name, sorted(gaps)[:5])


def test_hosts_are_fetched_in_parallel(crawl):
    # While host a works through its slow faults, host d's pages are fetched: the two
    # hosts' request time ranges overlap.
    a = sorted(t for _, t in crawl["servers"]["a"].requests())
    d = sorted(t for _, t in crawl["servers"]["d"].requests())
    assert d[0] < a[-1] and a[0] < d[-1]


# ------------------------------------------------------------------ WARC files
def test_warc_files_pass_warcio_check_and_rotate(crawl):
    files = sorted(glob.glob(os.path.join(crawl["out"], "*.warc.gz")))
    assert len(files) >= 2  # rotated at warc_file_bytes
    assert not glob.glob(os.path.join(crawl["out"], "*.tmp"))
    res = subprocess.run([WARCIO, "check", "-v", *files], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "digest pass" in res.stdout and "fail" not in res.stdout.lower()


def test_warc_records_read_back_by_warcio(crawl):
    ok = [r for r in crawl["rows"] if r["reason"] == "ok"]
    seen = {}
    for path in sorted(glob.glob(os.path.join(crawl["out"], "*.warc.gz"))):
        with open(path, "rb") as fh:
            it = ArchiveIterator(fh)
            types = []
            for rec in it:
                types.append(rec.rec_type)
                if rec.rec_type == "response":
                    rec.content_stream().read()
                    seen[(os.path.basename(path), it.get_record_offset())] = rec.rec_headers.get_header(
                        "WARC-Target-URI")
        assert types[0] == "warcinfo"
        assert types[1:] == ["request", "response"] * ((len(types) - 1) // 2)
    assert len(seen) == len(ok)
    for r in ok:
        assert seen[(r["warc_file"], r["warc_offset"])] == r["final_url"]


def test_warc_records_read_back_by_fastwarc(crawl):
    fastwarc = pytest.importorskip("fastwarc.warc")
    ok = [r for r in crawl["rows"] if r["reason"] == "ok"]
    offsets = set()
    for path in sorted(glob.glob(os.path.join(crawl["out"], "*.warc.gz"))):
        with open(path, "rb") as fh:
            for rec in fastwarc.ArchiveIterator(fh, parse_http=False):
                is_response = rec.record_type == fastwarc.WarcRecordType.response
                if is_response:
                    offsets.add((os.path.basename(path), rec.stream_pos, rec.headers["WARC-Target-URI"]))
                assert rec.verify_block_digest(), rec.headers["WARC-Type"]
                if is_response:
                    rec.parse_http()
                    assert rec.verify_payload_digest()
    assert offsets == {(r["warc_file"], r["warc_offset"], r["final_url"]) for r in ok}


# ------------------------------------------------------------------ small pieces
def test_parse_retry_after():
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_origin_of():
    assert origin_of("HTTP://Example.COM/a?b") == "http://example.com:80"
    assert origin_of("https://example.com:8443/") == "https://example.com:8443"
    assert origin_of("mailto:x@example.com") == "" and origin_of("http:///nohost") == ""


def test_host_concurrency_one_never_overlaps():
    # A slow host (50 ms per request) with delay 0: requests still never overlap in time.
    cfg = FetchConfig(allow_networks=["127.0.0.0/8"], delay_s=0.0, threads=8, obey_robots=False)
    with FaultServer(latency=0.05) as s:
        rows = Crawler(cfg).crawl([s.url(f"/page/{i}") for i in range(6)])
        times = sorted(t for _, t in s.requests())
        peak = s.max_inflight
    assert [r["reason"] for r in rows] == ["ok"] * 6
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) >= 0.05  # each request arrives after the previous one was answered
    assert peak == 1


def test_host_concurrency_two_allows_two_in_flight_never_three():
    cfg = FetchConfig(allow_networks=["127.0.0.0/8"], delay_s=0.0, threads=8, obey_robots=False,
                      host_concurrency=2)
    with FaultServer(latency=0.2) as s:
        rows = Crawler(cfg).crawl([s.url(f"/page/{i}") for i in range(6)])
        peak = s.max_inflight
    assert [r["reason"] for r in rows] == ["ok"] * 6
    assert peak == 2


def test_loopback_refused_without_allow_networks():
    with FaultServer() as s:
        _CONNECTS.clear()
        _RECORDING.set()
        try:
            rows = Crawler(FetchConfig(delay_s=0.0)).crawl([s.url("/page/1")])
        finally:
            _RECORDING.clear()
        assert rows[0]["reason"] == "ssrf" and rows[0]["attempts"] == 0
        assert s.requests() == [] and not _CONNECTS


def test_https_connects_to_the_checked_ip_and_verifies_the_name(tmp_path):
    pytest.importorskip("cryptography")
    from http_faults import make_tls_files

    ca, cert, key = make_tls_files(str(tmp_path), "secure.test")
    names = {"secure.test": ["127.0.0.1"], "impostor.test": ["127.0.0.1"]}
    cfg = FetchConfig(allow_networks=["127.0.0.0/8"], delay_s=0.0, ca_bundle=ca, max_retries=2, backoff_s=0.01)
    out = tmp_path / "warc"
    resolve = lambda h, p: names[h]  # noqa: E731
    with FaultServer(tls=(cert, key)) as s:
        writer = RotatingWarcWriter(str(out), "tls")
        good, bad = s.url("/page/tls", host="secure.test"), s.url("/page/tls", host="impostor.test")
        rows = Crawler(replace(cfg, obey_robots=False), sink=writer.write, resolver=resolve).crawl([good, bad])
        writer.close()
        with_robots = Crawler(cfg, resolver=resolve).crawl([bad])
        hosts = [h["Host"] for h in s.headers_of("/page/tls")]
        robots_hosts = [h["Host"] for h in s.headers_of("/robots.txt")]
    assert rows[0]["reason"] == "ok" and rows[0]["final_url"] == good
    _, _, payload = response_at(str(out), rows[0]["warc_file"], rows[0]["warc_offset"])
    assert payload == page_html("/page/tls")
    # The certificate names secure.test only: the same server under another name is refused,
    # once (a certificate error is not retried), and no request reaches it.
    assert (rows[1]["reason"], rows[1]["attempts"]) == ("tls", 1)
    assert hosts == [f"secure.test:{s.port}"]
    # With robots.txt on, its fetch fails the same way; the row says tls, not just "robots".
    assert (with_robots[0]["reason"], with_robots[0]["attempts"]) == ("tls", 0)
    assert robots_hosts == []


def test_robots_crawl_delay_raises_the_delay():
    cfg = FetchConfig(allow_networks=["127.0.0.0/8"], delay_s=0.0, max_crawl_delay_s=10.0)
    with FaultServer(robots_body="User-agent: *\nCrawl-delay: 0.3\n") as s:
        rows = Crawler(cfg).crawl([s.url(f"/page/{i}") for i in range(3)])
        times = sorted(t for _, t in s.requests())
    assert [r["reason"] for r in rows] == ["ok"] * 3
    assert len(times) == 4  # robots.txt + 3 pages
    assert min(b - a for a, b in zip(times, times[1:])) >= 0.3


def test_unreachable_host_is_logged_as_such():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cfg = FetchConfig(allow_networks=["127.0.0.0/8"], delay_s=0.0, backoff_s=0.01, max_retries=2)
    rows = Crawler(cfg).crawl([f"http://127.0.0.1:{port}/a", f"http://127.0.0.1:{port}/b"])
    # robots.txt (tried 3 times) could not be fetched: the URLs say why, and nothing else was tried.
    assert [(r["reason"], r["attempts"]) for r in rows] == [("connection", 0), ("connection", 0)]
    assert "robots.txt unreachable" in rows[0]["detail"]
    rows = Crawler(replace(cfg, obey_robots=False)).crawl([f"http://127.0.0.1:{port}/a"])
    assert (rows[0]["reason"], rows[0]["attempts"]) == ("connection", 3)


def test_redirects_from_many_hosts_respect_the_target_hosts_politeness():
    # Shortener-style links: six origins each redirect to one target origin (as bit.ly links land on
    # a few news sites). The target gets the same politeness as a host fetched directly: never more
    # than host_concurrency requests in flight, and each request `delay` after the previous answer.
    delay = 0.1
    cfg = FetchConfig(allow_networks=["127.0.0.0/8"], delay_s=delay, threads=8, obey_robots=False)
    with FaultServer(latency=0.15) as target:
        shorteners = [FaultServer() for _ in range(6)]
        for s in shorteners:
            s.__enter__()
        try:
            urls = [s.url("/redirect?to=" + target.url(f"/page/{i}")) for i, s in enumerate(shorteners)]
            rows = Crawler(cfg).crawl(urls)
            log = target.requests()
            peak = target.max_inflight
        finally:
            for s in shorteners:
                s.__exit__(None, None, None)
    assert [r["reason"] for r in rows] == ["ok"] * 6
    assert [r["final_url"] for r in rows] == [target.url(f"/page/{i}") for i in range(6)]
    assert peak == 1
    times = sorted(t for _, t in log)
    # arrival gaps: the previous request's 0.15 s of server time plus the delay after its answer
    assert min(b - a for a, b in zip(times, times[1:])) >= 0.15 + delay


def test_site_of_folds_scheme_www_and_default_ports():
    assert site_of("http://www.Example.com/a") == site_of("https://example.com:443/b") == "example.com"
    assert site_of("http://example.com:8080/") == "example.com:8080"
    assert site_of("http://news.example.com/") == "news.example.com"  # another host is another site
    assert site_of("http://[::1]:81/") == "[::1]:81"
    assert site_of("ftp://example.com/") == "" and site_of("http:///nohost") == ""


def test_www_and_bare_spellings_of_one_site_share_its_politeness():
    # Two origins, one server: requests to both obey one delay and one in-flight cap. Each origin
    # still gets its own robots.txt (RFC 9309 scopes it to the origin).
    names = {"site.test": ["127.0.0.1"], "www.site.test": ["127.0.0.1"]}
    cfg = FetchConfig(allow_networks=["127.0.0.0/8"], delay_s=0.1, threads=8)
    with FaultServer(latency=0.05) as s:
        urls = [s.url(f"/page/{i}", host=h) for i in range(3) for h in ("site.test", "www.site.test")]
        rows = Crawler(cfg, resolver=lambda h, p: names[h]).crawl(urls)
        times = sorted(t for _, t in s.requests())
        peak = s.max_inflight
        robots_hosts = sorted(h["Host"] for h in s.headers_of("/robots.txt"))
    assert [r["reason"] for r in rows] == ["ok"] * 6
    assert robots_hosts == [f"site.test:{s.port}", f"www.site.test:{s.port}"]
    assert len(times) == 8 and peak == 1
    # each request arrives after the previous one's 0.05 s of server time plus the delay
    assert min(b - a for a, b in zip(times, times[1:])) >= 0.05 + 0.1


COMPARED = ("url", "domain", "final_url", "status", "reason", "detail", "content_type", "bytes", "truncated",
            "attempts")


def test_a_handed_over_chain_ends_in_the_row_one_crawler_writes(tmp_path):
    # What the fetch stage does across Beam workers, in one process: the crawler of the link's site
    # hands each cross-site hop over; a second crawler (the target site's owner) resumes the chains.
    names = {"short.test": ["127.0.0.1"], "news.test": ["127.0.0.1"], "127.0.0.1": ["127.0.0.1"]}
    resolve = lambda h, p: names[h]  # noqa: E731
    cfg = FetchConfig(allow_networks=["127.0.0.0/8"], delay_s=0.0, max_redirects=3)
    with FaultServer() as short, FaultServer(robots_body="User-agent: *\nDisallow: /private\n") as news:
        def via_short(target: str) -> str:
            return short.url("/redirect?to=" + quote(target, safe=""), host="short.test")

        urls = [
            via_short(news.url("/page/x", host="news.test")),  # -> news: ok
            via_short(news.url("/private/y", host="news.test")),  # -> a robots-disallowed target
            # /loop-a -> /loop-b (same site, followed) -> 127.0.0.1/loop-a (another site) -> /loop-b -> loop
            short.url("/loop-a", host="short.test"),
            via_short(news.url("/chain?n=5", host="news.test")),  # 1 + 5 hops > max_redirects = 3
            short.url("/page/direct", host="short.test"),  # no redirect: finished at once
        ]
        cross = lambda cur, nxt: site_of(cur) != site_of(nxt)  # noqa: E731
        writer = RotatingWarcWriter(str(tmp_path / "a"), "a")
        first = Crawler(cfg, resolver=resolve, sink=writer.write, hand_over=cross).crawl(urls)
        assert [type(r) for r in first] == [Handover] * 4 + [dict]
        assert [(h.hops, h.attempts, h.status) for h in first[:4]] == [(1, 1, 302), (1, 1, 302), (2, 2, 302),
                                                                       (1, 1, 302)]
        assert first[0].next_url == news.url("/page/x", host="news.test")
        assert first[0].seen == tuple(sorted([urls[0], first[0].next_url]))
        assert news.requests() == []  # nothing reached the target sites in the first round
        second = Crawler(cfg, resolver=resolve, sink=writer.write, hand_over=cross).crawl(first[:4])
        writer.close()
        handed = second + first[4:]
        whole = Crawler(cfg, resolver=resolve).crawl(urls)
    assert [r["reason"] for r in handed] == ["ok", "robots", "redirect_loop", "too_many_redirects", "ok"]
    assert "redirect target" in handed[1]["detail"]
    for a, b in zip(handed, whole):
        assert {k: a[k] for k in COMPARED} == {k: b[k] for k in COMPARED}
    assert handed[0]["attempts"] == 2 and handed[2]["attempts"] == 4 and handed[0]["elapsed_s"] > 0
    # the resumed chain's page is in the WARC, under the target URL
    _, _, payload = response_at(str(tmp_path / "a"), handed[0]["warc_file"], handed[0]["warc_offset"])
    assert payload == page_html("/page/x")


def test_a_later_crawler_remembers_robots_and_the_sites_delay():
    # What the fetch stage passes from one redirect round to the next: crawler B starts from
    # crawler A's memories, so it neither asks for robots.txt again nor comes back before the
    # site's delay (here raised by Crawl-delay) has passed since A's last request ended.
    cfg = FetchConfig(allow_networks=["127.0.0.0/8"], delay_s=0.05, max_crawl_delay_s=10.0)
    with FaultServer(robots_body="User-agent: *\nDisallow: /private\nCrawl-delay: 0.4\n") as s:
        a = Crawler(cfg)
        assert [r["reason"] for r in a.crawl([s.url("/page/a")])] == ["ok"]
        memories = a.memories()
        b = Crawler(cfg)
        b.remember(memories)
        rows = b.crawl([s.url("/page/b"), s.url("/private/c")])
        log = s.requests()
        fresh = Crawler(cfg)
        fresh.crawl([s.url("/page/d")])
        fresh_log = s.requests()[len(log):]
    assert [m.site for m in memories] == [site_of(s.url("/"))] and memories[0].delay == 0.4
    assert isinstance(memories[0], SiteMemory) and memories[0].origins[0][0] == origin_of(s.url("/"))
    assert [r["reason"] for r in rows] == ["ok", "robots"]  # B obeys the remembered Disallow
    assert [p for p, _ in log] == ["/robots.txt", "/page/a", "/page/b"]
    assert (a.robots_fetches, b.robots_fetches) == (1, 0)
    assert log[2][1] - log[1][1] >= 0.4
    # without memories a crawler starts from nothing: robots.txt again, at once
    assert [p for p, _ in fresh_log] == ["/robots.txt", "/page/d"] and fresh.robots_fetches == 1
    # B's own memory is carried on: a third crawler would wait for B's request too
    assert b.memories()[0].not_before >= memories[0].not_before + 0.4 - 0.05
