"""Gap filling: page text dropped between two kept paragraphs is put back, and only that."""

from __future__ import annotations

import re
from collections import Counter

from corpus_tools.charset import decode_html
from corpus_tools.extraction_policy import extract_combined
from corpus_tools.gap_fill import fill_gaps, page_lines

POST_1 = "I refinanced last month from a thirty year loan to a fifteen year loan at a lower rate."
POST_2 = "We did the same thing and the closing costs were covered entirely by the lender credit."
POST_3 = "Shop around for title insurance, it saved us several hundred dollars at closing time."

FORUM = f"""<html><body>
<nav><a href="/">Home</a> <a href="/f">Forums</a></nav>
<div class="banner">Welcome to the community forum for investors</div>
<div class="post"><p>{POST_1}</p></div>
<div class="postprofile"><a href="/u/1">Top</a><div>Postby carol &raquo; Sun Sep 01, 2019 8:43 pm</div>
  <div>Posts: 57</div></div>
<div class="post"><p>{POST_2}</p></div>
<div class="postprofile"><div>Postby dave &raquo; Mon Sep 02, 2019 9:01 am</div>
  <div><cite><a href="/u/3">Joshua B Zelinsky</a></cite> Says:</div>
  <figure><img src="a.png"><figcaption>Photo: somebody's avatar</figcaption></figure>
  <span hidden>Hidden moderator note</span>
  <div style="display: none">Invisible widget</div></div>
<div class="post"><p>{POST_3}</p></div>
<footer>Powered by phpBB</footer>
</body></html>"""


def test_page_lines_cut_at_blocks_with_link_density():
    lines = dict(page_lines(FORUM))
    assert lines[POST_1] == 0.0
    assert lines["Top"] == 1.0  # all of it inside <a>
    assert lines["Joshua B Zelinsky Says:"] == len("Joshua B Zelinsky") / len("Joshua B Zelinsky Says:")
    assert lines["Posts: 57"] == 0.0
    assert "Postby carol » Sun Sep 01, 2019 8:43 pm" in lines
    texts = " ".join(lines)
    # nav, footer, figure captions and elements a browser does not show are not page text
    for absent in ("Home", "Powered by", "Photo:", "Hidden moderator", "Invisible widget"):
        assert absent not in texts


def test_bylines_between_kept_posts_are_put_back_in_place():
    extracted = "\n".join([POST_1, POST_2, POST_3])  # what an article extractor keeps
    filled = fill_gaps(extracted, page_lines(FORUM))
    assert filled.split("\n") == [
        POST_1,
        "Postby carol » Sun Sep 01, 2019 8:43 pm",
        "Posts: 57",  # "Top" is link text: navigation, left out
        POST_2,
        "Postby dave » Mon Sep 02, 2019 9:01 am",
        "Joshua B Zelinsky Says:",  # 17 of 23 characters are link text: a header, not navigation
        POST_3,
    ]
    # with a stricter link-density limit the header goes, the bylines stay
    strict = fill_gaps(extracted, page_lines(FORUM), max_link_density=0.5)
    assert "Zelinsky" not in strict and "Postby dave" in strict and "Posts: 57" in strict


def test_text_already_there_is_not_duplicated():
    extracted = "\n".join([POST_1, "Posts: 57", POST_2, POST_3])
    filled = fill_gaps(extracted, page_lines(FORUM))
    assert filled.count("Posts: 57") == 1
    assert filled.count("Postby carol") == 1


def test_long_gaps_and_off_switch_leave_text_alone():
    extracted = "\n".join([POST_1, POST_2, POST_3])
    lines = page_lines(FORUM)
    # the carol gap is 3 lines (Top, Postby, Posts): a 2-line limit leaves it, keeps dave's 2-line gap
    two = fill_gaps(extracted, lines, max_lines=2)
    assert "carol" not in two and "Postby dave" in two
    # a character limit below the length of dave's byline leaves that gap too
    assert "dave" not in fill_gaps(extracted, lines, max_lines=10, max_chars=len("Postby dave") + 5)
    assert fill_gaps(extracted, lines, max_lines=0) == extracted
    assert fill_gaps(extracted, []) == extracted
    # text outside the anchors (before the first kept paragraph, after the last) is never added
    assert fill_gaps(POST_2, lines) == POST_2


def test_search_budget_bounds_work_on_pages_of_lines_not_in_the_text(monkeypatch):
    import corpus_tools.gap_fill as gap_fill

    extracted = "\n".join([POST_1, POST_2, POST_3])
    lines = page_lines(FORUM)
    assert "Postby carol" in fill_gaps(extracted, lines)
    # the banner line (>= 20 characters, not in the text) is searched for in vain first; with no
    # budget left for such searches, no anchor is looked for after it and the text is returned as is
    monkeypatch.setattr(gap_fill, "_SCAN_BUDGET", 0)
    assert fill_gaps(extracted, lines) == extracted


def test_unparseable_or_bodyless_html_gives_no_lines():
    assert page_lines("") == []
    assert page_lines("<?xml version='1.0'?><feed></feed>") == []


_TOKEN = re.compile(r"\w+")


def _f1(pred: str, gold: str, n: int = 4) -> float:
    def sh(t):
        w = _TOKEN.findall(t.lower())
        return Counter(tuple(w[i : i + n]) for i in range(len(w) - n + 1))
    p, g = sh(pred), sh(gold)
    overlap = sum((p & g).values())
    return 2 * overlap / (sum(p.values()) + sum(g.values())) if overlap else 0.0


def test_forum_gold_page_gains_and_article_page_is_unchanged(shared_data):
    root = shared_data / "extraction" / "htmltotext" / "en"

    def load(stem):
        html, _ = decode_html((root / "html" / f"{stem}.html").read_bytes())
        return html, (root / "text" / f"{stem}.txt").read_text(encoding="utf-8")

    html, gold = load("forum-bogleheads-289559")
    without = extract_combined(html, gap_lines=0)["text"]
    with_gaps = extract_combined(html)["text"]
    # the gold keeps each post's "Postby NAME » DATE" line; trafilatura drops it
    bylines = [ln for ln in gold.split("\n") if ln.startswith("Postby ")]
    assert len(bylines) > 10
    assert sum(b[len("Postby"):].strip() in with_gaps for b in bylines) > 0.8 * len(bylines)
    assert sum(b[len("Postby"):].strip() in without for b in bylines) < 0.2 * len(bylines)
    assert _f1(with_gaps, gold) > _f1(without, gold) + 0.03

    # an article whose paragraphs trafilatura already keeps whole: nothing to fill
    html, _ = load("news-nvidia-supercomputing-center-rtx-server")
    assert extract_combined(html)["text"] == extract_combined(html, gap_lines=0)["text"]
