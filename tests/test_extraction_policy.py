"""Extraction: HTML repair, trafilatura + newspaper3k combination, metadata, per-document time limit."""

from __future__ import annotations

import re
from pathlib import Path
from collections import Counter

import pytest

from corpus_tools.charset import decode_html
from corpus_tools.extract import extract_document
from corpus_tools.extraction_policy import (
    extract_combined, extract_newspaper, extract_trafilatura, html_language_hint, repair_html,
)
from corpus_tools.recipe import ExtractConfig
from corpus_tools.time_limit import CallTimeout, TimeLimited

_TOKEN = re.compile(r"\w+")


def shingle_f1(pred: str, gold: str, n: int = 4) -> float:
    def sh(t):
        w = _TOKEN.findall(t.lower())
        return Counter(tuple(w[i : i + n]) for i in range(len(w) - n + 1))
    p, g = sh(pred), sh(gold)
    overlap = sum((p & g).values())
    if not overlap:
        return 0.0
    prec, rec = overlap / sum(p.values()), overlap / sum(g.values())
    return 2 * prec * rec / (prec + rec)


@pytest.fixture(scope="module")
def leogao(shared_data):
    root = shared_data / "extraction" / "htmltotext" / "en"
    html, _ = decode_html((root / "html" / "blog-leogao-1.html").read_bytes())
    gold = (root / "text" / "blog-leogao-1.txt").read_text(encoding="utf-8")
    return html, gold


def test_repair_removes_premature_end_tags_only():
    html = "<html><head><title>t</title></head></html><body><p>Hello</p></body></html>"
    assert repair_html(html) == "<html><head><title>t</title></head><body><p>Hello</p>"
    assert repair_html("<p>no end tags</p>") == "<p>no end tags</p>"


def test_stray_html_end_tag_page_is_recovered(leogao):
    html, gold = leogao
    # this page closes </html> before <body>: trafilatura alone finds nothing
    assert extract_trafilatura(html) is None
    found = extract_combined(html, "https://leogao.dev/2020/05/29/GPT-3-A-Brief-Summary/")
    assert found["extractor"] == "trafilatura"
    assert shingle_f1(found["text"], gold) > 0.95
    assert found["title"] == "Why GPT-3 Matters"
    assert found["date"] == "2020-05-29"
    assert found["language_hint"] == "en"


def test_combination_beats_trafilatura_alone_on_english_gold(shared_data):
    root = shared_data / "extraction" / "htmltotext" / "en"
    alone, combined = [], []
    for page in sorted((root / "html").glob("*.html")):
        html, _ = decode_html(page.read_bytes())
        gold = (root / "text" / (page.stem + ".txt")).read_text(encoding="utf-8")
        t = extract_trafilatura(html)
        c = extract_combined(html)
        alone.append(shingle_f1(t["text"] if t else "", gold))
        combined.append(shingle_f1(c["text"] if c else "", gold))
    assert len(alone) == 15
    assert all(c >= a - 0.02 for a, c in zip(alone, combined))  # never clearly worse on a page
    assert sum(combined) / 15 > sum(alone) / 15 + 0.03


def test_newspaper_fallback_for_short_trafilatura_text():
    body = " ".join(f"Sentence number {i} of the article says something rather long and useful." for i in range(30))
    html = f"<html><head><title>A title</title></head><body><article><p>{body}</p></article></body></html>"
    forced = extract_combined(html, fallback_chars=10**9)  # trafilatura's text counts as "short"
    t, n = extract_trafilatura(html)["text"], extract_newspaper(html)["text"]
    assert forced["extractor"] == ("newspaper3k" if len(n) > len(t) else "trafilatura")
    assert forced["text"] == max(t, n, key=len)
    assert forced["title"] == "A title"
    assert "Sentence number 29" in forced["text"]
    only_np = extract_document(html, None, ExtractConfig(extractor="newspaper3k"))
    assert only_np["extractor"] == "newspaper3k" and "Sentence number 29" in only_np["text"]
    assert extract_document(html, None, ExtractConfig(extractor="trafilatura"))["extractor"] == "trafilatura"


def test_language_hint():
    assert html_language_hint('<!doctype html><html class="x" lang="de-DE"><head>') == "de"
    assert html_language_hint("<html><head><meta http-equiv='Content-Language' content='hr'>") == "hr"
    assert html_language_hint("<html><body>none</body></html>") is None
    # seen in Common Crawl: a charset where the language should be
    assert html_language_hint('<html><head><meta http-equiv="Content-Language" content="UTF-8" />') is None
    assert html_language_hint('<html><head><META http-equiv="Content-language" content="de-ch" />') == "de"


def slow_page(paragraphs: int = 40000) -> str:
    return "<html><body>" + "".join(
        f"<div><p>word {i} and some more text here</p></div>" for i in range(paragraphs)) + "</body></html>"


def test_hanging_extraction_is_cut_at_the_time_limit():
    cfg = ExtractConfig(timeout_s=1.0)
    normal = "<html><body><article><p>" + "A perfectly normal paragraph of text. " * 20 + "</p></article></body></html>"
    with TimeLimited(extract_document, cfg.timeout_s, warmup=(normal, None, cfg)) as limited:
        with pytest.raises(CallTimeout):
            limited(slow_page(), None, cfg)  # takes seconds to extract without the limit
        # the worker was replaced: the next page is extracted normally
        again = limited(normal, None, cfg)
    assert again is not None and "perfectly normal paragraph" in again["text"]


_ZH_SCRIPT = r"""
import dataclasses, json, sys
from corpus_tools import word_segmentation
from corpus_tools.extract import extract_document
from corpus_tools.recipe import ExtractConfig

html = open(sys.argv[1], encoding="utf-8").read()
doc = extract_document(html, "http://news.cctv.com/2020/08/03/ARTI6wNyfAmZU6pd8NQHtmf6200803.shtml",
                       dataclasses.replace(ExtractConfig(), extractor="newspaper3k"))
with open(sys.argv[2], "w", encoding="utf-8") as f:
    json.dump({"text": doc and doc["text"], "segmenter_built": word_segmentation._segmenter is not None}, f)
"""


def test_newspaper_on_a_chinese_page_writes_no_jieba_cache_and_prints_nothing(shared_data, tmp_path):
    """newspaper3k segments a Chinese page with jieba; jieba's default loader wrote (and read back)
    ``jieba.cache`` in the temp folder, a file shared with every program on the machine, and printed
    "Dumping model to file cache ...". The extract path uses word_segmentation's tokenizer, built in memory."""
    import json
    import os
    import subprocess
    import sys

    src = shared_data / "extraction" / "htmltotext" / "zh" / "html" / "news-cctv-ARTI6wNyfAmZU6pd8NQHtmf6200803.html"
    html = src.read_text(encoding="utf-8")
    opening = '<html xmlns="http://www.w3.org/1999/xhtml">'
    assert opening in html
    page = tmp_path / "zh.html"  # the same real page, declaring its language: newspaper3k takes it as Chinese
    page.write_text(html.replace(opening, '<html lang="zh-CN" xmlns="http://www.w3.org/1999/xhtml">', 1),
                    encoding="utf-8")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    result = tmp_path / "result.json"
    env = dict(os.environ, TMPDIR=str(tmp), TMP=str(tmp), TEMP=str(tmp),
               PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", _ZH_SCRIPT, str(page), str(result)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (proc.stdout, proc.stderr) == ("", "")
    assert not list(tmp.rglob("jieba*.cache"))
    out = json.loads(result.read_text(encoding="utf-8"))
    assert out["segmenter_built"]  # newspaper3k did segment the page with jieba: the Chinese path ran
    assert len(out["text"]) > 1000


_TEMP_SCRIPT = """
import dataclasses, sys
from corpus_tools.extract import extract_document
from corpus_tools.recipe import ExtractConfig
html = open(sys.argv[1], encoding="utf-8").read()
for extractor in ("newspaper3k", "combined"):  # combined: newspaper3k runs below fallback_chars
    doc = extract_document(html, "http://example.org/a",
                           dataclasses.replace(ExtractConfig(), extractor=extractor, fallback_chars=10**9))
    assert len(doc["text"]) > 200, (extractor, doc)
"""


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("before", [[], [".newspaper_scraper/memoized/example.com.txt"], [".newspaper_scraper/"]])
def test_newspaper_leaves_the_temp_folder_as_it_was(shared_data, tmp_path, before):
    """Importing newspaper3k created .newspaper_scraper/{memoized,feed_category_cache} in the temp
    folder, and every parse() .newspaper_scraper/article_resources: in every extraction process. The
    temp folder is left as it was found; what was there already (another program's) is not touched."""
    import os
    import subprocess
    import sys

    page = sorted((shared_data / "extraction" / "htmltotext" / "en" / "html").iterdir())[0]
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    for path in before:
        (tmp / path).parent.mkdir(parents=True, exist_ok=True)
        if not path.endswith("/"):
            (tmp / path).write_text("kept\n")
    found = _tree(tmp)
    env = dict(os.environ, TMPDIR=str(tmp), TMP=str(tmp), TEMP=str(tmp),
               PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", _TEMP_SCRIPT, str(page)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _tree(tmp) == found
    assert all((tmp / path).read_text() == "kept\n" for path in before if not path.endswith("/"))
