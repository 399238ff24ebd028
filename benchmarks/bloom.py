"""Bloom filter throughput: webtext vs pybloom-live and rbloom, on real 8-grams, one core.

    PYTHONPATH=. python benchmarks/bloom.py [--items 1000000] [--fpr 1e-8] [--repeat 3] [--report-mb 100]

Input: the first ``--items`` word 8-grams of the real corpora in ../shared/data/corpora
(Wikipedia XML sample, Lee news, tiny Shakespeare), normalised with corpus_tools.ngrams (the time
``words()`` takes over them is printed first: all texts, and those without CJK characters, which
take its fast path).
Every library inserts the same n-grams into a filter sized for them at ``--fpr``, then
queries them all (all present) and as many absent n-grams (all absent).

* webtext: words -> vectorised n-gram hashes (corpus_tools.ngrams) -> BloomFilter.add_hashes;
  timed from the word list, so n-gram hashing is included.
* rbloom: ``Bloom(n, fpr, hash_func)`` with a stable xxh3_128 hash of each n-gram string;
  pybloom-live: ``BloomFilter(n, fpr)`` (SHA-512 at 1e-8). Both get ready-made n-gram
  strings; building those strings from the word list is timed separately and reported.

Then: report generation time for the WikiText-2 test set against a Bloom filter built
from a ``--report-mb`` MB corpus (the real corpora, sentences shuffled with a fixed seed
and repeated with a distinct marker word per copy so that its n-grams are new).
"""

from __future__ import annotations

import argparse
import bz2
import os
import random
import re
import sys
import tempfile
import time

import numpy as np
import xxhash

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from corpus_tools.bloom import BloomFilter  # noqa: E402
from corpus_tools.cjk import CHARACTERS as CJK_CHARACTERS, char_class  # noqa: E402
from corpus_tools.ngrams import HASH_ID, NgramHasher, ngram_strings, words  # noqa: E402

from shared_data import SHARED_DATA, require  # noqa: E402

DATA = str(SHARED_DATA)


def corpus_texts() -> list[str]:
    d = os.path.join(DATA, "corpora")
    with bz2.open(os.path.join(d, "enwiki-sample-206-pages.xml.bz2"), "rt", encoding="utf-8") as fh:
        wiki = re.findall(r"<text[^>]*>(.*?)</text>", fh.read(), flags=re.S)
    out = list(wiki)
    with open(os.path.join(d, "lee-news-background.txt"), encoding="utf-8") as fh:
        out.extend(fh.read().splitlines())
    with open(os.path.join(d, "tinyshakespeare.txt"), encoding="utf-8") as fh:
        out.append(fh.read())
    return out


def best(fn, repeat: int) -> tuple[float, object]:
    times, res = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = fn()
        times.append(time.perf_counter() - t0)
    return min(times), res


def words_timing(texts: list[str], repeat: int) -> None:
    """``words()`` over the corpora: all texts, and those without a CJK character (the fast path;
    a few Wikipedia pages hold CJK interlanguage links, split character by character)."""
    cjk = re.compile(f"[{char_class(CJK_CHARACTERS)}]")
    plain = [t for t in texts if not cjk.search(t)]
    for label, group in ((f"{len(texts)} texts", texts), (f"{len(plain)} without CJK characters", plain)):
        t, _ = best(lambda: [words(x) for x in group], repeat)
        mb = sum(map(len, group)) / 1e6
        print(f"words(), {label}: {mb:.2f} MB in {t:.3f}s ({mb / t:.1f} MB/s)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--fpr", type=float, default=1e-8)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--report-mb", type=float, default=100.0, help="corpus size for the report timing (0 skips it)")
    ap.add_argument("--skip-pybloom", action="store_true")
    args = ap.parse_args()
    require("corpora")

    texts = corpus_texts()
    words_timing(texts, args.repeat)
    ws: list[str] = []
    for t in texts:
        ws.extend(words(t))
    n_items = min(args.items, len(ws) - 7)
    ws = ws[:n_items + 7]
    # absent n-grams: the same words in reverse order (a few reversed 8-grams, e.g. runs of one
    # repeated word, do occur forwards: they are counted as present, not as false positives)
    ws_absent = ws[::-1]
    present = set(ngram_strings(ws, 8))
    truly_present = sum(1 for g in ngram_strings(ws_absent, 8) if g in present)
    del present
    print(f"input: {n_items:,} real 8-grams from {DATA}/corpora, fpr {args.fpr:g}, best of {args.repeat}")

    # ---- inputs each library needs
    h1, h2 = NgramHasher().hash_words(ws, 8)
    a1, a2 = NgramHasher().hash_words(ws_absent, 8)
    t0 = time.perf_counter()
    grams = ngram_strings(ws, 8)
    t_join = time.perf_counter() - t0
    absent = ngram_strings(ws_absent, 8)

    from pybloom_live import BloomFilter as PyBloom
    from rbloom import Bloom

    def hf(s: str) -> int:  # rbloom with a stable hash: xxh3_128 of the n-gram string
        return xxhash.xxh3_128_intdigest(s.encode()) - (1 << 127)

    def ours_add():
        f = BloomFilter.create(n_items, args.fpr, HASH_ID)
        f.add_hashes(*NgramHasher().hash_words(ws, 8))
        return f

    def ours_query(wl):
        return lambda: int(built["ours"].contains_hashes(*NgramHasher().hash_words(wl, 8)).sum())

    def filter_add():
        g = BloomFilter.create(n_items, args.fpr, HASH_ID)
        g.add_hashes(h1, h2)
        return g

    def rb_add():
        b = Bloom(n_items, args.fpr, hf)
        b.update(grams)
        return b

    def pb_add():
        b = PyBloom(capacity=n_items, error_rate=args.fpr)
        for g in grams:
            b.add(g)
        return b

    libs = {
        "ours": ("webtext (NumPy, n-gram hashing included)", ours_add, ours_query(ws), ours_query(ws_absent)),
        "filter": ("webtext filter only (pre-hashed keys)", filter_add,
                   lambda: int(built["filter"].contains_hashes(h1, h2).sum()),
                   lambda: int(built["filter"].contains_hashes(a1, a2).sum())),
        "rbloom": ("rbloom + xxh3_128", rb_add, lambda: sum(1 for g in grams if g in built["rbloom"]),
                   lambda: sum(1 for g in absent if g in built["rbloom"])),
    }
    if not args.skip_pybloom:
        libs["pybloom"] = ("pybloom-live (SHA-512)", pb_add, lambda: sum(1 for g in grams if g in built["pybloom"]),
                           lambda: sum(1 for g in absent if g in built["pybloom"]))
    # interleaved rounds (A B C A B C ...) so that load changes on a shared machine hit all alike
    built: dict = {}
    best_t = {key: [float("inf")] * 3 for key in libs}
    results = {}
    for r in range(args.repeat):
        for key, (_, add, qp, qn) in libs.items():
            if key == "pybloom" and r > 0:
                continue  # ~1 minute per round; one round is enough at its speed
            for j, fn in enumerate((add, qp, qn)):
                t0 = time.perf_counter()
                res = fn()
                best_t[key][j] = min(best_t[key][j], time.perf_counter() - t0)
                if j == 0:
                    built[key] = res
                else:
                    results[(key, j)] = res
    assert results[("ours", 1)] == n_items and results[("filter", 1)] == n_items
    fp = results[("ours", 2)]
    bits_per = {"ours": built["ours"].nbytes * 8, "filter": built["filter"].nbytes * 8,
                "rbloom": built["rbloom"].size_in_bits, "pybloom": getattr(built.get("pybloom"), "num_bits", 0)}
    rows = [(libs[k][0], *best_t[k], bits_per[k] / n_items) for k in libs]
    f = built["ours"]

    print(f"{'library':<42} {'add/s':>12} {'query present/s':>16} {'query absent/s':>15} {'bits/item':>10}")
    for name, a, qp, qn, bpi in rows:
        print(f"{name:<42} {n_items / a:>12,.0f} {n_items / qp:>16,.0f} {n_items / qn:>15,.0f} {bpi:>10.2f}")
    print(f"(building the {n_items:,} n-gram strings the anchors need: {n_items / t_join:,.0f}/s, not included above)")
    ours = rows[0]
    for name, a, qp, qn, _ in rows[2:]:
        print(f"ratio webtext / {name}: add {a / ours[1]:.2f}x, query present {qp / ours[2]:.2f}x, "
              f"query absent {qn / ours[3]:.2f}x")
    print(f"webtext bits per item {ours[4]:.2f} vs theory {-np.log(args.fpr) / np.log(2) ** 2:.2f}; "
          f"false positives among {n_items - truly_present:,} absent n-grams: {fp - truly_present} "
          f"({truly_present} reversed n-grams also occur forwards)")

    # GPT-2-style self-check: 1M random absent n-grams at the configured bound and at 1e-3
    from corpus_tools.contamination import self_check

    f.meta["n"] = 8
    sc = self_check(f, 1_000_000, n=8)
    print(f"self-check at fpr {args.fpr:g}: {sc['false_positives']} false positives in {sc['queries']:,} "
          f"random n-grams (empirical {sc['empirical_fpr']:.2g}; filter fill estimate {f.estimated_fpr():.2g})")
    loose = BloomFilter.create(n_items, 1e-3, HASH_ID, meta={"n": 8})
    loose.add_hashes(*NgramHasher().hash_words(ws, 8))
    sc = self_check(loose, 1_000_000, n=8)
    print(f"self-check at fpr 0.001: {sc['false_positives']} false positives in {sc['queries']:,} "
          f"(empirical {sc['empirical_fpr']:.3g}; fill estimate {loose.estimated_fpr():.3g})")

    if args.report_mb > 0:
        report_timing(texts, args.report_mb, args.fpr)
    return 0


def report_timing(texts: list[str], mb: float, fpr: float) -> None:
    from corpus_tools.contamination import build_bloom, compute_report, read_benchmark

    rng = random.Random(1234)
    sentences = [s for t in texts for s in re.split(r"(?<=[.!?])\s+|\n+", t) if len(s) > 20]
    target = int(mb * 1e6)
    docs, size, copy = [], 0, 0
    while size < target:
        rng.shuffle(sentences)
        for i in range(0, len(sentences), 40):
            doc = f"copy{copy} " + " ".join(sentences[i:i + 40])
            docs.append(doc)
            size += len(doc)
            if size >= target:
                break
        copy += 1
    # plant every 20th long WikiText-2 test paragraph, so that the report has something to find
    wt = os.path.join(DATA, "benchmarks", "wikitext-2", "test.txt")
    with open(wt, encoding="utf-8") as fh:
        planted = [l.strip() for l in fh if len(l.split()) > 50][::20]
    for i, p in enumerate(planted):
        j = rng.randrange(len(docs))
        docs[j] = docs[j] + "\n\n" + p
    print(f"\nreport: corpus of {size / 1e6:.0f} MB, {len(docs):,} documents, {len(planted)} WikiText-2 "
          f"test paragraphs planted")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        bloom_dir = os.path.join(tmp, "bloom")
        manifest = build_bloom(lambda: iter(docs), bloom_dir, n=8, fpr=fpr)
        t_build = time.perf_counter() - t0
        print(f"bloom build: {t_build:.1f}s ({manifest['n_inserted'] / t_build:,.0f} n-grams/s), "
              f"{manifest['bytes'] / 1e6:.1f} MB, distinct ≈ {manifest['distinct_estimate']:,}")
        bench = read_benchmark(f"wikitext2={os.path.join(DATA, 'benchmarks', 'wikitext-2', 'test.txt')}")
        t0 = time.perf_counter()
        rep = compute_report(bloom_dir, [bench])
        t_rep = time.perf_counter() - t0
        b = rep["benchmarks"][0]
        print(f"report for WikiText-2 test ({b['examples']:,} examples, {b['ngrams']:,} distinct 8-grams): "
              f"{t_rep:.2f}s, {b['percent_found']:.2f}% found, {b['dirty_examples']} dirty (N={b['dirty_n']})")
        t0 = time.perf_counter()
        rep = compute_report(bloom_dir, [bench], exact=True, corpus=lambda: iter(docs))
        t_ex = time.perf_counter() - t0
        e = rep["benchmarks"][0]
        print(f"exact report (second pass over the {size / 1e6:.0f} MB corpus): {t_ex:.1f}s, "
              f"{e['ngrams_found']:,} found exactly vs {b['ngrams_found']:,} Bloom hits, "
              f"{e['dirty_examples']} dirty")


if __name__ == "__main__":
    raise SystemExit(main())
