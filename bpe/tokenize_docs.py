"""Documents → llm.c token shards: the ``webtext tokenize`` step.

Every document is encoded with an :class:`bpe.encoder.Encoder` and preceded by
``<|endoftext|>`` (llm.c's convention, so the token also sits between documents). A document
belongs to the validation split when a keyed hash of its id (seed = the recipe's seed) falls
below ``val_fraction``; the choice depends on nothing but the document and the seed, so it is
stable across runs, inputs orders and machines. Validation tokens go to
``{prefix}_val_000000.bin`` (then ``_000001`` … when they exceed ``shard_tokens``), training
tokens to ``{prefix}_train_000001.bin`` onwards whatever the number of validation files (llm.c's
numbering: the split is in the name), each shard ``shard_tokens`` long except the last of its split. A ``manifest.json`` lists the shards and says
what their ids mean: ``vocab_size``, ``eot_id`` and ``tokenizer_sha256``
(:func:`bpe.tokenizer_files.fingerprint` of the encoder's vocabulary and merges), which
``webtext train`` checks its tokenizer against.

Encoding runs on all cores (tiktoken threads release the GIL) while the next batch is read.
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Iterable, Iterator


from bpe.encoder import Encoder
from bpe.shards import FORMATS, ShardWriter, magic_for_vocab
from bpe.tokenizer_files import fingerprint

MANIFEST = "manifest.json"


def split_fraction(doc_id: str, seed: int) -> float:
    """A number in [0, 1) from a document id and a seed (keyed BLAKE2b, first 8 bytes)."""
    h = hashlib.blake2b(doc_id.encode("utf-8", "surrogatepass"), digest_size=8, key=int(seed).to_bytes(8, "little"))
    return int.from_bytes(h.digest(), "big") / 2.0**64


def is_validation(doc_id: str, seed: int, val_fraction: float) -> bool:
    return val_fraction > 0 and split_fraction(doc_id, seed) < val_fraction


def fallback_validation_id(doc_ids: Iterable[str], seed: int, val_fraction: float) -> str | None:
    """The id to put in validation when no id falls below ``val_fraction`` (a small corpus):
    the one with the lowest hash, so that the validation split is never empty. None when some id qualifies,
    when there are fewer than two documents, or when ``val_fraction`` is 0."""
    if val_fraction <= 0:
        return None
    best, best_f, n = None, 2.0, 0
    for doc_id in doc_ids:
        n += 1
        f = split_fraction(doc_id, seed)
        if f < val_fraction:
            return None
        if f < best_f or (f == best_f and doc_id < best):
            best, best_f = doc_id, f
    return best if n >= 2 else None


@dataclass
class TokenizeResult:
    documents: int = 0
    bytes: int = 0
    tokens: int = 0
    val_documents: int = 0
    val_tokens: int = 0
    vocab_size: int = 0
    eot_id: int = 0
    shards: list[dict] = field(default_factory=list)  # {"file", "split", "tokens"}

    @property
    def bytes_per_token(self) -> float:
        # <|endoftext|> separators carry no text bytes: count only text tokens.
        text_tokens = self.tokens - self.documents
        return self.bytes / text_tokens if text_tokens else 0.0


def tokenize_paths(inputs, encoder: Encoder, out_dir: str, text_docs: str = "line", on_bad=None,
                   **kwargs) -> TokenizeResult:
    """:func:`tokenize_documents` over files (see :mod:`bpe.text_source`; each record that is not
    a document goes to ``on_bad``, by default raised), with the empty-split fallback: a first pass
    over the ids (Parquet: the ``id`` column only) finds :func:`fallback_validation_id`."""
    from bpe.text_source import count_documents, iter_documents, iter_ids

    seed, frac = kwargs.get("seed", 1234), kwargs.get("val_fraction", 0.005)
    kwargs.setdefault("force_val_id", fallback_validation_id(iter_ids(inputs, text_docs), seed, frac))
    kwargs.setdefault("total_docs", count_documents(inputs, text_docs))
    return tokenize_documents(iter_documents(inputs, text_docs, on_bad=on_bad), encoder, out_dir, **kwargs)


def _batches(docs: Iterable[tuple[str, str]], batch_chars: int) -> Iterator[list[tuple[str, str]]]:
    batch, size = [], 0
    for doc in docs:
        batch.append(doc)
        size += len(doc[1])
        if size >= batch_chars:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def tokenize_documents(
    docs: Iterable[tuple[str, str]],
    encoder: Encoder,
    out_dir: str,
    shard_tokens: int = 100_000_000,
    val_fraction: float = 0.005,
    seed: int = 1234,
    prefix: str = "webtext",
    batch_chars: int = 4_000_000,
    progress: bool = False,
    total_docs: int | None = None,
    force_val_id: str | None = None,
) -> TokenizeResult:
    """Encode ``(id, text)`` documents into shards under ``out_dir`` (see the module docstring).

    ``force_val_id`` (from :func:`fallback_validation_id`) also goes to validation."""
    if encoder.eot_id is None:
        raise ValueError("the tokenizer has no <|endoftext|> token")
    os.makedirs(out_dir, exist_ok=True)
    res = TokenizeResult(vocab_size=encoder.vocab_size, eot_id=encoder.eot_id)
    val = ShardWriter(out_dir, "val", encoder.vocab_size, shard_tokens, prefix, first_index=0) if val_fraction > 0 else None
    train = ShardWriter(out_dir, "train", encoder.vocab_size, shard_tokens, prefix, first_index=1)

    def encode(batch: list[tuple[str, str]]):
        val_texts, train_texts = [], []
        for doc_id, text in batch:
            to_val = val is not None and (doc_id == force_val_id or is_validation(doc_id, seed, val_fraction))
            (val_texts if to_val else train_texts).append(text)
        n_bytes = sum(len(t.encode("utf-8", "surrogatepass")) for _, t in batch)
        return len(batch), n_bytes, len(val_texts), encoder.encode_documents(val_texts), encoder.encode_documents(train_texts)

    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total_docs, unit="doc", desc="tokenize", dynamic_ncols=True)
    with ThreadPoolExecutor(1) as pool:  # encode batch k while batch k+1 is read
        pending = None
        for batch in _batches(docs, batch_chars):
            nxt = pool.submit(encode, batch)
            if pending is not None:
                _consume(pending.result(), res, val, train, bar)
            pending = nxt
        if pending is not None:
            _consume(pending.result(), res, val, train, bar)
    if bar is not None:
        bar.close()

    for writer in (val, train):
        if writer is None:
            continue
        writer.close(write_empty=writer is val)
        for path, n in zip(writer.paths, writer.counts):
            res.shards.append({"file": os.path.basename(path), "split": writer.split, "tokens": int(n)})
    magic = magic_for_vocab(encoder.vocab_size)
    manifest = {
        "format": "llm.c",
        "magic": magic,
        "version": FORMATS[magic][0],
        "dtype": FORMATS[magic][1].name,
        **{k: v for k, v in asdict(res).items()},
        "bytes_per_token": res.bytes_per_token,
        "shard_tokens": shard_tokens,
        "val_fraction": val_fraction,
        "seed": seed,
        "tokenizer_sha256": fingerprint(encoder.files.vocab, encoder.files.merges),
    }
    tmp = os.path.join(out_dir, MANIFEST + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=2, sort_keys=True)
        fh.write("\n")
    os.replace(tmp, os.path.join(out_dir, MANIFEST))
    return res


def _consume(result, res: TokenizeResult, val: ShardWriter | None, train: ShardWriter, bar) -> None:
    n_docs, n_bytes, n_val, val_tokens, train_tokens = result
    if val is not None and val_tokens.size:
        val.write(val_tokens)
    if train_tokens.size:
        train.write(train_tokens)
    res.documents += n_docs
    res.bytes += n_bytes
    res.val_documents += n_val
    res.val_tokens += int(val_tokens.size)
    res.tokens += int(val_tokens.size + train_tokens.size)
    if bar is not None:
        bar.update(n_docs)


def read_manifest(out_dir: str) -> dict:
    with open(os.path.join(out_dir, MANIFEST), encoding="utf-8") as fh:
        return json.load(fh)
