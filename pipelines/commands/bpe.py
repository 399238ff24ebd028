"""``webtext bpe train``, ``encode`` and ``decode``: byte-level BPE tokenizers, GPT-2 compatible."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter

from bpe.byte_level import ENDOFTEXT
from bpe.tokenizer_files import FOLDER_HOLDS, folder_problem


def add_parser(sub):
    p = sub.add_parser("bpe", help="train a byte-level BPE tokenizer, encode text or decode token shards with one",
                       description="GPT-2-compatible byte-level BPE: train a tokenizer folder, encode lines with one, "
                                   "or decode token shards back to text.")
    bsub = p.add_subparsers(dest="bpe_command", metavar="SUBCOMMAND")
    bsub.required = True

    t = bsub.add_parser("train", help="train vocab.json + merges.txt + tokenizer.json",
                        description="Stream documents (Parquet shards, JSONL, MediaWiki XML dumps, plain text) through "
                                    "HF tokenizers' BPE trainer with GPT-2's byte-level pre-tokenizer and write "
                                    "vocab.json, merges.txt (#version: 0.2) and tokenizer.json; <|endoftext|> is the "
                                    "last id (50256 for the default size, when the corpus supports 50,000 merges).")
    t.add_argument("--input", nargs="+", required=True, metavar="DOCS|TEXT", help="files, folders or globs")
    t.add_argument("--out", required=True, metavar="TOKENIZER_DIR")
    t.add_argument("--vocab-size", type=int, default=50257, help="entries including special tokens (default 50257)")
    t.add_argument("--special-token", action="append", default=[], metavar="TOKEN",
                   help=f"extra special token after {ENDOFTEXT} (repeatable)")
    t.add_argument("--min-frequency", type=int, default=2, help="merge only pairs seen this often (default 2)")
    t.add_argument("--text-docs", choices=("line", "paragraph", "file"), default="line",
                   help="what a document is in plain-text inputs (default: line)")

    e = bsub.add_parser("encode", help="print GPT-2 token ids, one JSON list per input line",
                        description="Encode each input line (stdin when no --input) and print one JSON list of ids "
                                    "per line. With --jsonl each line is a JSON string, so a text may hold newlines. "
                                    "Plain lines may be any bytes (invalid UTF-8 is encoded byte by byte).")
    e.add_argument("--tokenizer", required=True, metavar="TOKENIZER_DIR", help=f"tokenizer folder: {FOLDER_HOLDS}")
    e.add_argument("--input", metavar="FILE", help="file of lines to encode (default: stdin)")
    e.add_argument("--jsonl", action="store_true", help="each input line is a JSON string")
    e.add_argument("--backend", choices=("auto", "tiktoken", "hf"), default="auto",
                   help="encoder: tiktoken (fast; only for a vocabulary whose ids follow its merge order, as "
                        "GPT-2's does), hf (Hugging Face tokenizers, any vocabulary), or auto: tiktoken "
                        "where it applies, else hf (default: %(default)s); both give the same ids")

    d = bsub.add_parser("decode", help="token shards back to text (documents separated by <|endoftext|>)",
                        description="Decode llm.c token shards (what `webtext tokenize` writes) with the tokenizer that "
                                    "made them: the exact bytes the tokens stand for, each document preceded by "
                                    f"{ENDOFTEXT} as in the shards; with --jsonl one JSON string per document, split "
                                    f"at the {ENDOFTEXT} id. Headers are validated; a folder's manifest.json must "
                                    "name the same tokenizer.")
    d.add_argument("--tokenizer", required=True, metavar="TOKENIZER_DIR", help=f"tokenizer folder: {FOLDER_HOLDS}")
    d.add_argument("--input", nargs="+", required=True, metavar="SHARDS",
                   help="shard files (.bin), or a tokens folder (its manifest.json's shards: validation, then "
                        "training; else its *.bin by name), or a run directory (its tokens/)")
    d.add_argument("--out", metavar="FILE", help="file to write (default: stdout)")
    d.add_argument("--jsonl", action="store_true",
                   help="one JSON string per document (bytes that are not UTF-8, as at a shard cut inside a "
                        "character, become U+FFFD)")
    return p


def check_tokenizer_folder(path: str, flag: str = "--tokenizer") -> None:
    """Refuse (StageError, one line) a local ``path`` that is not a folder, saying what it is and
    what a tokenizer folder holds (:func:`bpe.tokenizer_files.folder_problem`)."""
    from pipelines.stage import StageError

    problem = folder_problem(path)
    if problem:
        raise StageError(f"{flag} {path}: {problem}")


def main(args) -> int:
    # StageError is printed by the CLI as one line with exit status 2 (also under ``python -m``,
    # where pipelines.webtext.UserError would be a second class).
    from pipelines.stage import StageError

    try:
        return {"train": _train, "encode": _encode, "decode": _decode}[args.bpe_command](args)
    except ValueError as e:  # TokenizerFilesError, bad JSON line, bad size...
        raise StageError(str(e)) from None


def _train(args) -> int:
    from bpe.text_source import count_documents, expand_inputs, iter_text_batches
    from bpe.tokenizer_files import write_tokenizer_dir
    from bpe.trainer import train_bpe
    from corpus_tools.rundir import refuse_run_folder

    refuse_run_folder(args.out)
    if args.min_frequency < 0:
        raise ValueError(f"--min-frequency must be >= 0, got {args.min_frequency}")
    for spec in args.input:
        if not expand_inputs([spec]):
            raise ValueError(f"input not found: {spec} matches no file")

    bad, documents = [], 0

    def texts():  # the documents, counted; a record that is not one is left out and reported below
        nonlocal documents
        for batch in iter_text_batches(args.input, args.text_docs, on_bad=bad.append):
            documents += len(batch)
            yield batch

    tok = train_bpe(texts(), vocab_size=args.vocab_size, special_tokens=[ENDOFTEXT, *args.special_token],
                    min_frequency=args.min_frequency, length=count_documents(args.input),
                    show_progress=sys.stderr.isatty())
    if bad:
        _report_skipped(bad)
    if not documents:
        raise ValueError(f"no documents to train on in {' '.join(args.input)}")
    files = write_tokenizer_dir(tok, args.out)
    print(f"webtext bpe train: {documents} documents, {len(files.vocab)} entries ({len(files.merges)} merges), "
          f"special {files.special_tokens} → {args.out}", file=sys.stderr)
    return 0


def _report_skipped(bad, shown: int = 5) -> None:
    """Name the records left out of training (as ``webtext tokenize`` makes them dead letters)."""
    by_reason = ", ".join(f"{r} {n}" for r, n in sorted(Counter(b.reason for b in bad).items()))
    print(f"webtext bpe train: skipped {len(bad)} records that are not documents ({by_reason}):", file=sys.stderr)
    for b in bad[:shown]:
        print(f"  {b}", file=sys.stderr)
    if len(bad) > shown:
        print(f"  ... and {len(bad) - shown} more", file=sys.stderr)


def _encode(args) -> int:
    from bpe.encoder import Encoder
    from bpe.text_source import strip_line_ending

    check_tokenizer_folder(args.tokenizer)
    enc = Encoder.from_dir(args.tokenizer, backend=args.backend)
    src = open(args.input, "rb") if args.input else sys.stdin.buffer
    out = sys.stdout
    try:
        for lineno, raw in enumerate(src, 1):
            line = strip_line_ending(raw)  # as tokenize reads lines: "\n" or "\r\n"
            if args.jsonl:
                try:
                    text = json.loads(line)
                except (json.JSONDecodeError, UnicodeDecodeError) as e:
                    raise ValueError(f"line {lineno}: not JSON: {e}") from None
                if not isinstance(text, str):
                    raise ValueError(f"line {lineno}: expected a JSON string, got {type(text).__name__}")
                ids = enc.encode(text)
            else:
                ids = enc.encode_bytes(line)
            out.write(json.dumps(ids) + "\n")
    finally:
        if args.input:
            src.close()
    out.flush()
    return 0


def _decode(args) -> int:
    import contextlib

    from bpe.encoder import Encoder
    from bpe.shard_text import DecodeCount, check_tokenizer, decode_stream, iter_documents, shard_files
    from corpus_tools.rundir import refuse_run_folder

    check_tokenizer_folder(args.tokenizer)
    if args.out:
        refuse_run_folder(args.out)
    shards = shard_files(args.input)
    enc = Encoder.from_dir(args.tokenizer)
    check_tokenizer(shards, enc, args.tokenizer)
    tmp = f"{args.out}.tmp" if args.out else None  # --out appears whole or not at all
    try:
        with contextlib.ExitStack() as stack:
            out = stack.enter_context(open(tmp, "wb")) if tmp else sys.stdout.buffer
            if args.jsonl:
                count = DecodeCount()
                for doc in iter_documents(shards, enc, count):
                    out.write(json.dumps(doc.decode("utf-8", "replace"), ensure_ascii=False).encode("utf-8") + b"\n")
            else:
                count = decode_stream(shards, enc, out)
            out.flush()
        if tmp:
            os.replace(tmp, args.out)
    finally:
        if tmp and os.path.exists(tmp):
            os.remove(tmp)
    print(f"webtext bpe decode: {count.shards} shard{'' if count.shards == 1 else 's'}, {count.tokens} tokens, "
          f"{count.documents} documents → {args.out or 'stdout'}", file=sys.stderr)
    return 0
