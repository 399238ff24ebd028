"""Connected components of an edge list, as Beam rounds that no single worker has to hold.

``edges | ConnectedComponents(rounds, stage)`` → ``(node, label)`` for every node of an edge,
the label being the smallest node of its component (whatever the order or grouping of edges).

1. ``rounds`` rounds of **large-star** then **small-star** (Kiveris et al. 2014, *Connected
   Components in MapReduce and Beyond*), each a ``GroupByKey`` over the edges keyed by node.
   Both steps keep the components and shrink their diameter; a component ends as a star around
   its smallest node. Beam graphs have no loops, so the rounds are unrolled.
2. Components that are now finished stars (the centre's neighbours are exactly the nodes whose
   only neighbour is the centre) are labelled where they are, keyed by their centre.
3. The edges of every other component — a long chain needs more rounds than given — are labelled
   by the union-find combiner (:class:`ComponentsFn`), so the result is exact for any ``rounds``,
   and ``rounds = 0`` is the union-find alone.

Counters (in the stage's namespace): ``components_star_nodes`` (labelled by step 2) and
``components_residual_edges`` (left to step 3).
"""

from __future__ import annotations

import apache_beam as beam

from corpus_tools.clusters import UnionFind, finished_star, large_star, normalise_edge, small_star, star_role
from pipelines.metrics import counter


class ComponentsFn(beam.CombineFn):
    """Edges → {node: component label (its smallest node)}.

    Each worker folds its edges into a union-find forest (combiner lifting); the forests are
    merged by their nodes' roots, so the last merge holds the nodes, not the edges."""

    def create_accumulator(self) -> UnionFind:
        return UnionFind()

    def add_input(self, acc: UnionFind, edge) -> UnionFind:
        acc.union(*edge)
        return acc

    def merge_accumulators(self, accs) -> UnionFind:
        accs = iter(accs)
        merged = next(accs)
        for acc in accs:
            merged.merge(acc)
        return merged

    def extract_output(self, acc: UnionFind) -> dict:
        return acc.components()


def _both_ways(edge: tuple) -> list[tuple]:
    return [edge, (edge[1], edge[0])]


class ConnectedComponents(beam.PTransform):
    def __init__(self, rounds: int, stage: str):
        super().__init__()
        if rounds < 0:
            raise ValueError(f"rounds must be >= 0, got {rounds}")
        self.rounds, self.stage = rounds, stage

    def expand(self, edges):
        stage = self.stage
        edges = edges | "Normalise" >> beam.FlatMap(normalise_edge)
        for i in range(self.rounds):
            edges = (edges
                     | f"LargeStarKeys{i}" >> beam.FlatMap(_both_ways)
                     | f"LargeStarGroup{i}" >> beam.GroupByKey()
                     | f"LargeStar{i}" >> beam.FlatMapTuple(large_star)
                     | f"SmallStarKeys{i}" >> beam.Map(lambda e: (e[1], e[0]))  # keyed by the larger end
                     | f"SmallStarGroup{i}" >> beam.GroupByKey()
                     | f"SmallStar{i}" >> beam.FlatMapTuple(small_star))
        if self.rounds == 0:
            residual = edges | "CountResidual" >> beam.Map(
                lambda e: (counter(stage, "components_residual_edges").inc(), e)[1])
            star_labels = edges.pipeline | "NoStars" >> beam.Create([])
        else:
            stars = (edges
                     | "AdjacencyKeys" >> beam.FlatMap(_both_ways)
                     | "Adjacency" >> beam.GroupByKey()
                     | "StarRoles" >> beam.FlatMapTuple(star_role)
                     | "ByCentre" >> beam.GroupByKey()
                     | "FinishedStars" >> beam.FlatMapTuple(finished_star))

            def label_star(centre, leaves):
                counter(stage, "components_star_nodes").inc(1 + len(leaves))
                return [(centre, centre)] + [(leaf, centre) for leaf in leaves]

            def unfinished(kv):
                # edges are (smaller, larger): a finished star's edges all start at its centre
                low, groups = kv
                if groups["finished"]:
                    return []
                ends = set(groups["edges"])
                counter(stage, "components_residual_edges").inc(len(ends))
                return [(low, high) for high in sorted(ends)]

            star_labels = stars | "StarLabels" >> beam.FlatMapTuple(label_star)
            residual = ({"edges": edges, "finished": stars | "Centres" >> beam.Map(lambda s: (s[0], True))}
                        | "JoinCentres" >> beam.CoGroupByKey()
                        | "Unfinished" >> beam.FlatMap(unfinished))
        rest = (residual
                | "UnionFind" >> beam.CombineGlobally(ComponentsFn())
                | "UnionFindLabels" >> beam.FlatMap(lambda comps: sorted(comps.items())))
        return (star_labels, rest) | "AllLabels" >> beam.Flatten()
