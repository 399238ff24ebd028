"""Pipeline options: which arguments are webtext's, which are Beam's, and the local default runner."""

from __future__ import annotations

import logging

import apache_beam as beam
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

from pipelines.errors import UserError

# Runner names that mean "run here": we pick Beam's FnApiRunner explicitly so that no
# machine tries (and, offline, fails) to download the Prism runner first.
LOCAL_RUNNERS = {None, "", "DirectRunner", "direct", "FnApiRunner"}


def pipeline_options(beam_args: list[str]) -> PipelineOptions:
    return PipelineOptions(list(beam_args))


def unknown_beam_flags(beam_args: list[str]) -> tuple[list[str], list[str]]:
    """The ``--flags`` in ``beam_args`` that no Beam options class defines (Beam itself only logs
    and drops them), and every flag Beam knows (for suggestions)."""
    parsers: list = []  # Beam's own parser of every PipelineOptions class, handed out by this hook
    beam_log = logging.getLogger("apache_beam.options.pipeline_options")
    level = beam_log.level
    beam_log.setLevel(logging.ERROR)  # its "Discarding unparseable args" line: the caller says it better
    try:
        PipelineOptions(list(beam_args)).get_all_options(add_extra_args_fn=parsers.append)
    finally:
        beam_log.setLevel(level)
    _, unknown = parsers[0].parse_known_args(list(beam_args))
    known = [flag for action in parsers[0]._actions for flag in action.option_strings]
    return [a.split("=", 1)[0] for a in unknown if a.startswith("-")], known


def is_local(options: PipelineOptions) -> bool:
    return options.view_as(StandardOptions).runner in LOCAL_RUNNERS


def _end_late_workers_too() -> None:
    """Make Beam's runner end a worker that connects after the run was given up (Ctrl-C).

    When the runner closes a worker (``GrpcWorkerHandler.close``, in ``run_stages``' ``finally``),
    ``ControlConnection.close`` sends the worker its end-of-work marker only if the worker has
    already opened its control stream; then the runner waits for the worker process to exit. A
    Ctrl-C in the first seconds of a multi-process run, while the workers still import Beam,
    closed them before they connected: each worker then connected, got no marker, and waited for
    work forever, and the runner waited forever for it (the command hung after Ctrl-C). Here the
    marker is also queued for a worker not connected yet, which then receives it first and exits
    as after a finished run. A queue Beam reads when that worker connects (``Control``); if
    Beam's internals are not as expected, nothing is changed.
    """
    from apache_beam.runners.portability.fn_api_runner import worker_handlers as wh

    conn, servicer = wh.ControlConnection, wh.BeamFnControlServicer
    close = conn.close
    if getattr(close, "_ends_late_workers", False) or not all(
            hasattr(servicer, name) for name in ("UNSTARTED_STATE", "_DONE_MARKER")):
        return

    def close_also_unstarted(self) -> None:
        if getattr(self, "_state", None) == servicer.UNSTARTED_STATE:
            self.push(servicer._DONE_MARKER)  # read by Control() as soon as the worker connects
        close(self)

    close_also_unstarted._ends_late_workers = True
    conn.close = close_also_unstarted


def _close_workers_whole() -> None:
    """Let Beam's runner close all its workers before a Ctrl-C that arrives meanwhile is raised.

    ``WorkerHandlerManager.close_all`` (in ``run_stages``' ``finally``) closes one worker after
    another and waits for each to exit. A Ctrl-C in the middle (at the end of a run, say) left
    the next workers unclosed: they waited for work forever, and the command for them, after
    printing ``interrupted``.
    """
    from apache_beam.runners.portability.fn_api_runner import worker_handlers as wh

    from pipelines.interrupts import interrupts_after_cleanup

    close_all = wh.WorkerHandlerManager.close_all
    if getattr(close_all, "_whole", False):
        return

    def close_all_whole(self) -> None:
        with interrupts_after_cleanup():
            close_all(self)

    close_all_whole._whole = True
    wh.WorkerHandlerManager.close_all = close_all_whole


def local_runner() -> "beam.runners.PipelineRunner":
    """Beam's FnApiRunner, whose multi-process workers are :mod:`pipelines.beam_worker`."""
    import shlex
    import sys

    from apache_beam.runners.portability.fn_api_runner import FnApiRunner
    from apache_beam.transforms.environments import SubprocessSDKEnvironment

    _end_late_workers_too()
    _close_workers_whole()

    # exec: no shell between, to die of Ctrl-C; trap: Python starts with SIGINT ignored, so that
    # a Ctrl-C while it starts, before beam_worker handles it, is no KeyboardInterrupt traceback
    quiet = SubprocessSDKEnvironment.from_command_string(
        f"trap '' INT; exec {shlex.quote(sys.executable)} -m pipelines.beam_worker")

    class LocalRunner(FnApiRunner):
        """FnApiRunner that starts its multi-process workers with our entry point.

        FnApiRunner builds the worker command itself (``python -m ...sdk_worker_main``) when
        ``direct_running_mode`` is ``multi_processing``, by assigning ``_default_environment``;
        the property hands it ours instead: the same worker, logging errors only and leaving
        Ctrl-C to the submitting process.
        """

        @property
        def _default_environment(self):
            return self._environment

        @_default_environment.setter
        def _default_environment(self, environment):
            self._environment = quiet if isinstance(environment, SubprocessSDKEnvironment) else environment

    return LocalRunner()


def new_pipeline(beam_args: list[str]) -> beam.Pipeline:
    """A Pipeline on the runner the arguments name, or the embedded local runner."""
    options = pipeline_options(beam_args)
    if is_local(options):
        # Multi-process workers import our DoFns from the installed package, not __main__.
        return beam.Pipeline(runner=local_runner(), options=options)
    try:
        return beam.Pipeline(options=options)
    except ValueError as e:
        # Beam checks a remote runner's options here ("Pipeline has validations errors:" then one
        # line each: a DataflowRunner without gs:// temp/staging locations, a missing project):
        # the user's flags, so one line, not a traceback.
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        if not lines or not lines[0].startswith("Pipeline has validations errors"):
            raise
        runner = options.view_as(StandardOptions).runner
        raise UserError(f"--runner {runner}: Beam refused the pipeline options: {' '.join(lines[1:])}") from None


def describe_runner(beam_args: list[str]) -> str:
    options = pipeline_options(beam_args)
    if is_local(options):
        d = options.view_as(DirectOptions)
        return f"local FnApiRunner ({d.direct_running_mode}, {d.direct_num_workers or 1} worker(s))"
    return options.view_as(StandardOptions).runner
