"""Measure what a run's Parquet outputs contain: documents, links, the fetch log, dedup clusters.

Every profile streams its shards batch by batch (never the whole corpus in memory, except
one ``uint32`` word count per document for exact length percentiles) and returns plain,
JSON-ready dicts. Counts that are ranked are lists of ``[key, count]`` sorted by count
(descending) then key, so the same input always gives the same output.

Definitions (documented in ``docs/stages/datacard.md``):

* **words**: maximal runs of non-whitespace characters, with exactly Python's ``str.split()``
  notion of whitespace (Unicode White_Space plus the ASCII separators ``\\x1c``-``\\x1f``);
* **bytes**: length of the text in UTF-8; **chars**: Unicode code points;
* a missing ``domain`` / ``language`` is counted under ``"(unknown)"``.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections import Counter
from typing import Any, Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpus_tools.shards import expand_paths

UNKNOWN = "(unknown)"
PERCENTILES = (1, 5, 25, 50, 75, 95, 99)

# --------------------------------------------------------------------------- reading
def _open_parquet(path: str) -> pq.ParquetFile:
    if "://" in path and not path.startswith("file://"):
        import fsspec

        return pq.ParquetFile(fsspec.open(path, "rb").open())
    return pq.ParquetFile(path)


def iter_batches(paths: Iterable[str], columns: list[str], batch_size: int = 8192) -> Iterator[pa.RecordBatch]:
    """Record batches of ``columns`` from every shard; a column a shard lacks comes back all-null."""
    for path in paths:
        pf = _open_parquet(path)
        present = [c for c in columns if c in pf.schema_arrow.names]
        for batch in pf.iter_batches(batch_size=batch_size, columns=present):
            if len(present) == len(columns):
                yield batch
                continue
            arrays = [batch.column(c) if c in present else pa.nulls(batch.num_rows) for c in columns]
            yield pa.RecordBatch.from_arrays(arrays, names=columns)


def parquet_paths(folder: str) -> list[str]:
    """The ``*.parquet`` shards directly inside ``folder``; [] when the folder does not exist."""
    try:
        return expand_paths(folder)
    except FileNotFoundError:
        return []


# --------------------------------------------------------------------------- counting helpers
def word_counts(texts: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Words per text (``len(text.split())`` for every text), as int64; null texts count 0."""
    # str.split in a comprehension beats Arrow's RE2 count (~4x) and is the definition itself.
    return np.fromiter((len(t.split()) if t else 0 for t in texts.to_pylist()), dtype=np.int64, count=len(texts))


def _value_counts(column: pa.Array, into: Counter) -> None:
    for item in pc.value_counts(column).to_pylist():
        key = item["values"]
        into[UNKNOWN if key is None or key == "" else str(key)] += int(item["counts"])


def ranked(counter: Counter | dict, top_k: int | None = None) -> list[list[Any]]:
    """``[[key, count], ...]`` by count descending, then key; at most ``top_k`` entries."""
    items = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    if top_k is not None:
        items = items[:top_k]
    return [[k, int(v)] for k, v in items]


def pow2_bin(values: np.ndarray) -> np.ndarray:
    """Bin index of each non-negative integer: 0 for 0, else k with 2**(k-1) <= v < 2**k."""
    v = np.asarray(values, dtype=np.int64)
    out = np.zeros(v.shape, dtype=np.int64)
    pos = v > 0
    out[pos] = np.floor(np.log2(v[pos])).astype(np.int64) + 1
    return out


def pow2_histogram(bin_counts: np.ndarray) -> list[dict[str, int]]:
    """``[{"lo", "hi", "count"}]`` (inclusive bounds) from per-bin counts of :func:`pow2_bin`."""
    out = []
    for k, n in enumerate(bin_counts.tolist()):
        lo, hi = (0, 0) if k == 0 else (2 ** (k - 1), 2**k - 1)
        out.append({"lo": lo, "hi": hi, "count": int(n)})
    # trim empty bins at both ends, keep the ones in between (a histogram has no holes)
    while out and out[-1]["count"] == 0:
        out.pop()
    while out and out[0]["count"] == 0:
        out.pop(0)
    return out


def _add_bins(acc: np.ndarray, bins: np.ndarray) -> np.ndarray:
    counts = np.bincount(bins, minlength=len(acc)) if len(bins) else np.zeros(len(acc), dtype=np.int64)
    if len(counts) > len(acc):
        acc = np.concatenate([acc, np.zeros(len(counts) - len(acc), dtype=np.int64)])
    acc[: len(counts)] += counts
    return acc


def summary(values: np.ndarray) -> dict[str, Any]:
    """min, max, mean and the :data:`PERCENTILES` (linear interpolation) of ``values``."""
    if len(values) == 0:
        return {"min": None, "max": None, "mean": None, "percentiles": {}}
    v = np.asarray(values, dtype=np.float64)
    pct = np.percentile(v, PERCENTILES)
    return {
        "min": int(v.min()),
        "max": int(v.max()),
        "mean": round(float(v.mean()), 3),
        "percentiles": {f"p{p}": round(float(x), 3) for p, x in zip(PERCENTILES, pct)},
    }


# --------------------------------------------------------------------------- times
# ISO 8601 date and time with an optional fraction and UTC offset: WARC-Date, the fetch log's fetched_at
_ISO_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d+|,\d+)?(Z|[+-]\d{2}:?\d{2})?")


def parse_time(ts: Any) -> _dt.datetime | None:
    """An ISO 8601 time string (WARC-Date, ``fetched_at``) as an aware UTC datetime; None when unreadable.

    A fraction of a second is kept (to the microsecond), an offset converted to UTC, no offset
    read as UTC."""
    if not isinstance(ts, str) or not (m := _ISO_TIME.fullmatch(ts.strip())):
        return None
    date, clock, frac, offset = m.groups()
    offset = "+00:00" if offset in (None, "Z") else offset[:3] + ":" + offset[-2:]
    micro = frac[1:7].ljust(6, "0") if frac else "000000"
    try:  # Python 3.10 reads no "Z" nor an odd-length fraction
        return _dt.datetime.fromisoformat(f"{date}T{clock}.{micro}{offset}").astimezone(_dt.timezone.utc)
    except (ValueError, OverflowError):  # a month 13, an offset past 24 h, a year past 9999 in UTC
        return None


class TimeSpan:
    """The earliest and latest of a stream of time strings, compared as times, not as strings
    (``"2020-01-01T12:00:00+02:00"`` is before ``"2020-01-01T11:00:00Z"``). The extremes are kept
    as written. Values that cannot be read as times are counted in ``unreadable`` and are never
    the first or last (they cannot be placed in time)."""

    def __init__(self) -> None:
        self.first: str | None = None
        self.last: str | None = None
        self._lo: _dt.datetime | None = None
        self._hi: _dt.datetime | None = None
        self.unreadable = 0

    def add(self, times: pa.Array | pa.ChunkedArray) -> None:
        """Add an Arrow array of strings (nulls skipped)."""
        counts = pc.value_counts(pc.drop_null(times))
        for value, n in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()):
            t = parse_time(value)
            if t is None:
                self.unreadable += n
                continue
            if self._lo is None or t < self._lo or (t == self._lo and value < self.first):
                self._lo, self.first = t, value
            if self._hi is None or t > self._hi or (t == self._hi and value > self.last):
                self._hi, self.last = t, value


# --------------------------------------------------------------------------- profiles
def profile_documents(paths: list[str], top_k: int = 20) -> dict[str, Any]:
    """Documents, words, bytes, chars, length distribution, top domains and languages (DOC_SCHEMA),
    and the capture time span: the earliest and latest ``fetch_time`` (each document's WARC-Date,
    ISO 8601 strings, compared as times: see :class:`TimeSpan`) and how many documents have one
    (``unreadable_times``, only when there are any: how many of those are not times)."""
    words_total = bytes_total = chars_total = timed = 0
    span = TimeSpan()
    domains: Counter = Counter()
    languages: Counter = Counter()
    lang_words: Counter = Counter()
    lang_chars: Counter = Counter()
    bins = np.zeros(1, dtype=np.int64)
    lengths: list[np.ndarray] = []
    for batch in iter_batches(paths, ["text", "domain", "language", "fetch_time"]):
        text = batch.column(0)
        timed += len(batch.column(3)) - batch.column(3).null_count
        span.add(batch.column(3))
        w = word_counts(text)
        lengths.append(w.astype(np.uint32))
        words_total += int(w.sum())
        bytes_total += int(pc.sum(pc.binary_length(text)).as_py() or 0)
        chars = pc.utf8_length(text)
        chars_total += int(pc.sum(chars).as_py() or 0)
        bins = _add_bins(bins, pow2_bin(w))
        _value_counts(batch.column(1), domains)
        by_lang = (pa.table({"lang": batch.column(2), "w": w, "c": pc.fill_null(chars, 0)}).group_by("lang")
                   .aggregate([("w", "sum"), ("w", "count"), ("c", "sum")]))
        for lang, n_words, n_docs, n_chars in zip(*(by_lang.column(c).to_pylist()
                                                    for c in ("lang", "w_sum", "w_count", "c_sum"))):
            key = lang if lang else UNKNOWN
            languages[key] += n_docs
            lang_words[key] += n_words
            lang_chars[key] += n_chars
    all_lengths = np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.uint32)
    return {
        "documents": int(len(all_lengths)),
        "words": words_total,
        "bytes": bytes_total,
        "chars": chars_total,
        "length_words": {"histogram": pow2_histogram(bins), **summary(all_lengths)},
        "distinct_domains": len(domains),
        "top_domains": ranked(domains, top_k),
        # [language, documents, words, characters]: whitespace words undercount Chinese and Japanese,
        # written without spaces, so the characters are given too
        "languages": [[k, n, int(lang_words[k]), int(lang_chars[k])] for k, n in ranked(languages)],
        "capture_times": {"documents_with_time": timed, "first": span.first, "last": span.last,
                          **({"unreadable_times": span.unreadable} if span.unreadable else {})},
    }


def profile_links(paths: list[str], top_k: int = 20) -> dict[str, Any]:
    """Links, posts, karma, time span, top subreddits and domains (LINK_SCHEMA)."""
    n = posts = karma = 0
    subreddits: Counter = Counter()
    domains: Counter = Counter()
    first: int | None = None
    last: int | None = None
    for batch in iter_batches(paths, ["domain", "subreddits", "n_posts", "score_sum", "first_seen", "last_seen"]):
        n += batch.num_rows
        posts += int(pc.sum(batch.column(2)).as_py() or 0)
        karma += int(pc.sum(batch.column(3)).as_py() or 0)
        _value_counts(batch.column(0), domains)
        subs = batch.column(1)
        if pa.types.is_list(subs.type) or pa.types.is_large_list(subs.type):
            _value_counts(pc.list_flatten(subs), subreddits)
        lo, hi = pc.min(batch.column(4)).as_py(), pc.max(batch.column(5)).as_py()
        first = lo if first is None or (lo is not None and lo < first) else first
        last = hi if last is None or (hi is not None and hi > last) else last
    return {
        "links": n,
        "posts": posts,
        "score_sum": karma,
        "first_seen": first,
        "last_seen": last,
        "distinct_domains": len(domains),
        "distinct_subreddits": len(subreddits),
        "top_subreddits": ranked(subreddits, top_k),
        "top_domains": ranked(domains, top_k),
    }


def profile_fetch_log(paths: list[str]) -> dict[str, Any]:
    """Fetch outcomes by reason and HTTP status, bytes, truncations, time span (FETCH_LOG_SCHEMA):
    the earliest and latest ``fetched_at``, compared as times (see :class:`TimeSpan`;
    ``unreadable_times``, only when there are any: values that are not times)."""
    n = nbytes = truncated = 0
    reasons: Counter = Counter()
    statuses: Counter = Counter()
    span = TimeSpan()
    for batch in iter_batches(paths, ["reason", "status", "bytes", "truncated", "fetched_at"]):
        n += batch.num_rows
        _value_counts(batch.column(0), reasons)
        _value_counts(batch.column(1), statuses)
        nbytes += int(pc.sum(batch.column(2)).as_py() or 0)
        truncated += int(pc.sum(pc.cast(pc.fill_null(batch.column(3), False), pa.int64())).as_py() or 0)
        span.add(batch.column(4))
    return {
        "urls": n,
        "reasons": ranked(reasons),
        "statuses": ranked(statuses),
        "bytes": nbytes,
        "truncated": truncated,
        "first_fetch": span.first,
        "last_fetch": span.last,
        **({"unreadable_times": span.unreadable} if span.unreadable else {}),
    }


def profile_clusters(paths: list[str]) -> dict[str, Any]:
    """Duplicate clusters: count, by kind, documents covered and removed, size histogram (CLUSTER_SCHEMA)."""
    kinds: dict[str, dict[str, int]] = {}
    sizes: list[np.ndarray] = []
    sim_sum, sim_n = 0.0, 0
    kind_sims: dict[str, list] = {}  # kind -> [sum, count] of the clusters' similarity
    for batch in iter_batches(paths, ["size", "kind", "similarity", "members"]):
        size = batch.column(0)
        if size.null_count and batch.column(3).null_count < batch.num_rows:
            size = pc.coalesce(size, pc.list_value_length(batch.column(3)))
        s = np.asarray(pc.fill_null(size, 1).to_numpy(zero_copy_only=False), dtype=np.int64)
        sizes.append(s)
        sim = pc.drop_null(batch.column(2))
        sim_sum += float(pc.sum(sim).as_py() or 0.0)
        sim_n += len(sim)
        by_kind = pa.table({"kind": batch.column(1), "s": s, "sim": batch.column(2)}).group_by("kind").aggregate(
            [("s", "sum"), ("s", "count"), ("sim", "sum"), ("sim", "count")])
        for kind, docs, n, ksum, kn in zip(*(by_kind.column(c).to_pylist()
                                             for c in ("kind", "s_sum", "s_count", "sim_sum", "sim_count"))):
            d = kinds.setdefault(kind or UNKNOWN, {"clusters": 0, "documents": 0, "removed": 0})
            d["clusters"] += n
            d["documents"] += docs
            d["removed"] += docs - n
            k = kind_sims.setdefault(kind or UNKNOWN, [0.0, 0])
            k[0] += float(ksum or 0.0)
            k[1] += kn
    for kind, (ksum, kn) in kind_sims.items():  # per kind: exact duplicates' 1.0 is not mixed into the near ones'
        kinds[kind]["mean_similarity"] = round(ksum / kn, 4) if kn else None
    s = np.concatenate(sizes) if sizes else np.zeros(0, dtype=np.int64)
    bins = _add_bins(np.zeros(1, dtype=np.int64), pow2_bin(s))
    return {
        "clusters": int(len(s)),
        "documents": int(s.sum()),
        "removed": int((s - 1).sum()),
        "max_size": int(s.max()) if len(s) else None,
        "mean_size": round(float(s.mean()), 3) if len(s) else None,
        "mean_similarity": round(sim_sum / sim_n, 4) if sim_n else None,
        "by_kind": {k: kinds[k] for k in sorted(kinds)},
        "size_histogram": pow2_histogram(bins),
    }
