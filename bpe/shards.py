"""Token shards in llm.c's format: written by ``webtext tokenize``, read by the training bridge.

A shard is a header of 256 little-endian int32 followed by the tokens:

* header[0] = magic, header[1] = version, header[2] = number of tokens, the rest zero;
* magic 20240520 / version 1: tokens are uint16 (vocabularies up to 65,536 ids);
* magic 20240801 / version 7: tokens are uint32 (larger vocabularies).

The reader memory-maps the file and refuses a wrong magic, version or length with a
:class:`ShardFormatError` that says what was expected.
"""

from __future__ import annotations

import os

import numpy as np

HEADER_INTS = 256
HEADER_BYTES = HEADER_INTS * 4
FORMATS = {  # magic -> (version, token dtype)
    20240520: (1, np.dtype("<u2")),
    20240801: (7, np.dtype("<u4")),
}
MAGIC_U16 = 20240520
MAGIC_U32 = 20240801


class ShardFormatError(ValueError):
    """A file that is not a valid token shard."""


def magic_for_vocab(vocab_size: int) -> int:
    return MAGIC_U16 if vocab_size <= 65536 else MAGIC_U32


def encode_header(n_tokens: int, magic: int) -> bytes:
    version, _ = FORMATS[magic]
    header = np.zeros(HEADER_INTS, dtype="<i4")
    header[0], header[1], header[2] = magic, version, n_tokens
    return header.tobytes()


def write_shard(path: str, tokens: np.ndarray, vocab_size: int) -> None:
    """Write ``tokens`` atomically (temp file, then rename)."""
    magic = magic_for_vocab(vocab_size)
    _, dtype = FORMATS[magic]
    tokens = np.asarray(tokens)
    if tokens.size and (tokens.min() < 0 or tokens.max() >= vocab_size):
        raise ValueError(f"token ids must lie in [0, {vocab_size}); got [{tokens.min()}, {tokens.max()}]")
    tmp = f"{path}.tmp"
    with open(tmp, "wb") as fh:
        fh.write(encode_header(int(tokens.size), magic))
        fh.write(tokens.astype(dtype, copy=False).tobytes())
    os.replace(tmp, path)


def read_header(path: str) -> tuple[int, int, int, np.dtype]:
    """(magic, version, n_tokens, dtype) after checking the header against the file size."""
    size = os.path.getsize(path)
    if size < HEADER_BYTES:
        raise ShardFormatError(f"{path}: {size} bytes is shorter than the {HEADER_BYTES}-byte header")
    header = np.fromfile(path, dtype="<i4", count=HEADER_INTS)
    magic, version, n_tokens = (int(x) for x in header[:3])
    if magic not in FORMATS:
        raise ShardFormatError(f"{path}: bad magic {magic}; expected one of {sorted(FORMATS)}")
    want_version, dtype = FORMATS[magic]
    if version != want_version:
        raise ShardFormatError(f"{path}: magic {magic} needs version {want_version}, found {version}")
    expected = HEADER_BYTES + n_tokens * dtype.itemsize
    if n_tokens < 0 or size != expected:
        raise ShardFormatError(
            f"{path}: header says {n_tokens} tokens ({expected} bytes in all) but the file has {size} bytes"
        )
    return magic, version, n_tokens, dtype


def read_shard(path: str) -> np.ndarray:
    """The tokens of a shard as a read-only memory map (validated first)."""
    _, _, n_tokens, dtype = read_header(path)
    if n_tokens == 0:
        return np.zeros(0, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r", offset=HEADER_BYTES, shape=(n_tokens,))
