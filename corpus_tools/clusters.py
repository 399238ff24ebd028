"""Duplicate clusters: connected components of candidate edges, and which document is kept.

:class:`UnionFind` holds only the documents that appear in an edge (not the whole corpus).
Forests built from parts of the edge list (one per worker) are combined with
:meth:`UnionFind.merge`, which reads each node's root rather than the edges, so the final merge
holds O(clustered documents), not O(edges); see docs/stages/dedup.md for how far that goes.
The keep rule is deterministic: highest ``score_sum`` (null counts as 0), then the longest
text, then the smallest id.
"""

from __future__ import annotations

from typing import Hashable, Iterable


class UnionFind:
    """Disjoint sets with path halving and union by size; the root of a set is its smallest member."""

    def __init__(self) -> None:
        self.parent: dict[Hashable, Hashable] = {}
        self.size: dict[Hashable, int] = {}
        self.low: dict[Hashable, Hashable] = {}  # root -> smallest member

    def add(self, x: Hashable) -> None:
        if x not in self.parent:
            self.parent[x], self.size[x], self.low[x] = x, 1, x

    def find(self, x: Hashable) -> Hashable:
        self.add(x)
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: Hashable, b: Hashable) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size.pop(rb)
        self.low[ra] = min(self.low[ra], self.low.pop(rb))

    def merge(self, other: "UnionFind") -> "UnionFind":
        """Add every connection of ``other`` (a forest over another part of the edges) to this one."""
        for x in other.parent:
            self.union(x, other.find(x))
        return self

    def components(self) -> dict[Hashable, Hashable]:
        """member -> the smallest member of its component (a label independent of edge order)."""
        return {x: self.low[self.find(x)] for x in self.parent}


def connected_components(edges: Iterable[tuple[Hashable, Hashable]]) -> dict[Hashable, Hashable]:
    """Label every node of ``edges`` with the smallest node of its connected component."""
    uf = UnionFind()
    for a, b in edges:
        uf.union(a, b)
    return uf.components()


def keep_rank(doc_id: str, score_sum: int | None, text_len: int) -> tuple:
    """Sort key of the keep rule: the smallest rank is kept."""
    return (-(score_sum or 0), -text_len, doc_id)


def choose_kept(members: Iterable[tuple[str, int | None, int]]) -> str:
    """The id kept among ``(id, score_sum, text_len)`` members."""
    return min(keep_rank(*m) for m in members)[2]


def size_histogram(sizes: Iterable[int]) -> dict[str, int]:
    """Cluster sizes bucketed as 2, 3, 4, 5-8, 9-16, ..., in order."""
    out: dict[str, int] = {}
    for s in sorted(sizes):
        if s < 5:
            label = str(s)
        else:
            lo, hi = 5, 8
            while s > hi:
                lo, hi = hi + 1, hi * 2
            label = f"{lo}-{hi}"
        out[label] = out.get(label, 0) + 1
    return out
