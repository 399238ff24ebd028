"""Bounded decoding of HTTP ``Content-Encoding`` (gzip, deflate, br, zstd) with a bomb guard.

A body is decoded chunk by chunk as it arrives and the decoder is never asked for more
output than the remaining budget, so a small compressed body that expands to gigabytes
(a "decompression bomb") costs at most ``max_bytes`` of memory. The caller learns whether
the output hit the cap and what the expansion ratio was, and decides between ``truncated``
(an ordinary large page) and ``bomb`` (an absurd ratio); ``complete`` says whether the body was
whole (a compressed stream cut short decodes to a prefix without an error). The fetch stage
decodes bodies as they arrive, the extract stage the bodies of WARC records stored encoded.
"""

from __future__ import annotations

import zlib
from typing import Protocol

import zstandard

try:  # brotli is optional; without it ``br`` is not advertised in Accept-Encoding
    import brotli
except ImportError:  # pragma: no cover - depends on the environment
    brotli = None


class DecodeError(ValueError):
    """The body is not valid data for its declared Content-Encoding."""


class _Step(Protocol):
    def feed(self, data: bytes, limit: int) -> bytes: ...
    def more(self, limit: int) -> bytes: ...
    @property
    def complete(self) -> bool: ...  # the end of the compressed stream was reached and all of it decoded


class _Zlib:
    """gzip (possibly multi-member) or deflate (zlib-wrapped or raw) with bounded output."""

    def __init__(self, kind: str):
        self.kind = kind
        self.first = True
        self._new()
        self._pending = b""

    def _new(self, wbits: int | None = None) -> None:
        if wbits is None:
            wbits = 16 + zlib.MAX_WBITS if self.kind == "gzip" else zlib.MAX_WBITS
        self.d = zlib.decompressobj(wbits)

    def feed(self, data: bytes, limit: int) -> bytes:
        self._pending += data
        return self.more(limit)

    def more(self, limit: int) -> bytes:
        out = bytearray()
        while self._pending and len(out) < limit:
            data, self._pending = self._pending, b""
            try:
                chunk = self.d.decompress(data, limit - len(out))
            except zlib.error:
                if self.kind == "deflate" and self.first:
                    # Some servers send raw deflate without the zlib header.
                    self.first = False
                    self._new(-zlib.MAX_WBITS)
                    self._pending = data
                    continue
                raise DecodeError(f"invalid {self.kind} data") from None
            self.first = False
            out += chunk
            self._pending = self.d.unconsumed_tail
            if self.d.eof:
                rest = self.d.unused_data
                if self.kind == "gzip" and rest.strip(b"\x00"):
                    self._new()  # the next gzip member
                    self._pending = rest + self._pending
        return bytes(out)

    @property
    def complete(self) -> bool:
        return self.d.eof and not self._pending


class _Brotli:
    def __init__(self):
        if brotli is None:
            raise DecodeError("brotli body but the brotli module is not installed")
        self.d = brotli.Decompressor()

    def feed(self, data: bytes, limit: int) -> bytes:
        if not self.d.can_accept_more_data():
            # Output from earlier input is still pending; drain it first (bounded).
            out = self.more(limit)
            if len(out) >= limit:
                return out
            return out + self._process(data, limit - len(out))
        return self._process(data, limit)

    def more(self, limit: int) -> bytes:
        out = bytearray()
        while len(out) < limit and not self.d.can_accept_more_data() and not self.d.is_finished():
            chunk = self._process(b"", limit - len(out))
            if not chunk:
                break
            out += chunk
        return bytes(out)

    def _process(self, data: bytes, limit: int) -> bytes:
        try:
            return self.d.process(data, output_buffer_limit=max(1, limit))
        except brotli.error:
            raise DecodeError("invalid br data") from None

    @property
    def complete(self) -> bool:
        return self.d.is_finished()


class _Zstd:
    """zstd (RFC 8878; one or more frames) with bounded output.

    zstandard's decompressor returns everything a piece of input decodes to, and 4 bytes (a block
    header and one RLE byte) decode to a whole 128 KiB block. So input is given in pieces no larger
    than the room left divided by :data:`BLOCK_RATIO`: one piece decodes to at most that room plus one
    block, which is held back for the next call. The window a frame may ask for is limited to
    :data:`MAX_WINDOW` (RFC 9659, the ``zstd`` content coding: 8 MiB), so no frame header makes the
    decoder allocate more; a frame that asks for more is invalid data here, as it is for browsers.
    """

    MAX_WINDOW = 8 << 20
    BLOCK_RATIO = 32 << 10  # the most one input byte decodes to: a 128 KiB block from 4 bytes

    def __init__(self):
        self._new()
        self._pending = b""
        self._out = b""  # decoded beyond the last call's limit, handed out next

    def _new(self) -> None:
        self.d = zstandard.ZstdDecompressor(max_window_size=self.MAX_WINDOW).decompressobj()

    def feed(self, data: bytes, limit: int) -> bytes:
        self._pending += data
        return self.more(limit)

    def more(self, limit: int) -> bytes:
        out = bytearray(self._out[:limit])
        self._out = self._out[limit:]
        pending, pos = self._pending, 0
        while pos < len(pending) and len(out) < limit:
            if self.d.eof:  # the next frame
                self._new()
            size = max(1, (limit - len(out)) // self.BLOCK_RATIO)
            piece, pos = pending[pos:pos + size], pos + size
            try:
                out += self.d.decompress(piece)
            except zstandard.ZstdError:
                raise DecodeError("invalid zstd data") from None
            if self.d.eof and self.d.unused_data:
                pending, pos = self.d.unused_data + pending[pos:], 0
        self._pending = pending[pos:]
        if len(out) > limit:
            self._out = bytes(out[limit:])
            del out[limit:]
        return bytes(out)

    @property
    def complete(self) -> bool:
        return self.d.eof and not self._pending and not self._out


class _Identity:
    def __init__(self):
        self._pending = b""

    def feed(self, data: bytes, limit: int) -> bytes:
        self._pending += data
        return self.more(limit)

    def more(self, limit: int) -> bytes:
        out, self._pending = self._pending[:limit], self._pending[limit:]
        return out

    @property
    def complete(self) -> bool:
        return not self._pending


_STEPS = {"gzip": _Zlib, "deflate": _Zlib, "br": lambda _: _Brotli(), "zstd": lambda _: _Zstd()}


def supported_encodings() -> list[str]:
    """What we can decode, in the order sent in ``Accept-Encoding``."""
    return ["gzip", "deflate"] + (["br"] if brotli is not None else []) + ["zstd"]


def parse_encodings(header: str | None) -> list[str]:
    """``Content-Encoding: gzip, br`` -> ``["gzip", "br"]`` (order of application)."""
    if not header:
        return []
    out = []
    for token in header.split(","):
        token = token.strip().lower()
        if token in ("", "identity"):
            continue
        out.append("gzip" if token == "x-gzip" else token)
    return out


class BoundedDecoder:
    """Decode a body incrementally, never producing more than ``max_bytes`` of output.

    ``feed(raw)`` returns newly decoded bytes; once the cap is reached ``capped`` is True
    and further input is not decoded. ``ratio`` is decoded bytes per compressed byte fed
    (input after the cap is not counted, so a bomb shows its true expansion).
    """

    def __init__(self, encodings: list[str], max_bytes: int):
        unknown = [e for e in encodings if e not in _STEPS]
        if unknown:
            raise DecodeError(f"unsupported Content-Encoding {unknown[0]!r}")
        # Encodings are listed in the order they were applied, so undo them in reverse.
        self.steps: list[_Step] = [_STEPS[e](e) for e in reversed(encodings)] or [_Identity()]
        self.max_bytes = max_bytes
        self.raw_bytes = 0
        self.decoded_bytes = 0
        self.capped = False

    SLICE = 4096  # input is fed in slices so ``ratio`` counts only the input actually used

    def feed(self, raw: bytes) -> bytes:
        if len(raw) <= self.SLICE:
            return self._feed(raw)
        out = bytearray()
        for i in range(0, len(raw), self.SLICE):
            out += self._feed(raw[i:i + self.SLICE])
            if self.capped:
                break
        return bytes(out)

    def _feed(self, raw: bytes) -> bytes:
        if self.capped:
            return b""
        self.raw_bytes += len(raw)
        # One byte beyond the budget tells "exactly max_bytes" from "more than max_bytes".
        limit = self.max_bytes + 1 - self.decoded_bytes
        data = raw
        for step in self.steps:
            data = step.feed(data, limit if step is self.steps[-1] else max(limit, 1 << 16))
        data = data[:limit]
        self.decoded_bytes += len(data)
        if self.decoded_bytes > self.max_bytes:
            self.capped = True
            data = data[: len(data) - (self.decoded_bytes - self.max_bytes)]
            self.decoded_bytes = self.max_bytes
        return data

    def finish(self) -> bytes:
        """Drain output still held inside the decoders after the last input."""
        out = bytearray()
        while not self.capped:
            chunk = self._feed(b"")
            if not chunk:
                break
            out += chunk
        return bytes(out)

    @property
    def complete(self) -> bool:
        """Whether every encoding's stream reached its end and was decoded to the last byte (after
        :meth:`finish`). A body cut short decodes, without an error, to a prefix of the page: this
        is False then (and after the cap, where decoding stopped early)."""
        return not self.capped and all(step.complete for step in self.steps)

    @property
    def ratio(self) -> float:
        return self.decoded_bytes / max(1, self.raw_bytes)
