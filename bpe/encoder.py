"""GPT-2-compatible encoding of text (and of arbitrary bytes) with a tokenizer folder.

Two backends give the same ids; :func:`load_encoder` picks by measurement (see
``benchmarks/bpe.py`` and docs/benchmarks.md):

* ``tiktoken`` (default): a ``tiktoken.Encoding`` built offline from vocab.json, with GPT-2's
  pattern and the token id as its rank. tiktoken merges the adjacent pair whose concatenation
  has the lowest rank; that is GPT-2's "lowest merge first" only when merge *i* makes the token
  with the *i*-th smallest id, which holds for GPT-2's files and for every vocabulary
  :mod:`bpe.trainer` writes. It is checked on load; a vocabulary that breaks it uses
* ``hf``: HF ``tokenizers`` (``Tokenizer.encode_batch``, Rust threads).

Documents are encoded for training with :meth:`Encoder.encode_documents`: each document is
preceded by ``<|endoftext|>``, as in llm.c, and a literal ``"<|endoftext|>"`` inside a
document is encoded as ordinary text, never as the special token.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np

from bpe.byte_level import (ENDOFTEXT, GPT2_PATTERN, alphabet_order, bytes_to_token, bytes_to_unicode,
                             pretokenize_bytes, token_to_bytes)
from bpe.tokenizer_files import BPEFiles, hf_tokenizer_from_files, load_bpe_files

BACKENDS = ("auto", "tiktoken", "hf")


def ranks_follow_merges(files: BPEFiles) -> bool:
    """True when token ids can serve as tiktoken ranks: bytes first (GPT-2 order), merge i → id 256+i."""
    order = alphabet_order()
    table = bytes_to_unicode()
    if any(files.vocab.get(table[b]) != i for i, b in enumerate(order)):
        return False
    for i, (a, b) in enumerate(files.merges):
        if files.vocab.get(a + b) != 256 + i:
            return False
    return len(files.vocab) - len(files.special_tokens) == 256 + len(files.merges)


class Encoder:
    """Encode/decode with one tokenizer folder's vocabulary."""

    def __init__(self, files: BPEFiles, backend: str = "auto", num_threads: int | None = None):
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        self.files = files
        self.num_threads = num_threads or os.cpu_count() or 1
        consistent = ranks_follow_merges(files)
        if backend == "auto":
            backend = "tiktoken" if consistent else "hf"
        if backend == "tiktoken" and not consistent:
            raise ValueError("this vocabulary's ids do not follow its merge order; tiktoken would give other ids (use backend='hf')")
        self.backend = backend
        self.eot_id = files.eot_id
        self.vocab_size = files.vocab_size
        self._id_to_bytes: list[bytes | None] = [None] * self.vocab_size
        for tok, i in files.vocab.items():
            self._id_to_bytes[i] = tok.encode("utf-8") if tok in files.special_tokens else token_to_bytes(tok)
        self._ranks = {self._id_to_bytes[i]: i for tok, i in files.vocab.items() if tok not in files.special_tokens}
        if backend == "tiktoken":
            import tiktoken

            self._tt = tiktoken.Encoding(
                name="webtext-bpe",
                pat_str=GPT2_PATTERN,
                mergeable_ranks=self._ranks,
                special_tokens=dict(files.special_tokens),
                explicit_n_vocab=self.vocab_size,
            )
        else:
            self._hf = hf_tokenizer_from_files(files)

    @classmethod
    def from_dir(cls, folder: str, backend: str = "auto", num_threads: int | None = None) -> "Encoder":
        return cls(load_bpe_files(folder), backend=backend, num_threads=num_threads)

    # ------------------------------------------------------------------ text
    def encode(self, text: str) -> list[int]:
        """Ids of ``text``; special-token strings in it are ordinary text."""
        if self.backend == "tiktoken":
            return self._tt.encode_ordinary(text)
        return self._hf.encode(text, add_special_tokens=False).ids if not self._has_special(text) else self._encode_pieces_hf(text)

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        if self.backend == "tiktoken":
            return self._tt.encode_ordinary_batch(list(texts), num_threads=self.num_threads)
        return [self.encode(t) for t in texts] if any(map(self._has_special, texts)) else [
            e.ids for e in self._hf.encode_batch(list(texts), add_special_tokens=False)
        ]

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ``ids``; byte sequences that are not UTF-8 become U+FFFD (as GPT-2 does)."""
        return self.decode_bytes(ids).decode("utf-8", "replace")

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        """The exact bytes of ``ids``."""
        table = self._id_to_bytes
        return b"".join(table[int(i)] for i in ids)

    # ------------------------------------------------------------------ bytes
    def encode_bytes(self, data: bytes) -> list[int]:
        """Ids of arbitrary bytes; ``decode_bytes(encode_bytes(b)) == b`` for every ``b``.

        Valid UTF-8 gives the same ids as :meth:`encode` of the decoded text. Bytes that are
        not UTF-8 are pre-tokenized as symbols (see :func:`bpe.byte_level.pretokenize_bytes`)
        and each piece is BPE-merged over its raw bytes.
        """
        try:
            return self.encode(data.decode("utf-8"))
        except UnicodeDecodeError:
            pass
        out: list[int] = []
        for piece in pretokenize_bytes(data):
            out.extend(self._bpe_piece(piece))
        return out

    def _bpe_piece(self, piece: bytes) -> list[int]:
        """BPE of one pre-token given as raw bytes, by the backend's own (Rust) merge loop."""
        if self.backend == "hf":
            return [t.id for t in self._hf.model.tokenize(bytes_to_token(piece))]
        single = getattr(self._tt, "_encode_single_piece", None)  # tiktoken's, without the regex split
        if single is not None:
            return single(piece)
        return _bpe_bytes(piece, self._ranks)

    # ------------------------------------------------------------------ documents
    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """``[eot] + ids(t0) + [eot] + ids(t1) + ...`` as one array (int64).

        With tiktoken, documents that do not contain the special-token string are joined with
        it and encoded in one call per thread (the split at special tokens happens before the
        pre-tokenizer, so the ids are those of the documents encoded one by one).
        """
        if self.eot_id is None:
            raise ValueError(f"the vocabulary has no {ENDOFTEXT} token to separate documents")
        if not texts:
            return np.zeros(0, dtype=np.int64)
        if self.backend != "tiktoken":
            parts = []
            for ids in self.encode_batch(texts):
                parts.append(np.asarray([self.eot_id], dtype=np.int64))
                parts.append(np.asarray(ids, dtype=np.int64))
            return np.concatenate(parts)
        groups = _group_for_threads(texts, self.num_threads)
        if len(groups) == 1:
            return self._encode_group(groups[0])
        with ThreadPoolExecutor(len(groups)) as pool:
            arrays = list(pool.map(self._encode_group, groups))
        return np.concatenate(arrays)

    def _encode_group(self, texts: Sequence[str]) -> np.ndarray:
        out = []
        run: list[str] = []
        eot = np.asarray([self.eot_id], dtype=np.int64)

        def flush():
            if run:
                joined = ENDOFTEXT + ENDOFTEXT.join(run)
                out.append(self._tt.encode_to_numpy(joined, allowed_special={ENDOFTEXT}).astype(np.int64))
                run.clear()

        for t in texts:
            if ENDOFTEXT in t:
                flush()
                out.append(eot)
                out.append(np.asarray(self._tt.encode_ordinary(t), dtype=np.int64))
            else:
                run.append(t)
        flush()
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)

    # ------------------------------------------------------------------ helpers
    def _has_special(self, text: str) -> bool:
        return any(s in text for s in self.files.special_tokens)

    def _encode_pieces_hf(self, text: str) -> list[int]:
        # HF would turn a special-token string into the special id: encode around it as text.
        ids: list[int] = []
        for piece in pretokenize_bytes(text.encode("utf-8")):
            ids.extend(self._bpe_piece(piece))
        return ids


def _group_for_threads(texts: Sequence[str], n: int) -> list[Sequence[str]]:
    """Split ``texts`` in order into at most ``n`` groups of about equal character count."""
    n = max(1, min(n, len(texts)))
    if n == 1:
        return [texts]
    sizes = np.cumsum([len(t) for t in texts])
    total = int(sizes[-1])
    cuts = [0]
    for k in range(1, n):
        cuts.append(int(np.searchsorted(sizes, total * k / n)))
    cuts.append(len(texts))
    cuts = sorted(set(cuts))
    return [texts[a:b] for a, b in zip(cuts, cuts[1:]) if b > a]


def _bpe_bytes(piece: bytes, ranks: dict[bytes, int]) -> list[int]:
    """Rank-based BPE of one pre-token: merge the adjacent pair whose concatenation ranks lowest
    (tiktoken's rule, in Python: the fallback when tiktoken has no single-piece entry point)."""
    parts = [piece[i : i + 1] for i in range(len(piece))]
    while len(parts) > 1:
        best, best_rank = -1, None
        for i in range(len(parts) - 1):
            r = ranks.get(parts[i] + parts[i + 1])
            if r is not None and (best_rank is None or r < best_rank):
                best, best_rank = i, r
        if best < 0:
            break
        parts[best : best + 2] = [parts[best] + parts[best + 1]]
    return [ranks[p] for p in parts]


@lru_cache(maxsize=8)
def _cached(folder: str, backend: str) -> Encoder:
    return Encoder.from_dir(folder, backend=backend)


def load_encoder(folder: str, backend: str = "auto") -> Encoder:
    """An :class:`Encoder` for a tokenizer folder (cached per folder within a process)."""
    return _cached(os.path.abspath(folder), backend)
