"""Connected components as Beam rounds (large-star / small-star, then union-find for the rest)."""

from __future__ import annotations

import json
import random

import apache_beam as beam
import pytest

from corpus_tools.clusters import connected_components, finished_star, large_star, small_star, star_role
from pipelines.components import ConnectedComponents
from pipelines.metrics import collect_counters
from pipelines.options import new_pipeline

STAGE = "components-test"


def run_components(edges: list[tuple], rounds: int, tmp_path) -> tuple[dict, dict]:
    """Labels and counters from the transform on the local runner (labels written to a file)."""
    out = tmp_path / f"labels-{rounds}"
    p = new_pipeline([])
    (p | beam.Create(edges) | ConnectedComponents(rounds, STAGE)
     | beam.Map(json.dumps) | beam.io.WriteToText(str(out), shard_name_template=""))
    result = p.run()
    result.wait_until_finish()
    pairs = [json.loads(line) for line in out.read_text().splitlines()]
    labels = dict(map(tuple, pairs))
    assert len(labels) == len(pairs), "a node was labelled twice"
    return labels, collect_counters(result, STAGE)


def graph_of(kind: str) -> list[tuple]:
    rng = random.Random(7)
    if kind == "cliques-and-stars":  # what near-duplicate clusters look like
        edges = []
        for c in range(30):
            members = [f"c{c:02d}-{i}" for i in range(rng.randint(2, 6))]
            edges += [(a, b) for i, a in enumerate(members) for b in members[i + 1:]]
        for s in range(20):
            edges += [(f"s{s:02d}-{i}", f"s{s:02d}-0") for i in range(1, rng.randint(2, 9))]
        return edges
    if kind == "random":
        nodes = [f"{i:04d}" for i in range(400)]
        return [(rng.choice(nodes), rng.choice(nodes)) for _ in range(300)]  # self-loops included
    if kind == "chains":  # long paths, labelled from either end, need many rounds
        return ([(f"a{i:04d}", f"a{i + 1:04d}") for i in range(300)]
                + [(f"b{i + 1:04d}", f"b{i:04d}") for i in reversed(range(200))]
                + [(f"z{i:04d}", f"z{i + 1:04d}") for i in range(3)])
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["cliques-and-stars", "random", "chains"])
@pytest.mark.parametrize("rounds", [0, 1, 4])
def test_labels_equal_union_find_for_any_number_of_rounds(kind, rounds, tmp_path):
    edges = graph_of(kind)
    expected = connected_components([e for e in edges if e[0] != e[1]])
    labels, counters = run_components(edges, rounds, tmp_path)
    assert labels == expected
    star_nodes = counters.get("components_star_nodes", 0)
    if rounds == 0:  # union-find alone
        assert star_nodes == 0 and counters["components_residual_edges"] == len([e for e in edges if e[0] != e[1]])
    if kind == "cliques-and-stars" and rounds >= 1:
        # every cluster of this shape becomes a star in one round: nothing is left for the one worker
        assert star_nodes == len(expected) and counters.get("components_residual_edges", 0) == 0
    if kind == "chains" and rounds == 4:
        # four rounds finish the 4-node chain but not the long ones: those go to the union-find
        assert star_nodes == 4 and counters["components_residual_edges"] > 0


def test_star_steps_on_small_graphs():
    assert large_star("c", ["a", "d", "e"]) == [("a", "d"), ("a", "e")]
    assert large_star("a", ["b", "c"]) == [("a", "b"), ("a", "c")]
    assert small_star("d", ["b", "c"]) == [("b", "c"), ("b", "d")]
    # a finished star: centre a, leaves b and c that have no other neighbour
    roles = star_role("a", ["b", "c"]) + star_role("b", ["a"]) + star_role("c", ["a"])
    assert sorted(roles) == [("a", ("centre", ("b", "c"))), ("a", ("leaf", "b")), ("a", ("leaf", "c"))]
    assert finished_star("a", [r[1] for r in roles]) == [("a", ("b", "c"))]
    # c also touches d: it is not a leaf, and the star around a is not finished
    roles = star_role("a", ["b", "c"]) + star_role("b", ["a"]) + star_role("c", ["a", "d"])
    assert finished_star("a", [r[1] for r in roles if r[0] == "a"]) == []
    # a path b - a - ... where a's neighbour is smaller than a is no centre
    assert star_role("b", ["a", "c"]) == []
