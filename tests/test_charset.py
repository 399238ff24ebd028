"""HTML decoding order: HTTP header, BOM, <meta>, detection; undecodable bytes raise."""

import pytest

from corpus_tools.charset import UndecodableError, decode_html

RU = "Стратегия пожарной безопасности: проектирование и обслуживание систем. " * 5


def test_header_charset_wins():
    text, cs = decode_html(RU.encode("cp1251"), "windows-1251")
    assert text == RU and cs == "cp1251"


def test_meta_tag_used_without_header():
    body = ('<html><head><meta charset="koi8-r"></head><body>' + RU + "</body></html>").encode("koi8_r")
    text, cs = decode_html(body, None)
    assert RU in text and cs == "koi8-r"


def test_wrong_header_falls_through_to_meta():
    body = ('<meta http-equiv="Content-Type" content="text/html; charset=cp1251">' + RU).encode("cp1251")
    text, cs = decode_html(body, "utf-8")  # header lies: the bytes are not UTF-8
    assert RU in text and cs == "cp1251"


def test_detection_without_any_declaration():
    text, _ = decode_html(("<p>" + RU + "</p>").encode("utf-8"), None)
    assert RU in text


def test_bom():
    text, cs = decode_html(b"\xef\xbb\xbf<p>caf\xc3\xa9</p>", None)
    assert text == "<p>café</p>" and cs == "utf-8-sig"


def test_binary_garbage_is_undecodable():
    import random

    rng = random.Random(0)
    junk = bytes(rng.randrange(256) for _ in range(4000))
    with pytest.raises(UndecodableError):
        decode_html(b"\x00\x01" + junk, "utf-8")
