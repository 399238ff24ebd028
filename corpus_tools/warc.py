"""Reading WARC (response records) and WET (conversion records) files with warcio.

:func:`iter_warc` turns one open, seekable binary file into a stream of
:class:`WarcPayload` (a candidate document) and dead-letter dicts (``REJECT_SCHEMA``),
never raising on bad input and never ending early without saying so:

* a response whose block/payload digest does not match (a truncated or altered body)
  → ``digest_mismatch``; a response that is no whole page → ``http_status``, one that is not HTML
  → ``not_html``, by the fetch stage's own rule (:mod:`corpus_tools.pages`: a 2xx status other than
  204/205/206; a Content-Type of :data:`HTML_TYPES`, or none and a body that starts like HTML);
* a response marked ``WARC-Truncated`` is a partial page, kept with its reason in
  :attr:`WarcPayload.truncated`; so is one whose uncompressed, unchunked HTTP body is shorter than its
  ``Content-Length`` (:data:`SHORT_BODY`);
* a file of 0 bytes, or a small gzip file of nothing (empty streams) → one ``empty_file``;
* a file whose first record is neither a WARC/1.x nor an ARC record (random bytes, a text or
  HTML page named ``.warc``) → one ``not_warc``. warcio reads any line of five words as an ARC
  header, so an ARC record must have ARC's numeric date and length;
* a file cut short (inside a record, a record's gzip member or the next member's header)
  → ``truncated_record`` at the start of the cut record: reading must end at the end of the
  file, because warcio stops quietly at a gzip member that is cut or decompresses to nothing;
* a corrupt gzip member → ``corrupt_archive``; reading resumes at the next gzip member header
  when there is one, so one bad member does not cost the rest of the file;
* a record followed by bytes where its blank lines should be (a wrong ``Content-Length``) → a dead
  letter for that record (:func:`_overrun_record`), and reading goes on. warcio's warnings on stderr
  (this one, and zlib's message for a member damaged part-way) are not written: what it saw is in
  the dead letter (:class:`_QuietIterator`);
* a gzip file that is one big gzip stream instead of one member per record is read on
  through a whole-stream decompressor (offsets are then positions in the *uncompressed*
  stream) and noted in :attr:`WarcStats.notes` (``non_chunked_gzip``): a note about the file,
  not a record.

Record types that are never documents (warcinfo, request, metadata, revisit ...) are counted
in :attr:`WarcStats.skipped` and not passed on.
"""

from __future__ import annotations

import ast
import gzip
import io
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import BinaryIO, Iterator

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import DecompressingBufferedReader
from warcio.exceptions import ArchiveLoadFailed
from warcio.recordloader import ArcWarcRecordLoader
from warcio.timeutils import timestamp_to_iso_date

from corpus_tools.content_encoding import BoundedDecoder, DecodeError, parse_encodings
from corpus_tools.pages import HTML_TYPES, NOT_A_PAGE, is_page_status, looks_like_html
from corpus_tools.schema import new_reject

GZIP_MAGIC = b"\x1f\x8b\x08"
STAGE = "extract"
MAX_BODY_BYTES = 5_000_000  # default bound on a decoded HTTP body (the extract stage passes max_html_bytes)
SHORT_BODY = "short_body"  # the `truncated` reason of a body shorter than its Content-Length (no WARC-Truncated)


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
    # a partial page: the record's WARC-Truncated reason (length, time, disconnect ...), or SHORT_BODY
    truncated: str | None = None


@dataclass
class WarcStats:
    skipped: Counter = field(default_factory=Counter)  # record type -> count
    notes: Counter = field(default_factory=Counter)  # something about a whole file (non_chunked_gzip) -> files


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


class _Damaged(Exception):
    """Where a stretch of the file stops being whole records; ``reason`` None: decided by
    :meth:`_Damage.reject` from how the file goes on after it."""

    reason: str | None = None


class _Truncated(_Damaged):
    reason = "truncated_record"


class _NotWarc(_Damaged):
    reason = "not_warc"


class _QuietReader(DecompressingBufferedReader):
    """warcio's reader of a file, except that a gzip member that stops decompressing part-way is
    remembered (``error``, for the dead letter) instead of written to stderr: warcio prints zlib's
    message, not tied to any record, and reads on as if the member had ended there."""

    error: str | None = None

    def _decompress(self, data):
        if not (self.decompressor and data and self.num_block_read):
            return super()._decompress(data)  # a member's first bytes: warcio may read them as uncompressed
        try:
            return self.decompressor.decompress(data)
        except Exception as e:  # what warcio catches here (zlib.error)
            self.error = self.error or _zlib_why(str(e))
            return b""  # as warcio does: nothing more comes out of this member


class _QuietIterator(ArchiveIterator):
    """warcio's ArchiveIterator, writing nothing to stderr.

    Where warcio writes a warning to stderr, what it saw is kept for the reader to turn into the dead
    letter of the record concerned: ``decompress_error``, a gzip member that stopped decompressing
    (:class:`_QuietReader`); ``overrun``, the non-blank line found where the blank lines that end a
    record should be (warcio's "Record not followed by newline, perhaps Content-Length is invalid"),
    set when the record is read to its end and taken by the reader."""

    def __init__(self, fileobj, **kwargs):
        super().__init__(fileobj, **kwargs)
        self.quiet_reader = self.reader = _QuietReader(self.fh, block_size=self.reader.block_size)
        self.overrun: bytes | None = None

    @property
    def decompress_error(self) -> str | None:
        return self.quiet_reader.error

    def _consume_blanklines(self):
        # warcio's loop: the first line after a record is consumed whatever it holds, then blank lines;
        # the first non-blank line after those starts the next record.
        empty_size, first_line = 0, True
        while True:
            line = self.reader.readline()
            if not line:
                return None, empty_size
            if first_line or not line.rstrip():
                empty_size += len(line)
                if line.rstrip():
                    self.overrun = line
                first_line = False
                continue
            return line, empty_size


class _Stretch:
    """How far reading one uninterrupted stretch of the file got."""

    def __init__(self, fh: BinaryIO | None, size: int | None, start: int):
        self.fh, self.size = fh, size
        self.next_record = start  # where the next record starts: the end of the last whole record
        self.records = 0  # whole records read (of any type)
        self.iterator: ArchiveIterator | None = None

    def at_end(self) -> bool:
        """Whether warcio had read everything up to the end of the file when it stopped."""
        reader = self.iterator.reader if self.iterator is not None else None
        if reader is None or self.fh is None:
            return True
        return reader.rem_length() == 0 and self.fh.tell() >= self.size


def _read_block(record) -> bytes:
    """The raw HTTP body / block bytes; archive-level errors (corrupt gzip member) propagate."""
    raw = record.raw_stream.read()
    missing = getattr(record.raw_stream, "limit", 0) or 0
    if missing > 0:
        raise _Truncated(f"record declares {missing} more bytes than the file holds")
    return raw


def _not_a_record(record) -> str | None:
    """Why what warcio parsed is no WARC or ARC record, or None when it is one.

    warcio parses anything: a first line of five words is an ARC header line (so a text or HTML
    file passes as ARC), a blank or binary first line an empty WARC header, and a header block cut
    short at the end of the file a WARC header without the fields that follow the cut. A record
    without WARC-Type is still a record (its Content-Length says where it ends): ``skipped``.
    """
    h = record.rec_headers
    if record.format == "arc":  # URL IP-address Archive-date Content-type Archive-length
        if not (h.get_header("archive-date") or "").isdigit() or not (h.get_header("length") or "").isdigit():
            return "is no ARC header line (URL, IP address, 14-digit date, content type, length)"
        return None
    if not _has_warc_version(record):
        return "has no WARC/1.x version line"
    length = h.get_header("Content-Length")
    if length is None or not length.strip().isdigit():  # without it the record has no end
        return f"has no valid Content-Length ({length!r})"
    return None


def _has_warc_version(record) -> bool:
    return record.format == "warc" and record.rec_headers.protocol in ArcWarcRecordLoader.WARC_TYPES


def _first_line(record) -> str:
    h = record.rec_headers
    if record.format == "arc":
        return " ".join(value for _, value in h.headers)[:80]
    return f"{h.protocol} {h.statusline}".strip()[:80]


def _member_cut_short(it: ArchiveIterator) -> bool:
    """Whether the record just read ended with the data of a gzip member that has no gzip end.

    After a record warcio reads on to the next one; when the decompressed data ran out (no next
    line) but the member did not end, the file ends inside the member, or the member is damaged.
    (``reader``, ``next_line`` and ``offset`` are warcio's iterator state, stable since 1.x; the
    tests that cut real files at every member boundary would see them change.)
    """
    decompressor = it.reader.decompressor
    return decompressor is not None and not decompressor.eof and it.next_line is None


class _BadBody(Exception):
    """The HTTP body's chunking or Content-Encoding is broken (``bad_content_encoding``)."""


class _TooLarge(Exception):
    """The body decodes to more than the limit (``too_large``)."""


_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
_LAST_CHUNK = re.compile(rb"(?:^|\r\n)0+[ \t]*(?:;[^\r\n]*)?\r\n(?:[^\r\n]+\r\n)*\r\n\Z")


def _dechunk(raw: bytes) -> tuple[bytes, str | None]:
    """``Transfer-Encoding: chunked`` undone: (the data, None), or (the data up to where the body
    ends early, how it ends). A malformed chunk-size line or chunk end raises :class:`_BadBody`.

    A body that neither starts with a chunk-size line nor ends with the last chunk was stored
    dechunked under the header the server sent (as warcio reads it too): it is returned as it is.
    Chunk extensions and trailer fields are allowed and dropped.
    """
    first = raw.split(b"\r\n", 1)[0].split(b";", 1)[0].strip()
    if not _CHUNK_SIZE.fullmatch(first) and not _LAST_CHUNK.search(raw):
        return raw, None
    out = bytearray()
    pos, chunks = 0, 0
    while True:
        eol = raw.find(b"\r\n", pos)
        if eol < 0:
            if pos >= len(raw):
                return bytes(out), f"the chunked body ends after {_chunks(chunks)}, without the last (0) chunk"
            return bytes(out), f"the chunked body ends inside a chunk-size line at byte {pos}"
        line = raw[pos:eol]
        size_text = line.split(b";", 1)[0].strip()
        if not _CHUNK_SIZE.fullmatch(size_text):
            raise _BadBody(f"invalid chunk-size line {_show(line)} at byte {pos} of the chunked body "
                           f"(after {_chunks(chunks)})")
        size, start = int(size_text, 16), eol + 2
        if size == 0:
            return bytes(out), None  # the last chunk; trailer fields after it are not the page's
        end = start + size
        out += raw[start:end]
        chunks += 1
        if end > len(raw):
            return bytes(out), (f"the chunked body ends inside chunk {chunks} ({len(raw) - start} of its {size} bytes)")
        if raw[end:end + 2] != b"\r\n":
            if end + 2 > len(raw) and b"\r\n".startswith(raw[end:]):
                return bytes(out), f"the chunked body ends after {_chunks(chunks)}, without the last (0) chunk"
            raise _BadBody(f"chunk {chunks} (byte {start}, {size} bytes) is not followed by CRLF but by "
                           f"{_show(raw[end:end + 8])}")
        pos = end + 2


def _chunks(n: int) -> str:
    return f"{n} chunk" + ("" if n == 1 else "s")


def _decode_content(body: bytes, header: str, max_bytes: int) -> tuple[bytes, str | None]:
    """``Content-Encoding`` undone by the project's decoder (:mod:`corpus_tools.content_encoding`, the
    fetch stage's): (the page, None), or (the start of the page, how the body ends early)."""
    encodings = parse_encodings(header)
    if not encodings:
        return body, None
    try:
        decoder = BoundedDecoder(encodings, max_bytes)
    except DecodeError as e:  # an encoding it does not know (compress, or a made-up name)
        raise _BadBody(f"{e}: the page cannot be decoded") from None
    try:
        out = decoder.feed(body) + decoder.finish()
    except DecodeError as e:
        raise _BadBody(f"{e} in the {len(body)}-byte body (Content-Encoding {header!r})") from None
    if decoder.capped:
        raise _TooLarge(f"the {len(body)}-byte body (Content-Encoding {header!r}) decodes to more than "
                        f"{max_bytes} bytes")
    if not decoder.complete:
        return out, (f"the {len(body)}-byte body (Content-Encoding {header!r}) is cut short: its compressed "
                     f"stream has no end ({len(out)} bytes decoded)")
    return out, None


def _decode_http_body(record, raw: bytes, truncated: str | None, max_bytes: int) -> bytes:
    """The page: chunked transfer coding, then Content-Encoding undone.

    A body that ends early (a chunk or compressed stream cut short) is the start of the page when the
    record says it was cut on purpose (``WARC-Truncated``), else :class:`_BadBody`; bytes that do not
    decode are :class:`_BadBody` either way.
    """
    h = record.http_headers
    body, cut = raw, None
    if "chunked" in (h.get_header("Transfer-Encoding") or "").lower():
        body, cut = _dechunk(raw)
    body, cut_content = _decode_content(body, h.get_header("Content-Encoding") or "", max_bytes)
    cut = cut or cut_content
    if cut is not None and truncated is None:
        raise _BadBody(cut + ", and the record is not marked WARC-Truncated")
    return body


def _show(data: bytes | str, limit: int = 60) -> str:
    """Bytes (or a line) of the file as a detail may show them: printable text quoted and cut at
    ``limit`` characters, else only what they are."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return f"({len(data)} bytes of binary data)"
    else:
        text = data
    text = text.strip("\r\n")
    if not text.isprintable() or "\ufffd" in text:
        return "(binary data)"
    return repr(text[:limit] + ("..." if len(text) > limit else ""))


def _truncated(record) -> str | None:
    """The record's ``WARC-Truncated`` reason, as a counter name may hold it (``length``, ``time``,
    ``disconnect``, ``unspecified`` ...), or None."""
    value = record.rec_headers.get_header("WARC-Truncated")
    if value is None:
        return None
    return re.sub(r"[^a-z0-9_]+", "_", value.strip().lower()).strip("_") or "unspecified"


def _short_body(http_headers, raw: bytes) -> str | None:
    """:data:`SHORT_BODY` when the HTTP body holds fewer bytes than its ``Content-Length`` says, in a record
    not marked ``WARC-Truncated``: the crawler lost the rest (a connection that ended early), so the page is
    partial. Only a body stored as it was sent and not chunked: ``Content-Length`` is ignored under
    ``Transfer-Encoding`` (RFC 9112), and a cut compressed body is the decoder's to find (a stream without
    its end). A body longer than its ``Content-Length`` is not partial, and an empty one is the answer to
    a HEAD request (the same ``Content-Length``, no body) or no page at all (the ``empty`` dead letter).
    Common Crawl and the fetch stage rewrite ``Content-Length`` to the stored length, so for their records
    this never holds."""
    if not raw or http_headers.get_header("Transfer-Encoding") or \
            parse_encodings(http_headers.get_header("Content-Encoding")):
        return None
    values = {v.strip() for v in (http_headers.get_header("Content-Length") or "").split(",")}
    if len(values) != 1 or not (length := values.pop()).isdigit():  # absent, malformed or conflicting
        return None
    return SHORT_BODY if len(raw) < int(length) else None


def _record_to_item(record, warc_file: str, offset: int, raw: bytes, max_body_bytes: int) -> WarcPayload | dict:
    rtype = record.rec_type
    h = record.rec_headers
    if record.format == "arc":  # checked by _not_a_record: a 14-digit date
        url, record_id, date = h.get_header("uri"), None, timestamp_to_iso_date(h.get_header("archive-date"))
    else:
        url, record_id, date = h.get_header("WARC-Target-URI"), h.get_header("WARC-Record-ID"), h.get_header("WARC-Date")

    def reject(reason: str, detail: str) -> dict:
        return new_reject(STAGE, reason, source=warc_file, offset=offset, url=url, detail=detail)

    truncated = _truncated(record)
    if rtype == "conversion":
        mime, charset = _parse_content_type(record.rec_headers.get_header("Content-Type"))
        return WarcPayload("conversion", url, warc_file, offset, record_id, date, None, mime, charset or "utf-8", raw,
                           truncated)
    if record.http_headers is None:
        return reject("not_http", "response record without HTTP headers")
    status_line = record.http_headers.get_statuscode()
    try:
        status = int(status_line)
    except (TypeError, ValueError):
        status = None
    mime, charset = _parse_content_type(record.http_headers.get_header("Content-Type"))
    checker = getattr(record, "digest_checker", None)
    if checker is not None and checker.passed is False:
        return reject("digest_mismatch", "; ".join(checker.problems) + " (truncated or altered body)")
    # The fetch stage's rule (corpus_tools.pages): what it archives as `ok` is read here.
    if not is_page_status(status):
        why = f" ({NOT_A_PAGE[status]}: no whole page)" if status in NOT_A_PAGE else ""
        return reject("http_status", f"HTTP status {status_line}{why}")
    if mime is not None and mime not in HTML_TYPES:
        return reject("not_html", f"Content-Type {mime!r}")
    truncated = truncated or _short_body(record.http_headers, raw)
    try:
        body = _decode_http_body(record, raw, truncated, max_body_bytes)
    except _BadBody as e:  # bad chunking / Content-Encoding inside the HTTP body
        return reject("bad_content_encoding", str(e))
    except _TooLarge as e:
        return reject("too_large", f"{e} (max_html_bytes={max_body_bytes})")
    if mime is None and not looks_like_html(body):
        return reject("not_html", "no Content-Type and the body does not look like HTML")
    return WarcPayload("response", url, warc_file, offset, record_id, date, status, mime, charset, body, truncated)


def _iterate(stream: BinaryIO, warc_file: str, stats: WarcStats, stretch: _Stretch, max_body_bytes: int,
             skip: int = 0) -> Iterator[WarcPayload | dict]:
    """Items of one uninterrupted stretch of the file, from the stream's position to the end.

    Raises :class:`_Damaged` (or warcio's errors) where the stretch stops being whole records,
    including where warcio itself stops early without an error (a gzip member cut short or one
    that decompresses to nothing): with ``stretch.size`` known, reading must end there. The first
    ``skip`` records are read but neither counted nor passed on.
    """
    it = _QuietIterator(stream, check_digests=True)
    stretch.iterator = it
    for record in it:
        offset = it.offset  # where this record starts (warcio's offsets are positions in ``stream``)
        problem = _not_a_record(record)
        if problem is not None:
            if offset == 0 and not _has_warc_version(record):
                raise _NotWarc(f"its first record {problem} (first line {_show(_first_line(record))})")
            raise _Damaged(f"record header {problem}")
        raw = _read_block(record)
        it.get_record_length()  # reads past the record's trailing blank lines to the next record
        if _member_cut_short(it):
            raise _Truncated("this record's gzip member has no end: the file is cut short there "
                             "(or the member is damaged)")
        if it.decompress_error is not None:  # read on without an error by warcio: the member ends early
            raise _Damaged("its gzip member stopped decompressing")
        stretch.next_record = it.offset
        stretch.records += 1
        overrun, it.overrun = it.overrun, None
        if stretch.records <= skip:
            continue
        rtype = record.rec_type
        if overrun is not None:
            yield _overrun_record(record, warc_file, offset, raw, max_body_bytes, overrun)
            continue
        if rtype not in ("conversion", "response"):
            stats.skipped[rtype or "no_type"] += 1
            continue
        yield _record_to_item(record, warc_file, offset, raw, max_body_bytes)
    if it.decompress_error is not None:
        raise _Damaged("a gzip member stopped decompressing")
    if stretch.size is not None and it.offset < stretch.size:
        raise _Damaged(f"reading stopped at byte {it.offset}: the {stretch.size - it.offset} bytes after it are "
                       "no whole record")


def _overrun_record(record, warc_file: str, offset: int, raw: bytes, max_body_bytes: int, line: bytes) -> dict:
    """The dead letter of a record followed by ``line`` where the blank lines that end a record should be:
    its ``Content-Length`` does not match its content (less than it, most likely), so what was read of it
    may be cut. A page's own dead letter (a failing digest ...) keeps its reason and says this too; any
    other record, a page included, is ``corrupt_archive``. Reading goes on at the next record, as warcio
    does."""
    shown = _show(line)
    what = f"{len(line)} bytes " + ("of binary data" if shown.startswith("(") else f"({shown})")
    why = (f"the record is followed by {what} where the blank lines that end a record should be: its "
           f"Content-Length does not match its content")
    if record.rec_type in ("conversion", "response"):
        item = _record_to_item(record, warc_file, offset, raw, max_body_bytes)
        if isinstance(item, dict):
            return dict(item, detail=f"{item['detail']}; {why}")
    url = record.rec_headers.get_header("WARC-Target-URI") if record.format == "warc" else None
    return new_reject(STAGE, "corrupt_archive", source=warc_file, offset=offset, url=url,
                      detail=f"at byte {offset}: {why}")


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


@dataclass
class _Damage:
    """One damaged stretch of a file: one dead letter, made once it is known how the file goes on."""

    reason: str | None  # fixed by the error, or None: truncated_record / corrupt_archive, see reject()
    offset: int
    detail: str
    reaches_end: bool  # warcio had read to the end of the file when it stopped
    resumed_at: int | None = None

    @classmethod
    def of(cls, err: Exception, stretch: _Stretch, at_start: bool) -> _Damage:
        """``at_start``: nothing of the file was read before ``err``."""
        why = stretch.iterator.decompress_error if stretch.iterator is not None else None
        if why is not None:  # warcio read on past it quietly, to whatever error followed: this is the damage
            return cls("corrupt_archive", stretch.next_record, f"a gzip member does not decompress ({why})",
                       stretch.at_end())
        reason = err.reason if isinstance(err, _Damaged) else None
        if isinstance(err, ArchiveLoadFailed) and at_start and str(err).startswith("Unknown archive format"):
            reason = "not_warc"
        return cls(reason, stretch.next_record, _describe(err), stretch.at_end())

    def reject(self, warc_file: str, read_on: bool) -> dict:
        """The dead letter; ``read_on``: whole records were read after the damage.

        Bytes that are no whole record and run to the end of the file with nothing readable after
        them are a file cut short (``truncated_record``); anything else is ``corrupt_archive``, also
        an unreadable first record after which WARC records are found (a damaged start, not
        ``not_warc``).
        """
        reason, detail = self.reason, f"at byte {self.offset}: {self.detail}"
        if reason == "not_warc" and read_on:
            reason, detail = "corrupt_archive", f"unreadable start of the file, {detail}"
        elif reason == "not_warc":
            detail = f"not a WARC file: {self.detail}"
        elif reason is None and self.reaches_end and not read_on:
            reason, detail = "truncated_record", detail + "; the file ends there: cut short"
        elif reason is None:
            reason = "corrupt_archive"
        detail += f"; resumed at byte {self.resumed_at}" if self.resumed_at is not None else "; nothing readable after it"
        return new_reject(STAGE, reason, source=warc_file, offset=self.offset, detail=detail)


_NO_RECORD = re.compile(r"^(?:Invalid WARC record|Invalid ARC record|Unknown archive format), first line: (.*)$", re.S)


def _describe(err: Exception) -> str:
    """What was wrong where a stretch of the file stops being whole records, in words: never the
    file's raw bytes, nor the text of an error inside warcio."""
    if isinstance(err, _Damaged):
        return str(err)
    message = str(err).strip()
    if isinstance(err, ArchiveLoadFailed):
        m = _NO_RECORD.match(message)
        if m is None:
            return "warcio could not read a record here"
        line = m.group(1)
        if line.startswith(("\x1f\x8b", "['\\x1f\\x8b", '["\\x1f\\x8b')):
            # warcio reads a gzip member whose data does not decompress as raw bytes: its gzip header
            return "a gzip member here does not decompress (damaged), so it holds no readable record"
        if line.startswith("[") and line.endswith("]"):  # warcio writes the ARC attempt's line as a list
            try:
                line = " ".join(ast.literal_eval(line))
            except (ValueError, SyntaxError, TypeError):
                pass
        return f"no WARC or ARC record header where a record should start (first line {_show(line)})"
    if isinstance(err, (zlib.error, EOFError, gzip.BadGzipFile)):
        return f"a gzip member does not decompress ({_zlib_why(message)})"
    # warcio fails inside its own code on a record header without the fields it expects (a response or
    # request without WARC-Target-URI: 'NoneType' object has no attribute 'startswith')
    return ("warcio could not parse the record header: a field a record needs (WARC-Target-URI, "
            "WARC-Type, Content-Length) is missing or malformed")


def _zlib_why(message: str) -> str:
    """zlib's error message without its code: "Error -3 while decompressing data: invalid distance too
    far back" → "invalid distance too far back"."""
    why = message.split(":", 1)[1].strip() if message.startswith("Error -") and ":" in message else message.strip()
    return why or "damaged gzip data"


def _starts_as_warc(fh: BinaryIO, is_gzip: bool) -> bool:
    """Whether the file's first bytes are a WARC version line or the start of one."""
    fh.seek(0)
    head = fh.read(256)
    if is_gzip:
        try:
            head = zlib.decompressobj(31).decompress(head)
        except zlib.error:
            return False
    head = head.lstrip()[:8]
    return bool(head) and (head.startswith(b"WARC/") or b"WARC/1.".startswith(head))


_SMALL_GZIP = 4096  # a gzip file this small is checked for holding nothing at all (an empty stream)


def _gzip_holds_nothing(fh: BinaryIO) -> bool:
    """Whether the (small) gzip file ``fh`` decompresses, whole, to no bytes."""
    fh.seek(0)
    try:
        return gzip.decompress(fh.read()) == b""
    except (OSError, EOFError, zlib.error):
        return False  # damaged: the reader says where


def iter_warc(fh: BinaryIO, warc_file: str, stats: WarcStats | None = None,
              max_body_bytes: int = MAX_BODY_BYTES) -> Iterator[WarcPayload | dict]:
    """Every candidate document and every dead letter of one WARC/WET (or ARC) file, plain or gzip.

    One damaged stretch gives one ``corrupt_archive``/``truncated_record`` dead letter whose offset
    is where the stretch starts (the end of the last whole record); reading resumes at the next gzip
    member. A file whose first record is neither WARC nor ARC is one ``not_warc`` dead letter, a file of
    0 bytes (or gzip of nothing) one ``empty_file``. Reading
    that stops before the end of the file is a damaged stretch too, so no record is lost unreported.
    An HTTP body is decoded to at most ``max_body_bytes`` (more: ``too_large``).
    """
    stats = stats if stats is not None else WarcStats()
    fh.seek(0, io.SEEK_END)
    size = fh.tell()
    if size == 0:  # warcio reads no record and no error from it: said here, or the file is lost unreported
        yield new_reject(STAGE, "empty_file", source=warc_file, offset=0, detail="the file is empty (0 bytes)")
        return
    fh.seek(0)
    is_gzip = fh.read(3) == GZIP_MAGIC
    if is_gzip and size <= _SMALL_GZIP and _gzip_holds_nothing(fh):
        yield new_reject(STAGE, "empty_file", source=warc_file, offset=0,
                         detail=f"the file ({size} bytes) is gzip of nothing: it holds no record")
        return
    base = 0
    records = 0  # whole records read so far, in all stretches
    damage: _Damage | None = None  # the damaged stretch being skipped, reported when it is known where it ends
    while True:
        fh.seek(base)
        stretch = _Stretch(fh, size, base)
        err: Exception | None = None
        try:
            for item in _iterate(fh, warc_file, stats, stretch, max_body_bytes):
                if damage is not None:
                    yield damage.reject(warc_file, read_on=True)
                    damage = None
                yield item
        except ArchiveLoadFailed as e:
            if "non-chunked gzip" in str(e):
                # A note about the file, not a record: the records are read on from the whole stream.
                stats.notes["non_chunked_gzip"] += 1
                if damage is not None:
                    yield damage.reject(warc_file, read_on=True)
                yield from _read_whole_stream(fh, warc_file, stats, max_body_bytes, skip=records + stretch.records)
                return
            err = e
        except Exception as e:  # _Damaged, zlib.error, EOFError ... never fatal
            err = e
        records += stretch.records
        if damage is not None and stretch.records:  # whole records (not documents) came after it: it is over
            yield damage.reject(warc_file, read_on=True)
            damage = None
        if err is None:
            break
        if damage is None:
            damage = _Damage.of(err, stretch, at_start=records == 0)
            if damage.reason == "not_warc" and _starts_as_warc(fh, is_gzip):
                damage.reason = None  # cut inside its first line: a WARC file cut short
        else:
            damage.reaches_end = stretch.at_end()
        # Resume at the next gzip member after where the damage starts (strictly forward, so this ends).
        damage.resumed_at = _next_gzip_member(fh, stretch.next_record + 1) if is_gzip else None
        if damage.resumed_at is None:
            break
        base = damage.resumed_at
    if damage is not None:
        yield damage.reject(warc_file, read_on=False)


def _read_whole_stream(fh: BinaryIO, warc_file: str, stats: WarcStats, max_body_bytes: int,
                       skip: int) -> Iterator[WarcPayload | dict]:
    """A non-chunked ``.warc.gz`` read through one decompressor, after its first ``skip`` records
    (already read); offsets are then positions in the uncompressed stream."""
    fh.seek(0)
    try:
        with gzip.GzipFile(fileobj=fh) as gz:
            yield from _iterate(io.BufferedReader(gz), warc_file, stats, _Stretch(None, None, 0), max_body_bytes,
                                skip=skip)
    except Exception as e:
        yield new_reject(STAGE, "corrupt_archive", source=warc_file, offset=None,
                         detail=f"while decompressing the whole stream: {type(e).__name__}: {str(e)[:300]}")
