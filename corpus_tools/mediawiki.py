"""Plain text from MediaWiki XML dumps (``enwiki-*-pages-articles*.xml.bz2``).

Streams ``<page>`` elements (never the whole dump in memory), keeps main-namespace
articles that are not redirects, and strips wiki markup well enough for tokenizer training
and statistics: templates ``{{...}}``, tables ``{|...|}``, ``<ref>`` and other tags,
comments, files/categories, ``[[target|label]]`` → ``label``, ``[url label]`` → ``label``,
bold/italic quotes and heading ``=`` signs. It is not a full wikitext parser (no template
expansion); use a dedicated extractor (e.g. WikiExtractor) for a production Wikipedia corpus.
"""

from __future__ import annotations

import bz2
import gzip
import html
import re
import xml.etree.ElementTree as ET
from typing import Iterator

_COMMENT = re.compile(r"<!--.*?-->", re.S)
_REF = re.compile(r"<ref[^>/]*/>|<ref[^>]*>.*?</ref>", re.S | re.I)
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
_MATH = re.compile(r"<(math|chem|score|timeline|gallery)[^>]*>.*?</\1>", re.S | re.I)
_FILE_START = re.compile(r"\[\[(?:File|Image|Category|Media):", re.I)
_LINK = re.compile(r"\[\[(?:[^\[\]|]*\|)?([^\[\]]*)\]\]")
_EXT_LINK = re.compile(r"\[(?:https?|ftp)://[^\s\]]+(?: ([^\]]*))?\]")
_QUOTES = re.compile(r"'{2,}")
_HEADING = re.compile(r"^(=+)[ \t]*(.*?)[ \t]*\1[ \t]*$", re.M)
_BLANKS = re.compile(r"\n{3,}")


def strip_markup(wikitext: str) -> str:
    """Readable text from wikitext (see the module docstring for what is removed)."""
    text = _COMMENT.sub("", wikitext)
    text = _REF.sub("", text)
    text = _MATH.sub("", text)
    text = _drop_nested(text, "{{", "}}")  # templates, nested ones included
    text = _drop_nested(text, "{|", "|}")  # tables
    text = _drop_file_links(text)
    text = _LINK.sub(r"\1", text)
    text = _EXT_LINK.sub(lambda m: m.group(1) or "", text)
    text = _TAG.sub("", text)
    text = _QUOTES.sub("", text)
    text = _HEADING.sub(r"\2", text)
    text = html.unescape(text)
    lines = [ln.rstrip() for ln in text.split("\n") if not ln.lstrip().startswith(("{|", "|}", "|-", "!", "|"))]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def _drop_nested(text: str, open_: str, close: str) -> str:
    """Remove every ``open_ ... close`` span, counting nesting; an unclosed span runs to the end."""
    delim = re.compile(re.escape(open_) + "|" + re.escape(close))
    out, depth, keep_from = [], 0, 0
    for m in delim.finditer(text):
        if m.group() == open_:
            if depth == 0:
                out.append(text[keep_from : m.start()])
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                keep_from = m.end()
    if depth == 0:
        out.append(text[keep_from:])
    return "".join(out)


def _drop_file_links(text: str) -> str:
    """Remove ``[[File:...]]``/``[[Category:...]]`` including links nested in their captions."""
    while True:
        m = _FILE_START.search(text)
        if not m:
            return text
        depth, i = 0, m.start()
        while i < len(text):
            if text.startswith("[[", i):
                depth += 1
                i += 2
            elif text.startswith("]]", i):
                depth -= 1
                i += 2
                if depth == 0:
                    break
            else:
                i += 1
        text = text[: m.start()] + text[i:]


def _blank_reason(page: dict[str, str], wikitext: str) -> str:
    """Why an article has no text, naming it by title and page id (a dump has no useful line numbers)."""
    where = f"page {page['title']!r}" + (f" (id {page['id']})" if page["id"] else "")
    if not wikitext:
        return f"{where}: the wikitext is empty"
    if wikitext.isspace():
        return f"{where}: the wikitext is only whitespace"
    return f"{where}: no text left once the markup of its {len(wikitext)} characters of wikitext is removed"


def _open(path):
    if not isinstance(path, str):  # an open binary file (e.g. from fsspec), already decompressed
        return path
    if path.endswith(".bz2"):
        return bz2.open(path, "rb")
    if path.endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def iter_pages(path, strip: bool = True) -> Iterator[dict[str, str]]:
    """Yield ``{"title", "id", "text"}`` for each main-namespace, non-redirect article of a dump
    (a path, ``.bz2``/``.gz`` or plain, or an open binary file of the XML).

    An article whose text is blank (no wikitext, or nothing left once the markup is removed: a page
    of templates alone) is yielded too, with ``text`` blank and ``blank`` saying why, naming the
    page, so that the reader reports it (:mod:`bpe.text_source` makes it an ``empty`` bad record)
    rather than losing it in silence."""
    with _open(path) as fh:
        for _, elem in ET.iterparse(fh, events=("end",)):
            if _local(elem.tag) != "page":
                continue
            fields = {_local(c.tag): c for c in elem}
            ns = fields.get("ns")
            rev = fields.get("revision")
            if "redirect" not in fields and ns is not None and ns.text == "0" and rev is not None:
                text_el = next((c for c in rev if _local(c.tag) == "text"), None)
                raw = (text_el.text or "") if text_el is not None else ""
                text = strip_markup(raw) if strip else raw
                page = {"title": fields["title"].text or "", "id": (fields["id"].text or "") if "id" in fields else "",
                        "text": text}
                if not text.strip():
                    page["blank"] = _blank_reason(page, raw)
                yield page
            elem.clear()
