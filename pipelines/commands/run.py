"""``webtext run``: every stage of the recipe, in order, each skipped when already finished."""

from __future__ import annotations

from collections.abc import Callable

from corpus_tools.input_kind import WARC
from pipelines.input_files import InputFiles, input_files
from pipelines.stage import (Stage, StageContext, StageError, add_stage_arguments, execute_stage, make_context,
                             stale_reason)
from pipelines.stages import STAGES, available_stages, load_stage

# the stages before extract, and what their --input is instead of WARC/WET files
NOT_WARC_READERS = {"links": "Reddit dumps", "fetch": "a links/ folder or URL lists"}


def add_parser(sub):
    p = sub.add_parser("run", help="run the whole pipeline (or --stages) into a run directory",
                       description="Run links → fetch → extract → filter → dedup → bloom → contamination → "
                                   "tokenize → datacard. Reddit dumps as --input start at links; WARC/WET files "
                                   "start at extract (each file's kind from its suffix, else its first bytes). "
                                   "Finished stages are skipped; --force STAGE redoes one, and the stages "
                                   "that read its output after it.")
    add_stage_arguments(p, input_help="Reddit dumps (RS_*.zst ...) or WARC/WET files/globs (default: [run] inputs)")
    p.add_argument("--stages", help="comma-separated subset of stages to run, in pipeline order "
                                    "(an empty list is refused; --force must name a stage among them)")
    return p


def select_stages(args, inputs: list[str] | None, look: Callable[[list[str]], InputFiles] = input_files) -> list[str]:
    """The stages to run, in order; refuses (before anything runs) inputs mixing WARC/WET files and
    Reddit dumps, whatever ``--stages`` says, and WARC/WET files for a run that starts before extract.
    The kind is decided from the files the inputs name (:mod:`pipelines.input_files`); inputs of no
    known kind start at links, as dumps do (the links stage dead-letters what is no dump)."""
    kind = look(inputs).kind() if inputs else None
    if args.stages is not None:
        wanted = [s.strip() for s in args.stages.split(",") if s.strip()]
        if not wanted:  # an empty shell variable: not "every stage"
            raise StageError(f"--stages {args.stages!r} names no stage; leave --stages out to run every stage")
        unknown = [s for s in wanted if s not in STAGES]
        if unknown:
            raise StageError(f"unknown stage {unknown[0]!r} in --stages; stages are: {', '.join(STAGES)}")
        names = [s for s in STAGES if s in wanted]
        if kind == WARC and names and names[0] in NOT_WARC_READERS:
            raise StageError(f"--input holds WARC/WET files, but --stages starts at {names[0]}, which reads "
                             f"{NOT_WARC_READERS[names[0]]}; WARC/WET files start at extract")
        return names
    names = available_stages()
    if kind == WARC:
        names = [s for s in names if s not in NOT_WARC_READERS]
    return names


# The stages `[run] inputs` feed: Reddit dumps start at links, WARC/WET files at extract
INPUT_STAGES = ("links", "extract")


def recorded_inputs(args, ctx) -> list[str] | None:
    """The run's recorded ``[run] inputs`` when the first stage this command runs is the one that
    reads them (links for dumps, extract for WARC/WET files); None when it is a later stage, which
    reads its upstream folder: `--stages tokenize` of a run begun from dumps tokenizes RUN/dedup, not
    the dumps."""
    from pipelines.stage import check_inputs

    first = None
    if args.stages is not None:
        wanted = [s for s in STAGES if s in {w.strip() for w in args.stages.split(",")}]
        first = wanted[0] if wanted else None
        if first is not None and first not in INPUT_STAGES:
            return None  # decided without looking at the files
    inputs = check_inputs(list(ctx.recipe.run.inputs))
    reads = "extract" if ctx.input_files(inputs).kind() == WARC else "links"
    return inputs if first in (None, reads) else None


def forced(stage: Stage, ctx: StageContext, force: list[str], redone: set[str]) -> bool:
    """Whether `webtext run` redoes ``stage`` even when it is finished: it is named by --force, or a
    stage whose output it reads (:meth:`Stage.input_stages`) was redone in this command. That
    stage was itself redone because it was forced, not done, stale, or read one redone: so a
    --force reaches every stage that depends on it, through the stages between, and no other
    (`--force bloom` redoes contamination and the card, not tokenize, which reads dedup)."""
    return (stage.name in force or "all" in force
            or any(s in redone for s in stage.input_stages(ctx.recipe)))


def will_run(stage: Stage, ctx: StageContext, force: list[str], redone: set[str]) -> bool:
    """Whether ``stage`` runs in this command, decided before any runs (``redone``: the stages
    before it that will): :func:`forced`, not done, or out of date where that redoes it (the
    card; another stale stage is refused when reached), as :func:`execute_stage` decides."""
    if forced(stage, ctx, force, redone) or not ctx.run.is_done(stage.name):
        return True
    return stage.redo_when_stale and bool(stale_reason(ctx.run, stage, ctx.run.read_stats(stage.name)))


def main(args) -> int:
    ctx = make_context(args)
    if not ctx.inputs and ctx.recipe.run.inputs:
        ctx.inputs = recorded_inputs(args, ctx)
    names = select_stages(args, ctx.inputs, ctx.input_files)  # the first stage does not look again
    not_run = [f for f in args.force if f != "all" and f not in names]
    if not_run:  # a --force that would be ignored in silence
        raise StageError(f"--force {not_run[0]}: {not_run[0]} is not among the stages this command runs "
                         f"({', '.join(names)}); add it to --stages or drop the --force")
    inputs = ctx.inputs
    if args.input and names[0] in INPUT_STAGES:  # recipe.toml records what the run read: `webtext run
        # --out RUN` reruns it as it was; the --input of a later stage is not the run's input
        ctx.recipe = ctx.recipe.replace({"run": {"inputs": list(args.input)}})
    checked: set[str] = set()  # the stages that will run, each checked once, before the first starts
    for i, name in enumerate(names):
        stage = load_stage(name)
        if not will_run(stage, ctx, args.force, checked):
            continue
        stage.check(ctx.recipe)
        checked.add(name)
        for up in stage.needs(ctx.recipe, given_input=not i and bool(inputs)):  # else found after the stages
            if up not in names[:i] and not ctx.run.is_done(up):                   # before it ran
                raise StageError(f"--stages {','.join(names)}: {name} reads the output of {up}, which is neither "
                                 f"among them nor done in {ctx.run.root}; add {up} to --stages")
    redone: set[str] = set()
    for i, name in enumerate(names):
        stage = load_stage(name)
        # --input feeds the first stage only; later stages read the previous stage's folder.
        ctx.inputs = inputs if i == 0 else None
        force = forced(stage, ctx, args.force, redone)
        if execute_stage(stage, ctx, force=force, checked=name in checked) is not None:
            redone.add(name)
    ctx.log(f"[run] finished: {', '.join(names)} in {ctx.run.root}")
    return 0
