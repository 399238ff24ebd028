"""Bloom stage: the corpus's n-grams (RUN/dedup) → an n-gram Bloom filter (RUN/bloom).

Two Beam pipelines: (1) unless ``[bloom] capacity`` is set, count the corpus's n-gram
positions (the filter is sized for that upper bound on distinct n-grams, so the FPR bound
holds); (2) hash every document's n-grams and build the filter with a ``CombinePerKey``
over hash-prefix partitions: each worker fills partial filters, the combiner OR-merges
them, and every partition is written as its own ``.bloom`` file. The driver then writes
the ``bloom.json`` manifest (reading one partition at a time) and runs the GPT-2-style
self-check. Both passes read the documents through the shared check
(pipelines/document_input.py): records that are not documents (no id or text, a value of the
wrong type) are left out of the count and become dead letters in ``RUN/bloom/_rejected``; a
file that cannot hold documents is refused before anything runs.
"""

from __future__ import annotations

from typing import Any

import apache_beam as beam
import numpy as np
from apache_beam.io.filesystems import FileSystems

from corpus_tools.bloom import MANIFEST, BloomFilter, PartitionedBloom, part_name, partition_of
from corpus_tools.contamination import bloom_manifest_meta, partition_capacity, self_check
from corpus_tools.document_check import document_text
from corpus_tools.ngrams import HASH_ID, NgramHasher, count_ngrams, words
from corpus_tools.rundir import REJECTED_DIR, join
from pipelines.deadletter import DEAD_LETTER
from pipelines.document_input import ReadValidDocs
from pipelines.metrics import collect_counters
from pipelines.metrics import counter
from pipelines.options import new_pipeline
from pipelines.parquet_io import ReadDocs, WriteRejects, match_files
from pipelines.stage import Stage, StageContext, StageError, StageResult

NAME = "bloom"


class CountNgramsFn(beam.DoFn):
    """Pass 1: count the documents' n-gram positions (counter ``ngram_positions``); a record that
    is not a document is left out here and dead-lettered, and counted, by pass 2."""

    def __init__(self, n: int):
        self.n = n

    def process(self, doc: dict):
        text = document_text(doc)
        if text is not None:
            counter(NAME, "ngram_positions").inc(count_ngrams(len(words(text)), self.n))
        return []


class HashNgramsFn(beam.DoFn):
    """A batch of documents (checked: every text a string) → ``(partition, (h1 bytes, h2 bytes))``
    per partition touched."""

    def __init__(self, n: int, partitions: int):
        self.n, self.partitions = n, partitions

    def setup(self):
        self.hasher = NgramHasher()

    def process(self, docs: list[dict]):
        texts = [doc["text"] for doc in docs]
        counter(NAME, "out").inc(len(texts))
        h1, h2, _ = self.hasher.hash_texts(texts, self.n)
        counter(NAME, "ngrams_inserted").inc(len(h1))
        if self.partitions == 1:
            yield 0, (h1.tobytes(), h2.tobytes())
            return
        part = partition_of(h2, self.partitions)
        for p in np.unique(part):
            sel = part == p
            yield int(p), (h1[sel].tobytes(), h2[sel].tobytes())


class BloomCombineFn(beam.CombineFn):
    """Partial Bloom filters per worker, OR-merged (the accumulator is created on first use)."""

    def __init__(self, capacity: int, fpr: float, n: int, partitions: int):
        self.capacity, self.fpr, self.n, self.partitions = capacity, fpr, n, partitions

    def _new(self) -> BloomFilter:
        return BloomFilter.create(self.capacity, self.fpr, HASH_ID, meta={"n": self.n, "partitions": self.partitions})

    def create_accumulator(self):
        return None

    def add_input(self, acc, element):
        acc = acc if acc is not None else self._new()
        h1b, h2b = element
        acc.add_hashes(np.frombuffer(h1b, dtype=np.uint64), np.frombuffer(h2b, dtype=np.uint64))
        return acc

    def merge_accumulators(self, accs):
        out = None
        for a in accs:
            if a is None:
                continue
            out = a if out is None else out.merge(a)
        return out

    def extract_output(self, acc):
        return acc if acc is not None else self._new()


class WritePartitionFn(beam.DoFn):
    def __init__(self, out_dir: str, partitions: int):
        self.out_dir, self.partitions = out_dir, partitions

    def process(self, element):
        p, f = element
        f.meta["partition"] = p
        path = FileSystems.join(self.out_dir, part_name(p, self.partitions))
        tmp = path + ".tmp"
        with FileSystems.create(tmp) as fh:
            fh.write(f.to_bytes())
        if FileSystems.exists(path):
            FileSystems.delete([path])
        FileSystems.rename([tmp], [path])
        yield path


def build_bloom_pipeline(docs: list[str], out_dir: str, *, n: int, fpr: float, partitions: int = 1,
                         capacity: int = 0, beam_args: list[str] | None = None,
                         run_beam=None, replace: bool = False) -> tuple[dict[str, Any], dict[str, int]]:
    """Run the two Beam pipelines and write ``out_dir``; returns (manifest, counters).

    ``run_beam(build) -> counters`` runs a pipeline (a StageContext's, or a plain one). With
    ``replace`` the manifest and partitions of an earlier filter in ``out_dir`` are removed once
    the documents are checked (a standalone build into a used folder): a partition this build
    puts no n-gram in is then written empty, never taken from the earlier filter (another
    corpus, or n-grams hashed by an older webtext). A run's stage folder is set aside before."""
    if run_beam is None:
        def run_beam(build):
            p = new_pipeline(beam_args or [])
            build(p)
            result = p.run()
            result.wait_until_finish()
            return collect_counters(result, NAME)

    files = match_files(docs, suffixes=(".parquet",))
    if not files:
        raise StageError(f"no Parquet documents in {', '.join(docs)}")
    read = ReadValidDocs(files, NAME)  # refuses a file that cannot hold documents, before either pass
    counters: dict[str, int] = {}
    if capacity <= 0:
        def count(p):
            p | "ReadDocs" >> ReadDocs(files) | "Count" >> beam.ParDo(CountNgramsFn(n))

        c = run_beam(count)
        counters.update(c)
        capacity = c.get("ngram_positions", 0)
    cap = partition_capacity(capacity, partitions)

    def build(p):
        checked = p | "ReadDocs" >> read
        (checked.docs
         | "Batch" >> beam.BatchElements(min_batch_size=16, max_batch_size=256)
         | "Hash" >> beam.ParDo(HashNgramsFn(n, partitions))
         | "Combine" >> beam.CombinePerKey(BloomCombineFn(cap, fpr, n, partitions))
         | "Write" >> beam.ParDo(WritePartitionFn(out_dir, partitions)))
        checked[DEAD_LETTER] | "WriteRejects" >> WriteRejects(join(out_dir, REJECTED_DIR))

    if not FileSystems.exists(out_dir):
        FileSystems.mkdirs(out_dir)
    elif replace:
        remove_filter(out_dir)
    c = run_beam(build)
    for k, v in c.items():
        counters[k] = counters.get(k, 0) + v
    # the manifest, one partition in memory at a time; a partition no n-gram fell into is written empty
    parts = []
    for i in range(partitions):
        path = join(out_dir, part_name(i, partitions))
        if FileSystems.exists(path):
            f = BloomFilter.load(path, expected_hash_id=HASH_ID)
            parts.append({"file": part_name(i, partitions), **f.describe()})
        else:
            f = BloomFilter.create(cap, fpr, HASH_ID, meta={"n": n, "partition": i, "partitions": partitions})
            parts.append(PartitionedBloom.write_part(out_dir, i, partitions, f))
        del f
    manifest = PartitionedBloom.write_manifest(out_dir, parts, meta=bloom_manifest_meta(n, capacity))
    return manifest, counters


def remove_filter(out_dir: str) -> None:
    """Remove the manifest and the partition files of a Bloom filter folder (nothing else in it)."""
    found = FileSystems.match([join(out_dir, "part-*-of-*.bloom"), join(out_dir, MANIFEST)])
    paths = [m.path for r in found for m in r.metadata_list]
    if paths:
        FileSystems.delete(paths)


class BloomStage(Stage):
    name = NAME
    upstream = "dedup"
    sections = ("bloom",)

    def run(self, ctx: StageContext) -> StageResult:
        docs = ctx.input_or(previous=self.upstream)
        cfg = ctx.recipe.bloom
        out = ctx.run.stage_dir(NAME)
        manifest, _ = build_bloom_pipeline(docs, out, n=cfg.n, fpr=cfg.fpr, partitions=cfg.partitions,
                                           capacity=cfg.capacity, run_beam=ctx.run_beam)
        details = {k: manifest[k] for k in ("partitions", "k", "bits", "bytes", "n_inserted",
                                             "distinct_estimate", "bits_per_distinct", "fpr_estimated",
                                             "hash_id", "n", "normalisation")}
        details["capacity"] = manifest["capacity_total"]  # n-grams the filter is sized for
        details["capacity_allocated"] = manifest["capacity"]  # summed over partitions (with slack)
        details["fpr_target"] = cfg.fpr
        if cfg.self_check_queries:
            bloom = PartitionedBloom.open(out, expected_hash_id=HASH_ID)
            details["self_check"] = self_check(bloom, cfg.self_check_queries, seed=ctx.recipe.run.seed, n=cfg.n)
        return StageResult(details=details, outputs={"bloom": out, "rejected": join(out, REJECTED_DIR)})


STAGE = BloomStage()
