"""Train a GPT-2-style byte-level BPE vocabulary with HF ``tokenizers``, streaming the corpus.

GPT-2 (Radford et al. 2019, §2.2) uses BPE over bytes with 50,257 entries: the 256 byte
symbols, 50,000 merges and ``<|endoftext|>`` = 50256. We train ``vocab_size - len(special)``
entries (alphabet + merges) with no special token, so that the merges get ids 256, 257, ...
in merge order exactly like GPT-2's files, then append the special tokens. Documents stream
from an iterator (``train_from_iterator`` with a length hint for the progress bar); the corpus
is never held in memory.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from bpe.byte_level import ENDOFTEXT
from bpe.tokenizer_files import BPEFiles, configure_byte_level, files_from_hf_tokenizer, write_tokenizer_dir


def train_bpe(
    texts: Iterable[str] | Iterable[list[str]],
    vocab_size: int = 50257,
    special_tokens: Sequence[str] = (ENDOFTEXT,),
    min_frequency: int = 2,
    length: int | None = None,
    show_progress: bool = False,
):
    """Train and return a ``tokenizers.Tokenizer`` (byte-level BPE, GPT-2 layout of ids).

    ``texts`` yields documents, or lists of documents (cheaper: one hand-over per list).

    ``vocab_size`` counts the special tokens. The result may be smaller when the corpus has
    fewer than ``vocab_size - 256 - len(special_tokens)`` pairs seen ``min_frequency`` times;
    the special tokens then follow the last merge.
    """
    from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers, trainers

    special_tokens = list(dict.fromkeys(special_tokens))
    problem = size_problem(vocab_size, special_tokens)
    if problem:
        raise ValueError(problem)
    n_bpe = vocab_size - len(special_tokens)
    tok = Tokenizer(models.BPE(fuse_unk=False))
    configure_byte_level(tok)
    trainer = trainers.BpeTrainer(
        vocab_size=n_bpe,
        min_frequency=min_frequency,
        special_tokens=[],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=show_progress,
    )
    tok.train_from_iterator(texts, trainer=trainer, length=length)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in special_tokens])
    return tok


def size_problem(vocab_size: int, special_tokens: Sequence[str]) -> str | None:
    """Why ``vocab_size`` cannot hold the byte alphabet and ``special_tokens``, or None (checked
    before a run's first stage, not after its crawl)."""
    n_bpe = vocab_size - len(dict.fromkeys(special_tokens))
    if n_bpe < 256:
        return f"vocab_size {vocab_size} leaves {n_bpe} BPE entries; the byte alphabet alone needs 256"
    return None


def train_to_dir(texts: Iterable[str], out_dir: str, **kwargs) -> BPEFiles:
    """Train (see :func:`train_bpe`) and write ``vocab.json``, ``merges.txt``, ``tokenizer.json``."""
    tok = train_bpe(texts, **kwargs)
    return write_tokenizer_dir(tok, out_dir)


__all__ = ["train_bpe", "train_to_dir", "size_problem", "files_from_hf_tokenizer"]
