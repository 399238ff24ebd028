"""URL canonicalisation of a whole batch at once, in Arrow kernels (the links reader's hot path).

:func:`canonical_batch` gives, for every URL of the common shape (``http(s)://host/path?query``
with no port, user info, fragment, dot segment or character that needs percent-encoding work),
exactly what :func:`corpus_tools.urls.canonical_parts` gives, plus its drop reason (bad host,
blocked domain, non-page extension), computed over the whole batch with Arrow's C++ string
kernels instead of a Python function call per URL. Hosts are resolved once per distinct host
by the caller's ``host_verdict``. Every other URL is left to the caller (``None``), who runs
:func:`corpus_tools.urls.canonical_parts` on it; the two paths agree URL for URL (tested on
every URL of the test tables and the real dumps).
"""

from __future__ import annotations

import functools
import re
from typing import Callable, Collection, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpus_tools.urls import REDDIT_ESCAPES, SIMPLE_URL_PATTERN, TRACKING_PARAMS, TRACKING_PREFIXES

_SIMPLE = "^" + SIMPLE_URL_PATTERN + "$"  # RE2: "$" is the end of the text (Python's \Z)
_TRACKING = pa.array(sorted(TRACKING_PARAMS), pa.string())


@functools.lru_cache(maxsize=8)
def _extension_pattern(extensions: frozenset[str]) -> str:
    """A last path segment ``name.ext`` (a character at least before the last dot, as
    ``urls.url_extension``) whose ``ext`` is one of ``extensions``."""
    if not extensions:
        return r"[^\s\S]"  # matches nothing
    return r"/[^/]+\.(?:" + "|".join(re.escape(e) for e in sorted(extensions)) + r")$"


HostVerdict = Callable[[str], "tuple[str, str | None]"]  # raw host -> (canonical host, drop reason or None)


def _canonical_query(query: pa.Array) -> pa.Array:
    """Tracking parameters and empty pieces dropped, the rest sorted and joined with ``&``."""
    pieces = pc.split_pattern(query, "&")
    parent = pc.list_parent_indices(pieces)
    flat = pc.list_flatten(pieces)
    key = pc.utf8_lower(pc.list_element(pc.split_pattern(flat, "=", max_splits=1), 0))
    tracking = pc.is_in(key, value_set=_TRACKING)
    for prefix in TRACKING_PREFIXES:
        tracking = pc.or_(tracking, pc.starts_with(key, prefix))
    kept = pa.table({"row": parent, "piece": flat}).filter(pc.and_(pc.not_equal(flat, ""), pc.invert(tracking)))
    kept = kept.sort_by([("row", "ascending"), ("piece", "ascending")])  # bytes order = code point order
    # row i's pieces start after those of rows < i
    offsets = np.searchsorted(kept.column("row").to_numpy(), np.arange(len(query) + 1)).astype(np.int32)
    lists = pa.ListArray.from_arrays(pa.array(offsets), kept.column("piece").combine_chunks())
    return pc.binary_join(lists, "&")


def canonical_batch(urls: Sequence[str], host_verdict: HostVerdict,
                    blocked_extensions: Collection[str]) -> tuple[list[str | None], list[str | None]]:
    """``(canonical URLs, drop reasons)``, one of each per URL.

    A URL of the common shape gets its canonical form (as ``canonical_parts``) and its reason:
    ``host_verdict``'s reason for its host (``bad_url``, ``blocked_domain:<list>``), else
    ``bad_extension`` when its path ends in one of ``blocked_extensions``, else None. Any other
    URL gets ``(None, None)``: the caller canonicalises it one by one.
    """
    n = len(urls)
    if n == 0:
        return [], []
    try:
        raw = pa.array(urls, pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeError):  # e.g. a lone surrogate: leave all to Python
        return [None] * n, [None] * n
    if pc.any(pc.match_substring(raw, "&")).as_py():
        for escaped, plain in REDDIT_ESCAPES:
            raw = pc.replace_substring(raw, escaped, plain)
    parts = pc.extract_regex(raw, _SIMPLE)
    simple = pc.is_valid(parts)
    path = pc.struct_field(parts, "path")
    simple = pc.and_(simple, pc.invert(pc.match_substring(path, "/.")))  # dot segments: left to Python
    rows = pc.indices_nonzero(simple)
    if len(rows) == 0:
        return [None] * n, [None] * n
    parts = parts.filter(simple)
    scheme, host, path, query = (pc.struct_field(parts, name) for name in ("scheme", "host", "path", "query"))
    # hosts: once per distinct spelling, by the caller
    hosts = host.dictionary_encode()
    verdicts = [host_verdict(h) for h in hosts.dictionary.to_pylist()]
    canon_host = pa.array([v[0] for v in verdicts], pa.string()).take(hosts.indices)
    host_reason = pa.array([v[1] for v in verdicts], pa.string()).take(hosts.indices)
    # path: "" -> "/", trailing slashes dropped
    path = pc.replace_substring_regex(path, "/+$", "")
    path = pc.if_else(pc.equal(path, ""), "/", path)
    query = _canonical_query(query)
    query = pc.if_else(pc.equal(query, ""), "", pc.binary_join_element_wise("?", query, ""))
    canon = pc.binary_join_element_wise(scheme, "://", canon_host, path, query, "")
    bad_ext = pc.match_substring_regex(path, _extension_pattern(frozenset(blocked_extensions)), ignore_case=True)
    reason = pc.if_else(pc.and_(pc.is_null(host_reason), bad_ext), "bad_extension", host_reason)
    out_canon: list[str | None] = [None] * n
    out_reason: list[str | None] = [None] * n
    for i, u, r in zip(rows.to_pylist(), canon.to_pylist(), reason.to_pylist()):
        out_canon[i] = u
        out_reason[i] = r
    return out_canon, out_reason
