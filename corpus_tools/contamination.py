"""Benchmark contamination: test-set readers, the GPT-2/GPT-3 overlap report, decontamination.

* GPT-2 §4: the share of each test set's 8-grams (after ``corpus_tools.ngrams``
  normalisation) found in a Bloom filter of the training set's 8-grams.
* GPT-3 App. C: per benchmark ``N`` = the 5th-percentile example length in words, clamped
  to [8, 13]; an example is *dirty* when any of its N-grams occurs in the training set,
  *clean* otherwise. GPT-3-style decontamination removes each colliding 13-gram with 200
  characters either side from the training documents.

All n-gram work goes through :mod:`corpus_tools.ngrams` so the filter, the report and the
decontamination agree on what an n-gram is.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import pyarrow as pa

from corpus_tools.bloom import BloomFilter, BloomHashError, PartitionedBloom, open_bloom, partition_of
from corpus_tools.document_check import InvalidDocument, conform_document, document_text
from corpus_tools.ngrams import HASH_ID, V1_HASH_ID, NgramHasher, unique_pairs, word_spans, words
from corpus_tools.recipe import ContaminationConfig
from corpus_tools.rundir import run_folder_owner
from corpus_tools.schema import make_doc_id

NORMALISATION = ("lower-cased str.isalnum() words, each CJK character a word of its own, separated by single "
                 "spaces (corpus_tools.ngrams)")


class BenchmarkError(ValueError):
    """A benchmark spec or file that cannot be read."""


# ---------------------------------------------------------------------- test-set readers
_WIKITEXT_HEADING = re.compile(r"^\s*(=\s+)+.*?(\s+=)+\s*$")

# name prefix -> how that benchmark's files are read when the spec gives no FIELD
PRESETS: dict[str, dict[str, Any]] = {
    "wikitext": {"format": "lines", "skip": _WIKITEXT_HEADING,
                 "doc": "WikiText raw/tokenised files: one example per non-empty paragraph line; '= Heading =' lines skipped"},
    "ptb": {"format": "lines", "doc": "Penn Treebank (Mikolov): one sentence per line"},
    "lambada": {"format": "jsonl", "field": "text", "doc": "LAMBADA JSONL: the `text` field (passage + target word)"},
    "cbt": {"format": "lines", "doc": "Children's Book Test: one line per example"},
    "enwik8": {"format": "lines", "doc": "enwik8/text8: one example per line"},
    "text8": {"format": "lines", "doc": "enwik8/text8: one example per line"},
}


@dataclass
class Benchmark:
    name: str
    path: str
    examples: list[tuple[str, str]]  # (example id, text)
    source_format: str = ""


def parse_bench_spec(spec: str) -> tuple[str, str, str | None]:
    """``NAME=PATH[:FIELD]`` -> (name, path, field). ``gs://`` and other URLs keep their colon."""
    if "=" not in spec:
        raise BenchmarkError(f"benchmark {spec!r}: expected NAME=PATH[:FIELD]")
    name, rest = spec.split("=", 1)
    name = name.strip()
    if not name or not re.fullmatch(r"[A-Za-z0-9_.\-]+", name):
        raise BenchmarkError(f"benchmark {spec!r}: NAME must be letters, digits, '_', '-' or '.'")
    fld = None
    if ":" in rest and not os.path.exists(rest):  # a local path may itself contain ':'
        head, tail = rest.rsplit(":", 1)
        if tail and "/" not in tail and "\\" not in tail and head:  # URL colons are followed by "//"
            rest, fld = head, tail
    if not rest:
        raise BenchmarkError(f"benchmark {spec!r}: empty PATH")
    return name, rest, fld


def preset_for(name: str) -> dict[str, Any] | None:
    key = re.sub(r"[^a-z0-9]", "", name.lower())
    for prefix, preset in PRESETS.items():
        if key.startswith(prefix):
            return preset
    return None


def _open_text(path: str) -> io.TextIOBase:
    if "://" in path and not path.startswith("file://"):
        import fsspec

        return fsspec.open(path, "rt", encoding="utf-8", compression="infer").open()
    if path.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def _list_folder(path: str) -> list[str]:
    out = []
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for f in sorted(files):
            if not f.startswith((".", "_")):
                out.append(os.path.join(root, f))
    return out


def _get_field(obj: Any, fld: str) -> Any:
    for part in fld.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " ".join(v if isinstance(v, str) else json.dumps(v) for v in value)
    return str(value)


def _file_format(path: str) -> str:
    p = path[:-3] if path.endswith(".gz") else path
    if p.endswith((".jsonl", ".json", ".ndjson")):
        return "jsonl"
    if p.endswith(".parquet"):
        return "parquet"
    return "lines"


def read_examples(path: str, fld: str | None = None, preset: dict[str, Any] | None = None,
                  label: str | None = None) -> tuple[list[tuple[str, str]], str]:
    """Examples ``(id, text)`` of one file (or every file of a folder, in sorted order)."""
    if os.path.isdir(path):
        examples: list[tuple[str, str]] = []
        fmts = set()
        for f in _list_folder(path):
            ex, fmt = read_examples(f, fld, preset, label=os.path.relpath(f, path))
            examples.extend(ex)
            fmts.add(fmt)
        if not examples and not fmts:
            raise BenchmarkError(f"{path}: folder holds no files")
        return examples, "folder of " + ", ".join(sorted(fmts))
    label = label or os.path.basename(path)
    preset = preset or {}
    fmt = _file_format(path)
    if fmt == "lines" and preset.get("format") == "jsonl":
        fmt = "jsonl"
    out: list[tuple[str, str]] = []
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            col = fld or preset.get("field") or "text"
            table = pq.read_table(path)
            if col not in table.column_names:
                raise BenchmarkError(f"{path}: no column {col!r} (columns: {', '.join(table.column_names)})")
            ids = table.column("id").to_pylist() if "id" in table.column_names else None
            for i, v in enumerate(table.column(col).to_pylist()):
                text = _as_text(v)
                if text is not None:
                    out.append((f"{label}:{ids[i] if ids else i}", text))
            return out, f"parquet:{col}"
        with _open_text(path) as fh:
            if fmt == "jsonl":
                col = fld or preset.get("field") or "text"
                for lineno, line in enumerate(fh, 1):
                    if not line.strip():
                        continue
                    try:
                        obj = json.loads(line)
                    except ValueError as e:
                        raise BenchmarkError(f"{path}:{lineno}: not JSON ({e})") from None
                    text = _as_text(_get_field(obj, col))
                    if text is None:
                        raise BenchmarkError(f"{path}:{lineno}: no field {col!r}")
                    eid = obj.get("id", lineno) if isinstance(obj, dict) else lineno
                    out.append((f"{label}:{eid}", text))
                return out, f"jsonl:{col}"
            if fld:
                raise BenchmarkError(f"{path}: FIELD {fld!r} given for a plain-text file")
            skip = preset.get("skip")
            for lineno, line in enumerate(fh, 1):
                if not line.strip() or (skip is not None and skip.match(line)):
                    continue
                out.append((f"{label}:{lineno}", line.rstrip("\n")))
            return out, "lines"
    except FileNotFoundError:
        raise BenchmarkError(f"{path}: no such file") from None
    except UnicodeDecodeError as e:
        raise BenchmarkError(f"{path}: not UTF-8 text ({e})") from None


def read_benchmark(spec: str) -> Benchmark:
    """Read a test set given as ``NAME=PATH[:FIELD]`` (plain text, JSONL, Parquet or a folder)."""
    name, path, fld = parse_bench_spec(spec)
    if not ("://" in path or os.path.exists(path)):
        raise BenchmarkError(f"benchmark {name}: {path}: no such file or folder")
    try:
        examples, fmt = read_examples(path, fld, preset_for(name))
    except (OSError, UnicodeDecodeError, pa.ArrowException) as e:  # a corrupt Parquet file, unreadable bytes...
        raise BenchmarkError(f"benchmark {name}: {path}: cannot be read: {e}") from None
    if not examples:  # as an empty corpus is refused: nothing looked up is not 0% contamination
        raise BenchmarkError(f"benchmark {name}: {path}: no examples (it is empty, or blank lines only); "
                             f"an empty test set cannot be checked")
    return Benchmark(name=name, path=path, examples=examples, source_format=fmt)


# ---------------------------------------------------------------------- building the filter
def count_corpus_ngrams(texts: Iterable[str], n: int) -> int:
    """Number of n-gram positions in a corpus (an upper bound on its distinct n-grams)."""
    return sum(max(0, len(words(t)) - n + 1) for t in texts if isinstance(t, str))


def _batches(texts: Iterable[str], size: int) -> Iterator[list[str]]:
    """Texts in lists of ``size``; missing texts (None) are skipped."""
    batch: list[str] = []
    for t in texts:
        if not isinstance(t, str):
            continue
        batch.append(t)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def partition_capacity(capacity: int, partitions: int) -> int:
    """Capacity of one of ``partitions`` hash-prefix partitions: the mean share plus four
    binomial standard deviations, so the per-partition FPR bound holds."""
    if partitions <= 1:
        return max(1, capacity)
    mean = capacity / partitions
    return max(1, math.ceil(mean + 4 * math.sqrt(mean) + 1))


def build_bloom(texts: Callable[[], Iterable[str]], out_dir: str | None, n: int = 8, fpr: float = 1e-8,
                capacity: int | None = None, partitions: int = 1, batch_docs: int = 256,
                meta: dict[str, Any] | None = None) -> dict[str, Any] | list[BloomFilter]:
    """Build the n-gram Bloom filter of a corpus, partition by partition.

    ``texts()`` returns a fresh iterable of document texts each time it is called (one
    pass to count n-grams when ``capacity`` is None, then one pass per partition; only
    one partition is in memory at a time). Writes ``out_dir`` (manifest + partitions) and
    returns the manifest; with ``out_dir=None`` returns the filters instead.
    """
    if capacity is None:
        capacity = count_corpus_ngrams(texts(), n)
    hasher = NgramHasher()
    cap = partition_capacity(capacity, partitions)
    filters, parts = [], []
    for p in range(partitions):
        f = BloomFilter.create(cap, fpr, HASH_ID, meta={"n": n, "partition": p, "partitions": partitions})
        for batch in _batches(texts(), batch_docs):
            h1, h2, _ = hasher.hash_texts(batch, n)
            if partitions > 1:
                sel = partition_of(h2, partitions) == p
                h1, h2 = h1[sel], h2[sel]
            f.add_hashes(h1, h2)
        if out_dir is None:
            filters.append(f)
        else:
            parts.append(PartitionedBloom.write_part(out_dir, p, partitions, f))
            del f  # only one partition in memory at a time
    if out_dir is None:
        return filters
    return PartitionedBloom.write_manifest(out_dir, parts, meta=bloom_manifest_meta(n, capacity, meta))


def open_ngram_bloom(path: str) -> PartitionedBloom | BloomFilter:
    """The n-gram Bloom filter at ``path`` (a ``webtext bloom build`` folder, a run's ``bloom/``, or a
    ``.bloom`` file), checked to hash n-grams as this code does (``HASH_ID``): one built otherwise
    (by an older webtext) is refused with :func:`rebuild_message`, never queried with other hashes."""
    try:
        return open_bloom(path, expected_hash_id=HASH_ID)
    except BloomHashError as e:
        raise BloomHashError(rebuild_message(path, e.found), e.found, e.expected) from None


def rebuild_message(path: str, found: str | None) -> str:
    """One line: the filter at ``path`` hashes n-grams as ``found``, not as this code; the command
    that rebuilds it (the run's, when ``path`` is a run directory's ``bloom/``)."""
    why = (" (an older webtext's, for which a run of Chinese or Japanese characters was one word)"
           if found == V1_HASH_ID else "")
    owner = run_folder_owner(path)
    if owner is not None and owner[1] == "bloom" and not owner[3]:
        redo = f"webtext run --out {owner[0].root} --stages bloom,contamination --force bloom"
    else:
        redo = f"webtext bloom build --input DOCS --out {path if not path.endswith('.bloom') else 'BLOOM'}"
    return (f"{path}: this Bloom filter's n-grams were hashed as {found!r}{why}, this webtext hashes them as "
            f"{HASH_ID!r}, so its answers would be wrong; rebuild it with `{redo}`")


def bloom_manifest_meta(n: int, capacity: int, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"n": n, "normalisation": NORMALISATION, "capacity_total": capacity, **(meta or {})}


# ---------------------------------------------------------------------- self-check
def self_check(bloom: PartitionedBloom | BloomFilter, queries: int = 1_000_000, seed: int = 1234,
               n: int | None = None) -> dict[str, Any]:
    """GPT-2-style self-check: query ``queries`` random n-grams that are certainly absent
    (words of 12 random letters from a seeded generator) and count false positives."""
    n = n or _bloom_n(bloom)
    rng = np.random.default_rng(seed)
    vocab_size = 50_000
    letters = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
    vocab = [bytes(row).decode() for row in letters[rng.integers(0, 26, size=(vocab_size, 12))]]
    hasher = NgramHasher()
    h1s, h2s = [], []
    done = 0
    while done < queries:
        b = min(65536, queries - done)
        rows = rng.integers(0, vocab_size, size=(b, n))
        h1, h2 = hasher.hash_id_rows(vocab, rows)
        h1s.append(h1)
        h2s.append(h2)
        done += b
    # one query call, so a partitioned filter loads each partition once
    fp = int(bloom.contains_hashes(np.concatenate(h1s), np.concatenate(h2s)).sum()) if h1s else 0
    return {"queries": queries, "false_positives": fp, "empirical_fpr": fp / queries, "seed": seed}


def _bloom_n(bloom: PartitionedBloom | BloomFilter) -> int:
    if isinstance(bloom, PartitionedBloom):
        return int(bloom.manifest["n"])
    return int(bloom.meta.get("n", 8))


def bloom_summary(bloom: PartitionedBloom | BloomFilter) -> dict[str, Any]:
    if isinstance(bloom, PartitionedBloom):
        m = bloom.manifest
        return {"n": int(m["n"]), "fpr": m.get("fpr_target"), "fpr_estimated": m.get("fpr_estimated"),
                "distinct_ngrams": m.get("distinct_estimate"), "partitions": m.get("partitions"),
                "bytes": m.get("bytes"), "hash_id": m.get("hash_id")}
    d = bloom.describe()
    return {"n": _bloom_n(bloom), "fpr": d["fpr_target"], "fpr_estimated": d["fpr_estimated"],
            "distinct_ngrams": d["distinct_estimate"], "partitions": 1, "bytes": d["bytes"], "hash_id": d["hash_id"]}


# ---------------------------------------------------------------------- exact second pass
class HashSet:
    """A sorted set of 128-bit hashes with vectorised membership."""

    def __init__(self, h1: np.ndarray, h2: np.ndarray):
        self.h1, self.h2 = unique_pairs(np.asarray(h1, np.uint64), np.asarray(h2, np.uint64))
        self._dup_h1 = len(self.h1) > 1 and bool((self.h1[1:] == self.h1[:-1]).any())
        self._pairs = set(zip(self.h1.tolist(), self.h2.tolist())) if self._dup_h1 else None

    def __len__(self) -> int:
        return len(self.h1)

    def index(self, h1: np.ndarray, h2: np.ndarray) -> np.ndarray:
        """Position of each query in the set, -1 when absent."""
        out = np.full(len(h1), -1, dtype=np.int64)
        if len(self.h1) == 0 or len(h1) == 0:
            return out
        i = np.searchsorted(self.h1, h1)
        i = np.minimum(i, len(self.h1) - 1)
        hit = (self.h1[i] == h1) & (self.h2[i] == h2)
        out[hit] = i[hit]
        if self._dup_h1:  # several set members share an h1 (astronomically rare): check exactly
            j = np.flatnonzero(~hit & (self.h1[i] == h1))
            for q in j:
                lo = np.searchsorted(self.h1, h1[q], "left")
                hi = np.searchsorted(self.h1, h1[q], "right")
                for r in range(lo, hi):
                    if self.h2[r] == h2[q]:
                        out[q] = r
        return out

    def contains(self, h1: np.ndarray, h2: np.ndarray) -> np.ndarray:
        return self.index(h1, h2) >= 0


def candidate_hits(texts: list[str], candidates: dict[int, HashSet],
                   hasher: NgramHasher | None = None) -> dict[int, np.ndarray]:
    """For a batch of texts: per n, the indices (sorted, unique) of the candidate n-grams they contain."""
    hasher = hasher or NgramHasher()
    lists = [words(t) for t in texts]
    out: dict[int, np.ndarray] = {}
    for n, cand in candidates.items():
        if not len(cand):
            continue
        h1, h2, _ = hasher.hash_word_lists(lists, n)
        idx = cand.index(h1, h2)
        out[n] = np.unique(idx[idx >= 0])
    return out


class LocalMembership:
    """The exact pass in this process: ``membership(candidates)`` streams ``corpus()`` (texts;
    ``None`` skipped) and answers, per n, which candidate n-grams really occur. After a call,
    ``documents`` is the number of texts read. The Beam version, with the same interface, is
    ``pipelines.exact_overlap.CorpusMembership``.

    Comparison is on the 128-bit n-gram hashes (a collision between two different n-grams
    has probability ~ pairs / 2**128, i.e. none in practice)."""

    def __init__(self, corpus: Callable[[], Iterable[str]], batch_docs: int = 256):
        self.corpus, self.batch_docs = corpus, batch_docs
        self.documents: int | None = None

    def __call__(self, candidates: dict[int, HashSet]) -> dict[int, np.ndarray]:
        found = {n: np.zeros(len(s), dtype=bool) for n, s in candidates.items()}
        hasher = NgramHasher()
        self.documents = 0
        for batch in _batches(self.corpus(), self.batch_docs):
            self.documents += len(batch)
            for n, idx in candidate_hits(batch, candidates, hasher).items():
                found[n][idx] = True
        return found


# ---------------------------------------------------------------------- the report
@dataclass
class _Prepared:
    bench: Benchmark
    lists: list[list[str]]
    h1: np.ndarray
    h2: np.ndarray
    counts: np.ndarray
    hits: np.ndarray
    dirty_n: int
    dirty_n_note: str | None
    big_h1: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    big_h2: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    big_counts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    big_candidate: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))


def gpt3_n(lengths: Iterable[int], lo: int = 8, hi: int = 13) -> int:
    """GPT-3 App. C: the 5th-percentile example length in words, clamped to [lo, hi]."""
    arr = np.asarray(list(lengths), dtype=np.float64)
    if len(arr) == 0:
        return lo
    return int(min(hi, max(lo, math.floor(np.percentile(arr, 5)))))


def _windows_all_hit(hits: np.ndarray, counts: np.ndarray, w: int) -> np.ndarray:
    """For n-gram hit flags laid out example by example (``counts`` per example), whether each
    window of ``w`` consecutive n-grams inside one example is all hits (one entry per window)."""
    out = []
    off = 0
    miss = np.concatenate(([0], np.cumsum(~hits)))
    for c in counts:
        nw = c - w + 1
        if nw > 0:
            s = np.arange(off, off + nw)
            out.append(miss[s + w] - miss[s] == 0)
        off += c
    return np.concatenate(out) if out else np.zeros(0, dtype=bool)


def _per_example(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    ex = np.repeat(np.arange(len(counts)), counts)
    return np.bincount(ex, weights=values.astype(np.float64), minlength=len(counts)).astype(np.int64)


def compute_report(bloom: str | PartitionedBloom | BloomFilter, benchmarks: list[Benchmark], *, exact: bool = False,
                   corpus: Callable[[], Iterable[str]] | None = None,
                   membership: Callable[[dict[int, HashSet]], dict[int, np.ndarray]] | None = None,
                   dirty_min: int = 8, dirty_max: int = 13, bloom_label: str | None = None) -> dict[str, Any]:
    """The contamination report (``report.json`` content) plus per-example rows under
    ``report["_examples"][name]`` (written to CSV by :func:`write_report`).

    Bloom mode counts Bloom hits (no misses; false positives bounded by the filter's FPR).
    ``exact=True`` re-checks every hit against the corpus n-grams, so reported overlap has no
    false positives: ``membership(candidates)`` answers which candidates occur (the Beam pass,
    ``pipelines.exact_overlap.CorpusMembership``), or else ``corpus()`` yields the texts for
    :class:`LocalMembership` in this process.
    """
    label = bloom_label or (bloom if isinstance(bloom, str) else None)
    if isinstance(bloom, str):
        bloom = open_ngram_bloom(bloom)
    if exact and corpus is None and membership is None:
        raise ValueError("exact mode needs the corpus (a second pass re-checks Bloom hits)")
    summary = bloom_summary(bloom)
    n = summary["n"]
    hasher = NgramHasher()
    prepared: list[_Prepared] = []
    for bench in benchmarks:
        lists = [words(t) for _, t in bench.examples]
        h1, h2, counts = hasher.hash_word_lists(lists, n)
        hits = bloom.contains_hashes(h1, h2)
        big_n = gpt3_n((len(w) for w in lists), dirty_min, dirty_max)
        note = None
        if big_n < n:
            note = f"GPT-3 N={big_n} is below the filter's n={n}; dirty examples use N={n}"
            big_n = n
        p = _Prepared(bench, lists, h1, h2, counts, hits, big_n, note)
        if big_n > n:
            p.big_h1, p.big_h2, p.big_counts = hasher.hash_word_lists(lists, big_n)
            p.big_candidate = _windows_all_hit(hits, counts, big_n - n + 1)
        prepared.append(p)

    documents = None  # read by the exact pass
    rejected: dict[str, int] = {}  # records of the corpus that are not documents, by reason
    if exact:
        cand: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        for p in prepared:
            cand.setdefault(n, []).append((p.h1[p.hits], p.h2[p.hits]))
            if p.dirty_n > n:
                cand.setdefault(p.dirty_n, []).append((p.big_h1[p.big_candidate], p.big_h2[p.big_candidate]))
        sets = {k: HashSet(np.concatenate([a for a, _ in v]), np.concatenate([b for _, b in v])) for k, v in cand.items()}
        if membership is None:
            membership = LocalMembership(corpus)
        found = membership(sets)
        documents = getattr(membership, "documents", None)
        rejected = dict(getattr(membership, "rejected", None) or {})
        def confirmed(size: int, h1: np.ndarray, h2: np.ndarray) -> np.ndarray:
            s, ok = sets[size], found[size]
            if len(s) == 0:
                return np.zeros(len(h1), dtype=bool)
            idx = s.index(h1, h2)
            return (idx >= 0) & ok[np.maximum(idx, 0)]

        for p in prepared:
            p.hits = confirmed(n, p.h1, p.h2)
            if p.dirty_n > n:
                p.big_candidate = confirmed(p.dirty_n, p.big_h1, p.big_h2)

    report: dict[str, Any] = {
        "n": n, "fpr": summary["fpr"], "fpr_estimated": summary["fpr_estimated"], "exact": bool(exact),
        "mode": "exact (Bloom hits re-checked against the corpus)" if exact else
                "bloom (hits may include false positives at the stated rate; no misses)",
        "bloom": label, "hash_id": summary["hash_id"], "normalisation": NORMALISATION,
        "corpus_distinct_ngrams": summary["distinct_ngrams"],
        **({"exact_documents": documents, "exact_records_rejected": rejected} if exact else {}),
        "benchmarks": [], "_examples": {},
    }
    for p in prepared:
        uh1, uh2 = unique_pairs(p.h1, p.h2)
        fh1, fh2 = unique_pairs(p.h1[p.hits], p.h2[p.hits])
        total, found_n = len(uh1), len(fh1)
        ex_hits = _per_example(p.hits, p.counts)
        if p.dirty_n > n:
            dirty = _per_example(p.big_candidate, p.big_counts) > 0
        else:
            dirty = ex_hits > 0
        lengths = np.array([len(w) for w in p.lists], dtype=np.int64)
        report["benchmarks"].append({
            "name": p.bench.name, "path": p.bench.path, "format": p.bench.source_format,
            "examples": len(p.bench.examples),
            "examples_without_ngrams": int((p.counts == 0).sum()),
            "ngrams": total, "ngrams_found": found_n,
            "percent_found": 100.0 * found_n / total if total else 0.0,
            "ngram_occurrences": int(len(p.h1)), "occurrences_found": int(p.hits.sum()),
            "dirty_n": p.dirty_n, "dirty_examples": int(dirty.sum()),
            "clean_examples": int(len(dirty) - dirty.sum()),
            "percent_dirty": 100.0 * float(dirty.sum()) / len(dirty) if len(dirty) else 0.0,
            "examples_shorter_than_dirty_n": int((lengths < p.dirty_n).sum()),
            **({"note": p.dirty_n_note} if p.dirty_n_note else {}),
        })
        report["_examples"][p.bench.name] = [
            {"example_id": eid, "ngrams": int(c), "hits": int(h), "overlap": (h / c) if c else 0.0, "dirty": bool(d)}
            for (eid, _), c, h, d in zip(p.bench.examples, p.counts, ex_hits, dirty)
        ]
    return report


def format_table(report: dict[str, Any]) -> str:
    """A GPT-2-paper-like table (Markdown)."""
    n = report["n"]
    lines = [f"| benchmark | examples | {n}-grams | found | % found | GPT-3 N | dirty examples | % dirty |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for b in report["benchmarks"]:
        lines.append(f"| {b['name']} | {b['examples']:,} | {b['ngrams']:,} | {b['ngrams_found']:,} | "
                     f"{b['percent_found']:.2f}% | {b['dirty_n']} | {b['dirty_examples']:,} | {b['percent_dirty']:.2f}% |")
    return "\n".join(lines)


def report_markdown(report: dict[str, Any]) -> str:
    fpr = report["fpr"]
    est = report.get("fpr_estimated")
    checked = report.get("exact_documents")
    rejected = report.get("exact_records_rejected") or {}
    left_out = ("; left out as not documents: " + ", ".join(f"{r} {n:,}" for r, n in sorted(rejected.items()))
                if rejected else "")
    mode = ("**exact**: every Bloom hit was re-checked against the corpus n-grams"
            + (f" ({checked:,} documents read{left_out})" if checked is not None else "")
            + ", so the overlap has no false positives" if report["exact"] else
            f"**Bloom filter**: no overlap is missed; hits may include false positives at a rate bounded by "
            f"{fpr:g} (estimated from the filter's fill: {est:.3g})" if est is not None else "")
    return "\n".join([
        "# Benchmark contamination report", "",
        f"Share of each test set's {report['n']}-grams found in the training corpus (GPT-2 §4), and "
        f"GPT-3-style dirty examples (App. C: an example is dirty when any of its N-grams, N = 5th-percentile "
        f"example length clamped to [8, 13], occurs in the corpus).", "",
        f"- text normalisation: {report['normalisation']}",
        "- n-grams counted once each (distinct) per test set; `% found` = 100 × found / total",
        f"- false-positive bound of the filter: {fpr:g}",
        f"- mode: {mode}",
        f"- distinct {report['n']}-grams in the corpus (HyperLogLog estimate): {report.get('corpus_distinct_ngrams')}",
        "", format_table(report), "",
        *[f"- {b['name']}: {b['note']}" for b in report["benchmarks"] if b.get("note")],
    ]) + "\n"


def _remove_other_examples(out_dir: str, keep: set[str]) -> None:
    """Remove the ``examples-*.csv`` of benchmarks this report does not have: a report written
    into a folder that holds an earlier one with other benchmarks would otherwise sit beside
    their stale tables."""
    import fsspec

    fs, root = fsspec.core.url_to_fs(out_dir)  # local or remote alike
    names = {p.rstrip("/").rsplit("/", 1)[-1]: p for p in fs.ls(root, detail=False)}
    stale = [p for n, p in names.items() if n.startswith("examples-") and n.endswith(".csv") and n not in keep]
    if stale:
        fs.rm(stale)


def _open_write(path: str):
    if "://" in path and not path.startswith("file://"):
        import fsspec

        return fsspec.open(path, "w", encoding="utf-8", newline="")
    return open(path, "w", encoding="utf-8", newline="")


def write_report(report: dict[str, Any], out_dir: str) -> dict[str, str]:
    """Write report.json, report.md and ``examples-<name>.csv`` per benchmark (local or
    fsspec paths such as ``gs://``); returns the paths."""
    remote = "://" in out_dir and not out_dir.startswith("file://")
    join = (lambda name: out_dir.rstrip("/") + "/" + name) if remote else (lambda name: os.path.join(out_dir, name))
    if not remote:
        os.makedirs(out_dir, exist_ok=True)
    paths = {}
    public = {k: v for k, v in report.items() if not k.startswith("_")}
    paths["json"] = join("report.json")
    with _open_write(paths["json"]) as fh:
        fh.write(json.dumps(public, indent=2, sort_keys=True) + "\n")
    paths["md"] = join("report.md")
    with _open_write(paths["md"]) as fh:
        fh.write(report_markdown(report))
    examples = report.get("_examples", {})
    _remove_other_examples(out_dir, {f"examples-{name}.csv" for name in examples})
    for name, rows in examples.items():
        p = join(f"examples-{name}.csv")
        with _open_write(p) as fh:
            w = csv.writer(fh)
            w.writerow(["example_id", "ngrams", "hits", "overlap", "dirty"])
            for r in rows:
                w.writerow([r["example_id"], r["ngrams"], r["hits"], f"{r['overlap']:.6f}", int(r["dirty"])])
        paths[f"csv:{name}"] = p
    return paths


# ---------------------------------------------------------------------- decontamination (GPT-3 App. C)
_RECIPE = ContaminationConfig()  # the defaults live in the recipe, once


@dataclass
class DecontaminationConfig:
    n: int = _RECIPE.decontaminate_n
    window: int = _RECIPE.decontaminate_window
    min_piece: int = _RECIPE.decontaminate_min_piece
    max_splits: int = _RECIPE.decontaminate_max_splits
    max_doc_freq: int = _RECIPE.decontaminate_max_doc_freq


def benchmark_ngram_set(benchmarks: list[Benchmark], n: int) -> HashSet:
    hasher = NgramHasher()
    h1s, h2s = [], []
    for b in benchmarks:
        h1, h2, _ = hasher.hash_word_lists([words(t) for _, t in b.examples], n)
        h1s.append(h1)
        h2s.append(h2)
    if not h1s:
        return HashSet(np.zeros(0, np.uint64), np.zeros(0, np.uint64))
    return HashSet(np.concatenate(h1s), np.concatenate(h2s))


def document_hits(text: str, bench: HashSet, n: int, hasher: NgramHasher | None = None) -> np.ndarray:
    """Indices (in ``bench``) of the benchmark n-grams one document contains, each once."""
    h1, h2 = (hasher or NgramHasher()).hash_words(words(text), n)
    idx = bench.index(h1, h2)
    return np.unique(idx[idx >= 0])


def document_frequency(texts: Iterable[str], bench: HashSet, n: int) -> np.ndarray:
    """For each benchmark n-gram, the number of corpus documents containing it."""
    df = np.zeros(len(bench), dtype=np.int64)
    hasher = NgramHasher()
    for t in texts:
        if isinstance(t, str):
            df[document_hits(t, bench, n, hasher)] += 1
    return df


def active_ngrams(bench: HashSet, df: np.ndarray, cfg: DecontaminationConfig) -> tuple[HashSet, dict[str, Any]]:
    """The benchmark n-grams to cut (found in 1..``max_doc_freq`` documents) and their counts."""
    keep = (df >= 1) & (df <= cfg.max_doc_freq)
    active = HashSet(bench.h1[keep], bench.h2[keep])
    return active, {"benchmark_ngrams": len(bench), "ngrams_colliding": int((df >= 1).sum()),
                    "ngrams_ignored_frequent": int((df > cfg.max_doc_freq).sum()), "ngrams_used": len(active)}


# the counts of active_ngrams, and the per-document counts of decontaminate_document (summed into the stats)
NGRAM_COUNTS = ("benchmark_ngrams", "ngrams_colliding", "ngrams_ignored_frequent", "ngrams_used")
CUT_COUNTS = ("documents_clean", "documents_split", "documents_dropped_too_many_splits",
              "documents_dropped_all_pieces_short", "pieces_out", "pieces_dropped_short", "documents_out",
              "chars_in", "chars_removed")
# the stats' document counts: every record read, those that are not documents
# (corpus_tools/document_check.py; by reason under "rejected"), then the cut's
DOCUMENT_COUNTS = ("documents_in", "documents_rejected") + CUT_COUNTS


def decontaminate_document(d: dict[str, Any], active: HashSet, cfg: DecontaminationConfig,
                           hasher: NgramHasher | None = None) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """One document (checked: :func:`corpus_tools.document_check.conform_document`) → the
    documents it becomes (itself, its pieces, or none) and its counts (keys of
    :data:`CUT_COUNTS`, only those that are not 0)."""
    text = d["text"]
    c: dict[str, int] = {"chars_in": len(text)}
    pieces, cut = cut_spans(text, active, cfg, hasher)
    c["chars_removed"] = cut["chars_removed"]
    if cut["collisions"] == 0:
        c.update(documents_clean=1, documents_out=1)
        return [d], c
    if pieces is None:
        c["documents_dropped_too_many_splits"] = 1
        return [], c
    c.update(documents_split=1, pieces_dropped_short=cut["pieces_short"])
    if not pieces:
        c["documents_dropped_all_pieces_short"] = 1
        return [], c
    out = []
    for i, piece in enumerate(pieces):
        meta = _meta(d.get("metadata"))
        meta["decontaminated"] = {"from_id": d.get("id"), "piece": i, "pieces": len(pieces)}
        out.append(dict(d, text=piece, id=make_doc_id(d.get("url"), piece), metadata=json.dumps(meta, sort_keys=True)))
    c.update(pieces_out=len(out), documents_out=len(out))
    return out, {k: v for k, v in c.items() if v}


def cut_spans(text: str, active: HashSet, cfg: DecontaminationConfig, hasher: NgramHasher | None = None
              ) -> tuple[list[str] | None, dict[str, int]]:
    """GPT-3 removal in one document: drop every colliding n-gram with ``window`` characters
    either side. Returns (pieces kept, counts); pieces is None when the document is dropped
    for being split more than ``max_splits`` times, and ``[text]`` when nothing collides."""
    hasher = hasher or NgramHasher()
    ws, starts, ends = word_spans(text)
    h1, h2 = hasher.hash_words(ws, cfg.n)
    pos = np.flatnonzero(active.contains(h1, h2)) if len(h1) else np.zeros(0, np.int64)
    counts = {"collisions": int(len(pos)), "splits": 0, "pieces": 0, "pieces_short": 0, "chars_removed": 0}
    if len(pos) == 0:
        counts["pieces"] = 1
        return [text], counts
    lo = np.maximum(starts[pos] - cfg.window, 0)
    hi = np.minimum(ends[pos + cfg.n - 1] + cfg.window, len(text))
    spans: list[list[int]] = []
    for a, b in zip(lo.tolist(), hi.tolist()):
        if spans and a <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], b)
        else:
            spans.append([a, b])
    counts["splits"] = len(spans)
    if len(spans) > cfg.max_splits:
        counts["chars_removed"] = len(text)
        return None, counts
    pieces, prev = [], 0
    for a, b in spans:
        pieces.append(text[prev:a])
        prev = b
    pieces.append(text[prev:])
    kept = [p for p in pieces if len(p) >= cfg.min_piece]
    counts["pieces"] = len(kept)
    counts["pieces_short"] = sum(1 for p in pieces if 0 < len(p) < cfg.min_piece)
    counts["chars_removed"] = len(text) - sum(len(p) for p in kept)
    return kept, counts


def decontaminate(docs: Callable[[], Iterable[dict[str, Any]]], benchmarks: list[Benchmark],
                  cfg: DecontaminationConfig | None = None) -> tuple[Iterator[dict[str, Any]], dict[str, Any]]:
    """GPT-3-style decontamination of documents (dicts in the document schema), in this process.

    Pass 1 counts, for each benchmark n-gram, the documents containing it; n-grams found in
    more than ``max_doc_freq`` documents are ignored (GPT-3: common phrases, not leaks).
    Pass 2 (the returned iterator) cuts the remaining collisions out. Records that are not
    documents (:func:`corpus_tools.document_check.conform_document`) are left out of both passes
    and counted (``documents_rejected``, and by reason under ``rejected``); the documents are
    conformed to the schema. The counts dict is filled while the iterator is consumed.
    (``webtext decontaminate`` runs the same two passes as a Beam pipeline, which writes the
    records that are not documents as dead letters: pipelines/decontamination.py.)
    """
    cfg = cfg or DecontaminationConfig()
    bench = benchmark_ngram_set(benchmarks, cfg.n)
    df = document_frequency((t for t in map(document_text, docs()) if t is not None), bench, cfg.n)
    active, ngram_counts = active_ngrams(bench, df, cfg)
    stats: dict[str, Any] = {**decontamination_parameters(cfg, benchmarks), **ngram_counts,
                             **{k: 0 for k in DOCUMENT_COUNTS}, "rejected": {}}

    def run() -> Iterator[dict[str, Any]]:
        hasher = NgramHasher()
        for record in docs():
            stats["documents_in"] += 1
            try:
                d = conform_document(record)
            except InvalidDocument as e:
                stats["documents_rejected"] += 1
                stats["rejected"][e.reason] = stats["rejected"].get(e.reason, 0) + 1
                continue
            out, counts = decontaminate_document(d, active, cfg, hasher)
            for k, v in counts.items():
                stats[k] += v
            yield from out

    return run(), stats


def decontamination_parameters(cfg: DecontaminationConfig, benchmarks: list[Benchmark]) -> dict[str, Any]:
    return {"n": cfg.n, "window": cfg.window, "min_piece": cfg.min_piece, "max_splits": cfg.max_splits,
            "max_doc_freq": cfg.max_doc_freq, "benchmarks": [b.name for b in benchmarks]}


def _meta(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        v = json.loads(raw)
        return v if isinstance(v, dict) else {"value": v}
    except ValueError:
        return {"original_metadata": raw}
