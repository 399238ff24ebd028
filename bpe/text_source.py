"""Documents for BPE training and tokenization, streamed from corpus files.

Accepted inputs (a file, a folder or a glob; a list of them):

* Parquet shards in the document schema (``RUN/dedup``...): the ``text`` column (and ``id``);
* JSONL (``.jsonl``, ``.json``, optionally ``.gz``/``.bz2``/``.xz``/``.zst``): per line an object
  with ``text`` (and optionally ``id``), or a JSON string;
* MediaWiki XML dumps (``*.xml.bz2``, ``*.xml``): one document per article, markup stripped (an
  article with no text left is EMPTY, named by title and page id);
* any other file is plain text (optionally compressed): one document per line by default, or
  per blank-line separated paragraph, or the whole file (``text_docs``).

In plain text a line ends at ``\n`` or ``\r\n`` (read as ``\n``); a ``\r`` elsewhere is text.
Blank lines are not records: they separate lines and paragraphs.

Each document comes with an id: the schema's ``id`` when there is one, else
:func:`corpus_tools.schema.make_doc_id` of the text. Order is deterministic (sorted paths,
file order within a file).

A record that is not a document (a line that is not JSON or not UTF-8, a text that UTF-8 cannot
write — a JSON lone surrogate escape, Parquet string bytes that are not UTF-8 —, a null or
non-string text, a text that is empty or only whitespace) is a :class:`BadRecord`: it is handed
to the reader's ``on_bad`` (which the tokenize stage turns into a dead letter), or raised as
:class:`BadRecordError` when there is none; it is never dropped silently. A whole file that
cannot be documents (Parquet without a string ``text`` column, a JSONL file of which no line is
JSON) raises :class:`InputFileError`, naming it.
"""

from __future__ import annotations

import bz2
import glob
import gzip
import io
import json
import lzma
import os
import re
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from corpus_tools.schema import make_doc_id

TEXT_DOCS = ("line", "paragraph", "file")

# Why a record is not a document (the dead letter's ``reason``).
NOT_JSON = "not_json"  # a JSONL line that does not parse
NOT_UTF8 = "not_utf8"  # a text or JSONL line (or paragraph, or file) with bytes that are not UTF-8; a text UTF-8 cannot write
EMPTY = "empty"  # a text that is empty or only whitespace (no document)
NO_TEXT = "missing_text"  # (the reason filter, dedup, bloom give) a null text, an object without `text`, a JSON value that is neither string nor object
TEXT_NOT_STRING = "bad_text"  # (as filter, dedup, bloom say) `text` is a number, a list...


class InputFileError(ValueError):
    """A whole input file that cannot be documents; the message names the file."""


@dataclass(frozen=True)
class BadRecord:
    """One record of an input file that is not a document: where it was, and why."""

    source: str  # the file
    offset: int | None  # 1-based line of a text or JSONL file, 0-based row of a Parquet file
    reason: str  # NOT_JSON, NOT_UTF8, NO_TEXT, TEXT_NOT_STRING, EMPTY
    detail: str
    unit: str = "line"  # what `offset` counts: "line" or "row"

    def __str__(self) -> str:
        if self.offset is None:
            where = self.source
        else:
            where = f"{self.source}:{self.offset}" if self.unit == "line" else f"{self.source} row {self.offset}"
        return f"{where}: {self.detail}"


class BadRecordError(ValueError):
    """A bad record met by a reader that was given no ``on_bad``."""

    def __init__(self, bad: BadRecord):
        super().__init__(str(bad))
        self.bad = bad


OnBad = Callable[[BadRecord], None]


def raise_bad(bad: BadRecord) -> None:
    raise BadRecordError(bad)


def skip_bad(bad: BadRecord) -> None:
    """``on_bad`` for a pass over the inputs whose bad records another pass reports."""


_ESCAPED = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8, kept by errors="surrogateescape"


def _not_utf8(path: str, lineno: int, text: str) -> BadRecord | None:
    """The bad record of ``text`` (line ``lineno`` of ``path``, read with ``errors="surrogateescape"``)
    when it holds bytes that are not UTF-8, else None. The line is that of the first such byte."""
    if text.isascii():
        return None
    m = _ESCAPED.search(text)
    if m is None:
        return None
    line = lineno + text.count("\n", 0, m.start())
    column = m.start() - (text.rfind("\n", 0, m.start()) + 1)
    return BadRecord(path, line, NOT_UTF8, f"not UTF-8: byte 0x{ord(m.group()) - 0xDC00:02x} at character {column}")


_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(text: str) -> tuple[str, str] | None:
    """Why a decoded text (a JSON string, a Parquet value) is not a document — ``(reason, detail)``:
    a lone surrogate (``"\\ud800"`` in JSON), which UTF-8 cannot write, is NOT_UTF8; an empty or
    all-whitespace text is EMPTY — else None."""
    if not text or text.isspace():
        return EMPTY, "the text is empty" if not text else "the text is only whitespace"
    if not text.isascii():
        m = _SURROGATE.search(text)
        if m:
            return NOT_UTF8, (f"not UTF-8: a lone surrogate \\u{ord(m.group()):04x} at character {m.start()} "
                              "(UTF-8 cannot write it)")
    return None


def strip_line_ending(line):
    """A line (``str`` or ``bytes``) without its ``\n`` or ``\r\n`` ending; any other ``\r`` is text."""
    lf, crlf = ("\n", "\r\n") if isinstance(line, str) else (b"\n", b"\r\n")
    if line.endswith(crlf):
        return line[:-2]
    return line[:-1] if line.endswith(lf) else line


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


def iter_documents(spec: str | Iterable[str], text_docs: str = "line",
                   on_bad: OnBad | None = None) -> Iterator[tuple[str, str]]:
    """``(id, text)`` for every document of the inputs, in a deterministic order; each bad record
    goes to ``on_bad`` (default: raise :class:`BadRecordError`)."""
    for batch in _iter_batches(spec, text_docs, with_ids=True, on_bad=on_bad or raise_bad):
        yield from batch


def iter_texts(spec: str | Iterable[str], text_docs: str = "line", on_bad: OnBad | None = None) -> Iterator[str]:
    """The texts only (no ids computed, Parquet ``text`` column only), same order."""
    for batch in _iter_batches(spec, text_docs, with_ids=False, on_bad=on_bad or raise_bad):
        yield from batch


def iter_text_batches(spec: str | Iterable[str], text_docs: str = "line",
                      on_bad: OnBad | None = None) -> Iterator[list[str]]:
    """The texts in lists of up to a few thousand (what ``train_from_iterator`` takes cheapest)."""
    return _iter_batches(spec, text_docs, with_ids=False, on_bad=on_bad or raise_bad)


def _iter_batches(spec, text_docs: str, with_ids: bool, on_bad: OnBad) -> Iterator[list]:
    if text_docs not in TEXT_DOCS:
        raise ValueError(f"text_docs must be one of {TEXT_DOCS}, got {text_docs!r}")
    for path in expand_inputs(spec):
        kind = file_kind(path)
        if kind == "parquet":
            yield from _parquet_batches(path, with_ids, on_bad)
            continue
        if kind == "jsonl":
            docs = _jsonl_docs(path, on_bad)
        elif kind == "mediawiki":
            docs = _mediawiki_docs(path, with_ids, on_bad)
        else:
            docs = ((None, t) for t in _text_docs(path, text_docs, on_bad))
        batch: list = []
        for doc_id, text in docs:
            batch.append((doc_id or make_doc_id(None, text), text) if with_ids else text)
            if len(batch) == 4096:
                yield batch
                batch = []
        if batch:
            yield batch


def iter_ids(spec: str | Iterable[str], text_docs: str = "line") -> Iterator[str]:
    """The ids :func:`iter_documents` gives, in its order. Bad records are skipped: the
    :func:`iter_documents` pass reports them. Whether a record is a document depends on its text
    (null, blank, not UTF-8), so texts are read too; :func:`bpe.tokenize_docs.fallback_validation_id`
    stops at the first id in the validation split, so on a corpus of any size this reads the first
    batches only."""
    for doc_id, _ in iter_documents(spec, text_docs, on_bad=skip_bad):
        yield doc_id


def count_documents(spec: str | Iterable[str], text_docs: str = "line") -> int | None:
    """Number of documents when it is cheap to know (Parquet footers), else None."""
    paths = expand_inputs(spec)
    if not paths or any(file_kind(p) != "parquet" for p in paths):
        return None
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(open_binary(p) if is_remote(p) else p).metadata.num_rows for p in paths)


def _open_parquet(path: str):
    """A ``pyarrow.parquet.ParquetFile`` with a string ``text`` column, else :class:`InputFileError`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(open_binary(path) if is_remote(path) else path)
    names = pf.schema_arrow.names
    if "text" not in names:
        raise InputFileError(f"{path}: no `text` column (columns: {names})")
    kind = pf.schema_arrow.field("text").type
    value = kind.value_type if pa.types.is_dictionary(kind) else kind
    if not (pa.types.is_string(value) or pa.types.is_large_string(value)):
        raise InputFileError(f"{path}: the `text` column holds {kind}, not strings")
    return pf


def _parquet_id(doc_id, text: str) -> str:
    return str(doc_id) if doc_id else make_doc_id(None, text)


def _column_texts(column) -> list:
    """A Parquet batch's ``text`` column as Python values: ``str``, ``None``, or, for a value whose
    bytes are not UTF-8 (Arrow does not check what other writers put in a string column), the
    ``bytes`` themselves."""
    import pyarrow as pa

    try:
        return column.to_pylist()
    except UnicodeDecodeError:
        if pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        values = column.cast(pa.large_binary() if pa.types.is_large_string(column.type) else pa.binary()).to_pylist()
        out = []
        for v in values:
            try:
                out.append(None if v is None else v.decode("utf-8"))
            except UnicodeDecodeError:
                out.append(v)
        return out


def _checked_texts(path: str, column, ids: list | None, first_row: int, on_bad: OnBad) -> list[str | None]:
    """The texts of a Parquet batch, ``None`` for each row that is not a document (handed to ``on_bad``:
    a null text, bytes that are not UTF-8, an empty or all-whitespace text)."""
    texts = _column_texts(column)
    for k, t in enumerate(texts):
        if isinstance(t, str):
            problem = text_problem(t)
            if problem is None:
                continue
            reason, detail = problem
        elif t is None:
            reason, detail = NO_TEXT, "the text is null"
        else:
            bad = _not_utf8(path, 0, t.decode("utf-8", "surrogateescape"))
            reason, detail = bad.reason, bad.detail
        of = f"document {ids[k]}: " if ids and ids[k] else ""
        on_bad(BadRecord(path, first_row + k, reason, of + detail, unit="row"))
        texts[k] = None
    return texts


def _parquet_batches(path: str, with_ids: bool, on_bad: OnBad) -> Iterator[list]:
    pf = _open_parquet(path)
    columns = ["id", "text"] if with_ids and "id" in pf.schema_arrow.names else ["text"]
    row = 0
    for batch in pf.iter_batches(batch_size=4096, columns=columns):
        ids = None
        if "id" in columns:  # an id whose bytes are not UTF-8 still names its document
            ids = [i.decode("utf-8", "surrogateescape") if isinstance(i, bytes) else i
                   for i in _column_texts(batch.column("id"))]
        texts = _checked_texts(path, batch.column("text"), ids, row, on_bad)
        row += len(texts)
        if not with_ids:
            yield [t for t in texts if t is not None]
            continue
        ids = ids or [None] * len(texts)
        yield [(_parquet_id(i, t), t) for i, t in zip(ids, texts) if t is not None]


def _jsonl_docs(path: str, on_bad: OnBad) -> Iterator[tuple[str | None, str]]:
    lines = json_lines = 0
    with io.TextIOWrapper(open_binary(path), encoding="utf-8", errors="surrogateescape") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            lines += 1
            bad = _not_utf8(path, lineno, line)
            if bad:
                on_bad(bad)
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                on_bad(BadRecord(path, lineno, NOT_JSON, f"not JSON: {e}"))
                continue
            json_lines += 1
            text = obj.get("text") if isinstance(obj, dict) else obj
            problem = text_problem(text) if isinstance(text, str) else None
            if problem:
                on_bad(BadRecord(path, lineno, *problem))
            elif isinstance(text, str):
                yield (str(obj.get("id") or make_doc_id(obj.get("url"), text)) if isinstance(obj, dict) else None), text
            elif not isinstance(obj, dict):
                on_bad(BadRecord(path, lineno, NO_TEXT, f"a JSON {type(obj).__name__}, not a string or an object with `text`"))
            elif text is None:
                on_bad(BadRecord(path, lineno, NO_TEXT, "`text` is null" if "text" in obj else "no `text` in the object"))
            else:
                on_bad(BadRecord(path, lineno, TEXT_NOT_STRING, f"`text` is a JSON {type(text).__name__}, not a string"))
    if lines and not json_lines:
        raise InputFileError(f"{path}: not JSONL: none of its {lines} lines is JSON")


def _mediawiki_docs(path: str, with_ids: bool, on_bad: OnBad) -> Iterator[tuple[str | None, str]]:
    """The articles of a MediaWiki dump; one whose text is blank (templates alone, say) is EMPTY,
    as a blank JSONL or Parquet text is (its title and page id say which: a dump has no lines)."""
    from corpus_tools.mediawiki import iter_pages

    for page in iter_pages(open_binary(path) if is_remote(path) else path):
        if "blank" in page:
            on_bad(BadRecord(path, None, EMPTY, page["blank"]))
            continue
        yield (make_doc_id(page["title"], page["text"]) if with_ids else None), page["text"]


def _text_docs(path: str, text_docs: str, on_bad: OnBad) -> Iterator[str]:
    def good(text: str, lineno: int) -> bool:
        bad = _not_utf8(path, lineno, text)
        if bad:
            on_bad(bad)
        return bad is None

    # newline="\n": a line ends at "\n" alone (its "\r\n" is dropped below), so a "\r" inside a line stays text
    with io.TextIOWrapper(open_binary(path), encoding="utf-8", errors="surrogateescape", newline="\n") as fh:
        if text_docs == "file":
            text = fh.read().replace("\r\n", "\n")
            if text.strip():
                if good(text, 1):
                    yield text
            else:
                on_bad(BadRecord(path, 1, EMPTY, "the file is only whitespace" if text else "the file is empty"))
            return
        if text_docs == "line":
            for lineno, line in enumerate(fh, 1):
                line = strip_line_ending(line)
                if line.strip() and good(line, lineno):
                    yield line
            return
        para: list[str] = []
        start = 0
        for lineno, line in enumerate(fh, 1):
            line = strip_line_ending(line)
            if line.strip():
                if not para:
                    start = lineno
                para.append(line)
            elif para:
                text = "\n".join(para)
                para = []
                if good(text, start):
                    yield text
        if para:
            text = "\n".join(para)
            if good(text, start):
                yield text
