import random

from corpus_tools.clusters import UnionFind, choose_kept, connected_components, keep_rank, size_histogram
from corpus_tools.exact import normalize_text, text_hash, url_key


def test_components_of_a_known_graph_do_not_depend_on_edge_order():
    edges = [("d", "e"), ("b", "a"), ("c", "b"), ("x", "y"), ("e", "f")]
    expected = {"a": "a", "b": "a", "c": "a", "d": "d", "e": "d", "f": "d", "x": "x", "y": "x"}
    rng = random.Random(0)
    for _ in range(20):
        rng.shuffle(edges)
        flipped = [(b, a) if rng.random() < 0.5 else (a, b) for a, b in edges]
        assert connected_components(flipped) == expected


def test_union_find_long_chain():
    uf = UnionFind()
    for i in range(10_000):
        uf.union(i + 1, i)
    comps = uf.components()
    assert set(comps.values()) == {0} and len(comps) == 10_001


def test_merging_forests_of_edge_parts_gives_the_components_of_all_edges():
    # What the dedup stage's combiner does: each worker builds a forest from its part of the
    # edges; merging the forests (in any grouping) labels every node as one union-find would.
    rng = random.Random(3)
    nodes = [f"{i:04d}" for i in range(600)]
    edges = [(rng.choice(nodes), rng.choice(nodes)) for _ in range(500)]
    edges += [(nodes[i], nodes[i + 1]) for i in range(100, 180)]  # a long path across every part
    rng.shuffle(edges)
    expected = connected_components(edges)
    for parts in (1, 3, 7):
        forests = []
        for k in range(parts):
            uf = UnionFind()
            for a, b in edges[k::parts]:
                uf.union(a, b)
            forests.append(uf)
        rng.shuffle(forests)
        while len(forests) > 1:  # pairwise, as a combiner tree would
            forests.append(forests.pop().merge(forests.pop()))
        assert forests[0].components() == expected
        assert len(forests[0].parent) == len(expected)  # nodes of the edges only


def test_keep_rule():
    # highest score_sum (None = 0) first, then the longest text, then the smallest id
    assert choose_kept([("b", 5, 10), ("a", 3, 100)]) == "b"
    assert choose_kept([("b", None, 10), ("a", 0, 5)]) == "b"
    assert choose_kept([("b", 0, 10), ("a", None, 10), ("c", -1, 99)]) == "a"
    members = [(f"{i:02d}", i % 3, 50 + i % 5) for i in range(30)]
    kept = {choose_kept(random.Random(s).sample(members, len(members))) for s in range(10)}
    # score 2: ids 02, 05, ..., 29; among them text length 54 (i % 5 == 4): ids 14 and 29; smallest id: 14
    assert kept == {"14"}
    assert min(members, key=lambda m: keep_rank(*m))[0] == "14"


def test_size_histogram():
    assert size_histogram([2, 2, 3, 5, 8, 9, 40]) == {"2": 2, "3": 1, "5-8": 2, "9-16": 1, "33-64": 1}


def test_exact_keys():
    assert text_hash("Hello,   World!\n") == text_hash("hello world") != text_hash("hello worlds")
    assert normalize_text("Ｆｕｌｌ－width ＴＥＸＴ") == "full width text"
    assert url_key("HTTPS://www.Example.com:443/a/?q=1#top") == url_key("http://example.com/a?q=1")
    assert url_key("http://example.com/a?q=1") != url_key("http://example.com/a?q=2")
    assert url_key(None) is None and url_key("not a url") is None
