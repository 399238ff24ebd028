"""Dedup stage: exact, URL and MinHash-LSH near-duplicate removal → the final corpus.

Reads ``RUN/filtered`` (or ``--input``), writes ``RUN/dedup`` (kept documents, DOC_SCHEMA, with
``dedup_cluster`` filled for clustered ones), ``RUN/dedup/_clusters`` (CLUSTER_SCHEMA),
``RUN/dedup/_removed/<reason>/`` (the removed duplicates) and ``RUN/dedup/_rejected`` (dead letters).

The graph (every step keyed, nothing needs all documents on one worker):

1. validate (pipelines/document_input.py) → features (id, keys, keep rank, MinHash signature) in
   batches; one feature per id: rows sharing an id but not their (normalised) text are bad input,
   only the best-ranked copy (see ``copy_rank``) goes on, the others become ``duplicate_id`` dead
   letters when joining back;
2. exact: group by normalised-text hash; URL: group the survivors by normalised URL;
3. near: survivors → (band, bucket) keys → group → candidate edges → verified edges
   (joined with the two endpoints' signatures / shingle sets) → connected components
   (large-star / small-star rounds keyed by node, union-find only for what they leave
   unfinished; pipelines/components.py) → clusters;
4. each cluster keeps one document (highest score_sum, longest text, smallest id); the
   decisions are joined back to the documents by id.
See docs/stages/dedup.md.
"""

from __future__ import annotations

import json
from typing import Any

import apache_beam as beam
import numpy as np

from corpus_tools.clusters import keep_rank, size_histogram
from corpus_tools.exact import text_hash, url_key
from corpus_tools.id_hashes import contains, id_hash64, sorted_hashes
from corpus_tools.lsh import batch_band_keys, optimal_bands_rows
from corpus_tools.minhash import MinHasher, estimate_jaccard, jaccard, shingle_set
from corpus_tools.recipe import DedupConfig
from corpus_tools.rundir import CLUSTERS_DIR, REJECTED_DIR, REMOVED_DIR, join
from corpus_tools.schema import CLUSTER_SCHEMA
from corpus_tools.shards import read_table
from pipelines.components import ConnectedComponents
from pipelines.deadletter import DEAD_LETTER
from pipelines.document_input import ReadValidDocs, document_reject
from pipelines.metrics import counter
from pipelines.parquet_io import WriteDocs, WriteRejects, WriteShards, match_files
from pipelines.stage import Stage, StageContext, StageResult

NAME = "dedup"
KINDS = ("exact", "url", "near")  # in the order they run
REASONS = {"exact": "exact_duplicate", "url": "url_duplicate", "near": "near_duplicate"}
ALL_PAIRS_UP_TO = 20  # a bucket this small gives every pair as a candidate, a larger one a star


def copy_rank(doc_id: str, score_sum: int | None, text_len: int, text_key: str) -> tuple:
    """Sort key among rows that share an id: the keep rule, then the normalised text's hash."""
    return keep_rank(doc_id, score_sum, text_len) + (text_key,)


def best_copy(feats) -> dict:
    """The feature of the best-ranked row among those sharing an id (associative: a combiner)."""
    return min(feats, key=lambda f: copy_rank(f["id"], f["score"], f["length"], f["text_hash"]))


class FeaturesFn(beam.DoFn):
    """A batch of documents → one small feature record each (keys, keep rank, signature bytes)."""

    def __init__(self, cfg: DedupConfig, bands: int, rows: int):
        self.cfg, self.bands, self.rows = cfg, bands, rows

    def setup(self):
        self.hasher = MinHasher(self.cfg.num_perm, self.cfg.ngram, self.cfg.seed)

    def process(self, batch: list[dict]):
        sigs = self.hasher.signatures([d["text"] for d in batch])
        keys = batch_band_keys(sigs, self.bands, self.rows)
        for doc, sig, k in zip(batch, sigs, keys):
            yield {"id": doc["id"], "text_hash": text_hash(doc["text"]), "url": url_key(doc.get("url")),
                   "score": doc.get("score_sum") or 0, "length": len(doc["text"]), "sig": sig.tobytes(),
                   "keys": k}


def node_info(element):
    """(id, {"f": [feature], "s": [(text hash, shingles), ...]}) → (id, (signature, shingles)), the
    shingles of the text the feature was made from (rows sharing an id may differ in text)."""
    doc_id, groups = element
    for f in groups["f"][:1]:
        same = sorted(sh for h, sh in groups["s"] if h == f["text_hash"])
        if same:
            yield doc_id, (f["sig"], same[0])


def _sig(feat: dict) -> np.ndarray:
    return np.frombuffer(feat["sig"], dtype=np.uint32)


class ResolveFn(beam.DoFn):
    """One group of duplicates (any kind) → kept survivor, a cluster row, a decision per member."""

    def __init__(self, kind: str):
        self.kind = kind

    def process(self, element):
        _, feats = element
        by_id: dict[str, dict] = {}
        for f in feats:
            by_id.setdefault(f["id"], f)  # one document id twice is handled when joining back
        members = sorted(by_id.values(), key=lambda f: keep_rank(f["id"], f["score"], f["length"]))
        kept = members[0]
        yield kept
        if len(members) < 2:
            return
        cluster_id = f"{self.kind}-{kept['id']}"
        sims = [estimate_jaccard(_sig(kept), _sig(f)) for f in members[1:]]
        counter(NAME, f"clusters_{self.kind}").inc()
        yield beam.pvalue.TaggedOutput("clusters", {
            "cluster_id": cluster_id, "kept_id": kept["id"], "members": sorted(by_id), "size": len(members),
            "kind": self.kind, "similarity": float(np.mean(sims)),
        })
        order = KINDS.index(self.kind)
        yield beam.pvalue.TaggedOutput("decisions", (kept["id"], (order, cluster_id, None)))
        for f in members[1:]:
            yield beam.pvalue.TaggedOutput("decisions", (f["id"], (order, cluster_id, REASONS[self.kind])))


class Resolve(beam.PTransform):
    """Group features by ``key(feature)`` and resolve each group (outputs survivors/clusters/decisions)."""

    def __init__(self, kind: str, key):
        super().__init__()
        self.kind, self.key = kind, key

    def expand(self, feats):
        key = self.key
        return (feats
                | "Key" >> beam.Map(lambda f: (key(f), f))
                | "Group" >> beam.GroupByKey()
                | "Resolve" >> beam.ParDo(ResolveFn(self.kind)).with_outputs("clusters", "decisions", main="survivors"))


def bucket_edges(element):
    """Candidate pairs of one LSH bucket: every pair of a small bucket, a star from the smallest id otherwise."""
    _, ids = element
    ids = sorted(set(ids))
    if len(ids) <= ALL_PAIRS_UP_TO:
        for i, a in enumerate(ids):
            for b in ids[i + 1:]:
                yield a, b
    else:
        for b in ids[1:]:
            yield ids[0], b


class VerifyFn(beam.DoFn):
    """(b, {"edges": [(a, info_a)...], "info": [info_b]}) → verified (a, b, similarity) edges."""

    def __init__(self, cfg: DedupConfig):
        self.cfg = cfg

    def process(self, element):
        b, groups = element
        if not groups["info"]:
            return
        sig_b, sh_b = groups["info"][0]
        for a, (sig_a, sh_a) in groups["edges"]:
            sim = estimate_jaccard(np.frombuffer(sig_a, np.uint32), np.frombuffer(sig_b, np.uint32))
            if self.cfg.verify == "exact":
                sim = jaccard(np.frombuffer(sh_a, np.uint64), np.frombuffer(sh_b, np.uint64))
            if self.cfg.verify == "none" or sim >= self.cfg.threshold:
                counter(NAME, "verified_pairs").inc()
                yield a, b
            else:
                counter(NAME, "rejected_pairs").inc()


class HashSetFn(beam.CombineFn):
    """64-bit id hashes → one sorted, distinct uint64 array (per-worker partial arrays, merged)."""

    BUFFER = 1 << 16

    def create_accumulator(self) -> tuple[list, list]:
        return [], []  # compacted arrays, hashes not yet compacted

    def add_input(self, acc, h: int):
        arrays, pending = acc
        pending.append(h)
        if len(pending) >= self.BUFFER:
            arrays.append(sorted_hashes(pending))
            pending.clear()
        return acc

    def merge_accumulators(self, accs):
        arrays, pending = [], []
        for a, p in accs:
            arrays.extend(a)
            pending.extend(p)
        return [self.extract_output((arrays, pending))], []

    def extract_output(self, acc) -> np.ndarray:
        arrays, pending = acc
        return sorted_hashes(np.concatenate(arrays + [sorted_hashes(pending)]))


class FinalizeFn(beam.DoFn):
    """(id, {"docs": [...], "decisions": [...]}) → kept document, a removed one tagged by reason, or
    a dead letter for a row whose id is another text's."""

    def process(self, element):
        _, groups = element
        docs = sorted(groups["docs"], key=lambda d: json.dumps(d, sort_keys=True, default=str))
        if not docs:
            return
        keys = [None] * len(docs)
        if len(docs) > 1:  # rows sharing an id: the features went on with the best-ranked copy's text
            keyed = sorted(((text_hash(d["text"]), d) for d in docs), key=lambda kd: copy_rank(
                kd[1]["id"], kd[1].get("score_sum"), len(kd[1]["text"]), kd[0]))
            keys, docs = [k for k, _ in keyed], [d for _, d in keyed]
        decisions = sorted(groups["decisions"])
        removal = next((d for d in decisions if d[2] is not None), None)
        cluster = removal[1] if removal else (decisions[-1][1] if decisions else None)
        for i, doc in enumerate(docs):
            if keys[i] != keys[0]:  # one id, another text: bad input (or a collision), not a duplicate
                counter(NAME, "reason.duplicate_id").inc()
                yield beam.pvalue.TaggedOutput(DEAD_LETTER, document_reject(
                    NAME, doc, "duplicate_id", f"id {doc['id']} is also the id of another text, the one kept "
                                               f"(ids are make_doc_id(url, text)); this row is left out"))
                continue
            doc = dict(doc, dedup_cluster=cluster)
            reason = removal[2] if removal else None
            if i > 0:  # the same id and the same (normalised) text twice: an exact duplicate of the first
                counter(NAME, "same_id_copies").inc()
                reason = reason or REASONS["exact"]
            if reason:
                counter(NAME, f"reason.{reason}").inc()
                yield beam.pvalue.TaggedOutput(reason, doc)
            else:
                counter(NAME, "out").inc()
                yield doc


class DedupStage(Stage):
    name = NAME
    upstream = "filter"
    sections = ("dedup",)
    run_keys = ("num_shards",)  # the [run] keys its output depends on

    def run(self, ctx: StageContext) -> StageResult:
        docs_in = ctx.input_or(previous=self.upstream)
        cfg = ctx.recipe.dedup
        shards = ctx.recipe.run.num_shards
        out = ctx.run.stage_dir(NAME)
        clusters_dir = join(out, CLUSTERS_DIR)
        bands, rows = optimal_bands_rows(cfg.threshold, cfg.num_perm, cfg.false_positive_weight,
                                         cfg.false_negative_weight)

        def build(p):
            checked = p | "Read" >> ReadValidDocs(docs_in, NAME)
            docs = checked.docs
            feats = (docs | "Batch" >> beam.BatchElements(min_batch_size=16, max_batch_size=512)
                     | "Features" >> beam.ParDo(FeaturesFn(cfg, bands, rows))
                     | "FeatureById" >> beam.Map(lambda f: (f["id"], f))
                     | "BestCopy" >> beam.CombinePerKey(best_copy)
                     | "OnePerId" >> beam.Values())
            clusters, decisions = [], []
            survivors = feats
            if cfg.exact:
                r = survivors | "Exact" >> Resolve("exact", lambda f: f["text_hash"])
                survivors, clusters, decisions = r.survivors, clusters + [r.clusters], decisions + [r.decisions]
            if cfg.url:
                r = survivors | "Url" >> Resolve("url", lambda f: f["url"] or "\x00" + f["id"])
                survivors, clusters, decisions = r.survivors, clusters + [r.clusters], decisions + [r.decisions]

            # ---- near duplicates
            edges = (survivors
                     | "BandKeys" >> beam.FlatMap(lambda f: [(tuple(k), f["id"]) for k in f["keys"]])
                     | "GroupBuckets" >> beam.GroupByKey()
                     | "BucketEdges" >> beam.FlatMap(bucket_edges)
                     | "DistinctEdges" >> beam.Distinct()
                     | "CountCandidates" >> beam.Map(lambda e: (counter(NAME, "candidate_pairs").inc(), e)[1]))
            # the ids in some candidate edge, as sorted 64-bit hashes: a filter every worker holds
            # (8 bytes an id); the joins by id below are exact
            node_set = beam.pvalue.AsSingleton(
                edges | "EdgeNodes" >> beam.FlatMap(lambda e: (id_hash64(e[0]), id_hash64(e[1])))
                | "NodeSet" >> beam.CombineGlobally(HashSetFn()))
            ngram = cfg.ngram
            want_shingles = cfg.verify == "exact"
            # (id, (text hash, shingles)): of rows sharing an id, only the copy whose features went on counts
            shingles = (docs | "NodeShingles" >> beam.FlatMap(
                lambda d, ns: [(d["id"], (text_hash(d["text"]),
                                          shingle_set(d["text"], ngram).tobytes() if want_shingles else b""))]
                if contains(ns, d["id"]) else [], ns=node_set))
            node_feats = survivors | "NodeFeats" >> beam.FlatMap(
                lambda f, ns: [(f["id"], f)] if contains(ns, f["id"]) else [], ns=node_set)
            info = ({"f": node_feats, "s": shingles} | "JoinInfo" >> beam.CoGroupByKey()
                    | "Info" >> beam.FlatMap(node_info))
            half = ({"edges": edges, "info": info} | "JoinA" >> beam.CoGroupByKey()
                    | "Carry" >> beam.FlatMap(lambda kv: [(b, (kv[0], kv[1]["info"][0])) for b in kv[1]["edges"]]
                                              if kv[1]["info"] else []))
            verified = ({"edges": half, "info": info} | "JoinB" >> beam.CoGroupByKey()
                        | "Verify" >> beam.ParDo(VerifyFn(cfg)))
            labels = verified | "Components" >> ConnectedComponents(cfg.component_rounds, NAME)
            near = ({"label": labels, "f": node_feats} | "JoinLabels" >> beam.CoGroupByKey()
                    | "ByComponent" >> beam.FlatMap(lambda kv: [(kv[1]["label"][0], kv[1]["f"][0])]
                                                    if kv[1]["label"] and kv[1]["f"] else [])
                    | "GroupComponents" >> beam.GroupByKey()
                    | "ResolveNear" >> beam.ParDo(ResolveFn("near")).with_outputs("clusters", "decisions",
                                                                                  main="survivors"))
            clusters.append(near.clusters)
            decisions.append(near.decisions)

            # ---- back to the documents
            all_decisions = decisions | "AllDecisions" >> beam.Flatten()
            final = ({"docs": docs | "DocKey" >> beam.Map(lambda d: (d["id"], d)), "decisions": all_decisions}
                     | "JoinDecisions" >> beam.CoGroupByKey()
                     | "Finalize" >> beam.ParDo(FinalizeFn()).with_outputs(*REASONS.values(), DEAD_LETTER,
                                                                          main="kept"))
            final.kept | "WriteDocs" >> WriteDocs(out, shards)
            for reason in REASONS.values():
                final[reason] | f"Write_{reason}" >> WriteDocs(join(out, REMOVED_DIR, reason), shards)
            (clusters | "AllClusters" >> beam.Flatten()
             | "WriteClusters" >> WriteShards(clusters_dir, CLUSTER_SCHEMA, shards, key=lambda r: r["cluster_id"]))
            ((checked[DEAD_LETTER], final[DEAD_LETTER]) | "AllRejects" >> beam.Flatten()
             | "WriteRejects" >> WriteRejects(join(out, REJECTED_DIR)))

        counters = ctx.run_beam(build)
        if getattr(ctx, "build_only", False):
            return StageResult(details={"bands": bands, "rows": rows})
        files = match_files([clusters_dir], suffixes=(".parquet",))
        cluster_rows = read_table(files).to_pylist() if files else []
        details: dict[str, Any] = {
            "threshold": cfg.threshold, "num_perm": cfg.num_perm, "ngram": cfg.ngram, "seed": cfg.seed,
            "bands": bands, "rows": rows, "verify": cfg.verify,
            "candidate_pairs": counters.get("candidate_pairs", 0),
            "verified_pairs": counters.get("verified_pairs", 0),
            "component_rounds": cfg.component_rounds,
            "components_star_nodes": counters.get("components_star_nodes", 0),
            "components_residual_edges": counters.get("components_residual_edges", 0),
            "clusters": {k: sum(1 for r in cluster_rows if r["kind"] == k) for k in KINDS},
            "cluster_count": len(cluster_rows),
            "cluster_size_histogram": size_histogram(r["size"] for r in cluster_rows),
            "documents_in_clusters": sum(r["size"] for r in cluster_rows),
        }
        return StageResult(records_in=counters.get("in", 0), records_out=counters.get("out", 0),
                           details=details, outputs={
            "docs": out, "clusters": clusters_dir, "removed": join(out, REMOVED_DIR), "rejected": join(out, REJECTED_DIR)})


STAGE = DedupStage()
