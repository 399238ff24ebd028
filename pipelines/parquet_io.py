"""Reading and writing Parquet shards in Beam, deterministically, through Beam FileSystems.

``WriteShards`` puts each row in shard ``hash(key) % num_shards``, groups, sorts each shard by
its key and writes it with fixed writer settings, to a temporary name first and then renames:
the same rows give the same bytes on any runner and with any number of workers.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from typing import Any, Callable

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from corpus_tools.schema import DOC_SCHEMA, REJECT_SCHEMA
from corpus_tools.shards import PARQUET_WRITE_OPTIONS


def shard_name(index: int, num_shards: int, prefix: str = "part") -> str:
    return f"{prefix}-{index:05d}-of-{num_shards:05d}.parquet"


def shard_of(key: str, num_shards: int) -> int:
    try:
        return int(key[:8], 16) % num_shards  # document ids are hex hashes already
    except (TypeError, ValueError):
        digest = hashlib.blake2b(str(key).encode("utf-8", "surrogatepass"), digest_size=8).digest()
        return int.from_bytes(digest, "big") % num_shards


def _tiebreak(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True, default=str)


def write_parquet_file(path: str, rows: list[dict[str, Any]], schema: pa.Schema) -> None:
    """One Parquet file of row dicts through Beam FileSystems (local, gs://, s3://...), atomically."""
    write_parquet_table(path, pa.Table.from_pylist(rows, schema=schema))


def write_parquet_table(path: str, table: pa.Table) -> None:
    """One Parquet file through Beam FileSystems, written to a temporary name and renamed."""
    tmp = path + ".tmp"
    with FileSystems.create(tmp, mime_type="application/octet-stream",
                            compression_type=CompressionTypes.UNCOMPRESSED) as fh:
        pq.write_table(table, fh, **PARQUET_WRITE_OPTIONS)
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([tmp], [path])


def row_key_id(row: dict[str, Any]) -> str:
    return row["id"]


def reject_key(row: dict[str, Any]) -> str:
    return f"{row.get('source') or ''}\x00{row.get('offset') or 0:020d}\x00{row.get('reason')}"


class _WriteShard(beam.DoFn):
    def __init__(self, out_dir: str, schema: pa.Schema, num_shards: int, key: Callable, prefix: str):
        self.out_dir, self.schema, self.num_shards, self.key, self.prefix = out_dir, schema, num_shards, key, prefix

    def process(self, element):
        index, rows = element
        rows = sorted(rows, key=lambda r: (self.key(r), _tiebreak(r)))
        path = FileSystems.join(self.out_dir, shard_name(index, self.num_shards, self.prefix))
        write_parquet_file(path, rows, self.schema)
        yield path, len(rows)


class WriteShards(beam.PTransform):
    """Write a PCollection of row dicts as sorted Parquet shards; outputs (path, rows) pairs."""

    def __init__(self, out_dir: str, schema: pa.Schema, num_shards: int, key: Callable = row_key_id,
                 prefix: str = "part"):
        super().__init__()
        self.out_dir, self.schema, self.num_shards, self.key, self.prefix = out_dir, schema, num_shards, key, prefix

    def expand(self, pcoll):
        key, n = self.key, self.num_shards
        written = (
            pcoll
            | "AssignShard" >> beam.Map(lambda r: (shard_of(key(r), n), r))
            | "GroupShard" >> beam.GroupByKey()
            | "WriteShard" >> beam.ParDo(_WriteShard(self.out_dir, self.schema, n, key, self.prefix))
        )
        # No rows at all: still write (empty) shard 0, so an empty result is a readable, empty
        # dataset with the schema, not a missing one.
        n_written = written | "CountShards" >> beam.combiners.Count.Globally()
        empty = (
            pcoll.pipeline
            | "Once" >> beam.Create([None])
            | "EmptyShard" >> beam.FlatMap(self._write_empty_if_none, n_written=beam.pvalue.AsSingleton(n_written))
        )
        return (written, empty) | "Written" >> beam.Flatten()

    def _write_empty_if_none(self, _, n_written: int):
        if n_written == 0:
            path = FileSystems.join(self.out_dir, shard_name(0, self.num_shards, self.prefix))
            write_parquet_file(path, [], self.schema)
            yield path, 0


class WriteDocs(WriteShards):
    def __init__(self, out_dir: str, num_shards: int):
        super().__init__(out_dir, DOC_SCHEMA, num_shards, key=row_key_id)


class WriteRejects(WriteShards):
    """Dead letters (REJECT_SCHEMA) to their own folder, e.g. ``RUN/docs/_rejected/``."""

    def __init__(self, out_dir: str, num_shards: int = 1):
        super().__init__(out_dir, REJECT_SCHEMA, num_shards, key=reject_key)


def _is_folder(path: str) -> bool:
    if path.endswith("/"):
        return True
    if "://" in path and not path.startswith("file://"):
        return False
    import os

    return os.path.isdir(path)


def match_files(patterns: list[str], suffixes: tuple[str, ...] | None = None) -> list[str]:
    """Expand globs and folders (direct children only) through Beam FileSystems to sorted files.

    Of a folder or glob, names starting with ``_`` or ``.`` (markers, temp files) are never included,
    nor (given ``suffixes``) names without one of them. A file named outright (no glob character) is
    included whatever its name: the user chose it, so it is read, or refused by its reader, never
    skipped in silence.
    """
    out: list[str] = []
    for pattern in patterns:
        folder = _is_folder(pattern)
        spec = FileSystems.join(pattern.rstrip("/"), "*") if folder else pattern
        named = not folder and not any(c in pattern for c in "*?[")
        for m in FileSystems.match([spec])[0].metadata_list:
            name = posixpath.basename(m.path)
            if named:
                out.append(m.path)
            elif name.startswith(("_", ".")) or name.endswith(".tmp"):
                continue
            elif suffixes is None or m.path.endswith(suffixes):
                out.append(m.path)
    return sorted(set(out))


def check_parquet_files(files: list[str], every_file: bool = False,
                        schema_problem: Callable[[pa.Schema], str | None] | None = None,
                        what: str = "file") -> None:
    """Fail in one line, before a pipeline starts, on a local ``*.parquet`` file (with
    ``every_file``: on any local file) that is not Parquet, or whose schema ``schema_problem``
    finds wrong ("X is not a {what}: <problem>").

    Reads each local file's footer (cheap); remote files are left to the pipeline, since opening
    thousands of objects from the submitting machine would cost more than it saves.
    """
    from pipelines.errors import UserError

    for f in files:
        if (not every_file and not f.endswith(".parquet")) or ("://" in f and not f.startswith("file://")):
            continue
        try:
            meta = pq.read_metadata(f.removeprefix("file://"))
        except (pa.ArrowException, OSError) as e:
            raise UserError(f"{f} is not a readable Parquet file: {e}") from None
        problem = schema_problem(meta.schema.to_arrow_schema()) if schema_problem else None
        if problem:
            raise UserError(f"{f} is not a {what}: {problem}")


class ReadDocs(beam.PTransform):
    """Rows (dicts) of every ``*.parquet`` file in the given folders/globs/files.

    Inputs that hold files but no ``*.parquet`` one (a JSONL file given to a document stage)
    are an error, not an empty corpus; an empty folder is an empty corpus.
    """

    def __init__(self, paths: list[str]):
        super().__init__()
        self.files = match_files(paths, suffixes=(".parquet",))
        if not self.files:
            others = match_files(paths)
            if others:
                from pipelines.errors import UserError

                raise UserError(f"no Parquet document files in {' '.join(paths)} "
                                f"(found {len(others)} other file(s), e.g. {others[0]})")

    def expand(self, pbegin):
        return (
            pbegin
            | "ListShards" >> beam.Create(self.files)
            | "ReadShards" >> beam.io.ReadAllFromParquet()
        )
