"""Reading real WARC/WET files, including broken ones, with corpus_tools.warc."""


import gzip
import random
import re
import zlib

from warcio.archiveiterator import ArchiveIterator

from corpus_tools.warc import WarcPayload, WarcStats, iter_warc


def _items(path):
    stats = WarcStats()
    with open(path, "rb") as fh:
        items = list(iter_warc(fh, str(path), stats))
    return items, stats


def test_cc_excerpt_response_records(shared_data):
    path = shared_data / "warc" / "cc-main-2020-34-excerpt.warc.gz"
    # Independent count with warcio alone: HTML 200 responses.
    expected = []
    with open(path, "rb") as fh:
        for rec in ArchiveIterator(fh):
            if rec.rec_type == "response" and rec.http_headers.get_statuscode() == "200" and \
                    (rec.http_headers.get_header("Content-Type") or "").startswith("text/html"):
                expected.append(rec.rec_headers.get_header("WARC-Target-URI"))
    items, stats = _items(path)
    payloads = [i for i in items if isinstance(i, WarcPayload)]
    assert len(expected) == 16
    assert [p.url for p in payloads] == expected
    assert all(p.body for p in payloads)
    assert stats.skipped == {"request": 17, "metadata": 16, "warcinfo": 1}
    # offsets point at the records: re-reading at an offset gives the same URL
    with open(path, "rb") as fh:
        for p in payloads[:3]:
            fh.seek(p.offset)
            rec = next(iter(ArchiveIterator(fh)))
            assert rec.rec_headers.get_header("WARC-Target-URI") == p.url


def test_wet_conversion_record(shared_data):
    items, _ = _items(shared_data / "warc" / "cc-main-2024-22-whirlwind.warc.wet.gz")
    (conv,) = [i for i in items if isinstance(i, WarcPayload)]
    assert conv.kind == "conversion"
    assert conv.url == "https://an.wikipedia.org/wiki/Escopete"
    assert "Escopete" in conv.body.decode("utf-8")


def test_truncated_body_is_dead_lettered(shared_data):
    items, _ = _items(shared_data / "warc" / "warcio-example-trunc.warc")
    rejects = [i for i in items if isinstance(i, dict)]
    assert [(r["reason"], r["offset"], r["url"]) for r in rejects] == [("digest_mismatch", 1197, "http://example.com/")]
    assert "digest failed" in rejects[0]["detail"]


def test_non_chunked_gzip_is_a_file_note_not_a_record_and_is_read_on(shared_data):
    items, stats = _items(shared_data / "warc" / "warcio-example-bad-non-chunked.warc.gz")
    rejects = [i for i in items if isinstance(i, dict)]
    payloads = [i for i in items if isinstance(i, WarcPayload)]
    # how the file is compressed is a note about the file, not a record read (records_in counts records)
    assert rejects == [] and stats.notes == {"non_chunked_gzip": 1}
    # every other record counted once, those read before and after the switch to whole-stream reading
    # (warcio over gzip.open of the file: warcinfo, warcinfo, response, request, revisit, request)
    assert stats.skipped == {"warcinfo": 2, "request": 2, "revisit": 1}
    # the file holds one response (example.com) after two warcinfo records: it is still read
    assert [p.url for p in payloads] == ["http://example.com/"]
    assert b"Example Domain" in payloads[0].body  # content_stream() undoes the HTTP gzip encoding


def test_corrupt_member_in_the_middle_resumes_at_next_member(shared_data, tmp_path):
    src = shared_data / "warc" / "cc-main-2020-34-excerpt.warc.gz"
    data = bytearray(src.read_bytes())
    good, _ = _items(src)
    victim = [i for i in good if isinstance(i, WarcPayload)][5]
    # Smash bytes inside the 6th response's gzip member (after its 10-byte gzip header).
    for k in range(victim.offset + 40, victim.offset + 80):
        data[k] ^= 0xFF
    bad = tmp_path / "corrupt.warc.gz"
    bad.write_bytes(bytes(data))
    items, _ = _items(bad)
    payloads = [i for i in items if isinstance(i, WarcPayload)]
    rejects = [i for i in items if isinstance(i, dict)]
    assert [r["reason"] for r in rejects] == ["corrupt_archive"]
    urls = [p.url for p in payloads]
    assert victim.url not in urls
    assert len(urls) == 15  # every other response is still read
    # ... at the offsets it has in the intact file (the records after the damage too)
    assert [(p.url, p.offset) for p in payloads] == [(p.url, p.offset) for p in good
                                                     if isinstance(p, WarcPayload) and p.url != victim.url]


def test_truncated_file_ends_with_a_reject(shared_data, tmp_path):
    src = shared_data / "warc" / "cc-main-2020-34-excerpt.warc.gz"
    data = src.read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: len(data) * 2 // 3])
    items, _ = _items(cut)
    assert isinstance(items[-1], dict) and items[-1]["reason"] in ("truncated_record", "corrupt_archive")
    assert 5 <= sum(isinstance(i, WarcPayload) for i in items) < 16


# ------------------------------------------------------------------ files cut short, not WARC at all
CC_EXCERPT = "cc-main-2020-34-excerpt.warc.gz"


def _gzip_member_starts(data: bytes) -> list[int]:
    """Start of every gzip member of ``data``, found with zlib alone, then ``len(data)``."""
    starts, pos = [], 0
    while pos < len(data):
        starts.append(pos)
        d = zlib.decompressobj(31)
        d.decompress(data[pos:])
        assert d.eof
        pos = len(data) - len(d.unused_data)
    return starts + [len(data)]


def _check_cut(path, data: bytes, cut: int, spans: list[tuple[int, int, int]], payload_offsets: list[int]):
    """Reading ``data[:cut]``: every record whose span ends by the cut is read, nothing after it, and
    a cut that is not between two records gives exactly one dead letter, last, at the cut record.

    ``spans``: (start, whole_from, next_start) per record; the record is whole in a cut at or after
    ``whole_from`` and a cut in [whole_from, next_start] is a clean end.
    """
    path.write_bytes(data[:cut])
    items, _ = _items(path)
    whole = {start for start, whole_from, _ in spans if whole_from <= cut}
    assert [i.offset for i in items if isinstance(i, WarcPayload)] == [o for o in payload_offsets if o in whole], cut
    rejects = [i for i in items if isinstance(i, dict)]
    if any(whole_from <= cut <= nxt for _, whole_from, nxt in spans):
        assert rejects == [], cut
    else:
        cut_record = max(start for start, _, _ in spans if start < cut)
        assert len(rejects) == 1 and items[-1] is rejects[0], (cut, rejects)
        r = rejects[0]
        assert (r["reason"], r["offset"], r["source"]) == ("truncated_record", cut_record, str(path)), (cut, r)
        assert "cut short" in r["detail"] or "more bytes than the file holds" in r["detail"], (cut, r)


def test_every_cut_of_a_gzip_warc_keeps_whole_members_and_dead_letters_the_cut_one(shared_data, tmp_path):
    src = shared_data / "warc" / CC_EXCERPT
    data = src.read_bytes()
    starts = _gzip_member_starts(data)
    assert len(starts) == 51  # 50 members
    # a record (one gzip member) is whole only with its gzip trailer: a cut at its end, not before
    spans = [(s, e, e) for s, e in zip(starts, starts[1:])]
    intact, _ = _items(src)
    payload_offsets = [i.offset for i in intact if isinstance(i, WarcPayload)]
    assert len(payload_offsets) == 16
    # every 499 bytes, plus the places where a member ends or the next begins: inside the 8-byte
    # trailer, on the boundary, inside the next member's 10-byte header, just after it
    cuts = set(range(1, 120)) | set(range(120, len(data), 997))  # every byte of the first record's first line
    for b in starts[1:-1]:
        cuts |= {b - 8, b - 1, b, b + 1, b + 10, b + 25}
    for cut in sorted(cuts):
        _check_cut(tmp_path / "cut.warc.gz", data, cut, spans, payload_offsets)


def test_every_cut_of_an_uncompressed_warc_keeps_whole_records_and_dead_letters_the_cut_one(shared_data, tmp_path):
    gz = (shared_data / "warc" / CC_EXCERPT).read_bytes()
    starts = _gzip_member_starts(gz)
    data = b"".join(zlib.decompressobj(31).decompress(gz[s:e]) for s, e in zip(starts, starts[1:]))
    src = tmp_path / "plain.warc"
    src.write_bytes(data)
    # record starts and where each record's block ends (before the two CRLFs), by warcio alone
    bounds = []
    with open(src, "rb") as fh:
        it = ArchiveIterator(fh)
        for _ in it:
            bounds.append((it.get_record_offset(), it.get_record_offset() + it.get_record_length()))
    assert len(bounds) == 50
    spans = [(s, end, nxt) for (s, end), nxt in zip(bounds, [b[0] for b in bounds[1:]] + [len(data)])]
    intact, _ = _items(src)
    payload_offsets = [i.offset for i in intact if isinstance(i, WarcPayload)]
    assert len(payload_offsets) == 16
    cuts = set(range(1, 60)) | set(range(60, len(data), 3989))
    for s, end, _ in spans[1:]:
        cuts |= {s + 1, s + 12, s + 200, end - 1, end + 1}  # in the WARC/HTTP headers, at the block end
    for cut in sorted(cuts):
        _check_cut(tmp_path / "cut.warc", data, cut, spans, payload_offsets)


def _not_warc_files(shared_data, tmp_path):
    html = next((shared_data / "extraction" / "htmltotext" / "en" / "html").iterdir()).read_bytes()
    text = (shared_data / "corpora" / "tinyshakespeare.txt").read_bytes()[:20000]
    files = {
        "random.warc": random.Random(2).randbytes(10000),
        "page.warc": html,
        "text.warc.gz": text,  # plain text under a gzip name: every line would pass as an ARC record
        "page.warc.gz": gzip.compress(html),
        "csv.warc": b"url ip date type length\n" * 300,  # five fields a line, but not ARC's
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    return [tmp_path / name for name in files]


def test_a_file_that_is_not_warc_is_one_dead_letter(shared_data, tmp_path):
    for path in _not_warc_files(shared_data, tmp_path):
        items, stats = _items(path)
        assert [(i["reason"], i["offset"], i["source"]) for i in items] == [("not_warc", 0, str(path))], path
        assert "not a WARC file" in items[0]["detail"]
        assert not stats.skipped, path  # nothing counted as a record of some type


def test_arc_records_are_read_but_text_lines_are_not_arc(tmp_path):
    """ARC files (the extract stage takes ``.arc.gz``) are read, URL and date from the ARC header line;
    a text whose lines happen to have five fields is not an ARC file."""
    body = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
            b"<html><body><p>An ARC capture of a page.</p></body></html>")
    desc = b"1 0 InternetArchive\nURL IP-address Archive-date Content-type Archive-length\n"
    records = [b"filedesc://crawl.arc 0.0.0.0 20050614070144 text/plain %d\n%s\n" % (len(desc), desc),
               b"http://example.com/ 93.184.216.34 20050614070159 text/html %d\n%s\n" % (len(body), body)]
    path = tmp_path / "crawl.arc.gz"
    path.write_bytes(b"".join(gzip.compress(r) for r in records))  # one gzip member per record, as ARC.gz is
    items, stats = _items(path)
    assert [(i.url, i.warc_date, i.status, i.body) for i in items] == [
        ("http://example.com/", "2005-06-14T07:01:59Z", 200, b"<html><body><p>An ARC capture of a page.</p></body></html>")]
    assert stats.skipped == {"arc_header": 1}
    # the same lines with words where ARC has its date and length are no ARC file
    words = [re.sub(rb" \d{14} (\S+) \d+\n", rb" on \1 here\n", r, count=1) for r in records]
    assert words != records
    path.write_bytes(b"".join(gzip.compress(r) for r in words))
    items, _ = _items(path)
    assert [i["reason"] for i in items] == ["not_warc"]


def test_an_empty_file_is_one_empty_file_dead_letter(shared_data, tmp_path):
    """warcio reads no record and raises nothing on 0 bytes: without this the file vanished unreported."""
    for name in ("empty.warc.gz", "empty.warc", "empty.wet.gz"):
        path = tmp_path / name
        path.write_bytes(b"")
        items, stats = _items(path)
        assert [(i["reason"], i["offset"], i["source"], i["detail"]) for i in items] == [
            ("empty_file", 0, str(path), "the file is empty (0 bytes)")], name
        assert not stats.skipped and not stats.notes
    # gzip of nothing (one or two empty members) holds no record either: empty, not cut short
    for members in (1, 2):
        path = tmp_path / f"nothing-{members}.warc.gz"
        path.write_bytes(gzip.compress(b"") * members)
        items, _ = _items(path)
        assert [(i["reason"], i["offset"]) for i in items] == [("empty_file", 0)], members
        assert "gzip of nothing" in items[0]["detail"]
    # one byte more is no longer empty: a gzip file cut inside its header, or a WARC file cut in its first line
    one = tmp_path / "one.warc.gz"
    one.write_bytes((shared_data / "warc" / CC_EXCERPT).read_bytes()[:1])
    assert [i["reason"] for i in _items(one)[0]] == ["truncated_record"]


def test_responses_are_read_by_the_fetch_stages_rule(tmp_path):
    """A WARC written by warcio: what the fetch stage archives as `ok` (any 2xx but 204/205/206; an
    HTML type, or none and a body that starts like HTML) is a payload; the rest is dead-lettered.
    Extract used to require exactly 200 and a Content-Type, and dead-lettered fetch's own pages."""
    import io

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    html = b"  <!DOCTYPE html><html><body><p>Hello</p></body></html>"
    cases = [  # (status line, Content-Type or None, body, expected reason or None for a payload)
        ("200 OK", None, html, None),
        ("200 OK", "", html, None),
        ("203 Non-Authoritative Information", "text/html; charset=utf-8", html, None),
        ("200 OK", "application/xhtml+xml", html, None),
        ("200 OK", None, b"plain words, no markup", "not_html"),
        ("200 OK", "application/json", html, "not_html"),
        ("204 No Content", None, b"", "http_status"),
        ("206 Partial Content", "text/html", html, "http_status"),
        ("301 Moved Permanently", "text/html", html, "http_status"),
        ("404 Not Found", "text/html", html, "http_status"),
    ]
    path = tmp_path / "rule.warc.gz"
    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=True)
        for i, (status, ctype, body, _) in enumerate(cases):
            headers = [("Content-Length", str(len(body)))] + ([("Content-Type", ctype)] if ctype is not None else [])
            w.write_record(w.create_warc_record(f"http://example.org/{i}", "response", payload=io.BytesIO(body),
                                                length=len(body),
                                                http_headers=StatusAndHeaders(status, headers, protocol="HTTP/1.1")))
    items, _ = _items(path)
    assert len(items) == len(cases)
    for (status, ctype, body, expected), item in zip(cases, items):
        if expected is None:
            assert isinstance(item, WarcPayload), (status, ctype, item)
            assert item.body == body and item.status == int(status.split()[0])
        else:
            assert isinstance(item, dict) and item["reason"] == expected, (status, ctype, item)
    assert "(Partial Content: no whole page)" in items[7]["detail"]


# ------------------------------------------------------------------ HTTP bodies stored encoded (wget, webrecorder)
PAGE = ("<html><body><article>" + "".join(
    f"<p>Paragraph {i} about the Highlands of Scotland and their lochs.</p>" for i in range(80))
    + "</article></body></html>").encode()


def _chunked(body: bytes, size: int = 1000, last: bytes = b"0\r\n\r\n") -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size])
                    for i in range(0, len(body), size)) + last


def _write_responses(path, cases):
    """``cases``: (name, raw HTTP body as archived, extra HTTP headers, extra WARC headers); warcio's writer."""
    import io

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=True)
        for name, body, headers, warc_headers in cases:
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")] + headers,
                                    protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(f"http://example.org/{name}", "response", payload=io.BytesIO(body),
                                                length=len(body), http_headers=http,
                                                warc_headers_dict=warc_headers))
    items, _ = _items(path)
    assert len(items) == len(cases)
    return {name: item for (name, *_), item in zip(cases, items)}


def _readable(detail: str) -> bool:
    return detail.isprintable() and "\\x" not in detail and "Error:" not in detail and len(detail) < 400


def test_encoded_http_bodies_are_decoded(tmp_path):
    """Content-Encoding (gzip, deflate, br, several in a row) and chunked transfer coding are undone by the
    project's decoder. warcio's dead-lettered every br body (AttributeError: 'brotli.Decompressor' object
    has no attribute 'unused_data') and took a chain of encodings for raw bytes."""
    import brotli

    gz = gzip.compress(PAGE)
    cases = [
        ("gzip", gz, [("Content-Encoding", "gzip")], {}),
        ("x-gzip", gz, [("Content-Encoding", "X-Gzip")], {}),
        ("deflate", zlib.compress(PAGE), [("Content-Encoding", "deflate")], {}),
        ("br", brotli.compress(PAGE), [("Content-Encoding", "br")], {}),
        ("gzip-br", brotli.compress(gz), [("Content-Encoding", "gzip, br")], {}),
        ("chunked", _chunked(PAGE), [("Transfer-Encoding", "chunked")], {}),
        ("chunked-br", _chunked(brotli.compress(PAGE), 7), [("Transfer-Encoding", "chunked"),
                                                            ("Content-Encoding", "br")], {}),
        ("chunked-trailer", _chunked(gz, 300, b"0;ext=1\r\nX-Checksum: 1\r\n\r\n"),
         [("Transfer-Encoding", "chunked"), ("Content-Encoding", "gzip")], {}),
        # the header kept but the body stored dechunked (as warcio reads it too)
        ("stored-dechunked", PAGE, [("Transfer-Encoding", "chunked")], {}),
        ("identity", PAGE, [("Content-Encoding", "identity")], {}),
    ]
    got = _write_responses(tmp_path / "encoded.warc.gz", cases)
    for name, item in got.items():
        assert isinstance(item, WarcPayload), (name, item)
        assert item.body == PAGE and item.truncated is None, name


def test_zstd_http_bodies_are_decoded_like_the_others(tmp_path):
    """Content-Encoding: zstd was dead-lettered as unsupported. It is decoded by the same bounded decoder
    (chunked, after gzip, cut short under WARC-Truncated); cut short in a record not marked truncated, or
    damaged, it is bad_content_encoding like a cut or damaged gzip body."""
    import zstandard

    zs = zstandard.ZstdCompressor().compress(PAGE)
    cases = [
        ("zstd", zs, [("Content-Encoding", "zstd")], {}),
        ("gzip-zstd", zstandard.ZstdCompressor().compress(gzip.compress(PAGE)), [("Content-Encoding", "gzip, zstd")], {}),
        ("chunked-zstd", _chunked(zs, 50), [("Transfer-Encoding", "chunked"), ("Content-Encoding", "zstd")], {}),
        ("zstd-cut", zs[: len(zs) // 2], [("Content-Encoding", "zstd")], {}),
        ("zstd-junk", zs[:30] + bytes(range(256)) * 2, [("Content-Encoding", "zstd")], {}),
        ("zstd-cut-marked", zs[: len(zs) // 2], [("Content-Encoding", "zstd")], {"WARC-Truncated": "length"}),
    ]
    got = _write_responses(tmp_path / "zstd.warc.gz", cases)
    for name in ("zstd", "gzip-zstd", "chunked-zstd"):
        assert isinstance(got[name], WarcPayload), (name, got[name])
        assert got[name].body == PAGE and got[name].truncated is None, name
    for name in ("zstd-cut", "zstd-junk"):
        assert got[name]["reason"] == "bad_content_encoding" and _readable(got[name]["detail"]), got[name]
    assert "cut short" in got["zstd-cut"]["detail"]
    assert "invalid zstd data" in got["zstd-junk"]["detail"]
    marked = got["zstd-cut-marked"]
    assert PAGE.startswith(marked.body) and marked.truncated == "length"
    # zstd decodes whole blocks (up to 128 KiB): a cut page of several blocks keeps those before the cut
    big = b"".join(b"<p>Paragraph %d about the Highlands.</p>" % i for i in range(8000))
    zs = zstandard.ZstdCompressor().compress(big)
    (cut,) = _write_responses(tmp_path / "zstd-big.warc.gz", [
        ("zstd-big-cut", zs[: len(zs) * 3 // 4], [("Content-Encoding", "zstd")], {"WARC-Truncated": "length"})]).values()
    assert big.startswith(cut.body) and 128 * 1024 <= len(cut.body) < len(big) and cut.truncated == "length"


def test_broken_http_bodies_are_bad_content_encoding(tmp_path):
    """warcio's readers fall back to the raw bytes or stop early without an error: a gzip body cut in
    half became half a page, a bad chunk-size line leaked the chunk framing into the text, gzip magic
    followed by junk was passed on as the page's bytes. Each is a dead letter with a readable detail."""
    import brotli

    gz = gzip.compress(PAGE)
    chunked = _chunked(PAGE)
    assert b"\r\n3e8\r\n" in chunked
    cases = [
        ("gzip-cut", gz[: len(gz) // 2], [("Content-Encoding", "gzip")], {}),
        ("not-gzip", b"\x1f\x8bnotgzip", [("Content-Encoding", "gzip")], {}),
        ("br-junk", brotli.compress(PAGE)[:40] + bytes(range(200)), [("Content-Encoding", "br")], {}),
        ("compress", b"\x1f\x9d\x90" + PAGE, [("Content-Encoding", "compress")], {}),
        ("chunk-size", chunked.replace(b"\r\n3e8\r\n", b"\r\nzz\r\n", 1), [("Transfer-Encoding", "chunked")], {}),
        ("chunk-cut", chunked[: len(chunked) // 2], [("Transfer-Encoding", "chunked")], {}),
        ("no-last-chunk", chunked[: -len(b"0\r\n\r\n")], [("Transfer-Encoding", "chunked")], {}),
        ("chunk-end", chunked.replace(b"\r\n3e8\r\n", b"XX3e8\r\n", 1), [("Transfer-Encoding", "chunked")], {}),
        ("chunked-gzip-cut", _chunked(gz[:-20], 300), [("Transfer-Encoding", "chunked"),
                                                       ("Content-Encoding", "gzip")], {}),
    ]
    got = _write_responses(tmp_path / "broken.warc.gz", cases)
    for name, item in got.items():
        assert isinstance(item, dict), (name, item)
        assert item["reason"] == "bad_content_encoding", (name, item)
        assert _readable(item["detail"]), (name, item["detail"])
    assert "cut short" in got["gzip-cut"]["detail"]
    assert "chunk-size line" in got["chunk-size"]["detail"]
    assert "unsupported Content-Encoding 'compress'" in got["compress"]["detail"]


def test_a_body_that_decodes_past_the_limit_is_too_large(tmp_path):
    """The body is decoded with a bound: a small compressed body that expands to gigabytes costs at most
    the limit (the extract stage's max_html_bytes)."""
    path = tmp_path / "bomb.warc.gz"
    _write_responses(path, [("bomb", gzip.compress(b"<html>" + b" " * 20_000_000), [("Content-Encoding", "gzip")], {})])
    with open(path, "rb") as fh:
        (item,) = list(iter_warc(fh, str(path), max_body_bytes=1_000_000))
    assert item["reason"] == "too_large" and "1000000" in item["detail"], item


def test_records_truncated_on_purpose_are_kept_and_marked(tmp_path):
    """WARC-Truncated (Common Crawl cuts bodies at 1 MiB: length; also time, disconnect) was ignored:
    the partial page is kept, as Common Crawl does, and marked. A compressed or chunked body cut short under
    WARC-Truncated is the honest start of the page; bytes that do not decode are still a dead letter."""
    gz = gzip.compress(PAGE)
    chunked = _chunked(PAGE)
    cases = [
        ("length", PAGE[:1000], [], {"WARC-Truncated": "length"}),
        ("gzip-cut", gz[: len(gz) // 2], [("Content-Encoding", "gzip")], {"WARC-Truncated": "length"}),
        ("chunk-cut", chunked[: len(chunked) // 2], [("Transfer-Encoding", "chunked")], {"WARC-Truncated": "time"}),
        ("whole", PAGE, [], {"WARC-Truncated": "Disconnect"}),
        ("not-gzip", b"\x1f\x8bnotgzip", [("Content-Encoding", "gzip")], {"WARC-Truncated": "length"}),
        ("untruncated", PAGE, [], {}),
    ]
    got = _write_responses(tmp_path / "truncated.warc.gz", cases)
    assert (got["length"].body, got["length"].truncated) == (PAGE[:1000], "length")
    assert PAGE.startswith(got["gzip-cut"].body) and 1000 < len(got["gzip-cut"].body) < len(PAGE)
    assert got["gzip-cut"].truncated == "length"
    assert PAGE.startswith(got["chunk-cut"].body) and got["chunk-cut"].truncated == "time"
    assert (got["whole"].body, got["whole"].truncated) == (PAGE, "disconnect")
    assert got["not-gzip"]["reason"] == "bad_content_encoding"
    assert got["untruncated"].truncated is None


def test_damage_details_are_one_readable_sentence(shared_data, tmp_path):
    """A file cut inside a response's WARC header gave `truncated_record` with warcio's
    "AttributeError: 'NoneType' object has no attribute 'startswith'" (no WARC-Target-URI before the cut),
    and a gzip member that does not decompress a `corrupt_archive` detail holding the member's raw bytes.
    Each detail says where (byte offset) and what was wrong, in printable words."""
    gz = (shared_data / "warc" / CC_EXCERPT).read_bytes()
    starts = _gzip_member_starts(gz)[:9]
    data = gz[: starts[8]]  # the first 8 records: warcinfo, then request/response/metadata
    plain = b"".join(zlib.decompressobj(31).decompress(data[s:e]) for s, e in zip(starts, starts[1:]))
    first_response = plain.index(b"WARC-Type: response")
    blobs = {f"plain-cut-{n}": plain[: first_response + n] for n in (5, 21, 60)}
    for k, s in enumerate(starts[1:8]):
        member = zlib.decompressobj(31).decompress(data[s:starts[k + 2]])
        for n in (30, 60, 120):  # the member cut where its WARC header is cut
            c = zlib.compressobj(6, zlib.DEFLATED, 31)
            blobs[f"gz-cut-{k}-{n}"] = data[:s] + c.compress(member[:n]) + c.flush(zlib.Z_SYNC_FLUSH)
        smashed = bytearray(data)
        for i in range(s + 10, s + 30):  # the deflate data right after the member's gzip header
            smashed[i] ^= 0x5A
        blobs[f"gz-smash-{k}"] = bytes(smashed)
    seen = set()
    for name, blob in blobs.items():
        path = tmp_path / (name + (".warc" if name.startswith("plain") else ".warc.gz"))
        path.write_bytes(blob)
        for r in (i for i in _items(path)[0] if isinstance(i, dict)):
            seen.add(r["reason"])
            d = r["detail"]
            assert d.isprintable() and "\\x" not in d and "Error" not in d and "NoneType" not in d, (name, d)
            assert f"byte {r['offset']}" in d, (name, d)
    assert {"truncated_record", "corrupt_archive"} <= seen


def test_a_body_shorter_than_its_content_length_is_a_partial_page(tmp_path):
    """An uncompressed body shorter than its HTTP Content-Length, in a record without WARC-Truncated (the
    crawler lost the end of the page), was extracted as if whole. It is kept and marked truncated
    `short_body`, as a WARC-Truncated page is. Not this case: a body longer than its Content-Length, a
    chunked body (Content-Length is ignored under Transfer-Encoding), a compressed one (a cut stream is the
    decoder's to find), an empty one (a HEAD response: its GET's Content-Length, no body), no or a
    malformed Content-Length, and a record whose own WARC-Truncated reason is kept."""
    n = str(len(PAGE))
    gz = gzip.compress(PAGE)
    cases = [
        ("short", PAGE[:1000], [("Content-Length", n)], {}),
        ("short-listed", PAGE[:1000], [("Content-Length", f"{n}, {n}")], {}),
        ("exact", PAGE, [("Content-Length", n)], {}),
        ("longer", PAGE, [("Content-Length", "1000")], {}),
        ("no-length", PAGE[:1000], [], {}),
        ("bad-length", PAGE[:1000], [("Content-Length", "lots")], {}),
        ("conflicting", PAGE[:1000], [("Content-Length", f"{n}, 1000")], {}),
        ("chunked", _chunked(PAGE), [("Transfer-Encoding", "chunked"), ("Content-Length", str(10 * len(PAGE)))], {}),
        ("gzip-whole", gz, [("Content-Encoding", "gzip"), ("Content-Length", str(len(gz) + 500))], {}),
        ("head", b"", [("Content-Length", n)], {}),
        ("marked", PAGE[:1000], [("Content-Length", n)], {"WARC-Truncated": "time"}),
    ]
    got = _write_responses(tmp_path / "short.warc.gz", cases)
    for name in ("short", "short-listed"):
        assert (got[name].body, got[name].truncated) == (PAGE[:1000], "short_body"), name
    for name in ("exact", "longer", "chunked", "gzip-whole"):
        assert (got[name].body, got[name].truncated) == (PAGE, None), name
    for name in ("no-length", "bad-length", "conflicting"):
        assert (got[name].body, got[name].truncated) == (PAGE[:1000], None), name
    assert (got["head"].body, got["head"].truncated) == (b"", None)
    assert got["marked"].truncated == "time"


def test_real_common_crawl_records_are_not_short_bodies(shared_data):
    """Common Crawl stores bodies decoded and rewrites Content-Length to the stored length (the server's
    is kept as X-Crawler-Content-Length): not one of its pages is a short body."""
    for name in ("cc-main-2020-34-excerpt.warc.gz", "cc-main-2024-22-whirlwind.warc.gz"):
        payloads = [i for i in _items(shared_data / "warc" / name)[0] if isinstance(i, WarcPayload)]
        assert payloads and all(p.truncated is None for p in payloads), name


def test_warcio_writes_nothing_to_stderr_damage_is_in_the_dead_letter(shared_data, tmp_path, capfd):
    """warcio wrote zlib's message ("Error -3 while decompressing data: invalid distance too far back")
    to stderr for a gzip member damaged part-way, and "WARNING: Record not followed by newline" for a
    record whose Content-Length does not reach its end: noise tied to no record. Nothing is written; each
    is said in the dead letter of the record concerned."""
    src = shared_data / "warc" / CC_EXCERPT
    good = [i for i in _items(src)[0] if isinstance(i, WarcPayload)]
    data = bytearray(src.read_bytes())
    victim = good[5]
    for k in range(victim.offset + 3000, victim.offset + 3040):  # inside the member's deflate data
        data[k] ^= 0xFF
    damaged = tmp_path / "damaged.warc.gz"
    damaged.write_bytes(bytes(data))
    capfd.readouterr()
    items, _ = _items(damaged)
    assert capfd.readouterr().err == ""
    rejects = [i for i in items if isinstance(i, dict)]
    # it was truncated_record, "record declares 37656 more bytes than the file holds": warcio read on
    # quietly past the damage as if the member ended there
    assert [(r["reason"], r["offset"]) for r in rejects] == [("corrupt_archive", victim.offset)]
    assert "a gzip member does not decompress (invalid" in rejects[0]["detail"]
    assert _readable(rejects[0]["detail"]) and "resumed at byte" in rejects[0]["detail"]
    assert [p.url for p in items if isinstance(p, WarcPayload)] == [p.url for p in good if p.url != victim.url]

    # a record whose block is followed by bytes before its blank lines: warcio skipped that line, warned
    items, _ = _items(shared_data / "warc" / "warcio-example-trunc.warc")
    assert capfd.readouterr().err == ""
    (reject,) = items
    assert (reject["reason"], reject["offset"]) == ("digest_mismatch", 1197)  # its own reason, and why
    assert "digest failed" in reject["detail"] and "followed by 4 bytes of binary data" in reject["detail"]
    assert "Content-Length does not match its content" in reject["detail"] and _readable(reject["detail"])


def test_a_record_whose_content_length_falls_short_of_its_end_is_a_dead_letter(shared_data, tmp_path, capfd):
    """A record followed by a line where its blank lines should be (its Content-Length shorter than what
    was stored) passed its digest (computed over the Content-Length bytes) and was a page, with only
    warcio's warning on stderr. It is a corrupt_archive dead letter; the records after it are read on."""
    import io

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=False)
    for name in ("first", "second", "third"):
        w.write_record(w.create_warc_record(
            f"http://example.org/{name}", "response", payload=io.BytesIO(PAGE), length=len(PAGE),
            http_headers=StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")))
    data = buf.getvalue()
    end = data.index(b"\r\n\r\nWARC/1.0", data.index(b"</html>"))  # the end of the first record's block
    path = tmp_path / "cl.warc"
    path.write_bytes(data[:end] + b"<p>the rest of the page</p>" + data[end:])
    capfd.readouterr()
    items, _ = _items(path)
    assert capfd.readouterr().err == ""
    first, second, third = items
    assert (first["reason"], first["offset"], first["url"]) == ("corrupt_archive", 0, "http://example.org/first")
    assert "followed by 29 bytes ('<p>the rest of the page</p>')" in first["detail"] and _readable(first["detail"])
    assert [(p.url, p.body) for p in (second, third)] == [("http://example.org/second", PAGE),
                                                         ("http://example.org/third", PAGE)]
