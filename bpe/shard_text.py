"""Token shards back to text: ``webtext bpe decode``.

The shards are read with :func:`bpe.shards.read_shard` (header and length validated), in order:
the files as given; for a tokens folder its ``manifest.json``'s list (validation shards, then
training shards, as :mod:`bpe.tokenize_docs` writes them), else its ``*.bin`` files by name. A
folder's manifest also says which tokenizer made the shards (``tokenizer_sha256``; ``vocab_size``
and ``eot_id`` in manifests older than it), and another tokenizer is refused: it would turn the
ids into other text without a word.

Two outputs:

* :func:`decode_stream`: the exact bytes the tokens stand for, special tokens spelled as
  themselves; each document of a ``webtext tokenize`` shard is preceded by ``<|endoftext|>``, so
  the documents come out separated by it (a literal ``"<|endoftext|>"`` inside a document, which
  tokenize encodes as ordinary text, reads the same);
* :func:`iter_documents`: the documents themselves, split at the ``<|endoftext|>`` id (never at
  the literal string), one by one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import BinaryIO, Iterable, Iterator

import numpy as np

from bpe.byte_level import ENDOFTEXT
from bpe.encoder import Encoder
from bpe.shards import read_shard
from bpe.tokenize_docs import MANIFEST
from bpe.tokenizer_files import fingerprint
from bpe.tokens_manifest import load_manifest, tokenizer_mismatch

CHUNK_TOKENS = 1 << 20  # tokens decoded at a time: memory stays bounded on a 100M-token shard


class ShardTextError(ValueError):
    """Shards that cannot be decoded with the tokenizer given (one line, naming the file)."""


@dataclass
class DecodeCount:
    shards: int = 0
    tokens: int = 0
    documents: int = 0  # <|endoftext|> tokens: the documents that start in the shards


def shard_files(paths: Iterable[str]) -> list[str]:
    """The shard files ``paths`` name, in decoding order: a file as it is; a folder's manifest list
    (every file it lists must be there), else the folder's ``*.bin`` by name; a run directory (no
    ``.bin`` of its own) means its ``tokens/`` folder."""
    out: list[str] = []
    for path in paths:
        if os.path.isfile(path):
            out.append(path)
            continue
        if not os.path.isdir(path):
            raise FileNotFoundError(f"no such shard file or folder: {path}")
        names = sorted(n for n in os.listdir(path) if n.endswith(".bin"))
        run_tokens = os.path.join(path, "tokens")
        if not names and os.path.isdir(run_tokens):
            path = run_tokens
            names = sorted(n for n in os.listdir(path) if n.endswith(".bin"))
        manifest = load_manifest(path)
        if manifest is not None and isinstance(manifest.get("shards"), list):
            names = [s.get("file") for s in manifest["shards"] if isinstance(s, dict)]
            missing = [n for n in names if not isinstance(n, str) or not os.path.isfile(os.path.join(path, n))]
            if missing:
                raise ShardTextError(f"{os.path.join(path, MANIFEST)} lists {missing[0]}, which is not in {path}")
        if not names:
            raise ShardTextError(f"{path}: no token shard (*.bin) in it")
        out.extend(os.path.join(path, n) for n in names)
    return out


def check_tokenizer(shards: list[str], encoder: Encoder, tokenizer: str) -> None:
    """Refuse ``encoder`` (from the folder ``tokenizer``) for shards whose folder's manifest names
    another tokenizer (:func:`bpe.tokens_manifest.tokenizer_mismatch`)."""
    mine = fingerprint(encoder.files.vocab, encoder.files.merges)
    for folder in dict.fromkeys(os.path.dirname(os.path.abspath(p)) for p in shards):
        manifest = load_manifest(folder)
        if manifest is None:
            continue  # shards made elsewhere (llm.c, nanoGPT): the ids are checked against the vocabulary
        mismatch = tokenizer_mismatch(manifest, encoder.vocab_size, encoder.eot_id, mine)
        if mismatch:
            raise ShardTextError(f"tokenizer {tokenizer} {mismatch}: decoding would give other text; give "
                                 "--tokenizer the folder they were tokenized with (RUN/tokenizer)")


def _chunks(shards: list[str], encoder: Encoder, count: DecodeCount) -> Iterator[np.ndarray]:
    """The shards' tokens in chunks, each shard's header validated and every id checked to be one
    of the tokenizer's."""
    known = np.zeros(encoder.vocab_size, dtype=bool)
    known[list(encoder.files.vocab.values())] = True
    opened = [(path, read_shard(path)) for path in shards]  # every header before any text
    for path, tokens in opened:
        count.shards += 1
        count.tokens += int(tokens.size)
        for start in range(0, tokens.size, CHUNK_TOKENS):
            chunk = np.asarray(tokens[start : start + CHUNK_TOKENS], dtype=np.int64)
            bad = np.flatnonzero(chunk >= encoder.vocab_size)
            if not bad.size:
                bad = np.flatnonzero(~known[chunk])
            if bad.size:
                i = int(bad[0])
                raise ShardTextError(f"{path}: token {start + i} is id {int(chunk[i])}, which the tokenizer "
                                     f"({encoder.vocab_size} entries) does not have: not its shard")
            if encoder.eot_id is not None:
                count.documents += int(np.count_nonzero(chunk == encoder.eot_id))
            yield chunk


def decode_stream(shards: list[str], encoder: Encoder, out: BinaryIO) -> DecodeCount:
    """Write the exact bytes of the shards' tokens to ``out``; return what was read."""
    count = DecodeCount()
    for chunk in _chunks(shards, encoder, count):
        out.write(encoder.decode_bytes(chunk))
    return count


def iter_documents(shards: list[str], encoder: Encoder, count: DecodeCount | None = None) -> Iterator[bytes]:
    """The documents of the shards as bytes: the tokens after each ``<|endoftext|>`` id up to the
    next. Tokens before the first one (a shard that starts inside a document) are a document too."""
    if encoder.eot_id is None:
        raise ShardTextError(f"the tokenizer has no {ENDOFTEXT} token, so its shards have no document boundaries")
    count = count if count is not None else DecodeCount()
    doc: list[bytes] = []
    started = False  # a document is open: after an <|endoftext|>, or tokens before the first
    for chunk in _chunks(shards, encoder, count):
        prev = 0
        for cut in np.flatnonzero(chunk == encoder.eot_id):
            doc.append(encoder.decode_bytes(chunk[prev:cut]))
            if started or any(doc):
                yield b"".join(doc)
            doc, started, prev = [], True, int(cut) + 1
        doc.append(encoder.decode_bytes(chunk[prev:]))
    if started or any(doc):
        yield b"".join(doc)
