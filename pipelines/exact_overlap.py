"""The exact pass of the contamination report as a Beam pipeline.

The Bloom filter says which benchmark n-grams *may* be in the corpus; ``--exact`` re-reads the
corpus to keep only those that are. Here that pass is spread over workers: each batch of
documents gives the indices of the candidate n-grams it contains
(:func:`corpus_tools.contamination.candidate_hits`), and a ``CombineFn`` ORs them into one flag
array per n-gram length (per-worker partial arrays, merged). The candidates travel inside the
DoFn (a few MB for whole test sets). The flags come back to the driver through one small
``.npz`` file written with Beam ``FileSystems`` next to the report (so ``gs://`` works on
Dataflow) and removed once read.
"""

from __future__ import annotations

import io
import os
import uuid
from typing import Any, Callable

import apache_beam as beam
import numpy as np
from apache_beam.io.filesystems import FileSystems

from corpus_tools.contamination import HashSet, candidate_hits
from corpus_tools.ngrams import NgramHasher
from corpus_tools.rundir import join
from pipelines.document_input import ReadValidDocs
from pipelines.metrics import collect_counters, counter
from pipelines.options import new_pipeline

NAME = "contamination"  # counter namespace


class CandidateHitsFn(beam.DoFn):
    """A batch of documents → {n: indices of the candidate n-grams it contains} (none if no hit)."""

    def __init__(self, candidates: dict[int, HashSet]):
        self.candidates = candidates

    def setup(self):
        self.hasher = NgramHasher()

    def process(self, batch: list[dict[str, Any]]):
        texts = [d["text"] for d in batch]  # checked documents: every one has a text
        counter(NAME, "exact_documents").inc(len(texts))
        hits = candidate_hits(texts, self.candidates, self.hasher)
        if any(len(v) for v in hits.values()):
            yield hits


class FoundFn(beam.CombineFn):
    """Hit indices → for each n, one flag per candidate: found somewhere in the corpus."""

    def __init__(self, sizes: dict[int, int]):
        self.sizes = sizes

    def create_accumulator(self) -> dict[int, np.ndarray]:
        return {n: np.zeros(size, dtype=bool) for n, size in self.sizes.items()}

    def add_input(self, acc, hits):
        for n, idx in hits.items():
            acc[n][idx] = True
        return acc

    def merge_accumulators(self, accs):
        accs = iter(accs)
        total = next(accs)
        for acc in accs:
            for n in total:
                total[n] |= acc[n]
        return total

    def extract_output(self, acc):
        return acc


def _write_found(found: dict[int, np.ndarray], path: str) -> None:
    buf = io.BytesIO()
    np.savez(buf, **{str(n): flags for n, flags in found.items()})
    with FileSystems.create(path, mime_type="application/octet-stream") as fh:
        fh.write(buf.getvalue())


class CorpusMembership:
    """A ``membership`` for :func:`corpus_tools.contamination.compute_report` (the interface of
    :class:`corpus_tools.contamination.LocalMembership`): one Beam pass over
    the Parquet ``files`` answering which candidates occur. ``scratch_dir`` (the report's folder)
    holds the answer file for the moment it takes to read it back.

    The corpus is read as every document stage reads it (:class:`pipelines.document_input.ReadValidDocs`):
    a local file that cannot hold documents is refused when this is made, and a record that is not a
    document (no id or text, a badly typed value) is left out and counted under its reason. After a
    call, ``documents`` is the number of documents the pass read and ``rejected`` the records left
    out, by reason."""

    def __init__(self, files: list[str], beam_args: list[str], scratch_dir: str,
                 log: Callable[[str], None] = lambda _m: None):
        self.files, self.beam_args, self.scratch_dir, self.log = files, beam_args, scratch_dir, log
        self.read = ReadValidDocs(files, NAME)
        self.documents: int | None = None
        self.rejected: dict[str, int] = {}

    def __call__(self, candidates: dict[int, HashSet]) -> dict[int, np.ndarray]:
        sizes = {n: len(s) for n, s in candidates.items()}
        if "://" not in self.scratch_dir:
            os.makedirs(self.scratch_dir, exist_ok=True)
        path = join(self.scratch_dir, f"_exact-found-{uuid.uuid4().hex}.npz")
        p = new_pipeline(self.beam_args)
        checked = p | "Read" >> self.read  # its dead letters are counted (reason.*), not kept: no corpus is written
        (checked.docs
         | "Batch" >> beam.BatchElements(min_batch_size=16, max_batch_size=256)
         | "CandidateHits" >> beam.ParDo(CandidateHitsFn(candidates))
         | "Found" >> beam.CombineGlobally(FoundFn(sizes))
         | "WriteFound" >> beam.Map(_write_found, path))
        self.log(f"exact pass over {len(self.files)} corpus file(s): {sum(sizes.values()):,} candidate n-grams")
        result = p.run()
        result.wait_until_finish()
        counts = collect_counters(result, NAME)
        self.documents = counts.get("exact_documents", 0)
        self.rejected = {k.removeprefix("reason."): v for k, v in sorted(counts.items()) if k.startswith("reason.") and v}
        with FileSystems.open(path) as fh:
            data = np.load(io.BytesIO(fh.read()))
            found = {int(k): data[k] for k in data.files}
        FileSystems.delete([path])
        return found
