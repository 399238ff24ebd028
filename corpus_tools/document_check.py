"""Is a record a document? DOC_SCHEMA checked file by file and record by record.

Every stage that reads documents checks them here before its own work, so that one bad record
becomes a dead letter with a reason instead of killing the run in the Parquet writer:

- a record without an id or a text is ``missing_id`` / ``missing_text``;
- a value that converts to its column's type without loss is converted (the string
  ``"117328"`` in ``warc_offset``, an int64 column; ``2.0`` in an int column; ``1`` in a
  float column); any other value of the wrong type is ``bad_<column>`` (``bad_warc_offset``);
- columns DOC_SCHEMA does not declare are dropped (the Parquet writer would drop them anyway).

A whole file that cannot hold documents (no ``id`` or ``text`` column, or one that is not a
string column) is not checked record by record: :func:`file_problem` says what is wrong with
it, and the stage refuses the input before it starts.
"""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa

from corpus_tools.schema import DOC_SCHEMA

REQUIRED = ("id", "text")
_INTEGER = re.compile(r"[+-]?\d+")


class InvalidDocument(ValueError):
    """A record that is not a document: ``reason`` (machine-readable) and ``detail``."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


def _is_string_type(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t)


def file_problem(schema: pa.Schema) -> str | None:
    """Why a Parquet file with this schema cannot hold documents, or None when it can."""
    missing = [c for c in REQUIRED if c not in schema.names]
    if missing:
        return (f"no {' and no '.join(repr(c) for c in missing)} column "
                f"(its columns: {', '.join(schema.names) or 'none'})")
    for c in REQUIRED:
        t = schema.field(c).type
        if not _is_string_type(t):
            return f"column {c!r} is {t}, not string"
    return None


def convert_value(value: Any, t: pa.DataType) -> Any:
    """``value`` as a value of arrow type ``t``, converted only when nothing is lost; else ValueError."""
    if value is None:
        return None
    if pa.types.is_string(t):
        if isinstance(value, str):
            return value
    elif pa.types.is_integer(t):
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        elif isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
            value = int(value.strip())
        if isinstance(value, int):
            bits = t.bit_width - 1
            if -(1 << bits) <= value < (1 << bits):
                return value
    elif pa.types.is_floating(t):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            return float(value)  # ValueError when it is not a number
    elif pa.types.is_list(t):
        if isinstance(value, (list, tuple)):
            return [convert_value(v, t.value_type) for v in value]
    raise ValueError


def conform_document(doc: dict[str, Any]) -> dict[str, Any]:
    """The record as a document: every DOC_SCHEMA column, each value of its column's type.

    Raises :class:`InvalidDocument` when the record has no id or text, or a value that does
    not convert to its column's type without loss."""
    doc_id = doc.get("id")
    if doc_id is None or doc_id == "":
        raise InvalidDocument("missing_id", "document has no id")
    if doc.get("text") is None:
        raise InvalidDocument("missing_text", f"document {doc_id} has no text")
    out: dict[str, Any] = {}
    for field in DOC_SCHEMA:
        value = doc.get(field.name)
        try:
            out[field.name] = convert_value(value, field.type)
        except (ValueError, TypeError):
            raise InvalidDocument(f"bad_{field.name}", f"document {doc_id}: {field.name} is {value!r:.100}, "
                                  f"not {field.type}") from None
    return out


def document_text(record: dict[str, Any]) -> str | None:
    """The text of a record that is a document (:func:`conform_document`), else None: for a pass
    that only reads texts, while another pass counts and dead-letters the records that are not."""
    try:
        return conform_document(record)["text"]
    except InvalidDocument:
        return None
