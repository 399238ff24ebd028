"""Reading WARC (response records) and WET (conversion records) files with warcio.

:func:`iter_warc` turns one open, seekable binary file into a stream of
:class:`WarcPayload` (a candidate document) and dead-letter dicts (``REJECT_SCHEMA``),
never raising on bad input:

* a response whose block/payload digest does not match (a truncated or altered body)
  → ``digest_mismatch``; a non-200 response → ``http_status``; a non-HTML one → ``not_html``;
* a gzip file that is one big gzip stream instead of one member per record
  → ``non_chunked_gzip``, after which the rest is read through a whole-stream decompressor
  (offsets are then positions in the *uncompressed* stream, as the reject says);
* a corrupt or truncated gzip member → ``corrupt_archive``; reading resumes at the next gzip
  member header when there is one, so one bad member does not cost the rest of the file.

Record types that are never documents (warcinfo, request, metadata, revisit ...) are counted
in :attr:`WarcStats.skipped` and not passed on.
"""

from __future__ import annotations

import gzip
import io
from collections import Counter
from dataclasses import dataclass, field
from typing import BinaryIO, Callable, Iterator

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from corpus_tools.schema import new_reject

HTML_TYPES = ("text/html", "application/xhtml+xml")
GZIP_MAGIC = b"\x1f\x8b\x08"
STAGE = "extract"


@dataclass
class WarcPayload:
    """A record that may become a document."""

    kind: str  # "response" (HTML to extract) or "conversion" (WET plain text)
    url: str | None
    warc_file: str
    offset: int
    record_id: str | None
    warc_date: str | None
    status: int | None
    content_type: str | None
    header_charset: str | None
    body: bytes


@dataclass
class WarcStats:
    skipped: Counter = field(default_factory=Counter)  # record type -> count


def _parse_content_type(value: str | None) -> tuple[str | None, str | None]:
    if not value:
        return None, None
    parts = [p.strip() for p in value.split(";")]
    mime = parts[0].lower() or None
    charset = None
    for p in parts[1:]:
        if p.lower().startswith("charset="):
            charset = p.split("=", 1)[1].strip().strip("\"'") or None
    return mime, charset


def _record_to_item(record, warc_file: str, offset_of: Callable[[], int]) -> WarcPayload | dict | None:
    """``offset_of`` is called only after the body was read (warcio reads to the end to know it)."""
    rtype = record.rec_type
    if rtype not in ("conversion", "response"):
        return None
    url = record.rec_headers.get_header("WARC-Target-URI")
    record_id = record.rec_headers.get_header("WARC-Record-ID")
    date = record.rec_headers.get_header("WARC-Date")
    error = None
    try:
        body = record.content_stream().read()
    except Exception as e:  # bad Content-Encoding / chunking inside the HTTP body
        body, error = b"", f"{type(e).__name__}: {e}"
    offset = offset_of()

    def reject(reason: str, detail: str) -> dict:
        return new_reject(STAGE, reason, source=warc_file, offset=offset, url=url, detail=detail)

    if rtype == "conversion":
        mime, charset = _parse_content_type(record.rec_headers.get_header("Content-Type"))
        return WarcPayload("conversion", url, warc_file, offset, record_id, date, None, mime, charset or "utf-8", body)
    if record.http_headers is None:
        return reject("not_http", "response record without HTTP headers")
    status_line = record.http_headers.get_statuscode()
    try:
        status = int(status_line)
    except (TypeError, ValueError):
        status = None
    mime, charset = _parse_content_type(record.http_headers.get_header("Content-Type"))
    if error is not None:
        return reject("bad_content_encoding", error)
    checker = getattr(record, "digest_checker", None)
    if checker is not None and checker.passed is False:
        return reject("digest_mismatch", "; ".join(checker.problems) + " (truncated or altered body)")
    if status != 200:
        return reject("http_status", f"HTTP status {status_line}")
    if mime not in HTML_TYPES:
        return reject("not_html", f"Content-Type {mime!r}")
    return WarcPayload("response", url, warc_file, offset, record_id, date, status, mime, charset, body)


def _iterate(stream: BinaryIO, warc_file: str, base: int, stats: WarcStats) -> Iterator[WarcPayload | dict]:
    it = ArchiveIterator(stream, check_digests=True)
    for record in it:
        item = _record_to_item(record, warc_file, lambda: base + it.get_record_offset())
        if item is None:
            stats.skipped[record.rec_type] += 1
        else:
            yield item


def _next_gzip_member(fh: BinaryIO, start: int) -> int | None:
    """Position of the next gzip member header at or after ``start``."""
    fh.seek(start)
    carry = b""
    pos = start
    while True:
        chunk = fh.read(1 << 20)
        if not chunk:
            return None
        buf = carry + chunk
        i = buf.find(GZIP_MAGIC)
        if i >= 0:
            return pos - len(carry) + i
        carry = buf[-2:]
        pos += len(chunk)


def iter_warc(fh: BinaryIO, warc_file: str, stats: WarcStats | None = None) -> Iterator[WarcPayload | dict]:
    """Every candidate document and every dead letter of one WARC/WET file (plain or gzip)."""
    stats = stats if stats is not None else WarcStats()
    head = fh.read(3)
    fh.seek(0)
    is_gzip = head == GZIP_MAGIC
    base = 0
    emitted = 0
    while True:
        fh.seek(base)
        last_offset = base
        try:
            for item in _iterate(fh, warc_file, base, stats):
                last_offset = item.offset if isinstance(item, WarcPayload) else item["offset"]
                emitted += 1
                yield item
            return
        except ArchiveLoadFailed as e:
            if "non-chunked gzip" in str(e):
                yield new_reject(STAGE, "non_chunked_gzip", source=warc_file, offset=last_offset,
                                 detail="file is one gzip stream, not one member per record; "
                                        "read on by decompressing the whole stream (offsets are uncompressed)")
                yield from _read_whole_stream(fh, warc_file, stats, skip=emitted)
                return
            yield new_reject(STAGE, "corrupt_archive", source=warc_file, offset=last_offset, detail=str(e).strip()[:500])
        except Exception as e:  # zlib.error, EOFError on a truncated member, ... never fatal
            yield new_reject(STAGE, "corrupt_archive", source=warc_file, offset=last_offset,
                             detail=f"{type(e).__name__}: {str(e).strip()[:500]}")
        if not is_gzip:
            return  # an uncompressed WARC has no member boundary to resume from
        nxt = _next_gzip_member(fh, last_offset + 1)
        if nxt is None:
            return
        base = nxt


def _read_whole_stream(fh: BinaryIO, warc_file: str, stats: WarcStats, skip: int) -> Iterator[WarcPayload | dict]:
    fh.seek(0)
    seen = 0
    try:
        with gzip.GzipFile(fileobj=fh) as gz:
            for item in _iterate(io.BufferedReader(gz), warc_file, 0, WarcStats()):
                seen += 1
                if seen > skip:
                    yield item
    except Exception as e:
        yield new_reject(STAGE, "corrupt_archive", source=warc_file, offset=None,
                         detail=f"while decompressing the whole stream: {type(e).__name__}: {str(e)[:300]}")
    # record types skipped in the re-read are not counted twice
    del stats
