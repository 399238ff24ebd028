"""Chinese and Japanese characters: the ONE definition of the code points that are a word of their
own in MinHash shingles (:mod:`corpus_tools.minhash`) and in the n-grams of the Bloom filter, the
contamination report and decontamination (:mod:`corpus_tools.ngrams`).

Chinese and Japanese are written without spaces: split at spaces and punctuation, a whole clause
is one "word". Both modules therefore make each *CJK character* a word of its own, so their
n-grams are character n-grams, the usual unit for these languages:

* ``CHARACTERS``: Hiragana and Katakana (U+3040–U+30FF), CJK Unified Ideographs Extension A
  (U+3400–U+4DBF), CJK Unified Ideographs (U+4E00–U+9FFF) and CJK Compatibility Ideographs
  (U+F900–U+FAFF);
* ``PUNCTUATION``: CJK symbols and punctuation (U+3000–U+303F: 、。「」, the ideographic space)
  and the full-width punctuation of U+FF01–U+FF65 (！（），：；？［］｛｝ …), but not the
  full-width digits and letters between them.

Hangul, written with spaces, is not among them (its words are separated as in any other
language); nor are the ideographs outside the Basic Multilingual Plane (Extension B onwards).
MinHash makes every code point of ``CHARACTERS`` a word and separates words at ``PUNCTUATION``,
since its words are runs of any non-ASCII bytes. The n-grams, whose words are alphanumeric
(``str.isalnum()``), take the alphanumeric code points of ``CHARACTERS`` (not ・ or the combining
voiced-sound marks, which separate words) and need no ``PUNCTUATION``: all of it separates their
words already but the alphanumeric marks 々 〆 〇 (and the Hangzhou numerals, kana repeat marks),
which are words there (``tests/test_cjk_ngrams.py`` checks that the two make the same
alphanumeric code points of the Basic Multilingual Plane words of their own).
"""

from __future__ import annotations

import numpy as np

CHARACTERS = ((0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))
PUNCTUATION = ((0x3000, 0x303F), (0xFF01, 0xFF0F), (0xFF1A, 0xFF20), (0xFF3B, 0xFF40), (0xFF5B, 0xFF65))

OTHER, CHARACTER, SEPARATOR = 0, 1, 2  # the values of code_point_kinds()


def code_point_kinds() -> np.ndarray:
    """``kinds[cp]`` for every code point of the Basic Multilingual Plane (U+0000–U+FFFF):
    ``CHARACTER`` (a word of its own), ``SEPARATOR`` (CJK or full-width punctuation) or
    ``OTHER``; the lookup table of MinHash's compiled tokeniser."""
    kinds = np.full(0x10000, OTHER, dtype=np.uint8)
    for lo, hi in CHARACTERS:
        kinds[lo:hi + 1] = CHARACTER
    for lo, hi in PUNCTUATION:
        kinds[lo:hi + 1] = SEPARATOR
    return kinds


def char_class(ranges: tuple[tuple[int, int], ...]) -> str:
    """The ranges as the inside of a regular-expression character class (``"\\u3040-\\u30ff..."``)."""
    return "".join(f"\\u{lo:04x}-\\u{hi:04x}" for lo, hi in ranges)


def utf8_lead_bytes(ranges: tuple[tuple[int, int], ...] = CHARACTERS) -> tuple[bytes, ...]:
    """The first bytes of the UTF-8 encodings of the code points of ``ranges`` (all of them 3-byte
    sequences, U+0800–U+FFFF), one ``bytes`` each: a text whose UTF-8 holds none of them has no
    such code point (``bytes in`` finds one at memory speed, far faster than a regex scan)."""
    if any(lo < 0x800 or hi > 0xFFFF for lo, hi in ranges):
        raise ValueError("only code points U+0800..U+FFFF have 3-byte UTF-8 encodings")
    return tuple(bytes([0xE0 | c]) for c in sorted({c for lo, hi in ranges for c in range(lo >> 12, (hi >> 12) + 1)}))
