"""The Arrow batch canonicaliser (corpus_tools.url_batch) agrees with canonical_parts URL for URL.

The expected values come from the one-URL-at-a-time path (corpus_tools.urls, itself tested
against hand-written canonical forms in test_urls.py), never from the batch code.
"""

from __future__ import annotations

import json
import lzma

import pytest

from corpus_tools.links import POST_SCHEMA, PostFilter
from corpus_tools.recipe import Recipe
from corpus_tools.reddit import Submission
from corpus_tools.url_batch import canonical_batch
from corpus_tools.urls import BLOCKED_EXTENSIONS, Blocklist, UrlRejected, canonical_host, canonical_parts, url_extension
from test_urls import CANONICAL

# Shapes the batch path must get right, or leave to the one-by-one path.
EDGE_URLS = [
    "http://a.com/x.PDF", "http://a.com/x.Pdf?y=1", "http://a.com/.htaccess", "http://a.com/a..b", "http://a.com/x.",
    "http://a.com/x.tar.gz", "http://a.com/pdf", "http://a.com/x.pdf/", "http://a.com/x.pdf/y",
    "http://a..com/", "http://-a.com/", "http://.a.com/", "http://a.com./x/", "http://A.COM./",
    "http://www.com/", "http://www.a.com//", "http://WWW.A.COM/", "http://www./", "http://www.x/",
    "http://a.com", "http://a.com?x=1", "http://a.com/?", "http://a.com/?&&", "http://a.com/?&",
    "http://a.com/?utm_x=1&UTM_Y=2", "http://a.com/?utm_=1", "http://a.com/?b&a", "http://a.com/?a=1&a",
    "http://a.com/?B=1&a=2&A=0", "http://a.com/?a=2&a=1&a=10", "http://a.com/p?fbclid=1", "http://a.com/p?FBCLID=1&x",
    "http://a.com/p?x=fbclid", "http://a.com/b?c?d=1&e", "http://a.com/b?=1&=0",
    "https://a.com/a?x=1&amp;amp;y=2", "http://a.com/&lt;x&gt;", "http://a.com/a?x=&amp;", "http://a.com/x&amp;y",
    "http://en.wikipedia.org/wiki/X", "http://EN.Wikipedia.ORG/wiki/X", "http://notwikipedia.org/",
    "http://www.youtube.com/watch?v=1", "https://i.imgur.com/x.png", "http://a.com/x.png?via=reddit",
    "http://a.com:80/", "http://a.com:8080/x", "HTTP://a.com/", "Http://a.com/", "http://a.com/\u00e9",
    "http://a.com/%41", "http://a.com/a b", "http://a.com/a#b", "http://u@a.com/", "http://a.com/./x",
    "http://a.com/x/..", "http://a.com/.x/y", "http://a.com///", "ftp://x.com/", "", "  http://a.com/x ",
    "http://[::1]/", "http://a_b.com/", "http://a.com/x?y=%7e", "http://a.com/~u/(x)!$'*+,;=:@",
]


def one_by_one(url: str, blocklist: Blocklist, extensions: frozenset[str]) -> tuple[str | None, str | None]:
    try:
        canonical, host = canonical_parts(url)
    except UrlRejected as e:
        return None, e.reason
    reason = blocklist.reason(host)
    if reason is None and url_extension(canonical) in extensions:
        reason = "bad_extension"
    return canonical, reason


def host_verdict(blocklist: Blocklist):
    def verdict(host: str) -> tuple[str, str | None]:
        try:
            canonical = canonical_host(host)
        except UrlRejected as e:
            return "", e.reason
        return canonical, blocklist.reason(canonical)
    return verdict


def check_agree(urls: list[str], blocklist: Blocklist, extensions: frozenset[str]) -> int:
    canonical, reasons = canonical_batch(urls, host_verdict(blocklist), extensions)
    assert len(canonical) == len(reasons) == len(urls)
    handled = 0
    for url, c, r in zip(urls, canonical, reasons):
        if c is None:  # left to the one-by-one path
            assert r is None
            continue
        handled += 1
        want_c, want_r = one_by_one(url, blocklist, extensions)
        assert r == want_r, url
        if want_r is None:
            assert c == want_c, url
    return handled


def test_batch_agrees_on_the_hand_written_table_and_edge_cases():
    urls = [raw for raw, _ in CANONICAL] + [canonical for _, canonical in CANONICAL] + EDGE_URLS
    handled = check_agree(urls, Blocklist.build(), BLOCKED_EXTENSIONS)
    assert handled > len(urls) // 2  # the common shape really is taken in batch


def test_batch_agrees_on_every_url_of_the_real_dumps(shared_data):
    urls = []
    for name in ("RS_v2_2005-06.xz", "RS_v2_2005-07.xz"):
        with lzma.open(shared_data / "reddit" / name) as fh:
            urls.extend(json.loads(line)["url"] for line in fh)
    assert len(urls) == 1182
    handled = check_agree(urls, Blocklist.build(), BLOCKED_EXTENSIONS)
    assert handled > 0.9 * len(urls)


def test_batch_follows_the_recipe_lists():
    blocklist = Blocklist.build(builtin=["reddit"], user=["example.org"])
    extensions = frozenset(BLOCKED_EXTENSIONS - {"pdf"})
    urls = ["http://news.example.org/a", "http://en.wikipedia.org/wiki/X", "http://a.com/x.pdf", "http://a.com/x.png",
            "http://redd.it/x"]
    canonical, reasons = canonical_batch(urls, host_verdict(blocklist), extensions)
    assert reasons == ["blocked_domain:user", None, None, "bad_extension", "blocked_domain:reddit"]
    assert canonical[1] == "http://en.wikipedia.org/wiki/X" and canonical[2] == "http://a.com/x.pdf"
    assert check_agree(urls, blocklist, frozenset()) == len(urls)  # no extension blocked at all


def test_urls_arrow_cannot_hold_are_left_to_python():
    urls = ["http://a.com/\ud800", "http://a.com/x"]  # a lone surrogate is not UTF-8
    assert canonical_batch(urls, host_verdict(Blocklist.build()), BLOCKED_EXTENSIONS) == ([None, None], [None, None])


@pytest.mark.parametrize("keep_nsfw", [False, True])
def test_classify_checked_equals_classify(keep_nsfw):
    pf = PostFilter.from_config(Recipe().replace({"links": {"keep_nsfw": keep_nsfw}}).links)
    urls = [raw for raw, _ in CANONICAL] + EDGE_URLS
    scores = [3, "4", 2.0, None, "x", True, -1, 2**60]
    records = [Submission.from_mapping({"id": f"p{i}", "url": u, "score": scores[i % len(scores)],
                                        "created_utc": [1120000000, "1120000001", None][i % 3],
                                        "subreddit": ["news", "", None][i % 3]})
               for i, u in enumerate(urls) if u.strip()]
    assert all(pf.check_record(r) is None for r in records)
    expected = [PostFilter.from_config(Recipe().replace({"links": {"keep_nsfw": keep_nsfw}}).links).classify(r)
                for r in records]
    posts, urls, dropped = pf.classify_checked(records)
    assert posts.schema.equals(POST_SCHEMA)
    assert [tuple(row.values()) for row in posts.to_pylist()] == [post for reason, post in expected if reason is None]
    assert urls == [post[0] for reason, post in expected if reason is None]
    assert dropped == [(i, reason, detail) for i, (reason, detail) in enumerate(expected) if reason is not None]
    assert {reason for reason, _ in expected} >= {None, "bad_score", "not_http", "bad_url", "bad_extension",
                                                  "blocked_domain:wikipedia", "blocked_domain:media"}


def test_post_columns_take_every_value_type_like_classify():
    pf = PostFilter()
    odd = [("p1", 3, 1120000000, "news"), (7, "4", "1120000001", ""), (None, 5.0, None, None),
           ("p4", "6.5", 2**60, 12), ("p5", 8, 1.5e9, "pics"), ("p6", 9, True, "x")]
    records = [Submission.from_mapping({"id": i, "url": f"http://a.com/{n}", "score": s, "created_utc": t,
                                        "subreddit": sub}) for n, (i, s, t, sub) in enumerate(odd)]
    posts, _, dropped = pf.classify_checked(records)
    assert dropped == []
    assert [tuple(row.values()) for row in posts.to_pylist()] == [pf.classify(r)[1] for r in records]
    assert posts.column("post_id").to_pylist() == ["p1", "7", None, "p4", "p5", "p6"]
    assert posts.column("created_utc").to_pylist() == [1120000000, 1120000001, None, None, 1500000000, None]
    assert posts.column("subreddit").to_pylist() == ["news", None, None, None, "pics", "x"]
