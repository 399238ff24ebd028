"""The fetcher's building blocks: bounded decoding, the SSRF address guard, robots rules, the WARC writer."""

from __future__ import annotations

import gzip
import os
import zlib

import brotli
import pytest
import zstandard
from warcio.archiveiterator import ArchiveIterator

from corpus_tools.content_encoding import BoundedDecoder, DecodeError, parse_encodings
from corpus_tools.netguard import BlockedAddress, address_allowed, parse_networks, pick_address
from corpus_tools.robots import RobotsRules, robots_token, rules_from_response
from corpus_tools.warc_writer import Capture, RotatingWarcWriter

DATA = b"<html>" + bytes(range(256)) * 4000 + b"</html>"  # ~1 MB, compressible


def decode_all(encoded: bytes, encodings: list[str], cap: int, step: int = 3000) -> tuple[bytes, BoundedDecoder]:
    d = BoundedDecoder(encodings, cap)
    out = b"".join(d.feed(encoded[i:i + step]) for i in range(0, len(encoded), step)) + d.finish()
    return out, d


def _zstd(b: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(b)


def _raw_deflate(b: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(b) + c.flush()


@pytest.mark.parametrize("name,encode", [
    ("gzip", gzip.compress), ("deflate", zlib.compress), ("deflate", _raw_deflate), ("br", brotli.compress),
    ("zstd", _zstd),
])
def test_decoder_roundtrip_and_cap(name, encode):
    encoded = encode(DATA)
    out, d = decode_all(encoded, [name], cap=10_000_000)
    assert out == DATA and not d.capped
    out, d = decode_all(encoded, [name], cap=1000)
    assert out == DATA[:1000] and d.capped


def test_decoder_stacked_encodings_and_multimember_gzip():
    encoded = brotli.compress(gzip.compress(DATA))
    out, _ = decode_all(encoded, parse_encodings("gzip, br"), cap=10_000_000)
    assert out == DATA
    two = gzip.compress(DATA[:1000]) + gzip.compress(DATA[1000:])
    out, _ = decode_all(two, ["gzip"], cap=10_000_000)
    assert out == DATA


def test_bomb_shows_its_ratio_and_costs_at_most_the_cap():
    bomb = gzip.compress(b"\0" * 50_000_000)
    out, d = decode_all(bomb, ["gzip"], cap=1_000_000, step=len(bomb))
    assert len(out) == 1_000_000 and d.capped
    assert d.ratio > 100  # ~1000:1 for zeros; only the input actually used is counted


def test_decoder_errors():
    with pytest.raises(DecodeError):
        BoundedDecoder(["compress"], 10)
    with pytest.raises(DecodeError):
        decode_all(b"this is not gzip at all", ["gzip"], 100)
    assert parse_encodings("identity, X-GZIP") == ["gzip"]


@pytest.mark.parametrize("name,encode", [
    ("gzip", gzip.compress), ("deflate", zlib.compress), ("deflate", _raw_deflate), ("br", brotli.compress),
    ("gzip, br", lambda b: brotli.compress(gzip.compress(b))), ("zstd", _zstd),
    ("gzip, zstd", lambda b: _zstd(gzip.compress(b))),
])
def test_decoder_says_whether_the_stream_ended(name, encode):
    """A compressed body cut short decodes to a prefix without an error; ``complete`` tells it from a
    whole one (the extract stage dead-letters a cut body that its WARC record does not call truncated)."""
    encoded = encode(DATA)
    out, d = decode_all(encoded, parse_encodings(name), cap=10_000_000)
    assert out == DATA and d.complete
    out, d = decode_all(encoded[: len(encoded) // 2], parse_encodings(name), cap=10_000_000)
    assert DATA.startswith(out) and len(out) < len(DATA) and not d.complete
    two = gzip.compress(DATA[:1000]) + gzip.compress(DATA[1000:])
    _, d = decode_all(two[:-3], ["gzip"], cap=10_000_000)  # the second member without its end
    assert not d.complete
    _, d = decode_all(b"plain", [], cap=100)
    assert d.complete


def _zstd_rle_bomb(blocks: int) -> bytes:
    """A zstd frame of ``blocks`` RLE blocks of 128 KiB of zeros, 4 bytes each (32 KiB per input byte),
    written by hand: magic, a frame header with a 128 KiB window, then the block headers."""
    return b"\x28\xb5\x2f\xfd\x00\x38" + b"\x02\x00\x10\x00" * (blocks - 1) + b"\x03\x00\x10\x00"


def test_zstd_multi_frame_fed_in_any_slices():
    """A zstd body may be several frames (like gzip members); a frame that ends exactly where a piece of
    the body ends is followed by the next one, not taken for garbage."""
    two = _zstd(DATA[:1000]) + _zstd(DATA[1000:])
    for step in (1, 7, 1000, len(_zstd(DATA[:1000])), len(two)):
        out, d = decode_all(two, ["zstd"], cap=10_000_000, step=step)
        assert out == DATA and d.complete, step
    _, d = decode_all(two[:-3], ["zstd"], cap=10_000_000)  # the second frame without its end
    assert not d.complete
    with pytest.raises(DecodeError, match="invalid zstd data"):
        decode_all(two[:20] + bytes(range(256)) + two[20:], ["zstd"], 10_000_000)


def test_zstd_bomb_costs_at_most_the_cap_plus_one_block():
    """zstandard's decompressor returns all that its input decodes to: the 4,096 bytes the bounded
    decoder hands it at a time would be 128 MiB of a 1 GiB RLE bomb. Pieces are sized to the room left."""
    import tracemalloc

    bomb = _zstd_rle_bomb(8192)  # 32 KiB -> 1 GiB
    assert zstandard.ZstdDecompressor().decompressobj().decompress(bomb[:40 + 6]) == bytes(10 * 128 * 1024)
    tracemalloc.start()
    try:
        out, d = decode_all(bomb, ["zstd"], cap=1_000_000, step=len(bomb))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out == bytes(1_000_000) and d.capped and not d.complete
    assert d.ratio > 100
    assert peak < 8_000_000, peak


def test_zstd_frame_asking_for_a_window_above_8_mib_is_invalid():
    """RFC 9659: the zstd content coding's window is at most 8 MiB (a frame header could otherwise
    make the decoder allocate up to 128 MiB before a byte is decoded)."""
    params = zstandard.ZstdCompressionParameters(window_log=24)
    c = zstandard.ZstdCompressor(compression_params=params).compressobj()
    wide = c.compress(DATA) + c.flush()  # streamed: no content size, the frame declares a 16 MiB window
    with pytest.raises(DecodeError, match="invalid zstd data"):
        decode_all(wide, ["zstd"], 10_000_000)
    params = zstandard.ZstdCompressionParameters(window_log=23)
    c = zstandard.ZstdCompressor(compression_params=params).compressobj()
    assert decode_all(c.compress(DATA) + c.flush(), ["zstd"], 10_000_000)[0] == DATA


@pytest.mark.parametrize("ip,allowed", [
    ("93.184.216.34", True), ("2606:4700::1111", True), ("10.1.2.3", False), ("172.16.0.1", False),
    ("192.168.1.1", False), ("127.0.0.1", False), ("169.254.169.254", False), ("100.64.0.1", False),
    ("224.0.0.251", False), ("240.0.0.1", False), ("0.0.0.0", False), ("::1", False), ("fe80::1", False),
    ("fc00::1", False), ("::ffff:10.0.0.1", False), ("::ffff:169.254.169.254", False), ("ff02::1", False),
])
def test_address_guard_default(ip, allowed):
    assert address_allowed(ip, []) is allowed


def test_address_guard_allow_list():
    loop = parse_networks(["127.0.0.0/8"])
    assert address_allowed("127.0.0.2", loop) and address_allowed("::ffff:127.0.0.1", loop)
    assert not address_allowed("10.0.0.1", loop) and not address_allowed("::1", loop)
    with pytest.raises(ValueError, match="not a CIDR"):
        parse_networks(["loopback"])


def test_pick_address_checks_every_resolved_address():
    table = {"two.test": ["10.0.0.1", "127.0.0.1"], "bad.test": ["10.0.0.1", "169.254.169.254"]}
    res = lambda h, p: table[h]  # noqa: E731
    loop = parse_networks(["127.0.0.0/8"])
    assert pick_address("two.test", 80, loop, res) == "127.0.0.1"
    with pytest.raises(BlockedAddress):
        pick_address("bad.test", 80, loop, res)
    with pytest.raises(BlockedAddress):
        pick_address("[::1]", 80, loop, res)  # IP literal: no lookup, still checked


def test_robots_rules_follow_rfc9309():
    rules = rules_from_response(200, b"User-agent: webtext-crawler\nDisallow: /a\nAllow: /a/b\nCrawl-delay: 4\n"
                                     b"\nUser-agent: *\nDisallow: /\n")
    ua = "webtext-crawler/0.1 (+https://example.org)"
    assert robots_token(ua) == "webtext-crawler"
    assert rules.can_fetch("http://x/a/b/c", ua) and not rules.can_fetch("http://x/a/c", ua)
    assert rules.can_fetch("http://x/other", ua)
    assert not rules.can_fetch("http://x/other", "SomeOtherBot/1.0")
    assert rules.crawl_delay(ua) == 4.0
    assert rules_from_response(404, b"").can_fetch("http://x/anything", ua)
    assert rules_from_response(410, b"").can_fetch("http://x/anything", ua)
    for status in (500, 503, 429):
        assert not rules_from_response(status, b"").can_fetch("http://x/", ua)
    assert not rules_from_response(None, b"", "timeout").can_fetch("http://x/", ua)
    assert RobotsRules.allow_all().crawl_delay(ua) is None


def _capture(i: int, body: bytes) -> Capture:
    return Capture(url=f"http://example.org/{i}", request_line=f"GET /{i} HTTP/1.1",
                   request_headers=[("Host", "example.org"), ("User-Agent", "t")], status=200, reason_phrase="OK",
                   response_headers=[("Content-Type", "text/html"), ("Content-Length", str(len(body)))],
                   body=body, ip="93.184.216.34")


def test_warc_writer_rotates_atomically_and_offsets_point_at_responses(tmp_path):
    bodies = [os.urandom(3000) for _ in range(6)]  # incompressible: each capture ~3 kB on disk
    opened = []

    def open_fn(path):
        opened.append(path)
        return open(path, "wb")

    w = RotatingWarcWriter(str(tmp_path), "t", max_file_bytes=7000, info={"software": "test"}, open_fn=open_fn)
    where = [w.write(_capture(i, b)) for i, b in enumerate(bodies)]
    files = w.close()
    assert all(p.endswith(".warc.gz.tmp") for p in opened)  # written under a temporary name
    assert sorted(os.listdir(tmp_path)) == files == ["t-00000.warc.gz", "t-00001.warc.gz", "t-00002.warc.gz"]
    for i, (name, offset) in enumerate(where):
        with open(tmp_path / name, "rb") as fh:
            fh.seek(offset)
            rec = next(iter(ArchiveIterator(fh)))
            assert rec.rec_type == "response"
            assert rec.rec_headers.get_header("WARC-Target-URI") == f"http://example.org/{i}"
            assert rec.rec_headers.get_header("WARC/1.1") is None and rec.rec_headers.protocol == "WARC/1.1"
            assert rec.content_stream().read() == bodies[i]
    with open(tmp_path / files[0], "rb") as fh:
        recs = [(r.rec_type, r.rec_headers.get_header("WARC-Concurrent-To"), r.rec_headers.get_header("WARC-Record-ID"))
                for r in ArchiveIterator(fh)]
    assert [t for t, _, _ in recs][:3] == ["warcinfo", "request", "response"]
    assert recs[1][1] == recs[2][2]  # the request names its response


def test_warc_writer_given_up_leaves_its_open_file_temporary(tmp_path):
    """A crawl that raised (Ctrl-C included): the file being written is closed but keeps its .tmp
    name, files completed by rotation keep theirs, and a crawl thread still writing is refused."""
    bodies = [os.urandom(3000) for _ in range(3)]
    with pytest.raises(KeyboardInterrupt):
        with RotatingWarcWriter(str(tmp_path), "t", max_file_bytes=7000) as w:
            for i, b in enumerate(bodies):
                w.write(_capture(i, b))
            raise KeyboardInterrupt
    assert sorted(os.listdir(tmp_path)) == ["t-00000.warc.gz", "t-00001.warc.gz.tmp"]
    with pytest.raises(RuntimeError, match="abandoned"):
        w.write(_capture(9, b"late"))
    with pytest.raises(RuntimeError, match="abandoned"):
        w.close()
    assert sorted(os.listdir(tmp_path)) == ["t-00000.warc.gz", "t-00001.warc.gz.tmp"]


def test_warc_members_are_independent_gzip_streams(tmp_path):
    w = RotatingWarcWriter(str(tmp_path), "m")
    name, offset = w.write(_capture(0, b"<html>x</html>"))
    w.close()
    raw = (tmp_path / name).read_bytes()
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    record = d.decompress(raw[offset:])
    assert record.startswith(b"WARC/1.1\r\n") and b"WARC-Type: response" in record
    assert d.eof and d.unused_data == b""  # one complete member, the last in the file
    # Every member from the start decodes on its own: warcinfo, request, response.
    members, rest = [], raw
    while rest:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        members.append(d.decompress(rest))
        rest = d.unused_data
    assert [m.split(b"WARC-Type: ")[1].split(b"\r\n")[0] for m in members] == [b"warcinfo", b"request", b"response"]
