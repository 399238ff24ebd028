"""Plain text from a real MediaWiki dump."""

from __future__ import annotations

import bz2
import re

from corpus_tools.mediawiki import iter_pages, strip_markup


def test_strip_markup():
    wiki = ("'''Anarchism''' is a [[political philosophy]] that {{cite|x={{nested}}}} rejects "
            "[[hierarchy|hierarchies]].<ref name=a>Source, p. 3</ref> See [https://example.org the site].\n"
            "== History ==\n[[File:A.png|thumb|a [[caption]]]]\n{| class=wikitable\n| cell\n|}\n"
            "[[Category:Political ideologies]]<!-- hidden -->&amp; more")
    assert strip_markup(wiki) == ("Anarchism is a political philosophy that  rejects hierarchies. "
                                  "See the site.\nHistory\n\n& more")


def test_iter_pages_on_real_dump(shared_data):
    path = shared_data / "corpora" / "enwiki-sample-206-pages.xml.bz2"
    raw = bz2.open(path, "rt", encoding="utf-8").read()
    pages = re.findall(r"<page>(.*?)</page>", raw, re.S)
    articles = [p for p in pages if "<ns>0</ns>" in p and "<redirect" not in p]
    got = list(iter_pages(str(path)))
    titles = [re.search(r"<title>(.*?)</title>", p).group(1) for p in articles]
    assert [g["title"] for g in got] == [t.replace("&amp;", "&") for t in titles]
    assert len(got) > 50
    joined = "\n".join(g["text"] for g in got)
    assert "{{" not in joined and "[[" not in joined and "<ref" not in joined
    anarchism = next(g["text"] for g in got if g["title"] == "Anarchism")
    assert anarchism.startswith("Anarchism is a political philosophy")
