"""The stage framework: what a stage is, what it is given, and how it is run, skipped and recorded.

A stage is a :class:`Stage` subclass whose ``run(ctx)`` builds and runs its pipeline(s) and
returns a :class:`StageResult`. :func:`execute_stage` does the rest: skip when finished, clear
and redo when forced, time it, turn Beam counters into ``stats/<stage>.json``, write the
success marker, and print the counters.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from corpus_tools.recipe import Recipe, RecipeError, load_recipe
from corpus_tools.rundir import RunDir, join
from corpus_tools.versions import library_versions
from pipelines.errors import UserError
from pipelines.metrics import collect_counters, split_counters
from pipelines.options import describe_runner, new_pipeline


class StageError(RuntimeError):
    """A stage cannot run (missing input, previous stage not run...): one line for the user."""


@dataclass
class StageResult:
    records_in: int | None = None  # default: the "in" counter
    records_out: int | None = None  # default: the "out" counter
    reasons: dict[str, int] | None = None  # default: the "reason.*" counters
    details: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    # The stage ran but its output is of no use (a fetch that archived nothing): its stats are
    # written, it is not marked done (a rerun redoes it), and the command fails with this message.
    failure: str | None = None


class StageContext:
    """Everything a stage may use: the run directory, the recipe, its inputs, the Beam arguments."""

    def __init__(self, run: RunDir, recipe: Recipe, beam_args: list[str] | None = None,
                 inputs: list[str] | None = None, log: Callable[[str], None] | None = None,
                 build_only: bool = False):
        self.run = run
        self.recipe = recipe
        self.beam_args = list(beam_args or [])
        self.inputs = list(inputs) if inputs else None
        self.counters: dict[str, int] = {}
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self._stage: str | None = None
        # build_only: pipelines are constructed (and kept in `built`) but not run, e.g. to check
        # that a stage's graph serialises to the portable runner API before sending it to Dataflow.
        self.build_only = build_only
        self.built: list[Any] = []
        self.ran_beam = False
        self.read_from: list[str] = []
        self.read_stages: list[str] = []  # run stages whose outputs this stage read
        self._kinds: tuple[tuple[str, ...], Any] | None = None  # the last input_files() look

    def input_files(self, patterns: list[str]):
        """The files of ``patterns`` by kind (:func:`pipelines.input_files.input_files`), looked at
        once per command: `webtext run` decides its first stage from them, and that stage reads
        them again (a file whose name does not say its kind is opened to tell, on gs:// a request)."""
        from pipelines.input_files import input_files

        key = tuple(patterns)
        if self._kinds is None or self._kinds[0] != key:
            self._kinds = (key, input_files(list(patterns)))
        return self._kinds[1]

    def reads(self, stage: str) -> str:
        """The output folder of the run's stage ``stage``, noted as an input of the running stage."""
        if stage not in self.read_stages:
            self.read_stages.append(stage)
        return self.run.stage_dir(stage)

    def input_or(self, previous: str) -> list[str]:
        """The ``--input`` paths, or the output folder of the stage ``previous`` (which must have run)."""
        if self.inputs:
            return self.inputs
        if not self.run.is_done(previous):
            raise StageError(
                f"stage '{self._stage}' reads the output of '{previous}', which has not run in {self.run.root}; "
                f"run it first or pass --input"
            )
        self.read_from = [self.reads(previous)]  # recorded as the stage's "inputs"
        return self.read_from

    def run_beam(self, build: Callable[[Any], Any]) -> dict[str, int]:
        """Build a pipeline with ``build(p)``, run it to completion, return this stage's counters."""
        p = new_pipeline(self.beam_args)
        build(p)
        if not self.build_only:
            self.log(f"[{self._stage}] Beam pipeline on {describe_runner(self.beam_args)}")
        if self.build_only:
            self.built.append(p)
            return {}
        result = p.run()
        result.wait_until_finish()
        self.ran_beam = True
        counters = collect_counters(result, self._stage or "")
        for k, v in counters.items():
            self.counters[k] = self.counters.get(k, 0) + v
        return counters


class Stage:
    name: str = ""
    sections: tuple[str, ...] = ()
    # The [run] keys this stage's output depends on (num_shards, seed): recorded in its stats'
    # parameters as {"run": {...}} and compared on a rerun like its sections. Never name or inputs.
    run_keys: tuple[str, ...] = ()
    # Recipe settings ("section.key") naming a file whose content the output depends on (a model):
    # its SHA-256 is recorded in the stats' parameters as {"files": {...}} and compared on a rerun,
    # so a file retrained at the same path makes the finished stage "changed".
    files: tuple[str, ...] = ()
    # The stage whose output it reads when given no --input (None: none, or more than one)
    upstream: str | None = None
    # A report of the others' outputs (the card): redone, not refused, when one was made again since
    redo_when_stale: bool = False

    def input_stages(self, recipe: Recipe) -> tuple[str, ...]:
        """Every run stage whose output this stage reads with this recipe (its upstream, and for
        contamination bloom too): `webtext run` redoes it after one of them was redone in the same
        command, and only then (``--force bloom`` does not retokenize: tokenize reads dedup)."""
        return (self.upstream,) if self.upstream else ()

    def needs(self, recipe: Recipe, given_input: bool) -> tuple[str, ...]:
        """The run stages whose output must exist before this one runs (``given_input``: it is the
        first stage of a command with --input, which replaces its upstream): `webtext run` refuses,
        before anything runs, a stage that needs one neither done nor among the stages it runs."""
        return (self.upstream,) if self.upstream and not given_input else ()

    def reads_when_present(self, run: RunDir) -> tuple[str, ...]:
        """The run stages whose outputs this stage would read if it ran now, for a stage that reads
        whichever exist (the card: every stage with stats). One it did not read when it ran (run
        since for the first time, e.g. `webtext decontaminate --run RUN`) makes it stale, as one
        made again since does (:func:`stale_reason`). Other stages read a fixed upstream: ()."""
        return ()

    def check(self, recipe: Recipe) -> None:
        """Raise :class:`StageError` for a setting of this stage's that is wrong before anything
        runs (a file it names that is missing or of the wrong kind). ``webtext run`` checks every
        stage it will run before the first starts, so a typo in [filter] is not found after a
        day's fetch, and tells :func:`execute_stage` so (``checked``): each is checked once."""

    def run(self, ctx: StageContext) -> StageResult:  # pragma: no cover - interface
        raise NotImplementedError


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def stage_parameters(recipe: Any, sections: tuple[str, ...], run_keys: tuple[str, ...] = (),
                     files: tuple[str, ...] = ()) -> dict[str, Any]:
    """What a stage records as its ``parameters``: its recipe sections whole, of ``[run]`` only
    the keys its output depends on (``run_keys``), and the SHA-256 of the files ``files`` name."""
    params = {s: recipe.to_dict()[s] for s in sections}
    if run_keys:
        run = recipe.to_dict()["run"]
        params["run"] = {k: run[k] for k in run_keys}
    named = {f: getattr(recipe.section(f.split(".")[0]), f.split(".")[1]) for f in files}
    if any(named.values()):
        params["files"] = {f: file_sha256(path) for f, path in named.items() if path}
    return params


def file_sha256(path: str) -> str | None:
    """``sha256:<hex>`` of a file's content (local or fsspec URL); None when it cannot be read
    (a finished stage whose model has since been removed is not redone for that)."""
    import hashlib

    import fsspec

    digest = hashlib.sha256()
    try:
        with fsspec.open(path, "rb") as fh:
            while chunk := fh.read(1 << 24):
                digest.update(chunk)
    except OSError:
        return None
    return "sha256:" + digest.hexdigest()


def changed_parameters(stats: dict[str, Any] | None, recipe: Any, stage: Stage) -> list[str]:
    """``[section] key: finished -> recipe`` for each setting a finished stage ran with that the recipe
    now sets otherwise, and ``[section] key: file content changed`` for a file it names whose
    content differs. Keys only one side has (a newer or older webtext) are not differences."""
    if not stats or "parameters" not in stats:
        return []
    now = json.loads(json.dumps(stage_parameters(recipe, stage.sections, stage.run_keys, stage.files), default=str))
    out = []
    for section, before in stats["parameters"].items():
        after = now.get(section)
        if not isinstance(before, dict) or not isinstance(after, dict):
            continue
        for key in sorted(before.keys() & after.keys()):
            if section == "files":
                if before[key] and after[key] and before[key] != after[key]:
                    sec, name = key.split(".")
                    out.append(f"[{sec}] {name}: the file's content changed since (now {after[key][:19]}..., "
                               f"was {before[key][:19]}...)")
            elif before[key] != after[key]:
                out.append(f"[{section}] {key}: {before[key]!r} -> {after[key]!r}")
    return out


def _expand(patterns: list[str]) -> list[str]:
    from pipelines.parquet_io import match_files

    files = []
    for f in match_files(list(patterns)):
        if "://" not in f or f.startswith("file://"):  # the file itself, whatever path or link names it
            f = os.path.realpath(f.removeprefix("file://"))
        files.append(f)
    return sorted(set(files))


def same_inputs(now: list[str], before: list[str]) -> bool:
    """Whether two lists of input paths/globs name the same files: a relative path, a glob or
    another order naming what a finished stage read is the same input. Spelled alike is the same
    even when the files are gone."""
    if sorted(now) == sorted(before):
        return True
    files = _expand(now)
    return bool(files) and files == _expand(before)


def stale_inputs(run: RunDir, stats: dict[str, Any] | None) -> list[str]:
    """The run stages a finished stage read whose output has been made again since (each stage's
    stats carry an ``execution_id``; a reader records the ids of what it read)."""
    if not stats:
        return []
    return [s for s, eid in sorted(stats.get("input_executions", {}).items())
            if eid is not None and (run.read_stats(s) or {}).get("execution_id") != eid]


def stale_reason(run: RunDir, stage: Stage, stats: dict[str, Any] | None) -> str:
    """Why a finished stage's output is out of date ("" when it is not): made from an earlier
    output of a stage made again since, or (a stage that reads whichever exist: the card) before
    a stage it would read now had run at all."""
    if not stats:
        return ""
    read = stats.get("input_executions") or {}
    earlier = stale_inputs(run, stats)
    unread = [s for s in stage.reads_when_present(run) if s not in read]
    return "; ".join(why for why in (
        earlier and f"made from an earlier output of {', '.join(earlier)}",
        unread and f"made before {', '.join(unread)} ran",
    ) if why)


def execute_stage(stage: Stage, ctx: StageContext, force: bool = False, checked: bool = False) -> dict[str, Any] | None:
    """Run one stage unless it is finished; returns its stats (None when skipped). ``checked``:
    the caller has already run ``stage.check(ctx.recipe)`` (`webtext run`, before its first stage);
    otherwise the stage is checked here, before it runs."""
    run = ctx.run
    if run.is_done(stage.name) and not force:
        finished = run.read_stats(stage.name)
        marker = run.done_execution(stage.name)
        if marker and marker != (finished or {}).get("execution_id"):
            why = (f"there is no {run.stats_path(stage.name)}" if finished is None else
                   f"its _SUCCESS names execution {marker}, {run.stats_path(stage.name)} "
                   f"{finished.get('execution_id')}")
            raise StageError(f"{run.stage_dir(stage.name)} does not belong to this run ({why}; copied in from "
                             f"another run?); redo it with --force {stage.name}, or use a new run directory")
        changed = changed_parameters(finished, ctx.recipe, stage)
        if changed:
            raise StageError(
                f"stage '{stage.name}' finished in {run.root} with other settings ({'; '.join(changed)}); "
                f"redo it with --force {stage.name} (later stages follow), or use a new run directory")
        before_inputs = (finished or {}).get("inputs")
        if ctx.inputs and before_inputs and not same_inputs(ctx.inputs, before_inputs):
            raise StageError(
                f"stage '{stage.name}' finished in {run.root} from other inputs ({' '.join(before_inputs)}) "
                f"than these ({' '.join(ctx.inputs)}); "
                f"redo it with --force {stage.name} (later stages follow), or use a new run directory")
        stale = stale_reason(run, stage, finished)
        if stale and not stage.redo_when_stale:
            raise StageError(
                f"stage '{stage.name}' in {run.root} was {stale} (run again since); redo it with --force {stage.name}")
        if not stale:
            ctx.log(f"[{stage.name}] already done in {run.stage_dir(stage.name)} (use --force {stage.name} to redo)")
            return None
        ctx.log(f"[{stage.name}] redoing it: {stale}")
    # The stage's previous outputs are set aside, not deleted, until it runs: a forced stage that
    # refuses its inputs (StageError) leaves the run as it was, its finished outputs included.
    previous = run.set_aside(stage.name)
    # The resolved recipe is recorded before the stage runs (the datacard stage reads it), and
    # taken back when the stage refuses its inputs: a command that fails on its arguments or
    # inputs leaves the run's recipe.toml as it was (none, nor a run folder, for a new RUN).
    before = run.read_text(run.recipe_path) if run.exists(run.recipe_path) else None
    new_root = not run.exists(run.root)
    run.write_text(run.recipe_path, ctx.recipe.to_toml())
    ctx.counters = {}
    ctx.ran_beam = False
    ctx.read_from = []
    ctx.read_stages = []
    ctx._stage = stage.name
    ctx.log(f"[{stage.name}] running")
    started, t0 = _now(), time.perf_counter()
    try:
        if not checked:
            stage.check(ctx.recipe)
        result = stage.run(ctx)
    except (StageError, UserError):  # refused on its inputs or options: nothing ran
        if new_root:  # everything in it is this refused stage's
            run.remove_tree(run.root)
            raise
        run.restore_stage(stage.name, previous)
        if before is not None:
            run.write_text(run.recipe_path, before)
        else:
            run.remove_file(run.recipe_path)
        raise
    except BaseException:  # a crash or Ctrl-C: the stage is not done and a rerun redoes it
        run.drop_aside(previous)
        raise
    run.drop_aside(previous)
    elapsed = time.perf_counter() - t0
    c_in, c_out, c_reasons = split_counters(ctx.counters)
    if ctx.ran_beam:  # a counter that never fired counted nothing
        c_in, c_out = c_in or 0, c_out or 0
    stats = {
        "stage": stage.name,
        "records_in": result.records_in if result.records_in is not None else c_in,
        "records_out": result.records_out if result.records_out is not None else c_out,
        "reasons": result.reasons if result.reasons is not None else c_reasons,
        "counters": ctx.counters,
        "details": result.details,
        "parameters": stage_parameters(ctx.recipe, stage.sections, stage.run_keys, stage.files),
        "inputs": ctx.inputs or ctx.read_from,
        "execution_id": uuid.uuid4().hex,
        "input_executions": {s: (run.read_stats(s) or {}).get("execution_id") for s in ctx.read_stages},
        "outputs": result.outputs or {"dir": run.stage_dir(stage.name)},
        "started_at": started,
        "finished_at": _now(),
        "elapsed_s": round(elapsed, 3),
        "versions": library_versions(),
    }
    run.write_stats(stage.name, stats)
    _print_summary(ctx, stats)
    if result.failure:
        raise StageError(result.failure)
    run.mark_done(stage.name, stats["execution_id"])
    if stats["records_in"] and not stats["records_out"]:
        ctx.log(f"[{stage.name}] warning: nothing came out of {stats['records_in']} records in (reasons above); "
                f"later stages will have nothing to work on")
    return stats


def _print_summary(ctx: StageContext, stats: dict[str, Any]) -> None:
    name = stats["stage"]
    ctx.log(f"[{name}] done in {stats['elapsed_s']:.1f}s: {stats['records_in']} in, {stats['records_out']} out")
    for reason, n in (stats["reasons"] or {}).items():
        ctx.log(f"[{name}]   {reason:<28} {n}")
    others = {k: v for k, v in stats["counters"].items() if k not in ("in", "out") and not k.startswith("reason.")}
    for k, v in others.items():
        ctx.log(f"[{name}]   counter {k:<20} {v}")


# --------------------------------------------------------------------------- CLI plumbing
def add_stage_arguments(parser: argparse.ArgumentParser, input_help: str = "input paths or globs") -> None:
    """The arguments every run-directory command shares (unknown --flags go to Beam)."""
    parser.add_argument("--out", required=True, metavar="RUN", help="run directory (local path or gs://, s3://)")
    parser.add_argument("--input", nargs="+", metavar="PATH", help=input_help)
    parser.add_argument("--recipe", metavar="TOML", help="recipe file; for a run with a RUN/recipe.toml, it changes the "
                                                         "settings it names and the others stay as recorded")
    parser.add_argument("--force", action="append", default=[], metavar="STAGE",
                        help="redo this stage even if finished (repeatable; 'all' redoes every stage)")
    parser.add_argument("--allow-network", action="append", default=[], metavar="CIDR",
                        help="let the fetcher reach this private/loopback range (e.g. 127.0.0.0/8)")


def resolve_recipe(args: argparse.Namespace, run: RunDir) -> Recipe:
    """RUN/recipe.toml (else defaults), with the settings --recipe names over it; then CLI
    overrides. :func:`execute_stage` writes it to RUN/recipe.toml when a stage runs.

    A --recipe for a run that has a recipe changes what it sets and nothing else: a file with a
    [datacard] licence alone does not put every other setting back to its default (num_shards,
    seed, [run] inputs ...), which made every finished stage "changed" and recipe.toml describe
    outputs made otherwise."""
    recorded = load_recipe(run.recipe_path) if run.exists(run.recipe_path) else None
    recipe = load_recipe(getattr(args, "recipe", None), base=recorded)
    allow = list(getattr(args, "allow_network", None) or [])
    if allow:
        from corpus_tools.netguard import parse_networks

        for cidr in allow:  # named as the flag the user typed, not as the recipe key it joins
            try:
                parse_networks([cidr])
            except ValueError as e:
                raise StageError(f"--allow-network {cidr}: {e}") from None
        merged = sorted(set(recipe.fetch.allow_networks) | set(allow))
        recipe = recipe.replace({"fetch": {"allow_networks": merged}})
    return recipe


def check_inputs(paths: list[str]) -> list[str]:
    """Fail before any pipeline starts when an input path matches nothing or a local
    ``*.parquet`` input is not Parquet."""
    from pipelines.parquet_io import check_parquet_files, match_files

    for p in paths:
        files = match_files([p])
        if not files:
            raise StageError(f"input not found: {p} matches no file")
        check_parquet_files(files)
    return paths


def make_context(args: argparse.Namespace) -> StageContext:
    from pipelines.stages import STAGES

    unknown = [f for f in getattr(args, "force", None) or [] if f not in STAGES and f != "all"]
    if unknown:
        raise StageError(f"--force {unknown[0]!r}: not a stage; stages are: {', '.join(STAGES)} (or 'all')")
    run = RunDir(args.out)
    recipe = resolve_recipe(args, run)
    inputs = check_inputs(args.input) if getattr(args, "input", None) else None
    return StageContext(run, recipe, beam_args=getattr(args, "beam_args", []), inputs=inputs)


def run_single_stage(args: argparse.Namespace, stage_name: str) -> int:
    """Body of a single-stage command (``webtext extract --out RUN ...``)."""
    from pipelines.stages import load_stage

    ctx = make_context(args)
    stage = load_stage(stage_name)
    execute_stage(stage, ctx, force=stage_name in args.force or "all" in args.force)
    return 0


__all__ = [
    "Stage", "StageContext", "StageResult", "StageError", "RecipeError", "execute_stage",
    "add_stage_arguments", "run_single_stage", "make_context", "join",
]
