"""Keys for exact dedup: a hash of the normalised text, and a normalised URL.

Two documents are exact duplicates when their normalised texts are equal (Unicode NFKC,
lower-case, every run of punctuation/whitespace collapsed to one space), and URL duplicates
when their URLs are equal after :func:`url_key` (the same page reached through different
sources, e.g. a Reddit link and a Common Crawl record).
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit, urlunsplit

import xxhash

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalize_text(text: str | None) -> str:
    """NFKC, lower-case, punctuation dropped, whitespace collapsed."""
    t = unicodedata.normalize("NFKC", text or "").lower()
    return " ".join(_NON_WORD.sub(" ", t).split())


def text_hash(text: str | None) -> str:
    """Stable 128-bit hash (32 hex chars) of :func:`normalize_text`; equal for exact duplicates."""
    return xxhash.xxh3_128_hexdigest(normalize_text(text).encode("utf-8", "surrogatepass"))


def url_key(url: str | None) -> str | None:
    """The URL with scheme and host lower-cased, ``www.``, default ports, the fragment and a
    trailing ``/`` removed, and ``http``/``https`` treated alike; None for a missing or unparsable URL."""
    if not url or not url.strip():
        return None
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return None
    if not host:
        return None
    if host.startswith("www."):
        host = host[4:]
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        scheme = "http"
        if port in (80, 443):
            port = None
    netloc = host if port is None else f"{host}:{port}"
    path = parts.path.rstrip("/")
    return urlunsplit((scheme, netloc, path, parts.query, ""))
