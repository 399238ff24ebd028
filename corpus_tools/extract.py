"""Main-text extraction from HTML.

``extract_document`` is what the extract stage calls for every HTML page; it returns the
text and the metadata found, or ``None`` when the page has no main text.
"""

from __future__ import annotations

from typing import Any

import trafilatura

from corpus_tools.recipe import ExtractConfig


def extract_document(html: str, url: str | None, cfg: ExtractConfig) -> dict[str, Any] | None:
    """Main text, title and date of one HTML page (``None`` when nothing is extracted)."""
    result = trafilatura.bare_extraction(
        html,
        url=url,
        favor_precision=cfg.favor == "precision",
        favor_recall=cfg.favor == "recall",
        include_comments=False,
        include_tables=True,
        with_metadata=True,
        deduplicate=False,
    )
    if result is None:
        return None
    data = result if isinstance(result, dict) else result.as_dict()
    text = (data.get("text") or "").strip()
    if not text:
        return None
    return {"text": text, "title": data.get("title"), "date": data.get("date"), "extractor": "trafilatura"}
