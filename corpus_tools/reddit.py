"""Streaming readers for Pushshift Reddit submission dumps (``RS_*``).

A dump is newline-delimited JSON, one submission per line, compressed as zstd
(``.zst``, written with a long window: we allow ``max_window_size=2**31``), xz,
bz2, gzip, or not at all. Files are read as streams, a block at a time; nothing
holds a whole file in memory.

:func:`read_dump` yields one :class:`DumpLine` per input line (1-based line
numbers) and, when a line or the stream itself is bad, a :class:`DumpProblem`
with a machine-readable reason instead of raising, so that a caller can
dead-letter it and carry on. A truncated or corrupt compressed stream ends the
file (a compressed stream cannot be resynchronised), after every complete line
before the damage has been yielded. A file of 0 bytes is one ``empty_file`` problem
(a compressed stream that decompresses to nothing is a dump without lines: no problem).

:func:`parse_submission` turns a line into a :class:`Submission`; :func:`parse_number` reads
``score``/``created_utc``, which real dumps store as int, float or string.
"""

from __future__ import annotations

import bz2
import io
import lzma
import math
import zlib
from typing import IO, Any, Iterator, Mapping, NamedTuple

import msgspec
import zstandard

ZSTD_MAX_WINDOW = 2**31  # Pushshift dumps are written with --long=31
READ_CHUNK = 1 << 20  # compressed bytes read at a time
FEED = 1 << 12  # compressed bytes given to a decompressor at a time (what a damaged zstd block can cost)
ZSTD_FEED = FEED  # the name the zstd reader had
OUT_CAP = 1 << 12  # decompressed bytes asked of an xz/bz2/gzip decompressor a call (what damage can cost)
LINE_BUFFER = 1 << 20  # decompressed bytes buffered for line splitting

# magic bytes -> compression name
_MAGIC = (
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"BZh", "bz2"),
    (b"\x1f\x8b", "gzip"),
)
_EXTENSIONS = {
    ".zst": "zstd", ".zstd": "zstd", ".xz": "xz", ".lzma": "xz", ".bz2": "bz2", ".gz": "gzip",
    ".ndjson": "none", ".jsonl": "none", ".json": "none", ".txt": "none",
}
COMPRESSIONS = ("zstd", "xz", "bz2", "gzip", "none")


class TruncatedStream(EOFError):
    """A compressed stream ended in the middle of a frame/block."""


class CorruptStream(OSError):
    """A compressed stream is damaged; the message says where."""


class DumpLine(NamedTuple):
    line: int  # 1-based line number in the decompressed file
    data: bytes  # the line as read (with its newline, if it had one)


class DumpProblem(NamedTuple):
    line: int  # the line number at which the problem was seen
    reason: str  # truncated_stream | corrupt_stream | empty_file
    detail: str


# --------------------------------------------------------------------------- compression
def compression_of(name: str, head: bytes = b"") -> str:
    """The compression of a file: from its first bytes when they say, else from its name's extension.

    A file whose name says "compressed" but whose bytes carry no known magic keeps the
    name's compression, so that reading it reports ``corrupt_stream`` rather than
    parsing binary garbage as JSON.
    """
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    lower = name.lower()
    for ext, kind in _EXTENSIONS.items():
        if lower.endswith(ext):
            return kind
    return "none"


class _Prefixed(io.RawIOBase):
    """``head`` followed by the rest of ``fh``: sniff the first bytes of any readable object."""

    def __init__(self, head: bytes, fh: IO[bytes]):
        super().__init__()
        self._head = head
        self._fh = fh

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        if self._head:
            n = min(len(buf), len(self._head))
            buf[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._fh.read(len(buf))
        if not data:
            return 0
        n = len(data)
        buf[:n] = data
        return n


class _Codec(NamedTuple):
    """How :class:`_DecompressRaw` drives one kind of ``decompressobj``-style decompressor."""

    kind: str  # "zstd" | "xz" | "bz2" | "gzip"
    unit: str  # what a compressed file is a sequence of: "frame", "stream", "member"
    errors: tuple[type[BaseException], ...]  # what the decompressor raises on damaged data
    capped: str  # "" (no max_length), "needs_input" (lzma, bz2), "tail" (zlib: unconsumed_tail)
    padding: bool  # NUL bytes may follow a stream (xz stream padding, gzip zero padding)


_CODECS = {
    "zstd": _Codec("zstd", "frame", (zstandard.ZstdError,), "", False),
    "xz": _Codec("xz", "stream", (lzma.LZMAError,), "needs_input", True),
    "bz2": _Codec("bz2", "stream", (OSError,), "needs_input", False),
    "gzip": _Codec("gzip", "member", (zlib.error,), "tail", True),
}


class _DecompressRaw(io.RawIOBase):
    """Decompression as a raw stream that raises on a truncated final frame/stream/member or damaged data.

    One class drives every decompressor with the ``decompressobj`` interface (``decompress``,
    ``eof``, ``unused_data``): zstd (``zstandard``), xz/lzma (``lzma.LZMADecompressor``), bz2
    (``bz2.BZ2Decompressor``) and gzip (``zlib.decompressobj(31)``). A file may hold several
    concatenated frames/streams/members; they are read one after another (NUL padding after an
    xz stream or a gzip member is skipped). ``zstandard``'s ``stream_reader`` ends silently when
    the input stops inside a frame, and the standard library's readers ignore damage after their
    first stream; here both are reported.

    The decompressor is fed :data:`FEED` compressed bytes at a time, and xz, bz2 and gzip are
    asked for at most :data:`OUT_CAP` decompressed bytes a call; each call's output is handed on
    before the next call is made. A call that fails loses its own output, so damage costs only
    what its call would have decoded (zstd: the output of one 4 KiB slice, which is never output
    of a block before the damaged one; the others: at most 4 KiB of decoded text), never the good
    data read before it.
    """

    def __init__(self, fh: IO[bytes], kind: str):
        super().__init__()
        self._fh = fh
        self._codec = _CODECS[kind]
        if kind == "zstd":
            self._new = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW).decompressobj
        elif kind == "xz":
            self._new = lzma.LZMADecompressor  # FORMAT_AUTO: .xz and legacy .lzma
        elif kind == "bz2":
            self._new = bz2.BZ2Decompressor
        else:
            self._new = lambda: zlib.decompressobj(31)  # gzip header and trailer (CRC-32, size) checked
        self._obj = self._new()
        self._in_unit = False  # bytes of the current frame/stream/member have been fed
        self._more = False  # the decompressor holds input or output from the last call
        self._chunk = memoryview(b"")  # compressed bytes read ...
        self._fed = 0  # ... and how many of them the decompressor has been given
        self._offset = 0  # compressed bytes of the file given to the decompressor
        self._piece = 0  # length of the last slice given (it ends at _offset)
        self._decoded = 0  # decompressed bytes produced
        self._pending = memoryview(b"")
        self._pos = 0

    def readable(self) -> bool:
        return True

    def _fill(self) -> bytes:
        """The output of the next call that decodes to anything; ``b""`` at the end of the stream."""
        codec, cap = self._codec, OUT_CAP
        while True:
            obj = self._obj
            if not self._more:
                if self._fed >= len(self._chunk):
                    chunk = self._fh.read(READ_CHUNK)
                    if not chunk:
                        if self._in_unit:
                            raise TruncatedStream(f"{codec.kind} stream ended inside a {codec.unit} at compressed "
                                                  f"byte {self._offset:,} ({self._decoded:,} bytes decompressed)")
                        return b""
                    self._chunk, self._fed = memoryview(chunk), 0
                if codec.padding and not self._in_unit and self._chunk[self._fed] == 0:
                    rest = bytes(self._chunk[self._fed:])
                    skip = len(rest) - len(rest.lstrip(b"\0"))
                    self._fed += skip
                    self._offset += skip
                    continue
                piece = self._chunk[self._fed:self._fed + FEED]
                self._fed += len(piece)
                self._offset += len(piece)
                self._piece = len(piece)
                self._in_unit = True
            try:
                if not codec.capped:
                    out = obj.decompress(piece)
                elif codec.capped == "needs_input":
                    out = obj.decompress(b"" if self._more else piece, cap)
                else:
                    out = obj.decompress(obj.unconsumed_tail if self._more else piece, cap)
            except codec.errors as e:
                raise CorruptStream(f"{e} in compressed bytes {self._offset - self._piece:,}-{self._offset - 1:,} "
                                    f"({self._decoded:,} bytes decompressed before them)") from None
            if obj.eof:  # frame/stream/member finished; the rest of the slice starts the next one
                unused = len(obj.unused_data)
                self._fed -= unused
                self._offset -= unused
                self._obj = self._new()
                self._in_unit = self._more = False
            elif codec.capped == "needs_input":
                self._more = not obj.needs_input
            elif codec.capped:
                self._more = bool(obj.unconsumed_tail)
            if out:
                self._decoded += len(out)
                return out

    def readinto(self, buf) -> int:
        if self._pos >= len(self._pending):
            self._pending, self._pos = memoryview(self._fill()), 0
            if not self._pending:
                return 0
        n = min(len(buf), len(self._pending) - self._pos)
        buf[:n] = self._pending[self._pos:self._pos + n]
        self._pos += n
        return n


def open_decompressed(fh: IO[bytes], name: str = "", compression: str | None = None) -> IO[bytes]:
    """A buffered binary stream of the decompressed bytes of ``fh`` (any object with ``read``).

    ``compression`` is one of :data:`COMPRESSIONS`; by default it is sniffed from the
    first bytes, falling back to ``name``'s extension. Reading raises :class:`TruncatedStream`
    or :class:`CorruptStream` after every byte decoded before the cut or the damage.
    """
    if compression is None:
        head = fh.read(8)
        compression = compression_of(name, head)
        fh = io.BufferedReader(_Prefixed(head, fh), READ_CHUNK)
    if compression not in COMPRESSIONS:
        raise ValueError(f"unknown compression {compression!r}; expected one of {', '.join(COMPRESSIONS)}")
    if compression != "none":
        return io.BufferedReader(_DecompressRaw(fh, compression), LINE_BUFFER)
    return fh if isinstance(fh, io.BufferedReader) else io.BufferedReader(_Prefixed(b"", fh), LINE_BUFFER)


# --------------------------------------------------------------------------- lines
def iter_lines(fh: IO[bytes], name: str = "", compression: str | None = None) -> Iterator[bytes | DumpProblem]:
    """Every line of a dump as bytes (blank ones too: line *n* is the *n*-th item), then a
    :class:`DumpProblem` if the stream is truncated or corrupt, or the file has no bytes at all
    (``empty_file``: no compressed stream, not even an empty one). The fast path under :func:`read_dump`."""
    head = fh.read(8)
    if not head:
        yield DumpProblem(1, "empty_file", f"{name or 'stream'}: the file is empty (0 bytes)")
        return
    if compression is None:
        compression = compression_of(name, head)
    stream = open_decompressed(io.BufferedReader(_Prefixed(head, fh), READ_CHUNK), name, compression)
    line_no = 0
    try:
        for line_no, raw in enumerate(stream, 1):  # noqa: B007 - line_no is used after the loop
            yield raw
    except (TruncatedStream, EOFError) as e:
        yield DumpProblem(line_no + 1, "truncated_stream",
                          f"{name or 'stream'}: {e}; the file ends there: {line_no:,} whole lines were read, "
                          f"what followed line {line_no:,} is missing")
    except (zstandard.ZstdError, lzma.LZMAError, zlib.error, OSError) as e:
        yield DumpProblem(line_no + 1, "corrupt_stream",
                          f"{name or 'stream'}: {type(e).__name__}: {e}; {line_no:,} whole lines were read before "
                          f"the damage and the rest of the file was not read (a compressed stream cannot be "
                          f"resumed past damage, so how many lines it held is unknown)")


def read_dump(fh: IO[bytes], name: str = "", compression: str | None = None) -> Iterator[DumpLine | DumpProblem]:
    """Every non-blank line of a dump with its 1-based number, then any stream problem."""
    line_no = 0
    for item in iter_lines(fh, name, compression):
        if type(item) is DumpProblem:
            yield item
            return
        line_no += 1
        if not item.isspace():  # the JSON decoder ignores the trailing newline itself
            yield DumpLine(line_no, item)


def read_dump_path(path: str, compression: str | None = None) -> Iterator[DumpLine | DumpProblem]:
    """:func:`read_dump` over a local file."""
    with open(path, "rb") as fh:
        yield from read_dump(fh, path, compression)


# --------------------------------------------------------------------------- records
class Submission(msgspec.Struct):
    """The fields of a Pushshift submission that the links stage uses (all others are skipped).

    Values are kept as found in the dump (``score`` may be int, float or string; see
    :func:`parse_number`), so that the caller decides what is usable.
    """

    id: Any = None
    url: Any = None
    is_self: Any = None
    over_18: Any = None
    score: Any = None
    created_utc: Any = None
    subreddit: Any = None

    @classmethod
    def from_mapping(cls, record: Mapping[str, Any]) -> "Submission":
        return cls(**{f: record.get(f) for f in cls.__struct_fields__})


# Decoding straight into the struct validates the whole line as JSON but builds Python objects
# only for the seven fields above: several times faster than json.loads on a 2 kB submission.
_decode = msgspec.json.Decoder(Submission).decode


class BadRecord(ValueError):
    """A line that is not a submission; ``reason`` is the dead-letter reason."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def parse_submission(data: bytes | str) -> Submission:
    """One dump line as a :class:`Submission`; raises :class:`BadRecord` (``bad_json`` / ``not_object``)."""
    try:
        return _decode(data)
    except msgspec.ValidationError as e:  # valid JSON, but not an object
        raise BadRecord("not_object", str(e)[:200]) from None
    except (msgspec.DecodeError, UnicodeDecodeError) as e:  # malformed JSON, invalid UTF-8, truncated line
        raise BadRecord("bad_json", str(e)[:200]) from None


def parse_number(value: Any) -> int | None:
    """An int from a JSON int, float or numeric string (``"12"``, ``"12.0"``, ``" 7 "``); None when absent/unusable.

    Floats are truncated toward zero after parsing (``"3.9"`` → 3), as Reddit scores are integers
    stored loosely; booleans, NaN and infinities are not numbers here.
    """
    if type(value) is int:  # the common case first
        return value
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else None
    if isinstance(value, str):
        s = value.strip()
        if not s:
            return None
        try:
            return int(s)
        except ValueError:
            pass
        try:
            f = float(s)
        except ValueError:
            return None
        return int(f) if math.isfinite(f) else None
    return None
