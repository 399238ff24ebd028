"""Reading the ``manifest.json`` that ``webtext tokenize`` writes beside its token shards, and
telling whether a tokenizer is the one that made them.

One definition for every reader of shards (``webtext train``, ``webtext bpe decode``): the manifest
records the tokenizer's size, its ``<|endoftext|>`` id and its fingerprint
(``tokenizer_sha256``, :func:`bpe.tokenizer_files.fingerprint`; older manifests have only the
sizes). Another tokenizer would read the ids as other tokens.
"""

from __future__ import annotations

import json
import os

from bpe.byte_level import ENDOFTEXT
from bpe.tokenize_docs import MANIFEST


class ManifestError(ValueError):
    """A tokens folder's manifest.json that cannot be read (one line)."""


def load_manifest(folder: str) -> dict | None:
    """``folder/manifest.json`` with its ``path`` added, or None when the folder has none (shards
    made elsewhere: llm.c, nanoGPT). One that is not a JSON object is refused in one line."""
    path = os.path.join(folder, MANIFEST)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            manifest = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ManifestError(f"{path}: not JSON ({e}); it is the manifest `webtext tokenize` writes beside its "
                            "shards: tokenize again, or remove it to use the shards without its checks") from None
    if not isinstance(manifest, dict):
        raise ManifestError(f"{path}: not a tokens manifest (a JSON {type(manifest).__name__}, not an object)")
    return {**manifest, "path": path}


def manifest_int(manifest: dict | None, key: str) -> int | None:
    value = (manifest or {}).get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def manifest_sha(manifest: dict | None) -> str | None:
    value = (manifest or {}).get("tokenizer_sha256")
    return value if isinstance(value, str) and value else None


def _sizes(n: int | None, eot: int | None) -> str:
    return f"{n} entries, {ENDOFTEXT} = {'none' if eot is None else eot}"


def tokenizer_mismatch(manifest: dict, vocab_size: int, eot_id: int | None, sha: str | None) -> str | None:
    """How a tokenizer (its size, ``<|endoftext|>`` id and fingerprint, None when unknown) differs
    from the one the manifest says made the shards, as ``"(…) did not make the shards in FOLDER
    (…)"``, or None when nothing recorded differs."""
    folder = os.path.dirname(manifest["path"])
    want_n, want_eot = manifest_int(manifest, "vocab_size"), manifest_int(manifest, "eot_id")
    if (want_n is not None and vocab_size != want_n) or (want_eot is not None and eot_id != want_eot):
        return (f"({_sizes(vocab_size, eot_id)}) did not make the shards in {folder} "
                f"({MANIFEST}: {_sizes(want_n, want_eot)})")
    want_sha = manifest_sha(manifest)
    if want_sha and sha and want_sha != sha:
        return (f"did not make the shards in {folder}: both have {_sizes(vocab_size, eot_id)} but the vocabulary "
                f"and merges differ ({sha[:12]} vs {want_sha[:12]} in {MANIFEST})")
    return None
