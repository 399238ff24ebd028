"""corpus_tools.extract.payload_to_document: one WARC/WET record → a document or a dead letter, no Beam."""

import dataclasses
import random

from corpus_tools.extract import payload_to_document
from corpus_tools.recipe import ExtractConfig
from corpus_tools.schema import DOC_FIELDS, make_doc_id
from corpus_tools.warc import WarcPayload, iter_warc

CFG = ExtractConfig()


def item(body: bytes, kind="response", charset="utf-8", url="http://example.org/a"):
    return dataclasses.asdict(WarcPayload(kind, url, "f.warc.gz", 7, "<urn:x>", "2026-01-01T00:00:00Z", 200,
                                          "text/html", charset, body))


def test_real_cc_records_become_documents_with_every_column(shared_data):
    with open(shared_data / "warc" / "cc-main-2020-34-excerpt.warc.gz", "rb") as fh:
        payloads = [dataclasses.asdict(p) for p in iter_warc(fh, "cc.warc.gz") if isinstance(p, WarcPayload)]
    docs = [payload_to_document(p, CFG)[0] for p in payloads]
    assert all(d is not None and tuple(d) == DOC_FIELDS for d in docs)
    ru = next(d for d in docs if d["url"] == "http://01spb.ru/company/")
    assert ru["charset"] == "cp1251" and "пожарной безопасности" in ru["text"]
    assert ru["id"] == make_doc_id(ru["url"], ru["text"]) and ru["domain"] == "01spb.ru"
    assert ru["warc_file"] == "cc.warc.gz" and ru["warc_offset"] > 0 and ru["source"] == "warc"


def test_wet_text_is_taken_as_is():
    doc, rej = payload_to_document(item(b"  Plain text of a page.\n", kind="conversion"), CFG)
    assert rej is None and doc["text"] == "Plain text of a page." and doc["extractor"] == "wet"


def test_each_failure_is_a_dead_letter_with_its_reason():
    rng = random.Random(0)
    junk = bytes(rng.randrange(256) for _ in range(4000))
    html = b"<html><body><article><p>" + b"Real words in a real paragraph. " * 30 + b"</p></article></body></html>"
    cases = {
        "empty": item(b"   \n"),
        "too_large": item(html),
        "undecodable": item(b"\x00\x01" + junk),
        "no_text": item(b'<html><head><title>App</title></head><body><div id="root"></div></body></html>'),
    }
    small = dataclasses.replace(CFG, max_html_bytes=100)
    for reason, it in cases.items():
        doc, rej = payload_to_document(it, small if reason == "too_large" else CFG)
        assert doc is None and rej["reason"] == reason, reason
        assert rej["stage"] == "extract" and rej["offset"] == 7 and rej["url"] == "http://example.org/a"
    doc, rej = payload_to_document(item(html), dataclasses.replace(CFG, min_chars=10_000))
    assert doc is None and rej["reason"] == "too_short"
    doc, rej = payload_to_document(item(html), CFG)
    assert rej is None and "Real words in a real paragraph." in doc["text"]


def test_a_page_truncated_on_purpose_is_a_document_that_says_so():
    """WARC-Truncated (Common Crawl's 1 MiB cap, a time limit, a dropped connection) was ignored: the
    partial page looked whole. The reason is kept in the document's metadata, beside the language hint."""
    import json

    html = (b'<html lang="en"><body><article><p>' + b"Real words in a real paragraph. " * 30
            + b"</p></article></body></html>")
    it = dict(item(html[:700]), truncated="length")
    doc, rej = payload_to_document(it, CFG)
    assert rej is None and json.loads(doc["metadata"]) == {"language_hint": "en", "truncated": "length"}
    doc, rej = payload_to_document(dict(item(b"  A plain text page, cut.\n", kind="conversion"), truncated="time"), CFG)
    assert rej is None and json.loads(doc["metadata"]) == {"truncated": "time"}
    doc, _ = payload_to_document(item(html), CFG)
    assert json.loads(doc["metadata"]) == {"language_hint": "en"}


def test_a_utf8_page_under_a_latin1_header_is_not_mojibake():
    """A server saying charset=iso-8859-1 while sending UTF-8 gave documents with "cafÃ©" in them."""
    html = ('<html><body><article><p>' + "Le café de la gare, à Zürich, est ouvert dès l'aube. " * 20
            + "</p></article></body></html>").encode("utf-8")
    doc, rej = payload_to_document(item(html, charset="iso-8859-1"), CFG)
    assert rej is None and "Le café de la gare, à Zürich" in doc["text"] and "Ã" not in doc["text"]
    assert doc["charset"] == "utf-8"
    # the same words really in Latin-1 stay Latin-1
    doc, rej = payload_to_document(item(html.decode("utf-8").encode("latin-1"), charset="iso-8859-1"), CFG)
    assert rej is None and "Le café de la gare, à Zürich" in doc["text"] and doc["charset"] == "iso8859-1"
