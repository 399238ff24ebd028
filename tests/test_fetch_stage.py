"""``webtext fetch`` end to end on the local Beam runner, against real servers on 127.0.0.1,
then the extract stage reading the WARC files it wrote."""

from __future__ import annotations

import glob
import json
import os
from urllib.parse import urlsplit

import pyarrow.parquet as pq

from corpus_tools.rundir import RunDir
from corpus_tools.schema import FETCH_LOG_SCHEMA, LINK_SCHEMA, to_table
from corpus_tools.shards import read_table, write_table
from pipelines.webtext import main

from http_faults import FaultServer, page_html

RECIPE = """
[run]
num_shards = 2
[fetch]
delay_s = 0.05
timeout_s = 1.0
connect_timeout_s = 1.0
backoff_s = 0.02
max_retries = 1
host_groups = 4
"""


def write_links(path, urls):
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    rows = [dict(url=u, domain="127.0.0.1", score_sum=3 + i, n_posts=1, subreddits=["test"], first_seen=0,
                 last_seen=0, example_url=u, post_ids=[f"p{i}"]) for i, u in enumerate(urls)]
    write_table(to_table(rows, LINK_SCHEMA), str(path))


def test_fetch_stage_writes_warc_log_and_stats_and_extract_reads_them(tmp_path):
    recipe = tmp_path / "webtext.toml"
    recipe.write_text(RECIPE)
    run = tmp_path / "run"
    with FaultServer(robots_body="User-agent: *\nDisallow: /private\n") as a, FaultServer() as b:
        ok_urls = [a.url(f"/page/a{i}") for i in range(4)] + [b.url(f"/page/b{i}") for i in range(3)]
        other = {a.url("/private/x"): "robots", a.url("/missing"): "http_4xx", b.url("/image"): "bad_type",
                 b.url("/flaky"): "http_5xx"}  # max_retries = 1: the second 503 is final
        # A finished links stage: RUN/links holds Parquet and _urls.txt (which must not be read twice).
        all_urls = ok_urls + list(other)
        write_links(run / "links" / "part-00000-of-00001.parquet", all_urls)
        (run / "links" / "_urls.txt").write_text("\n".join(all_urls) + "\n")
        RunDir(str(run)).mark_done("links")
        rc = main(["fetch", "--out", str(run), "--recipe", str(recipe), "--allow-network", "127.0.0.0/8"])
        assert rc == 0
    warc_dir = run / "warc"
    assert (warc_dir / "_SUCCESS").exists()
    log = read_table(str(warc_dir / "fetch_log")).to_pylist()
    assert len(log) == len(ok_urls) + len(other)
    assert pq.read_schema(glob.glob(str(warc_dir / "fetch_log" / "*.parquet"))[0]).names == FETCH_LOG_SCHEMA.names
    by_url = {r["url"]: r for r in log}
    assert {u for u, r in by_url.items() if r["reason"] == "ok"} == set(ok_urls)
    for u, reason in other.items():
        assert by_url[u]["reason"] == reason, (u, by_url[u])
    files = sorted(os.path.basename(f) for f in glob.glob(str(warc_dir / "*.warc.gz")))
    assert files and {by_url[u]["warc_file"] for u in ok_urls} <= set(files)
    assert not glob.glob(str(warc_dir / "*.tmp"))

    stats = json.loads((run / "stats" / "fetch.json").read_text())
    assert stats["records_in"] == len(log) and stats["records_out"] == len(ok_urls)
    assert stats["reasons"] == {"robots": 1, "http_4xx": 1, "bad_type": 1, "http_5xx": 1}
    d = stats["details"]
    assert d["by_reason"]["ok"] == len(ok_urls)
    assert d["bytes"] == sum(len(page_html(urlsplit(u).path)) for u in ok_urls)
    assert sum(d["attempts_histogram"].values()) == len(log)
    assert d["attempts_histogram"]["0"] == 1 and d["attempts_histogram"]["2"] == 1  # robots; 503 + retry
    assert d["pages_per_s"] > 0 and d["warc_files"] == len(files)
    assert stats["parameters"]["fetch"]["allow_networks"] == ["127.0.0.0/8"]

    # The extract stage reads RUN/warc directly, finds every archived page and joins it back
    # through the fetch log to its link (score_sum from RUN/links).
    assert main(["extract", "--out", str(run)]) == 0
    docs = read_table(str(run / "docs")).to_pylist()
    assert {d["url"] for d in docs} == set(ok_urls)
    karma = {u: 3 + i for i, u in enumerate(all_urls)}
    for doc in docs:
        row = by_url[doc["url"]]
        assert (doc["warc_file"], doc["warc_offset"]) == (row["warc_file"], row["warc_offset"])
        assert "ordinary text" in doc["text"]
        assert doc["score_sum"] == karma[doc["url"]]


def test_links_are_requested_as_posted_and_logged_under_their_canonical_url(tmp_path):
    # The canonical URL is a grouping key (no trailing slash, sorted query, Reddit escaping undone);
    # a server may answer only the spelling that was posted. The request goes to the posted URL, the
    # fetch-log row keeps the canonical one, and extract still joins the page to its link's karma.
    from corpus_tools.urls import canonicalize

    recipe = tmp_path / "webtext.toml"
    recipe.write_text(RECIPE)
    run = tmp_path / "run"
    with FaultServer() as s:
        posted = [s.url("/page/kept/?b=2&amp;a=1#comments"), s.url("/page/plain")]
        canonical = [canonicalize(u) for u in posted]
        assert canonical[0] == s.url("/page/kept?a=1&b=2")
        rows = [dict(url=c, domain="127.0.0.1", score_sum=7 + i, n_posts=1, subreddits=["test"], first_seen=0,
                     last_seen=0, example_url=p, post_ids=[f"p{i}"]) for i, (c, p) in enumerate(zip(canonical, posted))]
        rows.append(dict(rows[1], url=s.url("/page/listed"), example_url=None, post_ids=["p9"]))  # no example: the key
        write_table(to_table(rows, LINK_SCHEMA), str(run / "links" / "part-00000-of-00001.parquet"))
        RunDir(str(run)).mark_done("links")
        assert main(["fetch", "--out", str(run), "--recipe", str(recipe), "--allow-network", "127.0.0.0/8"]) == 0
        asked = sorted(p for p, _ in s.requests() if p != "/robots.txt")
    assert asked == ["/page/kept/?b=2&a=1", "/page/listed", "/page/plain"]
    log = {r["url"]: r for r in read_table(str(run / "warc" / "fetch_log")).to_pylist()}
    assert sorted(log) == sorted(canonical + [s.url("/page/listed")])
    assert log[canonical[0]]["final_url"] == s.url("/page/kept/?b=2&a=1")
    assert main(["extract", "--out", str(run)]) == 0
    docs = {d["url"]: d for d in read_table(str(run / "docs")).to_pylist()}
    assert docs[s.url("/page/kept/?b=2&a=1")]["score_sum"] == 7 and docs[s.url("/page/plain")]["score_sum"] == 8


def test_fetch_stage_refuses_loopback_without_allow_network(tmp_path, capsys):
    recipe = tmp_path / "webtext.toml"
    recipe.write_text(RECIPE)
    run = tmp_path / "run"
    with FaultServer() as s:
        urls = tmp_path / "urls.txt"
        urls.write_text(f"# a plain URL list\n{s.url('/page/1')}\n\n{s.url('/page/2')}\nmailto:someone@example.org\n")
        assert main(["fetch", "--out", str(run), "--input", str(urls), "--recipe", str(recipe)]) == 2
        assert s.requests() == []  # nothing, not even robots.txt, reached the server
    # nothing fetched: the command fails saying why and what to do; the log and stats stay for a
    # look, and the stage is not done (a rerun fetches again)
    err = capsys.readouterr().err
    assert "fetched none of 3 URLs (ssrf 2, bad_url 1)" in err and "--allow-network" in err
    log = read_table(str(run / "warc" / "fetch_log")).to_pylist()
    assert sorted(r["reason"] for r in log) == ["bad_url", "ssrf", "ssrf"]
    assert not glob.glob(str(run / "warc" / "*.warc.gz"))
    assert json.loads((run / "stats" / "fetch.json").read_text())["reasons"] == {"bad_url": 1, "ssrf": 2}
    assert not RunDir(str(run)).is_done("fetch")


def test_fetch_command_fails_clearly_without_links(tmp_path, capsys):
    assert main(["fetch", "--out", str(tmp_path / "run")]) == 2
    assert "links" in capsys.readouterr().err


def test_fetch_graph_serialises_without_running(tmp_path):
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from corpus_tools.recipe import Recipe
    from corpus_tools.rundir import RunDir
    from pipelines.stage import StageContext
    from pipelines.stages import load_stage

    links = tmp_path / "links.parquet"
    write_links(links, ["http://example.org/a", "http://example.org/b"])
    ctx = StageContext(RunDir(tmp_path / "run"), Recipe(), inputs=[str(links)], build_only=True)
    ctx._stage = "fetch"
    load_stage("fetch").run(ctx)
    (p,) = ctx.built
    proto = p.to_runner_api()
    beam.Pipeline.from_runner_api(proto, p.runner, PipelineOptions([]))
    names = {t.unique_name.split("/")[0] for t in proto.components.transforms.values()}
    assert {"ReadLinks", "KeyBySite", "GroupBySite", "Fetch", "GroupBySiteRound1", "FetchRound1", "GroupBySiteRound2",
            "FetchRound2", "AllRounds", "WriteFetchLog", "WriteRejects"} <= names
    assert not (tmp_path / "run" / "warc").exists()  # nothing ran, nothing was fetched


def test_rows_without_url_are_dead_lettered_and_counted(tmp_path):
    import pyarrow as pa

    recipe = tmp_path / "webtext.toml"
    recipe.write_text(RECIPE)
    run = tmp_path / "run"
    links = tmp_path / "links.parquet"
    write_table(pa.table({"url": ["http://10.9.9.9/a", None, "  "], "domain": ["x", "y", "z"]}), str(links))
    assert main(["fetch", "--out", str(run), "--input", str(links), "--recipe", str(recipe)]) == 2  # none fetched
    log = read_table(str(run / "warc" / "fetch_log")).to_pylist()
    assert [r["reason"] for r in log] == ["ssrf"]
    rejected = read_table(str(run / "warc" / "_rejected")).to_pylist()
    assert [r["reason"] for r in rejected] == ["no_url", "no_url"]
    stats = json.loads((run / "stats" / "fetch.json").read_text())
    assert stats["records_in"] == 3 and stats["records_out"] == 0
    assert stats["reasons"] == {"no_url": 2, "ssrf": 1}
    assert stats["details"]["urls"] == 1


def test_redirects_into_another_site_are_fetched_by_its_worker_politely_across_processes(tmp_path):
    # Shortener-style links on six sites all land on one target site; two Beam worker processes.
    # Every cross-group hop is handed over to the target's group, so one crawler sends all the
    # target's requests: never two at once, each `latency + delay` after the previous one. With
    # hops followed in place (redirect_rounds = 0) each worker would run its own politeness for it.
    from urllib.parse import quote

    from corpus_tools.fetch import site_of
    from pipelines.stages.fetch import site_group

    delay, latency, groups = 0.1, 0.1, 8
    recipe = tmp_path / "webtext.toml"
    recipe.write_text(RECIPE.replace("host_groups = 4", f"host_groups = {groups}")
                      .replace("delay_s = 0.05", f"delay_s = {delay}"))
    with FaultServer(latency=latency) as target:
        shorteners = [FaultServer() for _ in range(6)]
        for s in shorteners:
            s.__enter__()
        try:
            pages = [target.url(f"/page/t{i}") for i in range(6)]
            urls = [s.url("/redirect?to=" + quote(p, safe="")) for s, p in zip(shorteners, pages)]
            urls.append(target.url("/page/direct"))
            urls_file = tmp_path / "urls.txt"
            urls_file.write_text("\n".join(urls) + "\n")
            run = tmp_path / "run"
            assert main(["fetch", "--out", str(run), "--input", str(urls_file), "--recipe", str(recipe),
                         "--allow-network", "127.0.0.0/8", "--direct_num_workers=2",
                         "--direct_running_mode=multi_processing"]) == 0
            every = sorted(t for _, t in target.requests())
            times = sorted(t for p, t in target.requests() if p != "/robots.txt")
            peak = target.max_inflight
            robots = len(target.requests("/robots.txt"))
        finally:
            for s in shorteners:
                s.__exit__(None, None, None)
    log = {r["url"]: r for r in read_table(str(run / "warc" / "fetch_log")).to_pylist()}
    assert len(log) == 7 and all(r["reason"] == "ok" for r in log.values())
    assert [log[u]["final_url"] for u in urls[:6]] == pages and [log[u]["attempts"] for u in urls[:6]] == [2] * 6
    # Round 0 fetched robots.txt (for /page/direct); round 1 was handed what round 0 learnt (robots.txt,
    # the time the site's next request may start), so robots.txt was fetched once and every request,
    # across the two rounds too, arrived `latency + delay` after the one before.
    assert len(times) == 7 and peak == 1 and robots == 1
    assert min(b - a for a, b in zip(every, every[1:])) >= latency + delay
    d = json.loads((run / "stats" / "fetch.json").read_text())["details"]
    assert d["robots_fetches"] == 7  # one per origin: the target and six shorteners
    cross = sum(site_group(u, groups) != site_group(pages[0], groups) for u in urls[:6])
    assert cross >= 4 and site_of(urls[0]) != site_of(pages[0])
    assert (d["handovers"], d["uncoordinated_hops"], d["redirect_rounds"]) == (cross, 0, 2)
    # the handed-over pages were archived by round 1's worker, in its own WARC files
    assert {log[u]["warc_file"].split("-")[1] for u in urls[:6]
            if site_group(u, groups) != site_group(pages[0], groups)} == {"r1"}


def test_fetch_interrupted_mid_crawl_leaves_no_partial_warc_under_its_final_name(tmp_path):
    """Ctrl-C while the crawl is inside a WARC file (a real ``webtext fetch`` process, a real server
    that holds one page back): the file being written keeps its ``.tmp`` name (it used to be renamed
    into place with the pages fetched so far, and ``extract`` read a partial crawl), the stage is not
    marked done, and the rerun gives the whole crawl with nothing temporary left."""
    import signal
    import subprocess
    import sys
    import threading
    import time
    from pathlib import Path

    from corpus_tools.warc import iter_warc

    recipe = tmp_path / "webtext.toml"
    recipe.write_text(RECIPE.replace("host_groups = 4", "host_groups = 1"))  # one worker, one file
    run = tmp_path / "run"
    argv = ["fetch", "--out", str(run), "--recipe", str(recipe), "--allow-network", "127.0.0.0/8"]
    repo = Path(__file__).resolve().parents[1]
    with FaultServer() as s:
        pages = [s.url(f"/page/p{i}") for i in range(4)]
        held = s.url("/stall/s0")  # fetched after the /page/ URLs (a site's URLs go in order)
        urls = pages + [held, s.url("/stall/s1")]
        write_links(run / "links" / "part-00000-of-00001.parquet", urls)
        RunDir(str(run)).mark_done("links")
        env = dict(os.environ, PYTHONPATH=str(repo), PYTHONUNBUFFERED="1")
        proc = subprocess.Popen([sys.executable, "-m", "pipelines.webtext", *argv], stderr=subprocess.PIPE,
                                env=env, start_new_session=True)
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(r.decode().rstrip("\n") for r in proc.stderr),
                                  daemon=True)
        reader.start()
        try:
            deadline = time.monotonic() + 120
            while not s.requests("/stall/s0") and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert s.requests("/stall/s0") and proc.poll() is None, "\n".join(lines)
            assert len(s.requests()) == 1 + len(pages) + 1  # robots.txt, the pages, the held one
            assert glob.glob(str(run / "warc" / "*.warc.gz.tmp"))  # the crawl is inside its file
            os.killpg(proc.pid, signal.SIGINT)
            status = proc.wait(timeout=120)
            reader.join(timeout=30)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        assert status == 130 and lines[-1] == "webtext fetch: interrupted", "\n".join(lines)
        assert not RunDir(str(run)).is_done("fetch")
        assert glob.glob(str(run / "warc" / "*.warc.gz")) == [], "a partial crawl under a final name"
        assert glob.glob(str(run / "warc" / "*.warc.gz.tmp"))  # left as it was, for a rerun to clear

        s.release()
        assert main(argv) == 0  # the rerun fetches everything again
    log = read_table(str(run / "warc" / "fetch_log")).to_pylist()
    assert {r["url"]: r["reason"] for r in log} == {u: "ok" for u in urls}
    assert not glob.glob(str(run / "warc" / "*.tmp"))
    archived = []
    for path in glob.glob(str(run / "warc" / "*.warc.gz")):
        with open(path, "rb") as fh:
            archived += [item.url for item in iter_warc(fh, os.path.basename(path))]
    assert sorted(archived) == sorted(urls)


def test_what_fetch_archives_extract_reads_a_page_without_content_type_included(tmp_path):
    """A real server: HTML without a Content-Type is archived (`ok`) and extract makes it a document
    (it was dead-lettered `not_html`, Content-Type None); a body without a type that is not HTML is
    `bad_type`, and a 206 is `http_other`, not archived: fetch keeps no page extract rejects."""
    recipe = tmp_path / "webtext.toml"
    recipe.write_text(RECIPE)
    run = tmp_path / "run"
    with FaultServer() as s:
        noctype, page = s.url("/noctype"), s.url("/page/typed")
        expect = {noctype: "ok", page: "ok", s.url("/noctype-text"): "bad_type", s.url("/partial"): "http_other"}
        write_links(run / "links" / "part-00000-of-00001.parquet", list(expect))
        RunDir(str(run)).mark_done("links")
        assert main(["fetch", "--out", str(run), "--recipe", str(recipe), "--allow-network", "127.0.0.0/8"]) == 0
    log = {r["url"]: r for r in read_table(str(run / "warc" / "fetch_log")).to_pylist()}
    assert {u: r["reason"] for u, r in log.items()} == expect
    assert log[noctype]["content_type"] is None and log[s.url("/partial")]["warc_file"] is None
    assert "no whole page" in log[s.url("/partial")]["detail"]

    assert main(["extract", "--out", str(run)]) == 0
    docs = {d["url"]: d for d in read_table(str(run / "docs")).to_pylist()}
    assert set(docs) == {noctype, page}  # every page fetch archived
    assert "ordinary text" in docs[noctype]["text"] and docs[noctype]["content_type"] is None
    assert not glob.glob(str(run / "docs" / "_rejected" / "*.parquet")) or \
        read_table(str(run / "docs" / "_rejected")).num_rows == 0


def test_redirects_onto_blocked_domains_end_with_the_links_reason_and_nothing_is_archived(tmp_path):
    """A link that redirects (bit.ly → wikipedia) to a host the links stage drops is not fetched:
    each blocklist the links stage reads (``blocked_domains``, a built-in list, a
    ``blocked_domain_files`` file) ends its URL with the links stage's reason, before anything is
    sent there (it used to be fetched and archived as ``ok``). Real servers on 127.0.0.1; localhost
    resolves to it, 127.0.0.2 is a second host name for the list file."""
    from urllib.parse import quote

    from corpus_tools.warc import iter_warc

    mirrors = tmp_path / "mirrors.txt"
    mirrors.write_text("# domains of a file list\n127.0.0.2\n")
    recipe = tmp_path / "webtext.toml"
    recipe.write_text(RECIPE.replace("[fetch]", f'[links]\nblocked_domains = ["localhost"]\n'
                                                f'blocked_domain_files = ["{mirrors}"]\n[fetch]'))
    run = tmp_path / "run"
    with FaultServer() as s:
        def via(target: str) -> str:
            return s.url("/redirect?to=" + quote(target, safe=""))

        blocked = s.url("/page/ok-blocked", host="localhost")
        expect = {via(blocked): "blocked_domain:user",
                  via("http://en.wikipedia.org/wiki/Example"): "blocked_domain:wikipedia",
                  via(s.url("/page/mirrored", host="127.0.0.2")): "blocked_domain:mirrors",
                  via(s.url("/page/kept")): "ok"}  # a redirect to a host on no list is followed
        write_links(run / "links" / "part-00000-of-00001.parquet", list(expect))
        RunDir(str(run)).mark_done("links")
        assert main(["fetch", "--out", str(run), "--recipe", str(recipe), "--allow-network", "127.0.0.0/8"]) == 0
        asked = sorted(p for p, _ in s.requests() if p != "/robots.txt")
    log = {r["url"]: r for r in read_table(str(run / "warc" / "fetch_log")).to_pylist()}
    assert {u: r["reason"] for u, r in log.items()} == expect
    for u, reason in expect.items():
        if reason != "ok":
            assert log[u]["status"] == 302 and log[u]["warc_file"] is None and log[u]["attempts"] == 1
            assert "links blocklist" in log[u]["detail"]
    assert not any(p.startswith(("/page/ok-blocked", "/page/mirrored")) for p in asked)  # never requested
    archived = []
    for path in glob.glob(str(run / "warc" / "*.warc.gz")):
        with open(path, "rb") as fh:
            archived += [item.url for item in iter_warc(fh, os.path.basename(path))]
    assert archived == [s.url("/page/kept")]
    stats = json.loads((run / "stats" / "fetch.json").read_text())
    assert stats["reasons"] == {"blocked_domain:user": 1, "blocked_domain:wikipedia": 1,
                                "blocked_domain:mirrors": 1}


def test_redirect_to_an_unreachable_host_says_why_not_robots(tmp_path):
    """A redirect to a closed port or to https on a plain-HTTP port fails robots.txt as the host
    itself does: the row says ``connection`` / ``tls`` as for a URL requested directly (it said
    ``robots``, "disallowed by robots.txt"). A reachable target whose robots.txt answers 5xx is
    still disallowed (RFC 9309): ``robots``."""
    import socket
    from urllib.parse import quote

    recipe = tmp_path / "webtext.toml"
    recipe.write_text(RECIPE)
    run = tmp_path / "run"
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    with FaultServer() as s, FaultServer(robots_status=500) as down:
        def via(target: str) -> str:
            return s.url("/redirect?to=" + quote(target, safe=""))

        expect = {via(f"http://127.0.0.1:{closed}/page/gone"): "connection",
                  via(f"https://127.0.0.1:{s.port}/page/plain"): "tls",  # an HTTP server: the handshake fails
                  via(down.url("/page/any")): "robots",
                  f"http://127.0.0.1:{closed}/page/direct": "connection",  # the same rule, requested directly
                  via(s.url("/page/kept")): "ok"}
        write_links(run / "links" / "part-00000-of-00001.parquet", list(expect))
        RunDir(str(run)).mark_done("links")
        assert main(["fetch", "--out", str(run), "--recipe", str(recipe), "--allow-network", "127.0.0.0/8"]) == 0
        assert down.requests() == [("/robots.txt", down.requests()[0][1])]  # robots.txt only, no page
    log = {r["url"]: r for r in read_table(str(run / "warc" / "fetch_log")).to_pylist()}
    assert {u: r["reason"] for u, r in log.items()} == expect
    for u in list(expect)[:3]:
        assert log[u]["status"] == 302 and log[u]["attempts"] == 1 and log[u]["warc_file"] is None
        assert log[u]["detail"].startswith("redirect target ")
    assert "host unreachable" in log[list(expect)[0]]["detail"]
