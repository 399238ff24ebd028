"""Main-text extraction from HTML.

``extract_document`` is what the extract stage calls for every HTML page; it returns the
text and the metadata found, or ``None`` when the page has no main text. The policy that
combines trafilatura and newspaper3k lives in :mod:`corpus_tools.extraction_policy`.
"""

from __future__ import annotations

from typing import Any

from corpus_tools.extraction_policy import extract_combined, extract_newspaper, extract_trafilatura, repair_html
from corpus_tools.recipe import ExtractConfig


def extract_document(html: str, url: str | None, cfg: ExtractConfig) -> dict[str, Any] | None:
    """Main text, title, date, extractor and language hint of one HTML page (``None``: nothing extracted)."""
    if cfg.extractor == "trafilatura":
        return extract_trafilatura(repair_html(html), url, cfg.favor)
    if cfg.extractor == "newspaper3k":
        return extract_newspaper(repair_html(html), url)
    return extract_combined(html, url, cfg.favor, cfg.fallback_chars, cfg.gap_lines, cfg.gap_chars,
                            cfg.gap_link_density)
