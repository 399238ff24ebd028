"""Gap filling: put back the short runs of page text that an extractor dropped *between* two
stretches of main text it kept.

trafilatura is built for articles: it discards bylines, dates and quote headers, which on forum
pages sit between two posts ("Postby alice » Sun Sep 01", "Joined: …", "bob wrote:"), and
sometimes a quote's first paragraph or a caption inside the article. What sits between two kept
paragraphs, is short, and is not mostly link text (navigation, "Reply", "Top") is part of the
main content in the gold texts of ``benchmarks/extraction.py``; long gaps are not (related
articles, comment widgets), so only gaps of at most ``max_lines`` lines and ``max_chars``
characters are filled. A line that is (nearly) all link text is navigation ("Reply", "Top",
a related headline); a comment or quote header ("<a>Joshua</a> Says:", "<a>bob</a> wrote:") is
mostly, not wholly, a link, so lines are kept up to ``max_link_density`` = 0.8. Measured on
htmltotext in docs/benchmarks.md (extraction section).

1. The page's visible text is cut into lines at block-level tags (``page_lines``), each with the
   share of its characters inside ``<a>`` (its link density).
2. Anchors: page lines of at least ``min_anchor`` characters found, in order, in the extracted
   text (case- and whitespace-insensitive).
3. Between two consecutive anchors, when the page lines in between are few and short enough,
   those that are not already in the extracted text there and whose link density is at most
   ``max_link_density`` are inserted after the first anchor's line.
"""

from __future__ import annotations

import bisect
import re

from lxml import html as lxml_html

_BLOCK = frozenset(
    "p div br li tr td th h1 h2 h3 h4 h5 h6 table blockquote pre dt dd section article header "
    "ul ol dl hr main address center".split()
)
# not read: invisible, page chrome, forms (search, login and reply widgets; a forum or ASP.NET
# page wrapped whole in one <form> is then not gap-filled: reading forms scored F1 0.913 against
# 0.915 on htmltotext, it adds profile lines the gold texts leave out), and figures (an image's
# caption and credit are not running text; trafilatura leaves images out too)
_SKIP = frozenset(
    "script style noscript template svg head nav footer aside select option button iframe form textarea "
    "figure figcaption".split()
)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)


def _hidden(el) -> bool:
    """Not shown by a browser whatever the style sheet: ``hidden``, ``aria-hidden``, inline ``display: none``."""
    return (
        el.get("hidden") is not None
        or el.get("aria-hidden", "").lower() == "true"
        or bool(_HIDDEN_STYLE.search(el.get("style", "")))
    )
_SPACE = re.compile(r"\s+")
_SCAN_BUDGET = 300_000_000  # characters rescanned by anchor searches that fail (~0.1 s)


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower()


def page_lines(html: str) -> list[tuple[str, float]]:
    """Visible text of the page's ``<body>`` as lines cut at block tags: (line, link density)."""
    try:
        tree = lxml_html.document_fromstring(html)
    except Exception:  # empty or unparseable document: nothing to fill from
        return []
    body = tree.find(".//body")
    if body is None:
        return []
    lines: list[tuple[str, float]] = []
    pieces: list[str] = []
    link_chars = 0

    def emit() -> None:
        nonlocal link_chars
        raw = "".join(pieces)
        line = _SPACE.sub(" ", raw).strip()
        if line:
            lines.append((line, link_chars / max(1, len(raw.strip()))))
        pieces.clear()
        link_chars = 0

    def add(text: str, in_link: bool) -> None:
        nonlocal link_chars
        pieces.append(text)
        if in_link:
            link_chars += len(text.strip())

    stack = [(body, False, False)]  # (element, inside an <a> above it, closing)
    while stack:  # iterative walk: deep pages must not hit Python's recursion limit
        el, in_link, closing = stack.pop()
        tag = el.tag if isinstance(el.tag, str) else ""
        if closing:
            if tag in _BLOCK:
                emit()
            if el.tail:
                add(el.tail, in_link)
            continue
        if not tag or tag in _SKIP or _hidden(el):
            if el.tail:
                add(el.tail, in_link)
            continue
        here = in_link or tag == "a"
        if tag in _BLOCK:
            emit()
        if el.text:
            add(el.text, here)
        stack.append((el, in_link, True))
        for child in reversed(el):
            stack.append((child, here, False))
    emit()
    return lines


def fill_gaps(
    text: str,
    lines: list[tuple[str, float]],
    max_lines: int = 10,
    max_chars: int = 600,
    min_anchor: int = 20,
    max_link_density: float = 0.8,
) -> str:
    """``text`` with the short gaps between its anchors filled from ``lines`` (module docstring)."""
    if max_lines <= 0 or not lines:
        return text
    text_lines = text.split("\n")
    normed = [_norm(t) for t in text_lines]
    ends, joined, pos = [], [], 0
    for n in normed:  # normalised text, lines joined by one space; end offset of each line
        joined.append(n)
        pos += len(n)
        ends.append(pos)
        pos += 1
    flat = " ".join(joined)
    anchors: list[tuple[int, int]] = []  # (page line index, end offset in flat)
    cursor = scanned = 0
    for i, (line, _) in enumerate(lines):
        if len(line) < min_anchor:
            continue
        needle = line.lower()
        j = flat.find(needle, cursor)
        if j >= 0:
            cursor = j + len(needle)
            anchors.append((i, cursor))
        else:
            # each line not in the text rescans the rest of it: on a page of tens of thousands
            # of such lines (3.5 MB, 40,000 lines: 11 s) stop looking for further anchors
            scanned += len(flat) - cursor
            if scanned > _SCAN_BUDGET:
                break
    inserts: dict[int, list[str]] = {}
    for (a, end_a), (b, end_b) in zip(anchors, anchors[1:]):
        gap = lines[a + 1 : b]
        if not gap or len(gap) > max_lines or sum(len(g) for g, _ in gap) > max_chars:
            continue
        between = flat[end_a:end_b]
        missing = [g for g, density in gap if density <= max_link_density and g.lower() not in between]
        if missing:
            at = min(bisect.bisect_left(ends, end_a), len(text_lines) - 1)
            inserts.setdefault(at, []).extend(missing)
    if not inserts:
        return text
    out: list[str] = []
    for k, t in enumerate(text_lines):
        out.append(t)
        out.extend(inserts.get(k, ()))
    return "\n".join(out)
