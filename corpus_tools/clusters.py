"""Duplicate clusters: connected components of candidate edges, and which document is kept.

Two ways to label components, both giving each node the smallest node of its component:

* :class:`UnionFind` holds only the documents that appear in an edge (not the whole corpus).
  Forests built from parts of the edge list (one per worker) are combined with
  :meth:`UnionFind.merge`, which reads each node's root rather than the edges.
* The per-node steps of **large-star / small-star** (Kiveris et al. 2014, *Connected Components
  in MapReduce and Beyond*): :func:`large_star`, :func:`small_star`, then :func:`star_role` and
  :func:`finished_star` to find components that have become stars. They run as keyed rounds
  (``pipelines/components.py``), so no worker needs the whole graph; see docs/stages/dedup.md.

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


def normalise_edge(edge: tuple) -> list[tuple]:
    """``(a, b)`` as ``[(smaller, larger)]``; a self-loop gives no edge."""
    a, b = edge
    if a == b:
        return []
    return [(a, b)] if a < b else [(b, a)]


def large_star(node: Hashable, neighbors: Iterable[Hashable]) -> list[tuple]:
    """Large-star at ``node``: every strictly larger neighbour is linked to the smallest of the
    node's closed neighbourhood. Edges come out as ``(smaller, larger)``."""
    ns = set(neighbors)
    low = min(min(ns), node)
    return [(low, v) for v in sorted(ns) if v > node]


def small_star(node: Hashable, smaller: Iterable[Hashable]) -> list[tuple]:
    """Small-star at ``node`` given its neighbours smaller than it: the node and those neighbours
    are all linked to the smallest of them. Edges come out as ``(smaller, larger)``."""
    ns = set(smaller)
    low = min(ns)
    return [(low, v) for v in sorted(ns | {node}) if v != low]


def star_role(node: Hashable, neighbors: Iterable[Hashable]) -> list[tuple]:
    """What ``node`` says about the star it may belong to, keyed by that star's centre:
    ``(node, ("centre", neighbours))`` when every neighbour is larger, ``(m, ("leaf", node))`` when
    its only neighbour ``m`` is smaller. A node in neither role is in no finished star."""
    ns = set(neighbors)
    out = []
    if min(ns) > node:
        out.append((node, ("centre", tuple(sorted(ns)))))
    if len(ns) == 1 and next(iter(ns)) < node:
        out.append((next(iter(ns)), ("leaf", node)))
    return out


def finished_star(centre: Hashable, roles: Iterable[tuple]) -> list[tuple]:
    """``[(centre, leaves)]`` when the centre's neighbours are exactly the leaves that name it
    (each has no other neighbour, and all are larger): the component is then that star, and the
    centre is its smallest node. ``[]`` otherwise."""
    neighbours, leaves = None, set()
    for role, value in roles:
        if role == "centre":
            neighbours = value
        else:
            leaves.add(value)
    if neighbours is None or set(neighbours) != leaves:
        return []
    return [(centre, neighbours)]


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
