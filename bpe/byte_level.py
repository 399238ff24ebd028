"""GPT-2's byte-level alphabet and pre-tokenizer (Radford et al. 2019, section 2.2).

BPE runs on bytes, not Unicode code points, so any string (any byte string, even) can be
encoded without an unknown token. To keep vocabulary files printable, GPT-2 maps each of
the 256 byte values to one visible Unicode character: the printable Latin-1 bytes map to
themselves and the other 68 (control characters, space, DEL, NBSP, soft hyphen...) to
U+0100 onwards, in byte order. ``Ġ`` (U+0120) is therefore the space byte.

Before BPE, text is split by :data:`GPT2_PATTERN` into pre-tokens so that merges never cross
character categories: contractions, an optional leading space plus letters, an optional
leading space plus digits, an optional leading space plus other symbols, and whitespace runs.
The "space exception": a whitespace run followed by a word leaves its last space to be the
word's leading space (``"a   b"`` → ``"a"``, ``"  "``, ``" b"``). No prefix space is added
(``add_prefix_space=False``), so ``"hello"`` and ``" hello"`` are different tokens.
"""

from __future__ import annotations

from functools import lru_cache

import regex

ENDOFTEXT = "<|endoftext|>"

# The pattern exactly as in openai/gpt-2 src/encoder.py (the same one HF tokenizers' ByteLevel uses).
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


@lru_cache(maxsize=None)
def bytes_to_unicode() -> dict[int, str]:
    """Byte value → the printable character that stands for it in vocab.json / merges.txt."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    mapping = {b: chr(b) for b in printable}
    shifted = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + shifted)
            shifted += 1
    return mapping


@lru_cache(maxsize=None)
def unicode_to_bytes() -> dict[str, int]:
    """The inverse of :func:`bytes_to_unicode`."""
    return {c: b for b, c in bytes_to_unicode().items()}


def alphabet_order() -> list[int]:
    """The 256 byte values in GPT-2's id order (ids 0-255 of encoder.json)."""
    return sorted(range(256), key=lambda b: ord(bytes_to_unicode()[b]))


def token_to_bytes(token: str) -> bytes:
    """A vocab.json key (in the byte-level alphabet) → the raw bytes it stands for."""
    table = unicode_to_bytes()
    try:
        return bytes(table[c] for c in token)
    except KeyError as e:
        raise ValueError(f"token {token!r} has a character outside the byte-level alphabet: {e.args[0]!r}") from None


def bytes_to_token(data: bytes) -> str:
    """Raw bytes → their spelling in the byte-level alphabet."""
    table = bytes_to_unicode()
    return "".join(table[b] for b in data)


@lru_cache(maxsize=None)
def _compiled() -> "regex.Pattern[str]":
    return regex.compile(GPT2_PATTERN)


def pretokenize(text: str) -> list[str]:
    """Split text into GPT-2 pre-tokens (pieces that BPE never merges across)."""
    return _compiled().findall(text)


def pretokenize_bytes(data: bytes) -> list[bytes]:
    """Pre-tokenize arbitrary bytes, valid UTF-8 or not, losslessly.

    The bytes are decoded with ``surrogateescape``: every byte that is not part of valid
    UTF-8 becomes a lone surrogate, which the pattern treats like a symbol (``[^\\s\\p{L}\\p{N}]``).
    Each piece is turned back into exactly its original bytes, so ``b"".join(pieces) == data``;
    on valid UTF-8 this is the same split as :func:`pretokenize`.
    """
    text = data.decode("utf-8", "surrogateescape")
    return [piece.encode("utf-8", "surrogateescape") for piece in _compiled().findall(text)]
