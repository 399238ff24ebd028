"""Main-text extraction that combines trafilatura and newspaper3k, as measured on the gold pages.

The policy (chosen by ``benchmarks/extraction.py`` on ``htmltotext``; see docs/stages/extract.md):

1. **Repair** the HTML: drop premature ``</html>`` / ``</body>`` end tags. lxml (which both
   extractors parse with) stops building the tree at the first ``</html>``, so a page with a
   stray ``</head></html><body>`` loses its whole body. Browsers ignore these tags (HTML5
   "after body" insertion mode), so removing them only ever restores what a reader sees.
2. **trafilatura** (its own readability/jusText fallbacks on) produces text, title and date.
3. **newspaper3k** runs only when trafilatura returns less than ``fallback_chars`` characters
   (WebText's Newspaper as the second opinion); its text is used when longer.
4. **Gap filling** (:mod:`corpus_tools.gap_fill`): short runs of page text that trafilatura
   dropped between two paragraphs it kept (forum bylines and post dates, quote headers) are put
   back, at most ``gap_lines`` lines / ``gap_chars`` characters a gap, lines with at most
   ``gap_link_density`` of link text (0 lines: off).

Candidates that were measured and rejected (trafilatura ``favor_recall``, or newspaper,
replacing trafilatura's text whenever they are a longer superset of it) are in
docs/benchmarks.md.
"""

from __future__ import annotations

import codecs
import functools
import os
import re
import sys
import tempfile
from typing import Any

from corpus_tools.gap_fill import fill_gaps, page_lines

_END_TAGS = re.compile(r"</\s*(?:html|body)\s*>", re.IGNORECASE)
_HTML_LANG = re.compile(r"<html\b[^>]*?\blang\s*=\s*[\"']?([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)*)", re.IGNORECASE)
_META_LANG = re.compile(
    r"<meta\b[^>]*?http-equiv\s*=\s*[\"']?content-language[\"']?[^>]*?content\s*=\s*[\"']?([A-Za-z0-9_\-]{2,20})",
    re.IGNORECASE,
)

# Date search without htmldate's "extensive" pass: 2.2x faster, same dates on the gold pages.
_DATE_PARAMS = {"extensive_search": False, "original_date": True}


def repair_html(html: str) -> str:
    """Remove ``</html>`` and ``</body>`` end tags, which lxml takes as the end of the document."""
    return _END_TAGS.sub("", html)


def html_language_hint(html: str) -> str | None:
    """The page's declared language (``<html lang>`` or Content-Language), lower-case primary subtag."""
    head = html[:20000]
    for pattern in (_HTML_LANG, _META_LANG):
        m = pattern.search(head)
        if m is None:
            continue
        value = m.group(1)
        try:  # real pages write charsets here ("Content-Language: UTF-8"): not a language
            codecs.lookup(value)
            continue
        except LookupError:
            return re.split(r"[-_]", value)[0].lower()
    return None


def extract_trafilatura(html: str, url: str | None = None, favor: str = "balanced") -> dict[str, Any] | None:
    """Text, title and date by trafilatura alone (no repair); None when it finds nothing.

    The tree is parsed once. Only the metadata we keep is looked up (meta tags / JSON-LD /
    ``<title>`` for the title, htmldate without its extensive pass for the date): trafilatura's
    full ``with_metadata`` also hunts authors, categories and tags, which costs ~30% of the time.
    """
    import trafilatura
    from htmldate import find_date
    from trafilatura.metadata import examine_meta, extract_meta_json, extract_title
    from trafilatura.utils import load_html

    tree = load_html(html)
    if tree is None:
        return None
    meta = examine_meta(tree)
    try:
        meta = extract_meta_json(tree, meta)
    except Exception:  # trafilatura's JSON-LD parser has bugs on odd pages; the title is optional
        pass
    title = meta.title or extract_title(tree)
    try:
        date = find_date(tree, url=url, **_DATE_PARAMS)
    except Exception:
        date = None
    doc = trafilatura.bare_extraction(
        tree,
        url=url,
        favor_precision=favor == "precision",
        favor_recall=favor == "recall",
        include_comments=True,
        include_tables=True,
    )
    # bare_extraction keeps comments apart from the main text; extract() joins them the same way
    text = "\n".join(part.strip() for part in (doc.text, doc.comments) if part and part.strip()) if doc else ""
    if not text:
        return None
    return {"text": text, "title": title or None, "date": date or None, "extractor": "trafilatura"}


_NEWSPAPER_DIR = ".newspaper_scraper"  # newspaper.settings.DATA_DIRECTORY
_NEWSPAPER_SUBDIRS = ("memoized", "feed_category_cache")  # MEMO_FILE, CF_CACHE_DIRECTORY


@functools.cache
def _newspaper():
    """The ``newspaper`` package, imported without leaving folders in the temp folder.

    Importing newspaper3k creates ``.newspaper_scraper/`` with ``memoized/`` and
    ``feed_category_cache/`` in the temp folder (its ``settings`` module does, for crawling news
    sites, which is never done here), in every process that extracts. The folders that this import
    created are removed again (empty ones only: one another program filled stays); folders that were
    there before are left alone. :func:`_article_class` stops ``parse()`` from adding a third.
    """
    top = os.path.join(tempfile.gettempdir(), _NEWSPAPER_DIR)
    made = [] if "newspaper.settings" in sys.modules else \
        [d for d in (os.path.join(top, sub) for sub in _NEWSPAPER_SUBDIRS) if not os.path.exists(d)] + \
        ([top] if not os.path.exists(top) else [])
    import newspaper
    from newspaper import settings

    if settings.TOP_DIRECTORY == top:
        for folder in made:  # the subfolders first
            try:
                os.rmdir(folder)
            except OSError:  # gone already, or not empty: not ours to remove
                pass
    return newspaper


@functools.cache
def _article_class() -> type:
    """newspaper3k's ``Article`` whose ``parse()`` writes nothing: newspaper's ``release_resources`` (a
    stub meant for downloaded images, which are not fetched here) creates
    ``.newspaper_scraper/article_resources/`` in the temp folder on every page."""

    class Article(_newspaper().Article):
        def release_resources(self):
            pass

    return Article


@functools.cache
def _newspaper_config_class() -> type:
    """newspaper3k's ``Config`` whose Chinese word statistics segment with
    :func:`corpus_tools.word_segmentation.jieba_tokenizer`.

    newspaper3k's ``StopWordsChinese`` calls ``jieba.cut``, jieba's module-level tokenizer, whose
    loader reads and writes ``jieba.cache`` in the temp folder (a file shared with every program on
    the machine, so a stale or foreign one could change extraction) and prints "Dumping model to
    file cache". The tokenizer used here is built in memory from jieba's bundled dictionary (the
    same words: same dictionary, same algorithm), only for pages newspaper3k takes as Chinese.
    newspaper3k picks the class per page through ``config.get_stopwords_class(language)``.
    """
    Config = _newspaper().Config
    from newspaper.text import StopWordsChinese

    from corpus_tools.word_segmentation import jieba_tokenizer

    class ChineseWords(StopWordsChinese):
        def candidate_words(self, stripped_input):
            return jieba_tokenizer().cut(stripped_input, cut_all=True)

    class SegmentingConfig(Config):
        @staticmethod
        def get_stopwords_class(language):
            chosen = Config.get_stopwords_class(language)
            return ChineseWords if chosen is StopWordsChinese else chosen

    return SegmentingConfig


def extract_newspaper(html: str, url: str | None = None) -> dict[str, Any] | None:
    """Text, title and date by newspaper3k alone; None when it finds nothing. Never touches the network
    and writes nothing: no jieba cache (:func:`_newspaper_config_class`), no folder in the temp folder
    (:func:`_newspaper`, :func:`_article_class`)."""
    cfg = _newspaper_config_class()()
    cfg.fetch_images = False  # otherwise parse() downloads images to size them
    cfg.memoize_articles = False
    cfg.request_timeout = 1
    art = _article_class()(url or "http://localhost/", config=cfg)
    art.download(input_html=html)
    art.parse()
    text = (art.text or "").strip()
    if not text:
        return None
    date = art.publish_date.date().isoformat() if art.publish_date else None
    return {"text": text, "title": art.title or None, "date": date, "extractor": "newspaper3k"}


def extract_combined(
    html: str,
    url: str | None = None,
    favor: str = "balanced",
    fallback_chars: int = 200,
    gap_lines: int = 10,
    gap_chars: int = 600,
    gap_link_density: float = 0.8,
) -> dict[str, Any] | None:
    """The combination policy (module docstring). Returns text, title, date, extractor, language_hint."""
    fixed = repair_html(html)
    best = extract_trafilatura(fixed, url, favor)
    if best is None or len(best["text"]) < fallback_chars:
        other = extract_newspaper(fixed, url)
        if other is not None and (best is None or len(other["text"]) > len(best["text"])):
            if best is not None:  # keep trafilatura's metadata where newspaper has none
                other["title"] = other["title"] or best["title"]
                other["date"] = other["date"] or best["date"]
            best = other
    if best is None:
        return None
    if gap_lines > 0:
        lines = page_lines(fixed)
        best["text"] = fill_gaps(best["text"], lines, gap_lines, gap_chars, max_link_density=gap_link_density)
    best["language_hint"] = html_language_hint(html)
    return best
