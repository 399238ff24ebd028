"""zstd dumps as Pushshift writes them, damaged ones, and what a decompressor itself can decode of those."""

from __future__ import annotations

import io
from typing import Any, Callable

import zstandard


def zstd_long(data: bytes) -> bytes:
    """zstd as Pushshift writes it: a 2 GiB window (--long=31), streamed, content size unknown."""
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=31, enable_ldm=True)
    buf = io.BytesIO()
    with zstandard.ZstdCompressor(compression_params=params).stream_writer(buf, closefd=False) as w:
        w.write(data)
    return buf.getvalue()


def damage_middle(blob: bytes, length: int = 200) -> tuple[bytes, int]:
    """``blob`` with ``length`` bytes flipped in its middle (inside a block that has blocks on
    either side), and the offset of the first flipped byte."""
    at = len(blob) // 2
    out = bytearray(blob)
    out[at:at + length] = bytes(b ^ 0xFF for b in out[at:at + length])
    return bytes(out), at


def decodable_prefix(blob: bytes, new: Callable[[], Any] | None = None,
                     errors: tuple[type[BaseException], ...] = (zstandard.ZstdError,)) -> tuple[bytes, int]:
    """What zstd (or the decompressor ``new()`` makes: ``lzma.LZMADecompressor``, ...) itself
    decodes of a damaged stream when fed one byte at a time (so no output is lost with a failing
    call: the most any reader can keep), and the offset of the byte at which it gives up."""
    obj = new() if new is not None else zstandard.ZstdDecompressor(max_window_size=2**31).decompressobj()
    out = []
    for at in range(len(blob)):
        try:
            out.append(obj.decompress(blob[at:at + 1]))
        except errors:
            return b"".join(out), at
    raise AssertionError("the damaged stream decoded without an error")
