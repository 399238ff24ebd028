"""Documents for BPE training and tokenization, streamed from corpus files.

Accepted inputs (a file, a folder or a glob; a list of them):

* Parquet shards in the document schema (``RUN/dedup``...): the ``text`` column (and ``id``);
* JSONL (``.jsonl``, ``.json``, optionally ``.gz``/``.bz2``/``.xz``/``.zst``): per line an object
  with ``text`` (and optionally ``id``), or a JSON string;
* MediaWiki XML dumps (``*.xml.bz2``, ``*.xml``): one document per article, markup stripped;
* any other file is plain text (optionally compressed): one document per line by default, or
  per blank-line separated paragraph, or the whole file (``text_docs``).

Each document comes with an id: the schema's ``id`` when there is one, else
:func:`corpus_tools.schema.make_doc_id` of the text. Order is deterministic (sorted paths,
file order within a file).
"""

from __future__ import annotations

import bz2
import glob
import gzip
import io
import json
import lzma
import os
from typing import Iterable, Iterator

from corpus_tools.schema import make_doc_id

TEXT_DOCS = ("line", "paragraph", "file")


def is_remote(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def _expand_remote(s: str) -> list[str]:
    import fsspec

    fs, root = fsspec.core.url_to_fs(s)
    if any(c in s for c in "*?["):
        found = fs.glob(root)
    elif fs.isdir(root):
        found = fs.glob(root.rstrip("/") + "/*.parquet") or [
            p for p in fs.find(root) if not p.rstrip("/").rsplit("/", 1)[-1].startswith((".", "_"))]
    elif fs.exists(root):
        found = [root]
    else:
        raise FileNotFoundError(f"no such file or folder: {s}")
    return [fs.unstrip_protocol(p) for p in found]


def expand_inputs(spec: str | Iterable[str]) -> list[str]:
    """Files named by paths, folders (their ``*.parquet`` shards if they hold any — so a stage
    folder's ``_rejected/`` is not read — else all their files, recursively, hidden and
    underscore files skipped) and globs, sorted. Remote paths (``gs://``...) go through fsspec."""
    specs = [spec] if isinstance(spec, (str, os.PathLike)) else list(spec)
    out: list[str] = []
    for s in map(os.fspath, specs):
        if is_remote(s):
            out.extend(_expand_remote(s))
        elif os.path.isdir(s):
            parquet = sorted(glob.glob(os.path.join(s, "*.parquet")))
            if parquet:  # a document-stage folder: its shards only, not _rejected/ or _removed/
                out.extend(parquet)
                continue
            for root, dirs, files in os.walk(s):
                dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
                out.extend(os.path.join(root, f) for f in sorted(files) if not f.startswith((".", "_")))
        elif any(c in s for c in "*?["):
            out.extend(p for p in glob.glob(s) if os.path.isfile(p))
        elif os.path.isfile(s):
            out.append(s)
        else:
            raise FileNotFoundError(f"no such file or folder: {s}")
    return sorted(dict.fromkeys(out))


def _strip_compression(path: str) -> str:
    for ext in (".gz", ".bz2", ".xz", ".zst"):
        if path.endswith(ext):
            return path[: -len(ext)]
    return path


def open_binary(path: str):
    """Open a possibly compressed file (local or remote) for reading bytes."""
    if is_remote(path):
        import fsspec

        return fsspec.open(path, "rb", compression="infer").open()
    if path.endswith(".gz"):
        return gzip.open(path, "rb")
    if path.endswith(".bz2"):
        return bz2.open(path, "rb")
    if path.endswith(".xz"):
        return lzma.open(path, "rb")
    if path.endswith(".zst"):
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True)
    return open(path, "rb")


def file_kind(path: str) -> str:
    base = _strip_compression(path).lower()
    if base.endswith(".parquet"):
        return "parquet"
    if base.endswith((".jsonl", ".json", ".ndjson")):
        return "jsonl"
    if base.endswith(".xml"):
        return "mediawiki"
    return "text"


def iter_documents(spec: str | Iterable[str], text_docs: str = "line") -> Iterator[tuple[str, str]]:
    """``(id, text)`` for every document of the inputs, in a deterministic order."""
    for batch in _iter_batches(spec, text_docs, with_ids=True):
        yield from batch


def iter_texts(spec: str | Iterable[str], text_docs: str = "line") -> Iterator[str]:
    """The texts only (no ids computed, Parquet ``text`` column only), same order."""
    for batch in _iter_batches(spec, text_docs, with_ids=False):
        yield from batch


def iter_text_batches(spec: str | Iterable[str], text_docs: str = "line") -> Iterator[list[str]]:
    """The texts in lists of up to a few thousand (what ``train_from_iterator`` takes cheapest)."""
    return _iter_batches(spec, text_docs, with_ids=False)


def _iter_batches(spec, text_docs: str, with_ids: bool) -> Iterator[list]:
    if text_docs not in TEXT_DOCS:
        raise ValueError(f"text_docs must be one of {TEXT_DOCS}, got {text_docs!r}")
    for path in expand_inputs(spec):
        kind = file_kind(path)
        if kind == "parquet":
            yield from _parquet_batches(path, with_ids)
            continue
        if kind == "jsonl":
            docs = _jsonl_docs(path)
        elif kind == "mediawiki":
            from corpus_tools.mediawiki import iter_pages

            docs = ((page["title"], page["text"]) for page in iter_pages(open_binary(path) if is_remote(path) else path))
            docs = ((make_doc_id(t, x) if with_ids else None, x) for t, x in docs)
        else:
            docs = ((None, t) for t in _text_docs(path, text_docs))
        batch: list = []
        for doc_id, text in docs:
            batch.append((doc_id or make_doc_id(None, text), text) if with_ids else text)
            if len(batch) == 4096:
                yield batch
                batch = []
        if batch:
            yield batch


def iter_ids(spec: str | Iterable[str], text_docs: str = "line") -> Iterator[str]:
    """Document ids only (for Parquet with an ``id`` column, without reading the text)."""
    for path in expand_inputs(spec):
        if file_kind(path) == "parquet":
            import pyarrow.parquet as pq

            pf = pq.ParquetFile(open_binary(path) if is_remote(path) else path)
            if "id" in pf.schema_arrow.names:
                for batch in pf.iter_batches(batch_size=65536, columns=["id"]):
                    yield from batch.column("id").to_pylist()
                continue
        for doc_id, _ in iter_documents([path], text_docs):
            yield doc_id


def count_documents(spec: str | Iterable[str], text_docs: str = "line") -> int | None:
    """Number of documents when it is cheap to know (Parquet footers), else None."""
    paths = expand_inputs(spec)
    if not paths or any(file_kind(p) != "parquet" for p in paths):
        return None
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(open_binary(p) if is_remote(p) else p).metadata.num_rows for p in paths)


def _parquet_batches(path: str, with_ids: bool) -> Iterator[list]:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(open_binary(path) if is_remote(path) else path)
    names = pf.schema_arrow.names
    if "text" not in names:
        raise ValueError(f"{path}: no `text` column (columns: {names})")
    columns = ["id", "text"] if with_ids and "id" in names else ["text"]
    for batch in pf.iter_batches(batch_size=4096, columns=columns):
        texts = batch.column("text").to_pylist()
        if not with_ids:
            yield [t for t in texts if t is not None]
            continue
        ids = batch.column("id").to_pylist() if "id" in columns else [None] * len(texts)
        yield [((i or make_doc_id(None, t)), t) for i, t in zip(ids, texts) if t is not None]


def _jsonl_docs(path: str) -> Iterator[tuple[str, str]]:
    with io.TextIOWrapper(open_binary(path), encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{lineno}: not JSON: {e}") from None
            if isinstance(obj, str):
                yield None, obj
            elif isinstance(obj, dict) and isinstance(obj.get("text"), str):
                text = obj["text"]
                yield str(obj.get("id") or make_doc_id(obj.get("url"), text)), text
            else:
                raise ValueError(f"{path}:{lineno}: expected a JSON string or an object with a `text` string")


def _text_docs(path: str, text_docs: str) -> Iterator[str]:
    with io.TextIOWrapper(open_binary(path), encoding="utf-8", newline="") as fh:
        if text_docs == "file":
            text = fh.read()
            if text:
                yield text
            return
        if text_docs == "line":
            for line in fh:
                line = line.rstrip("\r\n")
                if line.strip():
                    yield line
            return
        para: list[str] = []
        for line in fh:
            if line.strip():
                para.append(line)
            elif para:
                text = "".join(para).rstrip("\r\n")
                para = []
                yield text
        if para:
            yield "".join(para).rstrip("\r\n")
