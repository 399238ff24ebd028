"""Pipeline options: which arguments are webtext's, which are Beam's, and the local default runner."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

# Runner names that mean "run here": we pick Beam's FnApiRunner explicitly so that no
# machine tries (and, offline, fails) to download the Prism runner first.
LOCAL_RUNNERS = {None, "", "DirectRunner", "direct", "FnApiRunner"}


def pipeline_options(beam_args: list[str]) -> PipelineOptions:
    return PipelineOptions(list(beam_args))


def is_local(options: PipelineOptions) -> bool:
    return options.view_as(StandardOptions).runner in LOCAL_RUNNERS


def new_pipeline(beam_args: list[str]) -> beam.Pipeline:
    """A Pipeline on the runner the arguments name, or the embedded local runner."""
    options = pipeline_options(beam_args)
    if is_local(options):
        from apache_beam.runners.portability.fn_api_runner import FnApiRunner

        # Multi-process workers import our DoFns from the installed package, not __main__.
        return beam.Pipeline(runner=FnApiRunner(), options=options)
    return beam.Pipeline(options=options)


def describe_runner(beam_args: list[str]) -> str:
    options = pipeline_options(beam_args)
    if is_local(options):
        d = options.view_as(DirectOptions)
        return f"local FnApiRunner ({d.direct_running_mode}, {d.direct_num_workers or 1} worker(s))"
    return options.view_as(StandardOptions).runner
