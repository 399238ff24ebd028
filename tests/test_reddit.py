"""Streaming Pushshift dump readers (corpus_tools.reddit) on the real 2005 dumps."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import re
import zlib

import pytest
import zstandard

from corpus_tools.reddit import (
    OUT_CAP,
    ZSTD_FEED,
    BadRecord,
    DumpLine,
    DumpProblem,
    compression_of,
    parse_number,
    parse_submission,
    read_dump,
    read_dump_path,
)
from tests.zstd_dumps import damage_middle, decodable_prefix, zstd_long


@pytest.fixture(scope="module")
def raw_dump(shared_data) -> bytes:
    """RS_v2_2005-07 decompressed with the standard library (the reference bytes)."""
    return lzma.decompress((shared_data / "reddit" / "RS_v2_2005-07.xz").read_bytes())


def lines_of(items):
    return [i for i in items if isinstance(i, DumpLine)]


def test_every_compression_gives_the_same_lines(raw_dump, tmp_path, shared_data):
    expected = raw_dump.splitlines()
    assert len(expected) == 1079  # the README's count
    blobs = {
        "RS.zst": zstd_long(raw_dump),
        "RS.xz": lzma.compress(raw_dump),
        "RS.bz2": bz2.compress(raw_dump),
        "RS.gz": gzip.compress(raw_dump),
        "RS.ndjson": raw_dump,
    }
    for name, blob in blobs.items():
        path = tmp_path / name
        path.write_bytes(blob)
        items = list(read_dump_path(str(path)))
        assert not [i for i in items if isinstance(i, DumpProblem)], name
        got = [i.data.rstrip(b"\n") for i in items]
        assert got == expected, name
        assert [i.line for i in items] == list(range(1, 1080)), name
    # the shared .xz file itself
    assert [i.data.rstrip(b"\n") for i in read_dump_path(str(shared_data / "reddit" / "RS_v2_2005-07.xz"))] == expected


def test_long_window_zstd_needs_max_window_size(raw_dump):
    blob = zstd_long(raw_dump)
    assert zstandard.get_frame_parameters(blob).window_size == 2**31
    with pytest.raises(zstandard.ZstdError):  # what a reader without max_window_size=2**31 gets
        zstandard.ZstdDecompressor().stream_reader(io.BytesIO(blob)).read()
    assert len(lines_of(read_dump(io.BytesIO(blob), "RS.zst"))) == 1079


def test_compression_is_sniffed_when_the_name_does_not_say(raw_dump):
    assert compression_of("RS_2019-01", zstd_long(raw_dump)[:8]) == "zstd"
    assert compression_of("dump.bin", gzip.compress(b"x")[:8]) == "gzip"
    assert compression_of("RS_2011-01.bz2") == "bz2"
    assert compression_of("data.ndjson", b'{"id": 1}') == "none"
    assert len(lines_of(read_dump(io.BytesIO(bz2.compress(raw_dump)), "no-extension"))) == 1079


def test_concatenated_zstd_frames_are_all_read(raw_dump):
    half = raw_dump.index(b"\n", len(raw_dump) // 2) + 1
    blob = zstd_long(raw_dump[:half]) + zstd_long(raw_dump[half:])
    assert len(lines_of(read_dump(io.BytesIO(blob), "RS.zst"))) == 1079


@pytest.mark.parametrize("kind", ["zst", "xz", "gz"])
def test_truncated_stream_keeps_complete_lines_and_reports_where(raw_dump, kind):
    compress = {"zst": zstd_long, "xz": lzma.compress, "gz": gzip.compress}[kind]
    blob = compress(raw_dump)
    cut = blob[: len(blob) // 2]
    items = list(read_dump(io.BytesIO(cut), f"RS.{kind}"))
    problems = [i for i in items if isinstance(i, DumpProblem)]
    lines = lines_of(items)
    assert len(problems) == 1 and problems[-1] is items[-1]
    assert problems[0].reason == "truncated_stream"
    assert 0 < len(lines) < 1079
    expected = raw_dump.splitlines()
    # every line yielded is a complete, correct line of the original, in order
    assert [i.data.rstrip(b"\n") for i in lines] == expected[: len(lines)]
    assert problems[0].line == len(lines) + 1  # the first line that could not be read


def test_corrupt_stream_is_reported_not_raised(raw_dump):
    blob = bytearray(zstd_long(raw_dump))
    blob[len(blob) // 2: len(blob) // 2 + 64] = b"\x00" * 64
    items = list(read_dump(io.BytesIO(bytes(blob)), "RS.zst"))
    assert isinstance(items[-1], DumpProblem)
    assert items[-1].reason in ("corrupt_stream", "truncated_stream")


def test_corrupt_zstd_block_keeps_every_line_decoded_before_it(raw_dump):
    blob, damage = damage_middle(zstd_long(raw_dump))
    prefix, broke_at = decodable_prefix(blob)
    recoverable = prefix.count(b"\n")  # whole lines zstd decodes before the damaged block
    assert 0 < recoverable < 1079 and broke_at >= damage
    items = list(read_dump(io.BytesIO(blob), "RS.zst"))
    lines, problems = lines_of(items), [i for i in items if isinstance(i, DumpProblem)]
    # the posts before the damage are those of the clean file, every one of them, in order
    assert [i.data.rstrip(b"\n") for i in lines] == raw_dump.splitlines()[:recoverable]
    assert len(problems) == 1 and problems[0] is items[-1]
    problem = problems[0]
    assert problem.reason == "corrupt_stream"
    assert problem.line == recoverable + 1  # the first line that could not be read
    # the detail names the compressed bytes where zstd gave up, and says the rest was not read
    first, last = (int(n.replace(",", "")) for n in
                   re.search(r"compressed bytes ([\d,]+)-([\d,]+)", problem.detail).groups())
    assert first <= broke_at <= last and last - first < ZSTD_FEED
    assert f"{len(prefix):,} bytes decompressed" in problem.detail
    assert "the rest of the file was not read" in problem.detail


# xz, bz2 (100 kB blocks, so that the file has several) and gzip: how to write one, the
# decompressor that reads one, and what that decompressor raises on damage
STREAMS = {
    "xz": (lzma.compress, lzma.LZMADecompressor, (lzma.LZMAError,)),
    "bz2": (lambda data: bz2.compress(data, 1), bz2.BZ2Decompressor, (OSError,)),
    "gz": (gzip.compress, lambda: zlib.decompressobj(31), (zlib.error,)),
}


@pytest.mark.parametrize("kind", sorted(STREAMS))
@pytest.mark.parametrize("where", [0.3, 0.5, 0.7])
def test_damaged_xz_bz2_gzip_keep_the_lines_decoded_before_the_damage(raw_dump, kind, where):
    """The whole lines the decompressor decodes before it reports the damage are read, but for
    those in its last OUT_CAP (4 KiB) bytes of output, which the failing call takes with it (the
    standard library's readers lost up to 8 KiB: at xz 0.5 they read 482 lines, here 484); then
    one corrupt_stream problem. xz and gzip decode damaged data for a while before they notice
    (gzip here only at the CRC check): those lines, not the original's, are what a reader gets."""
    compress, new, errors = STREAMS[kind]
    blob = compress(raw_dump)
    at = int(len(blob) * where)
    damaged = bytearray(blob)
    damaged[at:at + 200] = bytes(b ^ 0xFF for b in damaged[at:at + 200])
    prefix, broke_at = decodable_prefix(bytes(damaged), new, errors)  # the most any reader can keep
    assert broke_at >= at
    decoded = prefix.splitlines(keepends=True)
    before = len(lines_of(read_dump(io.BytesIO(blob[:at]), f"RS.{kind}")))  # whole lines decoded before the damage
    original = raw_dump.splitlines(keepends=True)
    assert decoded[:before] == original[:before] and 200 < before < 1000
    items = list(read_dump(io.BytesIO(bytes(damaged)), f"RS.{kind}"))
    lines, problems = lines_of(items), [i for i in items if isinstance(i, DumpProblem)]
    assert [i.data for i in lines] == decoded[:len(lines)]  # what the decompressor decoded, in order
    bound = prefix.count(b"\n", 0, len(prefix) - OUT_CAP)
    assert bound <= len(lines) <= prefix.count(b"\n")
    assert [i.data for i in lines[:before]] == original[:min(before, len(lines))]
    assert len(problems) == 1 and problems[0] is items[-1]
    assert problems[0].reason == "corrupt_stream" and problems[0].line == len(lines) + 1
    assert "the rest of the file was not read" in problems[0].detail


@pytest.mark.parametrize("kind", sorted(STREAMS))
def test_several_streams_are_read_and_damage_between_them_is_reported(raw_dump, kind):
    """pbzip2, xz -T and gzip append write several concatenated streams/members; NUL padding may
    follow an xz stream or a gzip member. Every stream is read; a damaged second stream is one
    corrupt_stream problem after every line of the first (the standard library's xz and bz2
    readers ended there silently, as if the file were complete)."""
    compress = STREAMS[kind][0]
    half = raw_dump.index(b"\n", len(raw_dump) // 2) + 1
    first, second = compress(raw_dump[:half]), compress(raw_dump[half:])
    pad = b"" if kind == "bz2" else b"\0" * 8
    items = list(read_dump(io.BytesIO(first + pad + second + pad), f"RS.{kind}"))
    assert [i.data.rstrip(b"\n") for i in items] == raw_dump.splitlines()
    n_first = raw_dump[:half].count(b"\n")
    broken = bytearray(second)
    broken[:16] = bytes(b ^ 0xFF for b in broken[:16])  # its header
    items = list(read_dump(io.BytesIO(first + pad + bytes(broken)), f"RS.{kind}"))
    lines, problems = lines_of(items), [i for i in items if isinstance(i, DumpProblem)]
    assert [i.data.rstrip(b"\n") for i in lines] == raw_dump.splitlines()[:n_first]
    assert len(problems) == 1 and problems[0] is items[-1]
    assert (problems[0].reason, problems[0].line) == ("corrupt_stream", n_first + 1)
    # a second stream cut short is a truncated stream, not the end of the file
    items = list(read_dump(io.BytesIO(first + pad + second[:len(second) // 2]), f"RS.{kind}"))
    assert items[-1].reason == "truncated_stream" and n_first < len(lines_of(items)) < 1079


@pytest.mark.parametrize("name", ["RS.zst", "RS.xz", "RS.gz", "RS.ndjson", "no-extension"])
def test_an_empty_file_is_one_empty_file_problem_and_an_empty_stream_none(tmp_path, name):
    """0 bytes hold no compressed stream at all: one ``empty_file`` problem (the links stage's dead
    letter). A stream that decompresses to nothing is a dump without lines: no problem."""
    path = tmp_path / name
    path.write_bytes(b"")
    assert list(read_dump_path(str(path))) == [DumpProblem(1, "empty_file", f"{path}: the file is empty (0 bytes)")]
    compress = {"RS.zst": zstd_long, "RS.xz": lzma.compress, "RS.gz": gzip.compress}.get(name)
    if compress is not None:
        assert len(compress(b"")) > 0
        assert list(read_dump(io.BytesIO(compress(b"")), name)) == []


def test_blank_lines_are_skipped_but_numbered():
    data = b'{"id": "a"}\n\n   \n{"id": "b"}\r\n{"id": "c"}'  # no final newline
    items = list(read_dump(io.BytesIO(data), "x.ndjson"))
    assert [(i.line, parse_submission(i.data).id) for i in items] == [(1, "a"), (4, "b"), (5, "c")]


def test_parse_submission_bad_lines():
    with pytest.raises(BadRecord) as e:
        parse_submission(b"this is not json\n")
    assert e.value.reason == "bad_json"
    with pytest.raises(BadRecord) as e:
        parse_submission(b'{"id": "x", "url": "http://a.b/"')  # cut short
    assert e.value.reason == "bad_json"
    with pytest.raises(BadRecord) as e:
        parse_submission(b'{"id": "\xff\xfe"}')  # not UTF-8
    assert e.value.reason == "bad_json"
    with pytest.raises(BadRecord) as e:
        parse_submission(b"[1, 2, 3]")
    assert e.value.reason == "not_object"


def test_parse_submission_keeps_the_used_fields_as_found(raw_dump):
    first = raw_dump.splitlines()[0]
    rec = json.loads(first)
    sub = parse_submission(first)
    for field in ("id", "url", "is_self", "over_18", "score", "created_utc", "subreddit"):
        assert getattr(sub, field) == rec[field]
    mixed = parse_submission(b'{"score": "12", "created_utc": 1119552233.0, "url": {"nested": 1}}')
    assert (mixed.score, mixed.created_utc, mixed.url, mixed.id) == ("12", 1119552233.0, {"nested": 1}, None)


@pytest.mark.parametrize(
    "value,expected",
    [
        (5, 5), (-3, -3), (0, 0), (7.0, 7), (7.9, 7), ("12", 12), (" 12 ", 12), ("12.0", 12), ("-4", -4),
        ("1e3", 1000), ("", None), ("abc", None), (None, None), (True, None), (float("nan"), None),
        ("inf", None), ([1], None), ({"a": 1}, None),
    ],
)
def test_parse_number(value, expected):
    assert parse_number(value) == expected
