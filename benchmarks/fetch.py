"""Fetch throughput: webtext's polite crawler (robots.txt, per-host delay, WARC writing) against a
plain ``requests`` thread-pool loop (same concurrency, no politeness, no WARC) on the same local
server: 200 hosts (ports on 127.0.0.1), 20 ms server latency per response.

    PYTHONPATH=. python benchmarks/fetch.py [--hosts 200] [--pages 10] [--threads 32] [--delay 0.1]

Prints pages/s of each and the ratio (webtext / requests); a bare urllib3 loop is timed too,
since that is the client the crawler is built on. The server runs in its own process
(asyncio, keep-alive) so that it does not compete with the clients for the GIL.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import queue
import sys
import tempfile
import threading
import time

import requests

from corpus_tools.fetch import Crawler
from corpus_tools.recipe import FetchConfig
from corpus_tools.warc_writer import RotatingWarcWriter

PAGE = (b"<!doctype html><html><head><title>bench</title></head><body>"
        + b"<p>Some ordinary paragraph text of a benchmark page, repeated to a realistic size.</p>\n" * 110
        + b"</body></html>")  # ~10 kB


def _serve(n_hosts: int, latency: float, ready, ports_out) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1]
                await asyncio.sleep(latency)
                body = b"User-agent: *\nAllow: /\n" if path == b"/robots.txt" else PAGE
                ctype = b"text/plain" if path == b"/robots.txt" else b"text/html; charset=utf-8"
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: " + ctype + b"\r\nContent-Length: "
                             + str(len(body)).encode() + b"\r\n\r\n" + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        servers = [await asyncio.start_server(handle, "127.0.0.1", 0, backlog=512) for _ in range(n_hosts)]
        ports_out.extend([s.sockets[0].getsockname()[1] for s in servers])
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def _queue_loop(urls: list[str], threads: int, name: str, make_client, fetch_ok) -> float:
    """``threads`` workers, one client each, pulling URLs from a queue; pages/s."""
    q: queue.Queue = queue.Queue()
    for u in urls:
        q.put(u)
    ok = [0] * threads

    def worker(k: int) -> None:
        client = make_client()
        while True:
            try:
                u = q.get_nowait()
            except queue.Empty:
                return
            if fetch_ok(client, u):
                ok[k] += 1

    t0 = time.perf_counter()
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    elapsed = time.perf_counter() - t0
    assert sum(ok) == len(urls), f"{name} fetched {sum(ok)} of {len(urls)}"
    return len(urls) / elapsed


def run_requests(urls: list[str], threads: int) -> float:
    """A plain requests loop: one Session per worker."""

    def fetch_ok(session, u):
        r = session.get(u, timeout=30)
        return r.status_code == 200 and bool(r.content)

    return _queue_loop(urls, threads, "requests", requests.Session, fetch_ok)


def run_urllib3(urls: list[str], threads: int) -> float:
    """The same loop on bare urllib3 (one PoolManager per worker): the client webtext is built on."""
    import urllib3

    def fetch_ok(pm, u):
        r = pm.request("GET", u, timeout=30)
        return r.status == 200 and bool(r.data)

    return _queue_loop(urls, threads, "urllib3", lambda: urllib3.PoolManager(maxsize=4), fetch_ok)


def run_webtext(urls: list[str], threads: int, delay: float) -> tuple[float, int]:
    cfg = FetchConfig(allow_networks=["127.0.0.0/8"], delay_s=delay, threads=threads)
    with tempfile.TemporaryDirectory() as d:
        writer = RotatingWarcWriter(d, "bench", max_file_bytes=100_000_000)
        t0 = time.perf_counter()
        rows = Crawler(cfg, sink=writer.write).crawl(urls)
        writer.close()
        elapsed = time.perf_counter() - t0
    ok = sum(r["reason"] == "ok" for r in rows)
    assert ok == len(urls), f"webtext fetched {ok} of {len(urls)}: {[r for r in rows if r['reason'] != 'ok'][:3]}"
    return len(urls) / elapsed, writer.records


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hosts", type=int, default=200)
    ap.add_argument("--pages", type=int, default=10, help="pages per host")
    ap.add_argument("--threads", type=int, default=32, help="concurrency of both clients")
    ap.add_argument("--delay", type=float, default=0.1, help="webtext's per-host delay, seconds")
    ap.add_argument("--latency", type=float, default=0.02, help="server latency per response, seconds")
    ap.add_argument("--repeat", type=int, default=2, help="runs of each client; the best is reported")
    args = ap.parse_args(argv)

    ctx = mp.get_context("spawn")
    mgr = ctx.Manager()
    ports, ready = mgr.list(), mgr.Event()
    server = ctx.Process(target=_serve, args=(args.hosts, args.latency, ready, ports), daemon=True)
    server.start()
    if not ready.wait(60):
        print("server did not start", file=sys.stderr)
        return 1
    ports = list(ports)
    # Host-major order, as links usually come (many URLs of one site together).
    urls = [f"http://127.0.0.1:{p}/page/{i}" for p in ports for i in range(args.pages)]
    print(f"{args.hosts} hosts x {args.pages} pages = {len(urls)} pages, {args.threads} threads, "
          f"server latency {args.latency * 1000:.0f} ms, webtext delay {args.delay} s per host")
    try:
        base, bare, ours = 0.0, 0.0, 0.0
        for _ in range(args.repeat):
            base = max(base, run_requests(urls, args.threads))
            bare = max(bare, run_urllib3(urls, args.threads))
            pps, records = run_webtext(urls, args.threads, args.delay)
            ours = max(ours, pps)
        print(f"requests loop (no robots, no delay, no WARC): {base:8.1f} pages/s")
        print(f"urllib3 loop  (no robots, no delay, no WARC): {bare:8.1f} pages/s")
        print(f"webtext Crawler (robots, delay, WARC written):  {ours:8.1f} pages/s  ({records} WARC records)")
        print(f"ratio webtext / requests: {ours / base:.2f}x")
    finally:
        server.terminate()
        server.join(5)
        mgr.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
