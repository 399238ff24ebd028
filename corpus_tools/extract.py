"""Main-text extraction from HTML.

``extract_document`` is what the extract stage calls for every HTML page; it returns the
text and the metadata found, or ``None`` when the page has no main text. ``payload_to_document``
turns one WARC/WET record into a document or a dead letter. The policy that
combines trafilatura and newspaper3k lives in :mod:`corpus_tools.extraction_policy`.
"""

from __future__ import annotations

import json
from typing import Any

from corpus_tools.charset import UndecodableError, decode_html
from corpus_tools.extraction_policy import extract_combined, extract_newspaper, extract_trafilatura, repair_html
from corpus_tools.recipe import ExtractConfig
from corpus_tools.schema import make_doc_id, new_document, new_reject
from corpus_tools.time_limit import CallTimeout
from corpus_tools.urls import domain_of
from corpus_tools.warc import STAGE


def extract_document(html: str, url: str | None, cfg: ExtractConfig) -> dict[str, Any] | None:
    """Main text, title, date, extractor and language hint of one HTML page (``None``: nothing extracted)."""
    if cfg.extractor == "trafilatura":
        return extract_trafilatura(repair_html(html), url, cfg.favor)
    if cfg.extractor == "newspaper3k":
        return extract_newspaper(repair_html(html), url)
    return extract_combined(html, url, cfg.favor, cfg.fallback_chars, cfg.gap_lines, cfg.gap_chars,
                            cfg.gap_link_density)


def payload_to_document(item: dict, cfg: ExtractConfig, extract=extract_document) -> tuple[dict | None, dict | None]:
    """(document, None) or (None, dead letter) for one candidate record of :func:`corpus_tools.warc.iter_warc`
    (a ``WarcPayload`` as a dict): decode the bytes, extract the main text (HTML) or take the text (WET),
    and build the document; every way this can fail is a dead letter with its reason. A record marked
    ``WARC-Truncated`` gives a document whose ``metadata`` says so (``{"truncated": "length"}``), and so
    does a body shorter than its ``Content-Length`` (``{"truncated": "short_body"}``).

    ``extract`` is :func:`extract_document` or a time-limited wrapper of it (the extract stage
    runs it in a child process and gets :class:`CallTimeout` when a page takes too long).
    """

    def reject(reason: str, detail: str):
        return None, new_reject(STAGE, reason, source=item["warc_file"], offset=item["offset"],
                                url=item["url"], detail=detail)

    body: bytes = item["body"]
    if not body.strip():
        return reject("empty", "empty body")
    if len(body) > cfg.max_html_bytes:
        return reject("too_large", f"{len(body)} bytes > max_html_bytes={cfg.max_html_bytes}")
    try:
        text, charset = decode_html(body, item["header_charset"])
    except UndecodableError as e:
        return reject("undecodable", str(e))
    if item["kind"] == "conversion":
        found = {"text": text.strip(), "title": None, "date": None, "extractor": "wet"}
        source = "wet"
    else:
        try:
            found = extract(text, item["url"], cfg)
        except CallTimeout:
            return reject("timeout", f"extraction took longer than timeout_s={cfg.timeout_s:g}")
        source = "warc"
        if found is None:
            return reject("no_text", "the extractor found no main text")
    if len(found["text"]) < cfg.min_chars:
        return reject("too_short", f"{len(found['text'])} chars < min_chars={cfg.min_chars}")
    doc = new_document(
        id=make_doc_id(item["url"], found["text"]),
        url=item["url"],
        domain=domain_of(item["url"]),
        text=found["text"],
        title=found.get("title"),
        date=found.get("date"),
        source=source,
        fetch_time=item["warc_date"],
        warc_file=item["warc_file"],
        warc_offset=item["offset"],
        warc_record_id=item["record_id"],
        http_status=item["status"],
        content_type=item["content_type"],
        charset=charset,
        extractor=found["extractor"],
        metadata=_metadata(found.get("language_hint"), item.get("truncated")),
    )
    return doc, None


def _metadata(language_hint: str | None, truncated: str | None) -> str | None:
    """The document's ``metadata`` JSON: the page's declared language, and why the page is partial when
    it is: the record's ``WARC-Truncated`` reason (``length``, ``time`` ...) or ``short_body``."""
    meta = {"language_hint": language_hint, "truncated": truncated}
    meta = {k: v for k, v in meta.items() if v}
    return json.dumps(meta, sort_keys=True, ensure_ascii=False) if meta else None
