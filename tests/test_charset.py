"""HTML decoding order: BOM, HTTP header, <meta>, detection (valid UTF-8 beating a declared Latin charset);
undecodable bytes raise."""

import codecs

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


@pytest.mark.parametrize("header,meta", [
    ("iso-8859-1", None), ("ISO-8859-1", "iso-8859-1"), ("windows-1252", None), ("latin1", None),
    (None, "iso-8859-15"), (None, "windows-1252"), ("x-no-such-charset", "iso-8859-1"),
])
def test_valid_utf8_beats_a_declared_latin_charset(header, meta):
    """A server that says iso-8859-1 (HTTP/1.1's old default) but sends UTF-8 gave mojibake ("cafÃ©"):
    a Latin charset decodes any bytes, so it never failed. Valid UTF-8 with non-ASCII bytes wins."""
    page = "<html><head>" + (f'<meta charset="{meta}">' if meta else "") + "</head><body><p>Un café à Zürich, "
    page += "naïve façade, 5 €.</p></body></html>"
    text, cs = decode_html(page.encode("utf-8"), header)
    assert (text, cs) == (page, "utf-8")
    assert "Ã" not in text


def test_a_real_latin1_page_keeps_its_declared_charset(shared_data):
    """Bytes that are not valid UTF-8 under a Latin label are that charset: the gold page of a German
    forum declares iso-8859-1 and is Latin-1."""
    body = (shared_data / "extraction" / "htmltotext" / "de" / "html"
            / "forum-ioff-427063-Der-Weltraum-Asteroiden-und-Kometen.html").read_bytes()
    text, cs = decode_html(body, "ISO-8859-1")
    assert cs == "iso8859-1" and text == body.decode("latin-1") and "Ã" not in text
    assert decode_html(b"<p>caf\xe9 na\xefve</p>", "iso-8859-1") == ("<p>caf\xe9 na\xefve</p>", "iso8859-1")
    # all ASCII: the same text either way, the declared charset is kept
    assert decode_html(b"<p>plain</p>", "iso-8859-1") == ("<p>plain</p>", "iso8859-1")


def test_other_declared_charsets_are_honoured_and_a_bom_still_wins():
    """The UTF-8 preference is for the Latin labels only: a real windows-1251 or Shift_JIS page (not
    valid UTF-8) is read as declared, and a BOM beats every declaration."""
    assert decode_html(RU.encode("cp1251"), "windows-1251") == (RU, "cp1251")
    ja = "日本語のページです。東京の天気は晴れ。" * 10
    assert decode_html(ja.encode("shift_jis"), "shift_jis") == (ja, "shift_jis")
    assert decode_html(codecs.BOM_UTF8 + "café".encode(), "iso-8859-1") == ("café", "utf-8-sig")
