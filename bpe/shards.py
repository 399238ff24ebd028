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


class ShardWriter:
    """Stream tokens into consecutive shards of exactly ``shard_tokens`` tokens (the last one may
    be shorter), as llm.c's ``fineweb.py`` does: a document that does not fit is continued in
    the next shard. Shards are ``{prefix}_{split}_{index:06d}.bin``, index from ``first_index``.
    """

    def __init__(self, folder: str, split: str, vocab_size: int, shard_tokens: int = 100_000_000,
                 prefix: str = "webtext", first_index: int = 0):
        if shard_tokens < 1:
            raise ValueError(f"shard_tokens must be >= 1, got {shard_tokens}")
        self.folder, self.split, self.prefix = folder, split, prefix
        self.vocab_size, self.shard_tokens = vocab_size, shard_tokens
        self.index = first_index
        _, self.dtype = FORMATS[magic_for_vocab(vocab_size)]
        self._buf = np.empty(min(shard_tokens, 1 << 20), dtype=self.dtype)
        self._fill = 0
        self.paths: list[str] = []
        self.counts: list[int] = []
        os.makedirs(folder, exist_ok=True)

    @property
    def total_tokens(self) -> int:
        return sum(self.counts) + self._fill

    def write(self, tokens: np.ndarray) -> None:
        tokens = np.asarray(tokens)
        if tokens.size and (tokens.min() < 0 or tokens.max() >= self.vocab_size):
            raise ValueError(f"token ids must lie in [0, {self.vocab_size}); got [{tokens.min()}, {tokens.max()}]")
        pos = 0
        while pos < tokens.size:
            room = self.shard_tokens - self._fill
            take = min(room, tokens.size - pos)
            need = self._fill + take
            if need > self._buf.size:
                grown = np.empty(min(self.shard_tokens, max(need, 2 * self._buf.size)), dtype=self.dtype)
                grown[: self._fill] = self._buf[: self._fill]
                self._buf = grown
            self._buf[self._fill : need] = tokens[pos : pos + take]
            self._fill = need
            pos += take
            if self._fill == self.shard_tokens:
                self._flush()

    def _flush(self) -> None:
        path = os.path.join(self.folder, f"{self.prefix}_{self.split}_{self.index:06d}.bin")
        write_shard(path, self._buf[: self._fill], self.vocab_size)
        self.paths.append(path)
        self.counts.append(self._fill)
        self.index += 1
        self._fill = 0

    def close(self, write_empty: bool = False) -> list[str]:
        """Write the last, partial shard (or an empty one when nothing was written and
        ``write_empty``); return every shard path written."""
        if self._fill or (write_empty and not self.paths):
            self._flush()
        return self.paths
