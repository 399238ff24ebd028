"""Tokenizer folders: GPT-2's ``vocab.json`` + ``merges.txt`` and HF's ``tokenizer.json``.

A tokenizer folder (``RUN/tokenizer/``, or any folder passed as ``--tokenizer``) holds

* ``vocab.json``: ``{token: id}``, tokens spelled in the byte-level alphabet
  (:func:`bpe.byte_level.bytes_to_unicode`), special tokens spelled as themselves;
* ``merges.txt``: ``#version: 0.2`` then one merge per line, ``left right``, best first;
* ``tokenizer.json``: the same tokenizer for ``tokenizers.Tokenizer.from_file`` and
  ``transformers.PreTrainedTokenizerFast``.

GPT-2's own release names the first two ``encoder.json`` and ``vocab.bpe``; a folder holding
those names loads the same (``../shared/data/gpt2-bpe``). A token of vocab.json that is
neither a single byte nor the result of a merge is a special token (GPT-2: ``<|endoftext|>``).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field

from bpe.byte_level import ENDOFTEXT, bytes_to_unicode

VOCAB_NAMES = ("vocab.json", "encoder.json")
MERGES_NAMES = ("merges.txt", "vocab.bpe")
MERGES_HEADER = "#version: 0.2"
TOKENIZER_JSON = "tokenizer.json"


# what a tokenizer folder holds (load_bpe_files reads either pair)
FOLDER_HOLDS = f"{VOCAB_NAMES[0]} and {MERGES_NAMES[0]}, or GPT-2's {VOCAB_NAMES[1]} and {MERGES_NAMES[1]}"


class TokenizerFilesError(ValueError):
    """A tokenizer folder that is missing files or whose files disagree."""


def folder_problem(path: str) -> str | None:
    """Why a local ``path`` given as a tokenizer folder is none ("is a file, not a tokenizer folder",
    "no such folder", with what the folder holds), or None; a URL, or a folder, is checked when read."""
    if "://" in path or os.path.isdir(path):
        return None
    what = "is a file, not a tokenizer folder" if os.path.exists(path) else "no such folder"
    return f"{what}; give the folder that holds {FOLDER_HOLDS}"


@dataclass
class BPEFiles:
    """The content of a tokenizer folder."""

    vocab: dict[str, int]  # token (byte-level spelling) -> id, special tokens included
    merges: list[tuple[str, str]]  # best first
    special_tokens: dict[str, int] = field(default_factory=dict)

    @property
    def vocab_size(self) -> int:
        return max(self.vocab.values()) + 1

    @property
    def eot_id(self) -> int | None:
        return self.special_tokens.get(ENDOFTEXT)


def _first_existing(folder: str, names: tuple[str, ...]) -> str | None:
    for name in names:
        path = os.path.join(folder, name)
        if os.path.exists(path):
            return path
    return None


def read_merges(path: str) -> list[tuple[str, str]]:
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().split("\n")
    except UnicodeDecodeError as e:
        raise TokenizerFilesError(f"{path}: not UTF-8 text: {e}") from None
    merges = []
    for lineno, line in enumerate(lines, 1):
        if not line or (lineno == 1 and line.startswith("#version")):
            continue
        parts = line.split(" ")
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise TokenizerFilesError(f"{path}:{lineno}: a merge is two tokens separated by one space, got {line!r}")
        merges.append((parts[0], parts[1]))
    return merges


def find_special_tokens(vocab: dict[str, int], merges: list[tuple[str, str]]) -> dict[str, int]:
    """Tokens that are neither a single byte nor made by a merge."""
    mergeable = set(bytes_to_unicode().values()) | {a + b for a, b in merges}
    return {tok: i for tok, i in vocab.items() if tok not in mergeable}


def load_bpe_files(folder: str) -> BPEFiles:
    """Read ``vocab.json``/``merges.txt`` (or GPT-2's ``encoder.json``/``vocab.bpe``) from a folder."""
    if not os.path.isdir(folder):
        raise TokenizerFilesError(f"tokenizer folder not found: {folder}")
    vocab_path = _first_existing(folder, VOCAB_NAMES)
    merges_path = _first_existing(folder, MERGES_NAMES)
    if vocab_path is None or merges_path is None:
        raise TokenizerFilesError(
            f"{folder}: needs {' or '.join(VOCAB_NAMES)} and {' or '.join(MERGES_NAMES)}; found {sorted(os.listdir(folder))}"
        )
    try:
        with open(vocab_path, encoding="utf-8") as fh:
            vocab = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise TokenizerFilesError(f"{vocab_path}: not a JSON object of token -> integer id: {e}") from None
    if not isinstance(vocab, dict) or not all(isinstance(v, int) for v in vocab.values()):
        raise TokenizerFilesError(f"{vocab_path}: expected a JSON object of token -> integer id")
    merges = read_merges(merges_path)
    missing = [m for m in merges if m[0] + m[1] not in vocab]
    if missing:
        raise TokenizerFilesError(f"{merges_path}: {len(missing)} merges make tokens absent from {vocab_path}, e.g. {missing[0]}")
    if len(set(vocab.values())) != len(vocab):
        raise TokenizerFilesError(f"{vocab_path}: two tokens share an id")
    return BPEFiles(vocab=vocab, merges=merges, special_tokens=find_special_tokens(vocab, merges))


def fingerprint(vocab: dict[str, int], merges) -> str:
    """SHA-256 of a tokenizer's vocabulary (token → id, special tokens included) and merges (pairs, or
    ``"left right"`` strings): what a token shard's ids mean. ``webtext tokenize`` records it in the
    tokens' manifest.json and ``webtext train`` in its checkpoint."""
    merges = [m if isinstance(m, str) else " ".join(m) for m in merges]
    ident = {"vocab": sorted(vocab.items(), key=lambda kv: (kv[1], kv[0])), "merges": merges}
    return hashlib.sha256(json.dumps(ident, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


def tokenizer_fingerprint(folder: str | None) -> str | None:
    """:func:`fingerprint` of a tokenizer folder, or ``None`` when ``folder`` holds neither
    ``tokenizer.json`` nor ``vocab.json`` + ``merges.txt`` (or GPT-2's ``encoder.json`` + ``vocab.bpe``).

    Read from the files' content, not their bytes, so the same tokenizer saved twice (another JSON
    layout, or as vocab.json + merges.txt) gives the same fingerprint."""
    if not folder:
        return None
    tj = os.path.join(folder, TOKENIZER_JSON)
    if os.path.isfile(tj):
        with open(tj, encoding="utf-8") as fh:
            spec = json.load(fh)
        model = spec.get("model") or {}
        vocab = dict(model.get("vocab") or {})
        vocab.update({t["content"]: t["id"] for t in spec.get("added_tokens") or []})
        return fingerprint(vocab, model.get("merges") or [])
    try:
        files = load_bpe_files(folder)
    except TokenizerFilesError:
        return None
    return fingerprint(files.vocab, files.merges)


def write_bpe_files(files: BPEFiles, folder: str) -> None:
    """Write ``vocab.json`` and ``merges.txt`` in GPT-2's format (ids ascending, ``#version: 0.2``)."""
    os.makedirs(folder, exist_ok=True)
    ordered = dict(sorted(files.vocab.items(), key=lambda kv: kv[1]))
    _write_atomic(os.path.join(folder, "vocab.json"), json.dumps(ordered, ensure_ascii=False))
    body = "".join(f"{a} {b}\n" for a, b in files.merges)
    _write_atomic(os.path.join(folder, "merges.txt"), f"{MERGES_HEADER}\n{body}")


def _write_atomic(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    os.replace(tmp, path)


def hf_tokenizer_from_files(files: BPEFiles):
    """A ``tokenizers.Tokenizer`` equal to GPT-2's: byte-level BPE, no prefix space, no unknown token."""
    from tokenizers import AddedToken, Tokenizer, models

    mergeable = {t: i for t, i in files.vocab.items() if t not in files.special_tokens}
    tok = Tokenizer(models.BPE(vocab=mergeable, merges=list(files.merges), fuse_unk=False))
    configure_byte_level(tok)
    # Added tokens keep their ids from vocab.json when those follow the mergeable ones.
    for token, _ in sorted(files.special_tokens.items(), key=lambda kv: kv[1]):
        tok.add_special_tokens([AddedToken(token, special=True, normalized=False)])
    got = {t: tok.token_to_id(t) for t in files.special_tokens}
    if got != files.special_tokens:
        raise TokenizerFilesError(f"special tokens must come after the BPE vocabulary; ids wanted {files.special_tokens}, got {got}")
    return tok


def load_hf_tokenizer(folder: str):
    """A ``tokenizers.Tokenizer`` for a tokenizer folder: its ``tokenizer.json`` when it has one,
    else built from ``vocab.json``/``merges.txt`` (or GPT-2's ``encoder.json``/``vocab.bpe``) by
    :func:`load_bpe_files`, as ``webtext bpe encode`` and ``webtext tokenize`` read them."""
    from tokenizers import Tokenizer

    path = os.path.join(folder, TOKENIZER_JSON)
    if os.path.isfile(path):
        try:
            return Tokenizer.from_file(path)
        except Exception as e:  # tokenizers raises a bare Exception for a file it cannot parse
            raise TokenizerFilesError(f"{path}: not a tokenizers file: {e}") from None
    if os.path.isdir(folder) and (_first_existing(folder, VOCAB_NAMES) is None
                                  or _first_existing(folder, MERGES_NAMES) is None):
        raise TokenizerFilesError(f"{folder}: needs {TOKENIZER_JSON}, or {' or '.join(VOCAB_NAMES)} and "
                                  f"{' or '.join(MERGES_NAMES)}; found {sorted(os.listdir(folder))}")
    return hf_tokenizer_from_files(load_bpe_files(folder))


def configure_byte_level(tok) -> None:
    """Set GPT-2's pre-tokenizer, decoder and post-processor on a ``tokenizers.Tokenizer``."""
    from tokenizers import decoders, pre_tokenizers, processors

    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)


def files_from_hf_tokenizer(tok) -> BPEFiles:
    """vocab.json/merges.txt content of a trained ``tokenizers.Tokenizer`` (BPE model)."""
    state = json.loads(tok.to_str())
    model = state["model"]
    if model.get("type") != "BPE":
        raise TokenizerFilesError(f"expected a BPE model, got {model.get('type')}")
    merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    vocab = dict(model["vocab"])
    specials = {}
    for added in state.get("added_tokens", []):
        vocab[added["content"]] = added["id"]
        if added.get("special"):
            specials[added["content"]] = added["id"]
    return BPEFiles(vocab=vocab, merges=merges, special_tokens=specials)


def write_tokenizer_dir(tok, folder: str) -> BPEFiles:
    """Write ``vocab.json``, ``merges.txt`` and ``tokenizer.json`` for a HF BPE tokenizer.

    The BPE model writes the two GPT-2 files itself (Rust, in id order, ``#version: 0.2``);
    the special tokens, which live outside the model, are appended to vocab.json."""
    os.makedirs(folder, exist_ok=True)
    tok.model.save(folder)
    specials = {t.content: i for i, t in sorted(tok.get_added_tokens_decoder().items()) if t.special}
    vocab_path = os.path.join(folder, "vocab.json")
    with open(vocab_path, encoding="utf-8") as fh:
        body = fh.read().rstrip()
    if not body.endswith("}"):
        raise TokenizerFilesError(f"{vocab_path}: unexpected content written by tokenizers")
    extra = "".join(f",{json.dumps(t, ensure_ascii=False)}:{i}" for t, i in specials.items())
    _write_atomic(vocab_path, body[:-1] + extra + "}")
    tok.save(os.path.join(folder, TOKENIZER_JSON))
    return BPEFiles(vocab=tok.get_vocab(with_added_tokens=True), merges=read_merges(os.path.join(folder, "merges.txt")),
                    special_tokens=specials)


def export_tokenizer_dir(src: str, dst: str) -> BPEFiles:
    """Copy a tokenizer folder (e.g. GPT-2's ``encoder.json``/``vocab.bpe``) to ``dst`` under the
    standard names, adding ``tokenizer.json`` (built from the two files when ``src`` has none)."""
    files = load_bpe_files(src)
    write_bpe_files(files, dst)
    src_json = os.path.join(src, TOKENIZER_JSON)
    if os.path.exists(src_json):
        with open(src_json, encoding="utf-8") as fh:
            _write_atomic(os.path.join(dst, TOKENIZER_JSON), fh.read())
    else:
        hf_tokenizer_from_files(files).save(os.path.join(dst, TOKENIZER_JSON))
    return files
