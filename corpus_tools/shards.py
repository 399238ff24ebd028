"""Parquet shard read/write for any of the project's schemas, on local or remote paths.

Remote paths (``gs://``, ``s3://``...) go through fsspec here; Beam pipelines use
``pipelines.parquet_io`` which goes through Beam's ``FileSystems`` instead.
Writes are deterministic: the same rows in the same order give the same bytes.
"""

from __future__ import annotations

import glob
import os
from typing import Any, Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from corpus_tools.schema import DOC_SCHEMA

# Fixed writer settings so that shards are byte-identical across runs.
PARQUET_WRITE_OPTIONS: dict[str, Any] = dict(
    compression="zstd",
    compression_level=3,
    use_dictionary=True,
    write_statistics=True,
    row_group_size=4096,
)


def _is_remote(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def write_table(table: pa.Table, path_or_file: Any) -> None:
    """Write one Parquet shard to a path or an open binary file object."""
    if isinstance(path_or_file, str) and _is_remote(path_or_file):
        import fsspec

        with fsspec.open(path_or_file, "wb") as fh:
            pq.write_table(table, fh, **PARQUET_WRITE_OPTIONS)
        return
    if isinstance(path_or_file, str):
        os.makedirs(os.path.dirname(os.path.abspath(path_or_file)), exist_ok=True)
    pq.write_table(table, path_or_file, **PARQUET_WRITE_OPTIONS)


def write_records(records: Iterable[dict[str, Any]], path_or_file: Any, schema: pa.Schema = DOC_SCHEMA) -> int:
    table = pa.Table.from_pylist(list(records), schema=schema)
    write_table(table, path_or_file)
    return table.num_rows


def expand_paths(spec: str | os.PathLike | Iterable[str]) -> list[str]:
    """Expand a folder, glob or list of them to a sorted list of ``*.parquet`` files.

    A folder means every ``*.parquet`` directly inside it (sub-folders such as
    ``_rejected/`` or ``_removed/`` are not included).
    """
    specs = [os.fspath(spec)] if isinstance(spec, (str, os.PathLike)) else [os.fspath(s) for s in spec]
    out: list[str] = []
    for s in specs:
        if _is_remote(s):
            import fsspec

            fs, _, paths = fsspec.get_fs_token_paths(s if any(c in s for c in "*?[") else s.rstrip("/") + "/*.parquet")
            protocol = s.split("://", 1)[0]
            out.extend(f"{protocol}://{p}" for p in paths)
        elif os.path.isdir(s):
            out.extend(glob.glob(os.path.join(s, "*.parquet")))
        elif any(c in s for c in "*?["):
            out.extend(glob.glob(s))
        elif os.path.exists(s):
            out.append(s)
        else:
            raise FileNotFoundError(f"no such file or folder: {s}")
    return sorted(set(out))


def read_table(spec: str | Iterable[str], columns: list[str] | None = None) -> pa.Table:
    """All rows of the shards in ``spec`` (folder, glob, file or list) as one table."""
    paths = expand_paths(spec)
    if not paths:
        return DOC_SCHEMA.empty_table() if columns is None else DOC_SCHEMA.empty_table().select(columns)
    tables = [_read_one(p, columns) for p in paths]
    return pa.concat_tables(tables, promote_options="default")


def _read_one(path: str, columns: list[str] | None) -> pa.Table:
    if _is_remote(path):
        import fsspec

        with fsspec.open(path, "rb") as fh:
            return pq.read_table(fh, columns=columns)
    return pq.read_table(path, columns=columns)


def iter_records(spec: str | Iterable[str], columns: list[str] | None = None, batch_size: int = 1024) -> Iterator[dict[str, Any]]:
    """Stream rows as dicts, shard by shard and batch by batch (never the whole corpus in memory)."""
    for path in expand_paths(spec):
        if _is_remote(path):
            import fsspec

            with fsspec.open(path, "rb") as fh:
                pf = pq.ParquetFile(fh)
                for batch in pf.iter_batches(batch_size=batch_size, columns=columns):
                    yield from batch.to_pylist()
        else:
            pf = pq.ParquetFile(path)
            for batch in pf.iter_batches(batch_size=batch_size, columns=columns):
                yield from batch.to_pylist()


def iter_texts(spec: str | Iterable[str], batch_size: int = 1024) -> Iterator[str]:
    """Stream only the ``text`` column."""
    for rec in iter_records(spec, columns=["text"], batch_size=batch_size):
        yield rec["text"]


def count_rows(spec: str | Iterable[str]) -> int:
    """Row count from Parquet footers only (no data read)."""
    total = 0
    for path in expand_paths(spec):
        if _is_remote(path):
            import fsspec

            with fsspec.open(path, "rb") as fh:
                total += pq.ParquetFile(fh).metadata.num_rows
        else:
            total += pq.ParquetFile(path).metadata.num_rows
    return total
