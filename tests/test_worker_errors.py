"""Bad input met inside a multi-process Beam worker is reported as in-process: one line, exit 2.

A worker's exception reaches the submitting process as a RuntimeError whose message is the
worker's traceback; the CLI recognises a user error's type in its last line."""

import os
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines import webtext
from pipelines.errors import UserError
from pipelines.stage import StageError


class _Raise(beam.DoFn):
    def __init__(self, error):
        self.error = error

    def process(self, x):
        raise self.error


@pytest.fixture(autouse=True)
def _workers_import_this_module(monkeypatch):
    """Beam pickles :class:`_Raise` by reference to this module: the workers import it from here."""
    here = Path(__file__).resolve().parent
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(here), str(here.parent), os.environ.get("PYTHONPATH", "")]))


def _relayed(error: Exception) -> RuntimeError:
    """The exception a real multi-process DirectRunner run raises when a worker raises ``error``."""
    opts = PipelineOptions(["--runner=DirectRunner", "--direct_running_mode=multi_processing",
                            "--direct_num_workers=1"])
    with pytest.raises(Exception) as info:
        with beam.Pipeline(options=opts) as p:
            p | beam.Create([1]) | beam.ParDo(_Raise(error))
    assert type(info.value) is RuntimeError  # the worker's type is lost on the way: only its traceback text
    return info.value


def test_user_errors_from_a_worker_are_recognised_with_their_message():
    cases = [(UserError("gs://b/x.parquet is not a readable Parquet file: no footer"),
              "gs://b/x.parquet is not a readable Parquet file: no footer"),
             (StageError("[filter] quality_model = 'm.bin': no such file"), "[filter] quality_model = 'm.bin': no such file"),
             (FileNotFoundError(2, "No such file or directory", "/data/a.warc.gz"),
              "[Errno 2] No such file or directory: '/data/a.warc.gz'")]
    errors = [_relayed(error) for error, _ in cases]  # each a real worker's relayed traceback
    assert [webtext.relayed_user_error(e) for e in errors] == [message for _, message in cases]


def test_a_bug_in_a_worker_stays_a_bug():
    e = _relayed(ZeroDivisionError("division by zero"))
    assert webtext.relayed_user_error(e) is None
    assert webtext._last_line(e).startswith("ZeroDivisionError: division by zero")


def test_the_cli_prints_a_relayed_user_error_as_one_line(monkeypatch, capsys):
    relayed = _relayed(UserError("gs://b/x.parquet is not a readable Parquet file: no footer"))

    def fail(args):
        raise relayed

    import pipelines.commands.dedup as dedup

    monkeypatch.setattr(dedup, "main", fail)  # the run itself is the real relayed failure above
    assert webtext.main(["dedup", "--input", "x.parquet", "--out", "o"]) == 2
    err = capsys.readouterr().err
    assert err == "webtext dedup: error: gs://b/x.parquet is not a readable Parquet file: no footer\n"


def test_a_message_that_only_looks_relayed_is_not_a_user_error():
    # a RuntimeError raised in-process, not a relayed traceback
    assert webtext.relayed_user_error(RuntimeError("pipelines.errors.UserError: x")) is None
    fake = "Traceback (most recent call last):\n  File 'x', line 1\nno_such_module.UserError: x"
    assert webtext.relayed_user_error(RuntimeError(fake)) is None
