"""Turning HTML bytes into text: a BOM, then the charset of the HTTP header, then the ``<meta>``
tag, then statistical detection (charset-normalizer).

A declared charset that is unknown or does not decode the bytes is skipped in favour of
the next source. Bytes that no source decodes cleanly raise :class:`UndecodableError`,
which the extract stage turns into a dead letter (``undecodable``).

**Valid UTF-8 beats a declared Latin charset.** A declared single-byte Latin charset
(:data:`LEGACY_LATIN`: ISO-8859-1, which HTTP/1.1 once made the default and many servers and
templates still send whatever the page is, windows-1252, and the other ISO-8859 parts) decodes any
bytes, so it never fails and UTF-8 pages sent under it became mojibake ("cafÃ©"). When the body is
valid UTF-8 and holds non-ASCII bytes, UTF-8 is used in its place: text in those charsets almost never
forms valid UTF-8 by chance (every byte from 0xC0 needs 0x80-0xBF bytes after it, which are rare
symbols there), while UTF-8 under a stale label is common. A body that is not valid UTF-8 keeps its
declared charset, and so does an all-ASCII one (the same text either way). Other declared charsets
(windows-1251, Shift_JIS, GBK ...) are honoured as before: a page in them that is not UTF-8 fails to
decode as UTF-8, and where one does not fail the label is kept, as declared. A BOM still wins.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer

_META = re.compile(rb"""<meta[^>]{0,400}?charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]{1,40})""", re.I)
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
# Ratio of U+FFFD tolerated when falling back to a declared charset with replacement.
MAX_REPLACEMENT_RATIO = 0.005
# Declared charsets (codec names) that valid UTF-8 with non-ASCII bytes beats (module docstring).
LEGACY_LATIN = re.compile(r"iso8859-\d+|cp1252")


class UndecodableError(ValueError):
    pass


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None


def meta_charset(body: bytes) -> str | None:
    m = _META.search(body[:8192])
    return m.group(1).decode("ascii", "ignore") if m else None


def decode_html(body: bytes, header_charset: str | None = None) -> tuple[str, str]:
    """(text, charset used). Raises UndecodableError when nothing decodes the bytes."""
    if not body:
        return "", "utf-8"
    declared: list[str] = []
    for name in (header_charset,):
        c = _codec(name)
        if c:
            declared.append(c)
    for bom, name in _BOMS:
        if body.startswith(bom):
            declared.insert(0, name)
    c = _codec(meta_charset(body))
    if c:
        declared.append(c)
    for c in dict.fromkeys(declared):
        if LEGACY_LATIN.fullmatch(c) and not body.isascii():
            try:
                return body.decode("utf-8"), "utf-8"
            except UnicodeDecodeError:
                pass
        try:
            return body.decode(c), c
        except (UnicodeDecodeError, LookupError):
            continue
    best = charset_normalizer.from_bytes(body[:200_000]).best()
    if best is not None and best.encoding:
        try:
            return body.decode(best.encoding), _codec(best.encoding) or best.encoding
        except (UnicodeDecodeError, LookupError):
            pass
    for c in dict.fromkeys(declared + ["utf-8"]):
        text = body.decode(c, errors="replace")
        if text.count("\ufffd") <= MAX_REPLACEMENT_RATIO * max(1, len(text)):
            return text, c
    raise UndecodableError(f"no charset decodes these {len(body)} bytes (declared: {declared or 'none'})")
