"""The run directory: one folder per run, one sub-folder per stage, a success marker each.

Layout (see docs/architecture.md)::

    RUN/recipe.toml  links/  warc/  docs/  filtered/  dedup/  bloom/  tokenizer/  tokens/
        stats/<stage>.json  contamination/  card/

Side outputs sit inside the stage folder under ``_``-names (``_rejected/``, ``_removed/<reason>/``,
``_clusters/``) that folder readers skip. A stage is finished when ``RUN/<its folder>/_SUCCESS`` exists; a rerun skips it unless forced.
Paths may be local or remote (``gs://``...); remote access goes through fsspec.
A standalone command refuses an output inside a run's folders (:func:`refuse_run_folder`): only
the run's stages write there.
"""

from __future__ import annotations

import json
import os
import posixpath
import shutil
from typing import Any

# stage name -> the folder it owns inside the run directory
STAGE_DIRS: dict[str, str] = {
    "links": "links",
    "fetch": "warc",
    "extract": "docs",
    "filter": "filtered",
    "dedup": "dedup",
    "bloom": "bloom",
    "tokenize": "tokens",
    "contamination": "contamination",
    "datacard": "card",
}

# folders a stage writes besides its own (cleared, set aside and restored with it): tokenize's
# tokenizer, kept apart from tokens/ since `webtext train` and `webtext sample` look for it there
TOKENIZER_DIR = "tokenizer"
STAGE_EXTRA_DIRS: dict[str, tuple[str, ...]] = {
    "tokenize": (TOKENIZER_DIR,),
}

SUCCESS_MARKER = "_SUCCESS"

# Side outputs kept inside a stage's folder. Their names start with "_" because pyarrow, pandas,
# Spark and Dask skip such paths when they read a folder: ``pandas.read_parquet("RUN/filtered")``
# gives the kept documents alone, not the removed ones or the dead letters as well.
REJECTED_DIR = "_rejected"  # dead letters (REJECT_SCHEMA), every stage
REMOVED_DIR = "_removed"  # documents a filter or dedup removed, one sub-folder per reason
CLUSTERS_DIR = "_clusters"  # dedup's duplicate clusters (CLUSTER_SCHEMA)


def _remote(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def join(base: str, *parts: str) -> str:
    return posixpath.join(base, *parts) if _remote(base) else os.path.join(base, *parts)


class RunDir:
    """Paths and markers of one run directory."""

    def __init__(self, root: str | os.PathLike):
        root = os.fspath(root)
        self.root = root if _remote(root) else os.path.abspath(root)

    # ---- paths
    def path(self, *parts: str) -> str:
        return join(self.root, *parts)

    def stage_dir(self, stage: str) -> str:
        return self.path(STAGE_DIRS.get(stage, stage))

    def stats_path(self, stage: str) -> str:
        return self.path("stats", f"{stage}.json")

    @property
    def recipe_path(self) -> str:
        return self.path("recipe.toml")

    # ---- file helpers (local or fsspec)
    def _fs(self):
        import fsspec

        return fsspec.core.url_to_fs(self.root)[0]

    def exists(self, path: str) -> bool:
        return self._fs().exists(path) if _remote(path) else os.path.exists(path)

    def write_text(self, path: str, text: str) -> None:
        if _remote(path):
            with self._fs().open(path, "w") as fh:
                fh.write(text)
            return
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)  # atomic: a reader never sees half a file

    def read_text(self, path: str) -> str:
        if _remote(path):
            with self._fs().open(path, "r") as fh:
                return fh.read()
        with open(path, encoding="utf-8") as fh:
            return fh.read()

    def makedirs(self, path: str) -> None:
        if not _remote(path):
            os.makedirs(path, exist_ok=True)

    def remove_tree(self, path: str) -> None:
        if _remote(path):
            fs = self._fs()
            if fs.exists(path):
                fs.rm(path, recursive=True)
        elif os.path.isdir(path):
            shutil.rmtree(path)

    # ---- markers and stats
    def is_run_directory(self) -> bool:
        """Whether this is a run directory: a stage has run in it (``recipe.toml`` or ``stats/``)."""
        return self.exists(self.recipe_path) or self.exists(self.path("stats"))

    def is_done(self, stage: str) -> bool:
        return self.exists(join(self.stage_dir(stage), SUCCESS_MARKER))

    def mark_done(self, stage: str, execution_id: str = "") -> None:
        """Mark the stage finished; the marker holds the ``execution_id`` of the stats it was made with."""
        self.write_text(join(self.stage_dir(stage), SUCCESS_MARKER), execution_id)

    def done_execution(self, stage: str) -> str:
        """The ``execution_id`` in a finished stage's marker ("" for a marker without one)."""
        return self.read_text(join(self.stage_dir(stage), SUCCESS_MARKER)).strip()

    def remove_file(self, path: str) -> None:
        if not self.exists(path):
            return
        if _remote(path):
            self._fs().rm(path)
        else:
            os.remove(path)

    def _owned(self, stage: str) -> list[tuple[str, str]]:
        """``(path, name in a set-aside folder)`` of everything the stage writes: its folder, its
        extra folders (:data:`STAGE_EXTRA_DIRS`) and its stats."""
        return ([(self.stage_dir(stage), "dir")]
                + [(self.path(extra), f"extra-{extra}") for extra in STAGE_EXTRA_DIRS.get(stage, ())]
                + [(self.stats_path(stage), "stats.json")])

    def clear_stage(self, stage: str) -> None:
        """Remove a stage's outputs (its extra folders too) and stats before it is (re)run."""
        for path, name in self._owned(stage):
            if name == "stats.json":
                self.remove_file(path)
            else:
                self.remove_tree(path)

    def set_aside(self, stage: str) -> str | None:
        """Clear a stage before it is (re)run, keeping what it had until it is known to run: in a
        local run directory its folder(s) and stats move to ``RUN/.previous-<stage>/`` (a rename),
        for :meth:`restore_stage` when the stage refuses to run, :meth:`drop_aside` otherwise.
        A remote run directory (where a rename is a copy) is cleared at once; returns None then."""
        if _remote(self.root):
            self.clear_stage(stage)
            return None
        aside = self.path(f".previous-{stage}")
        self.remove_tree(aside)  # left by a run that was killed
        found = [(src, name) for src, name in self._owned(stage) if os.path.exists(src)]
        if not found:  # nothing to keep (and no folder made: --out may not be one)
            return None
        os.makedirs(aside)
        for src, name in found:
            os.replace(src, os.path.join(aside, name))
        return aside

    def restore_stage(self, stage: str, aside: str | None) -> None:
        """Put back what :meth:`set_aside` moved, replacing whatever the stage wrote since."""
        if aside is None:
            return
        self.clear_stage(stage)
        for dst, name in self._owned(stage):
            if os.path.exists(os.path.join(aside, name)):
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                os.replace(os.path.join(aside, name), dst)
        self.drop_aside(aside)

    def drop_aside(self, aside: str | None) -> None:
        if aside is not None:
            self.remove_tree(aside)

    def write_stats(self, stage: str, stats: dict[str, Any]) -> None:
        self.write_text(self.stats_path(stage), json.dumps(stats, indent=2, sort_keys=True, default=str) + "\n")

    def read_stats(self, stage: str) -> dict[str, Any] | None:
        """The stage's stats, or None when the stage has not run."""
        path = self.stats_path(stage)
        if not self.exists(path):
            return None
        return json.loads(self.read_text(path))


class RunFolderError(ValueError):
    """A standalone command was given a folder a run directory owns as its output (one line for the user)."""


# the stage that writes each folder of a run directory (its own folder or an extra one)
FOLDER_STAGES: dict[str, str] = {
    **{folder: stage for stage, folder in STAGE_DIRS.items()},
    **{folder: stage for stage, extras in STAGE_EXTRA_DIRS.items() for folder in extras},
}


def _parent(path: str) -> str:
    return posixpath.dirname(path.rstrip("/")) if _remote(path) else os.path.dirname(path)


def run_folder_owner(path: str) -> tuple[RunDir, str, str, bool] | None:
    """``(run, stage, folder, inside)`` when ``path`` is (``inside`` False), or lies inside, a folder
    that a run directory owns: a stage's folder, or tokenize's ``tokenizer/``, of a folder holding
    ``recipe.toml`` or ``stats/``. None for any other path."""
    path = path.rstrip("/") if _remote(path) else os.path.abspath(path)
    inside = False
    while True:
        parent = _parent(path)
        if not parent or parent == path or _remote(path) != _remote(parent):  # past the root or the bucket
            return None
        name = posixpath.basename(path) if _remote(path) else os.path.basename(path)
        if name in FOLDER_STAGES:
            run = RunDir(parent)
            if run.is_run_directory():
                return run, FOLDER_STAGES[name], name, inside
        path, inside = parent, True


def refuse_run_folder(path: str, flag: str = "--out") -> None:
    """Raise :class:`RunFolderError` when a standalone command's output ``path`` is, or is inside, a
    folder a run directory owns: writing there would change a finished stage's output behind the
    run's back (no stats, the old ``_SUCCESS`` kept, the card describing what is no longer there),
    or be removed when the stage is redone. The line names the run, and for a stage's folder the
    command that redoes the stage in the run."""
    owner = run_folder_owner(path)
    if owner is None:
        return
    run, stage, folder, inside = owner
    where = f"{folder}/ of the run directory {run.root}, which its {stage} stage writes"
    if inside:
        raise RunFolderError(f"{flag} {path} is inside {where} (and replaces when it is redone); "
                             f"give {flag} a path outside the run's folders")
    redo = (f"`webtext run --out {run.root} --recipe RECIPE --force {stage}` ([{stage}] changed in RECIPE; "
            f"the stages after it are redone too)")
    if stage == "tokenize":
        redo += f" or `webtext tokenize --out {run.root} --tokenizer DIR --force tokenize`"
    raise RunFolderError(f"{flag} {path} is {where} and its stats and card describe; redo the stage there "
                         f"instead with {redo}, or give {flag} another folder")
