"""Plain text from a real MediaWiki dump."""

from __future__ import annotations

import bz2
import re

import pytest

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


# --------------------------------------------------------------------------- articles with no text
BLANK_PAGES = [  # (title, id, wikitext, detail)
    ("Template soup", "9001", "{{Infobox country|name=X}}\n{{Navbox|a|b}}\n[[Category:Stubs]]",
     "page 'Template soup' (id 9001): no text left once the markup of its 60 characters of wikitext is removed"),
    ("Nothing here", "9002", "", "page 'Nothing here' (id 9002): the wikitext is empty"),
    ("Spaces only", "9003", "  \n ", "page 'Spaces only' (id 9003): the wikitext is only whitespace"),
]


def _page(title: str, page_id: str, wikitext: str, ns: str = "0", redirect: bool = False) -> str:
    from xml.sax.saxutils import escape

    text = f'<text xml:space="preserve">{escape(wikitext)}</text>' if wikitext else '<text xml:space="preserve" />'
    return (f"  <page>\n    <title>{escape(title)}</title>\n    <ns>{ns}</ns>\n    <id>{page_id}</id>\n"
            + ('    <redirect title="Elsewhere" />\n' if redirect else "")
            + f"    <revision>\n      <id>1{page_id}</id>\n      <model>wikitext</model>\n      {text}\n"
              "    </revision>\n  </page>\n")


@pytest.fixture
def dump_with_blank_pages(shared_data, tmp_path):
    """The real dump's first three articles, then pages with no text, a template-only talk page and a
    redirect (neither is an article), as a .xml.bz2 in MediaWiki's export format."""
    raw = bz2.open(shared_data / "corpora" / "enwiki-sample-206-pages.xml.bz2", "rt", encoding="utf-8").read()
    head = raw[: raw.index("  <page>")]
    pages = re.findall(r"  <page>.*?</page>\n", raw, re.S)
    articles = [p for p in pages if "<ns>0</ns>" in p and "<redirect" not in p][:3]
    body = (articles[0] + _page(*BLANK_PAGES[0][:3]) + articles[1] + _page(*BLANK_PAGES[1][:3])
            + _page("Talk:Template soup", "9004", "{{Talk header}}", ns="1")
            + _page("Empty redirect", "9005", "", redirect=True) + _page(*BLANK_PAGES[2][:3]) + articles[2])
    path = tmp_path / "enwiki-blank.xml.bz2"
    path.write_bytes(bz2.compress((head + body + "</mediawiki>\n").encode("utf-8")))
    titles = [re.search(r"<title>(.*?)</title>", p).group(1) for p in articles]
    return path, titles


def test_an_article_with_no_text_left_is_yielded_blank_saying_why(dump_with_blank_pages):
    path, titles = dump_with_blank_pages
    got = list(iter_pages(str(path)))
    assert [g["title"] for g in got] == [titles[0], "Template soup", titles[1], "Nothing here", "Spaces only", titles[2]]
    assert [g["blank"] for g in got if "blank" in g] == [d for *_, d in BLANK_PAGES]
    assert all(g["text"].strip() for g in got if "blank" not in g)


def test_an_article_with_no_text_left_is_an_empty_dead_letter_of_tokenize(dump_with_blank_pages, shared_data, tmp_path,
                                                                          capsys):
    """It was skipped in silence: `records_in` did not count it and no dead letter said where it went."""
    import json

    import pyarrow.parquet as pq

    from pipelines.webtext import main

    path, titles = dump_with_blank_pages
    run = tmp_path / "run"
    assert main(["tokenize", "--out", str(run), "--input", str(path), "--tokenizer", str(shared_data / "gpt2-bpe")]) == 0
    stats = json.loads((run / "stats" / "tokenize.json").read_text())
    assert stats["records_out"] == 3 and stats["records_in"] == 6 and stats["reasons"] == {"empty": 3}
    rejects = pq.read_table(run / "tokens" / "_rejected").to_pylist()
    assert [(r["stage"], r["reason"], r["source"], r["offset"], r["detail"]) for r in rejects] == \
        [("tokenize", "empty", str(path), None, d) for *_, d in BLANK_PAGES]
    assert "3 record(s) are not documents" in capsys.readouterr().err
    # `webtext bpe train` leaves them out and says so, by reason
    assert main(["bpe", "train", "--input", str(path), "--out", str(tmp_path / "tok"), "--vocab-size", "300"]) == 0
    err = capsys.readouterr().err
    assert "skipped 3 records that are not documents (empty 3)" in err and BLANK_PAGES[0][3] in err, err
