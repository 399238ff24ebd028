"""A real HTTP server on 127.0.0.1 with fault injection, for the fetch tests.

Each :class:`FaultServer` is one "host" (its own ephemeral port) with its own robots.txt
and a log of every request it received (path, arrival time on the monotonic clock), so
tests count attempts and measure politeness on the server side, independently of the
crawler's own bookkeeping.
"""

from __future__ import annotations

import gzip
import socket
import ssl
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import zstandard


def page_html(path: str) -> bytes:
    """The deterministic HTML body served for ``/page/...`` paths."""
    return (f"<!doctype html><html><head><title>{path}</title></head><body><p>This is the page at {path}. "
            "It has a paragraph of ordinary text for the extractor.</p></body></html>").encode()


BIG_SIZE = 3_000_000
_BOMB: bytes | None = None


def bomb_body() -> bytes:
    global _BOMB
    if _BOMB is None:
        _BOMB = gzip.compress(b"\0" * 20_000_000, compresslevel=9)
    return _BOMB


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, *args):  # quiet
        pass

    # -- helpers
    def _send(self, status: int, body: bytes = b"", ctype: str | None = "text/html; charset=utf-8",
              headers: dict | None = None) -> None:
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _count(self, key: str) -> int:
        with self.server.lock:
            self.server.counts[key] = self.server.counts.get(key, 0) + 1
            return self.server.counts[key]

    def do_GET(self):
        srv = self.server
        with srv.lock:
            srv.inflight += 1
            srv.max_inflight = max(srv.max_inflight, srv.inflight)
        try:
            self._get()
        finally:
            with srv.lock:
                srv.inflight -= 1

    def _get(self):  # noqa: C901 - one branch per fault
        srv = self.server
        with srv.lock:
            srv.log.append((self.path, time.monotonic(), dict(self.headers)))
        parts = urlsplit(self.path)
        path = parts.path
        q = parse_qs(parts.query)
        if srv.latency:
            time.sleep(srv.latency)
        try:
            if path == "/robots.txt":
                if srv.robots_status != 200:
                    return self._send(srv.robots_status, b"no", "text/plain")
                return self._send(200, srv.robots_body.encode(), "text/plain")
            if path.startswith("/page/") or path.startswith("/private/"):
                return self._send(200, page_html(path))
            if path.startswith("/stall/"):  # answered only once the test calls release() (at most 120 s)
                srv.gate.wait(120)
                return self._send(200, page_html(path))
            if path == "/slow":  # headers come after the client's timeout
                time.sleep(2.0)
                return self._send(200, page_html(path))
            if path == "/drip":  # a body that never ends: one byte every 50 ms
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    self.wfile.write(b"a")
                    self.wfile.flush()
                    time.sleep(0.05)
                return
            if path == "/huge":  # claims 10 GB
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(10 * 1024 ** 3))
                self.end_headers()
                self.close_connection = True
                self.wfile.write(b"<html>" + b"x" * 65536)
                return
            if path == "/big":  # 3 MB of HTML, no Content-Length (ends with the connection)
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                self.wfile.write(big_body())
                return
            if path == "/bomb":
                return self._send(200, bomb_body(), headers={"Content-Encoding": "gzip"})
            if path == "/gzipped":
                return self._send(200, gzip.compress(page_html(path)), headers={"Content-Encoding": "gzip"})
            if path == "/gzip-cut":  # a whole HTTP message whose gzip stream stops half-way
                body = gzip.compress(page_html(path) * 20)
                return self._send(200, body[:len(body) // 2], headers={"Content-Encoding": "gzip"})
            if path in ("/zstd", "/zstd-cut"):  # zstd, whole or cut inside its last block
                body = zstandard.ZstdCompressor().compress(page_html(path) * 20)
                return self._send(200, body if path == "/zstd" else body[:-4], headers={"Content-Encoding": "zstd"})
            if path == "/loop-a":
                return self._send(302, b"", headers={"Location": "/loop-b"})
            if path == "/loop-b":
                return self._send(302, b"", headers={"Location": f"http://127.0.0.1:{srv.server_port}/loop-a"})
            if path == "/chain":  # /chain?n=K redirects K times then lands on a page
                n = int(q.get("n", ["0"])[0])
                loc = f"/chain?n={n - 1}" if n > 0 else "/page/end-of-chain"
                return self._send(301, b"", headers={"Location": loc})
            if path == "/redirect":
                return self._send(302, b"", headers={"Location": q["to"][0]})
            if path == "/ratelimited":  # 429 Retry-After: 1, then 200
                if self._count(self.path) == 1:
                    return self._send(429, b"slow down", "text/plain", {"Retry-After": "1"})
                return self._send(200, page_html(path))
            if path == "/flaky":  # 503 twice, then 200
                if self._count(self.path) <= 2:
                    return self._send(503, b"busy", "text/plain")
                return self._send(200, page_html(path))
            if path == "/down":
                return self._send(503, b"down", "text/plain")
            if path == "/missing":
                return self._send(404, b"not here", "text/plain")
            if path == "/image":
                return self._send(200, b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "image/png")
            if path == "/json":
                return self._send(200, b'{"a": 1}', "application/json")
            if path == "/noctype":  # HTML without a Content-Type (accepted by sniffing)
                return self._send(200, page_html(path), None)
            if path == "/noctype-text":  # no Content-Type and not HTML
                return self._send(200, b"just some plain words", None)
            if path == "/partial":  # 206 without a Range request: part of something
                return self._send(206, page_html(path), headers={"Content-Range": "bytes 0-99/1000"})
            if path == "/xhtml":
                return self._send(200, page_html(path), "application/xhtml+xml")
            if path == "/badcharset":
                body = b"<html><body>caf\xe9 \xff\xfe na\xefve</body></html>"
                return self._send(200, body, "text/html; charset=x-no-such-charset")
            if path == "/reset":  # announces 100 kB, sends 1 kB, then resets the connection
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", "100000")
                self.end_headers()
                self.wfile.write(b"<html>" + b"r" * 1000)
                self.wfile.flush()
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()
                return
            return self._send(404, b"unknown", "text/plain")
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True


_BIG: bytes | None = None


def big_body() -> bytes:
    global _BIG
    if _BIG is None:
        chunk = b"<p>" + b"big page text " * 70 + b"</p>\n"
        _BIG = (b"<html><body>" + chunk * (BIG_SIZE // len(chunk) + 1))[:BIG_SIZE]
    return _BIG


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def make_tls_files(folder: str, hostname: str) -> tuple[str, str, str]:
    """A throw-away CA and a certificate for ``hostname`` signed by it: (ca.pem, cert.pem, key.pem)."""
    import datetime as dt
    import os

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.timezone.utc)

    def cert(subject, issuer, pub, signer, ca: bool, san=None):
        b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(pub)
             .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
             .not_valid_after(now + dt.timedelta(days=2))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if san:
            b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False)
        if ca:
            b = b.add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                              content_commitment=False, key_encipherment=False,
                                              data_encipherment=False, key_agreement=False,
                                              encipher_only=False, decipher_only=False), critical=True)
        return b.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "webtext test CA")])
    ca = cert(ca_name, ca_name, ca_key.public_key(), ca_key, True)
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = cert(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]), ca_name, key.public_key(),
                ca_key, False, san=hostname)
    paths = [os.path.join(folder, n) for n in ("ca.pem", "cert.pem", "key.pem")]
    with open(paths[0], "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(paths[1], "wb") as f:
        f.write(leaf.public_bytes(serialization.Encoding.PEM))
    with open(paths[2], "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return paths[0], paths[1], paths[2]


class FaultServer:
    """``with FaultServer(robots_body=...) as s: s.url("/page/x")``."""

    def __init__(self, robots_body: str = "User-agent: *\nAllow: /\n", robots_status: int = 200,
                 latency: float = 0.0, tls: tuple[str, str] | None = None):
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.scheme = "http"
        if tls is not None:  # (certfile, keyfile): serve HTTPS
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        self.httpd.robots_body = robots_body
        self.httpd.robots_status = robots_status
        self.httpd.latency = latency
        self.httpd.log = []
        self.httpd.counts = {}
        self.httpd.lock = threading.Lock()
        self.httpd.inflight = self.httpd.max_inflight = 0
        self.httpd.gate = threading.Event()  # /stall/... waits for it
        self.port = self.httpd.server_port
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def requests(self, path: str | None = None) -> list[tuple[str, float]]:
        """(path, arrival time) of requests received, optionally for one path only."""
        with self.httpd.lock:
            return [(p, t) for p, t, _ in self.httpd.log if path is None or p == path]

    @property
    def max_inflight(self) -> int:
        """The most requests this server was handling at the same moment."""
        return self.httpd.max_inflight

    def release(self) -> None:
        """Let the /stall/... requests (waiting, and every later one) be answered."""
        self.httpd.gate.set()

    def headers_of(self, path: str) -> list[dict]:
        with self.httpd.lock:
            return [h for p, _, h in self.httpd.log if p == path]

    def __enter__(self) -> "FaultServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
        self.httpd.shutdown()
        self.httpd.server_close()
