"""Which tokenizer a tokens folder belongs to, and the model vocabulary that follows.

``webtext tokenize`` writes ``manifest.json`` beside its shards: ``vocab_size``, ``eot_id`` and
``tokenizer_sha256`` (:func:`bpe.tokenizer_files.fingerprint` of the encoder's vocabulary and
merges; manifests written before it was recorded lack it). When a tokens folder has one, the
tokenizer ``webtext train`` finds or is given must be the one it names: the same size and
``<|endoftext|>`` id, and the same fingerprint where both sides have one
(:func:`check_tokenizer`, by :mod:`bpe.tokens_manifest`'s rule, which `webtext bpe decode`
uses too). Without a tokenizer the manifest's ``vocab_size`` sizes the model.
Shards without a manifest (llm.c or nanoGPT files made elsewhere) are taken as they are.
"""

from __future__ import annotations

import json
import os
from typing import Any

from bpe.byte_level import ENDOFTEXT
from bpe.tokenizer_files import TokenizerFilesError, load_hf_tokenizer
from bpe.tokens_manifest import manifest_int, tokenizer_mismatch

GPT2_VOCAB_SIZE = 50257


def find_tokenizer(data_dir: str) -> str | None:
    """The tokenizer of a run's tokens folder: ``RUN/tokenizer``, else the one ``RUN/stats/tokenize.json`` names."""
    run = os.path.dirname(os.path.abspath(data_dir.rstrip("/")))
    candidates = [os.path.join(run, "tokenizer")]
    stats = os.path.join(run, "stats", "tokenize.json")
    if os.path.isfile(stats):
        with open(stats) as fh:
            named = (json.load(fh).get("outputs") or {}).get("tokenizer")
        if isinstance(named, str):
            candidates.append(named)
    for cand in candidates:
        if os.path.isfile(os.path.join(cand, "tokenizer.json")):
            return cand
    return None


def tokenizer_sizes(tokenizer_dir: str) -> tuple[int, int | None]:
    """(entries, ``<|endoftext|>`` id or None) of any tokenizer folder ``webtext tokenize`` reads."""
    try:
        tok = load_hf_tokenizer(tokenizer_dir)
    except TokenizerFilesError as e:
        raise ValueError(f"--tokenizer {tokenizer_dir}: {e}") from None
    return tok.get_vocab_size(), tok.token_to_id(ENDOFTEXT)


def check_tokenizer(manifest: dict, tokenizer_dir: str, tokenizer_sha: str | None) -> None:
    """Refuse (ValueError, one line) a tokenizer that did not make the manifest's shards."""
    n, eot = tokenizer_sizes(tokenizer_dir)
    mismatch = tokenizer_mismatch(manifest, n, eot, tokenizer_sha)
    if mismatch:
        raise ValueError(f"tokenizer {tokenizer_dir} {mismatch}: the model would read their ids as other tokens; "
                         f"give --tokenizer the folder they were tokenized with, or tokenize again with this one "
                         f"(webtext tokenize --tokenizer {tokenizer_dir})")


def resolve_vocab_size(cfg: Any, tokenizer_dir: str | None, manifest: dict | None = None) -> int:
    """``[train] vocab_size``, else the tokenizer's (any folder ``webtext tokenize`` reads:
    tokenizer.json, vocab.json + merges.txt, GPT-2's encoder.json + vocab.bpe), else the tokens
    manifest's ``vocab_size``, else GPT-2's 50257."""
    if cfg.vocab_size:
        return cfg.vocab_size
    if tokenizer_dir:
        return tokenizer_sizes(tokenizer_dir)[0]
    return manifest_int(manifest, "vocab_size") or GPT2_VOCAB_SIZE


def check_model_vocab(manifest: dict | None, model_vocab: int, whose: str) -> None:
    """Refuse a model vocabulary (``whose``: where it comes from) too small for the shards' ids."""
    want = manifest_int(manifest, "vocab_size")
    if want is not None and model_vocab < want:
        raise ValueError(f"{whose} vocab_size {model_vocab} is smaller than the shards' {want} "
                         f"({manifest['path']}): the model has no row for their larger ids")
