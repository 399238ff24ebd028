"""The ``[links] blocked_domain_files`` of a recipe, read once before a pipeline starts.

The links stage drops posts whose host is on a blocklist; the fetch stage ends a redirect onto one
(:mod:`corpus_tools.fetch`). Both read the files here (local or remote, through Beam's file
systems) and build the blocklist once, so a bad list fails before the pipeline, in one line.
"""

from __future__ import annotations

import posixpath

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from corpus_tools.links import PostFilter
from corpus_tools.recipe import LinksConfig
from corpus_tools.urls import read_domain_list
from pipelines.stage import StageError


def read_domain_files(paths: list[str]) -> dict[str, list[str]]:
    """``{file stem: domains}`` for ``[links] blocked_domain_files`` (local or remote)."""
    lists: dict[str, list[str]] = {}
    for path in paths:
        stem = posixpath.basename(path.rstrip("/")).split(".")[0] or "file"
        try:
            with FileSystems.open(path, compression_type=CompressionTypes.AUTO) as fh:
                lines = fh.read().decode("utf-8").splitlines()
        except (OSError, ValueError) as e:
            raise StageError(f"[links] blocked_domain_files: cannot read {path}: {e}") from None
        lists.setdefault(stem, []).extend(read_domain_list(lines))
    return lists


def checked_domain_lists(cfg: LinksConfig) -> dict[str, list[str]]:
    """The domain files of ``cfg`` read, and the blocklist they make with ``cfg``'s lists built once:
    a bad list fails here, before the pipeline. Workers build theirs from the returned lists."""
    domain_lists = read_domain_files(cfg.blocked_domain_files)
    PostFilter.from_config(cfg, domain_lists)
    return domain_lists
