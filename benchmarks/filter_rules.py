"""Speed of the heuristic rules (Gopher quality, Gopher repetition, C4 lines) per language, one core.

    PYTHONPATH=. python benchmarks/filter_rules.py [--quick] [--repeat 5] [--data ../shared/data]

The rules alone, no language ID: each document is checked with the language it is written in,
as the filter stage does after language ID. Corpora (real text from shared/data):

* en: the 299 lee-news articles (corpora/lee-news-background.txt) and the 15 English
  htmltotext gold texts;
* zh: the 2 Chinese htmltotext gold texts and the Chinese pages of the Common Crawl excerpt
  (warc/cc-main-2020-34-excerpt.warc.gz, extracted with the default settings).

Each document goes through the three rules in turn, as in the filter stage (Gopher's two rules
segment a Chinese text once between them). Time is CPU time of this process (the machine is
shared), best of ``--repeat`` rounds after one warm-up round; per rule, the time spent in it in
the best round. English is timed first, before anything has loaded the Chinese segmenter, as in
an English-only run; the segmenter's one-off load is printed separately. The anchor for Chinese
is jieba alone, segmenting each document once (no word rule can take less).
``--quick``: 2 rounds, English lee-news only plus the Chinese gold texts.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared_data import SHARED_DATA, require  # noqa: E402

from corpus_tools.c4 import C4Lines  # noqa: E402
from corpus_tools import word_segmentation  # noqa: E402
from corpus_tools.gopher import GopherQuality, GopherRepetition  # noqa: E402


def english(data: Path, quick: bool) -> list[str]:
    from corpus_tools.quality_classifier import load_texts

    texts = load_texts([str(data / "corpora" / "lee-news-background.txt")])
    if not quick:
        texts += [f.read_text(encoding="utf-8")
                  for f in sorted((data / "extraction" / "htmltotext" / "en" / "text").glob("*.txt"))]
    return texts


def chinese(data: Path, quick: bool) -> list[str]:
    texts = [f.read_text(encoding="utf-8") for f in sorted((data / "extraction" / "htmltotext" / "zh" / "text").glob("*.txt"))]
    if quick:
        return texts
    from corpus_tools.extract import payload_to_document
    from corpus_tools.langid import LanguageIdentifier
    from corpus_tools.recipe import ExtractConfig
    from corpus_tools.warc import WarcPayload, iter_warc

    lid = LanguageIdentifier(None)
    with open(data / "warc" / "cc-main-2020-34-excerpt.warc.gz", "rb") as fh:
        payloads = [dataclasses.asdict(p) for p in iter_warc(fh, "cc.warc.gz") if isinstance(p, WarcPayload)]
    for p in payloads:
        doc = payload_to_document(p, ExtractConfig())[0]
        if doc and lid.distribution(doc["text"])[0][0] == "zh":
            texts.append(doc["text"])
    return texts


def time_rules(texts: list[str], language: str | None, rounds: int) -> tuple[float, dict[str, float]]:
    """(best round's CPU seconds for all three rules, that round's seconds per rule)."""
    rules = {"gopher_quality": GopherQuality().check, "gopher_repetition": GopherRepetition().check,
             "c4": C4Lines().apply}
    best, best_parts = float("inf"), {}
    for _ in range(rounds + 1):  # the first round warms up
        parts = dict.fromkeys(rules, 0.0)
        t0 = time.process_time()
        for t in texts:
            word_segmentation.forget()  # as for a new document: the rules share one segmentation, not rounds
            for name, run in rules.items():
                t1 = time.process_time()
                run(t, language)
                parts[name] += time.process_time() - t1
        total = time.process_time() - t0
        if _ and total < best:
            best, best_parts = total, parts
    return best, best_parts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(SHARED_DATA))
    ap.add_argument("--repeat", type=int, default=5, help="timed rounds (best is reported)")
    ap.add_argument("--quick", action="store_true", help="2 rounds, fewer documents")
    args = ap.parse_args()
    data = require("corpora", root=args.data).parent
    rounds = 2 if args.quick else args.repeat

    def report(language: str, texts: list[str]) -> None:
        chars = sum(map(len, texts))
        total, parts = time_rules(texts, language, rounds)
        per_rule = ", ".join(f"{k} {len(texts) / v:,.0f}" for k, v in parts.items())
        print(f"[{language}] {len(texts)} docs, mean {chars / len(texts):,.0f} chars: all three rules "
              f"{len(texts) / total:,.0f} docs/s ({chars / total / 1e6:.2f} M chars/s); per rule docs/s: {per_rule}")

    report("en", english(data, args.quick))
    zh = chinese(data, args.quick)
    t0 = time.process_time()
    GopherQuality().check("中文分词。" * 20, "zh")  # loads the segmenter, if the rules use one
    print(f"[load] first Chinese document: {time.process_time() - t0:.3f} s CPU (segmenter load, once per process)")
    report("zh", zh)
    try:  # the anchor: jieba alone, one segmentation per document (no rule can do with less)
        from corpus_tools.word_segmentation import jieba_tokenizer
    except ImportError:  # before Chinese had a segmenter
        return 0
    segmenter, best = jieba_tokenizer(), float("inf")
    for _ in range(rounds):
        t0 = time.process_time()
        for t in zh:
            segmenter.lcut(t)
        best = min(best, time.process_time() - t0)
    print(f"[zh] jieba alone, once per document: {len(zh) / best:,.0f} docs/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
