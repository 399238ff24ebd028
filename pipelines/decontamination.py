"""GPT-3 decontamination (Brown et al. 2020, appendix C) as a Beam pipeline.

The two passes of :func:`corpus_tools.contamination.decontaminate`, spread over workers, over
the documents of the shared check (pipelines/document_input.py): records that are not documents
(no id or text, a value of the wrong type) become dead letters in ``DOCS_OUT/_rejected``, and a
file that cannot hold documents is refused before anything runs.

1. every document's benchmark n-gram hits (each n-gram once per document) are summed into one
   document-frequency array by a ``CombineFn`` (per-worker partial arrays, added);
2. that array is a side input: n-grams in more than ``max_doc_freq`` documents are ignored, the
   rest are cut out of each document with ``window`` characters either side
   (:func:`corpus_tools.contamination.decontaminate_document`), and the documents and pieces
   are written as sorted Parquet shards.

The benchmark n-gram hashes travel inside the DoFns (a few MB for whole test sets); the corpus
is read twice, as the in-process version reads it twice.
"""

from __future__ import annotations

from typing import Any

import apache_beam as beam
import numpy as np

from corpus_tools.contamination import (
    CUT_COUNTS,
    NGRAM_COUNTS,
    Benchmark,
    DecontaminationConfig,
    HashSet,
    active_ngrams,
    benchmark_ngram_set,
    decontaminate_document,
    document_hits,
)
from corpus_tools.ngrams import NgramHasher
from corpus_tools.rundir import REJECTED_DIR, join
from pipelines.deadletter import DEAD_LETTER
from pipelines.document_input import ReadValidDocs
from pipelines.metrics import collect_counters, counter, split_counters
from pipelines.options import new_pipeline
from pipelines.parquet_io import WriteDocs, WriteRejects

NAME = "decontaminate"  # counter namespace


class HitsFn(beam.DoFn):
    """Document → the indices of the benchmark n-grams it contains."""

    def __init__(self, bench: HashSet, n: int):
        self.bench, self.n = bench, n

    def setup(self):
        self.hasher = NgramHasher()

    def process(self, doc: dict[str, Any]):
        hits = document_hits(doc["text"], self.bench, self.n, self.hasher)
        if len(hits):
            yield hits


class DocumentFrequencyFn(beam.CombineFn):
    """Hit-index arrays → for each benchmark n-gram, the number of documents that contain it."""

    def __init__(self, size: int):
        self.size = size

    def create_accumulator(self) -> np.ndarray:
        return np.zeros(self.size, np.int64)

    def add_input(self, acc: np.ndarray, hits: np.ndarray) -> np.ndarray:
        acc[hits] += 1
        return acc

    def merge_accumulators(self, accs) -> np.ndarray:
        accs = iter(accs)
        total = next(accs)
        for acc in accs:
            total += acc
        return total

    def extract_output(self, acc: np.ndarray) -> np.ndarray:
        return acc


class CutFn(beam.DoFn):
    """Document → itself, its pieces, or nothing; counts every outcome as a Beam counter."""

    def __init__(self, bench: HashSet, cfg: DecontaminationConfig):
        self.bench, self.cfg = bench, cfg
        self.active: HashSet | None = None

    def setup(self):
        self.hasher = NgramHasher()

    def process(self, doc: dict[str, Any], df: np.ndarray):
        if self.active is None:  # the side input is the same for every element
            self.active, _ = active_ngrams(self.bench, df, self.cfg)
        out, counts = decontaminate_document(doc, self.active, self.cfg, self.hasher)
        for k, v in counts.items():
            counter(NAME, k).inc(v)
        yield from out


def run_decontamination(files: list[str], benchmarks: list[Benchmark], cfg: DecontaminationConfig, out_dir: str,
                        num_shards: int, beam_args: list[str]) -> tuple[dict[str, Any], dict[str, int]]:
    """Run both passes; returns (the per-document counts, the n-gram counts).

    Refuses (UserError) a local file that cannot hold documents before the benchmarks are hashed."""
    read = ReadValidDocs(files, NAME)
    bench = benchmark_ngram_set(benchmarks, cfg.n)
    p = new_pipeline(beam_args)
    checked = p | "Read" >> read
    docs = checked.docs
    df = (docs | "Hits" >> beam.ParDo(HitsFn(bench, cfg.n))
          | "DocumentFrequency" >> beam.CombineGlobally(DocumentFrequencyFn(len(bench))))
    (docs | "Cut" >> beam.ParDo(CutFn(bench, cfg), df=beam.pvalue.AsSingleton(df))
     | "Write" >> WriteDocs(out_dir, num_shards))
    checked[DEAD_LETTER] | "WriteRejects" >> WriteRejects(join(out_dir, REJECTED_DIR))
    # the n-gram counts come from the same document-frequency array, written as counters
    df | "NgramCounts" >> beam.Map(_count_ngrams, bench, cfg)
    result = p.run()
    result.wait_until_finish()
    counters = collect_counters(result, NAME)
    records_in, _, rejected = split_counters(counters)  # the check's counters: in, reason.<reason>
    doc_counts: dict[str, Any] = {"documents_in": records_in or 0, "documents_rejected": sum(rejected.values()),
                                  **{k: counters.get(k, 0) for k in CUT_COUNTS}, "rejected": rejected}
    return doc_counts, {k: counters.get("ngram." + k, 0) for k in NGRAM_COUNTS}


def _count_ngrams(df: np.ndarray, bench: HashSet, cfg: DecontaminationConfig) -> None:
    _, counts = active_ngrams(bench, df, cfg)
    for k, v in counts.items():
        counter(NAME, "ngram." + k).inc(v)
