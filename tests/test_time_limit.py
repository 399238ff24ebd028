"""TimeLimited: a call past its limit is cut and the worker replaced; errors and crashes come back as errors."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from corpus_tools.time_limit import CallTimeout, TimeLimited, WorkerDied


def work(kind: str, value: int = 0):
    if kind == "sleep":
        time.sleep(value)
        return "woke"
    if kind == "raise":
        raise ValueError(f"bad value {value}")
    if kind == "exit":
        os._exit(value)
    return (kind, value, os.getpid())


def test_results_errors_timeouts_and_crashes():
    with TimeLimited(work, timeout_s=1.0, warmup=("echo",)) as limited:
        kind, value, pid = limited("echo", 7)
        assert (kind, value) == ("echo", 7) and pid != os.getpid()  # ran in a child process
        assert limited("echo", 8)[2] == pid  # the same child serves the next call

        with pytest.raises(RuntimeError, match="ValueError: bad value 3"):
            limited("raise", 3)
        assert limited("echo", 9)[2] == pid  # an exception does not cost the worker

        with pytest.raises(CallTimeout):  # raised when the 1 s poll expires, not after the 60 s sleep
            limited("sleep", 60)
        kind, _, pid2 = limited("echo", 10)
        assert kind == "echo" and pid2 != pid  # a fresh worker after the timeout

        with pytest.raises(WorkerDied):
            limited("exit", 3)
        assert limited("echo", 11)[0] == "echo"


def test_a_worker_that_could_not_start_leaves_nothing_to_close():
    # A child that fails to start (here: spawn cannot pickle a lambda; in a Beam worker, one killed while
    # it starts) used to stay behind half-made, and close() then raised AttributeError on it (the
    # DoFn's teardown printed a traceback after Ctrl-C in multi-process runs).
    limited = TimeLimited(lambda x: x, timeout_s=5)
    for _ in range(2):  # the second call tries a new child: it used to fail on the half-made one first
        with pytest.raises(Exception, match="pickle"):
            limited(1)
    limited.close()  # nothing to kill: no error


def test_no_child_is_started_after_close():
    # A Beam worker that shuts down (after Ctrl-C) tears the DoFn down while a bundle still runs in
    # another thread: its next call used to start a fresh child, which the exiting worker left
    # half-started (the child printed "EOFError: Ran out of input" from multiprocessing/spawn.py).
    limited = TimeLimited(work, timeout_s=5)
    assert limited("echo", 1)[0] == "echo"
    limited.close()
    assert multiprocessing.active_children() == []
    with pytest.raises(WorkerDied, match="closed"):
        limited("echo", 2)
    assert multiprocessing.active_children() == []  # no new child
    limited.close()  # again: nothing to do


def test_the_first_child_of_a_process_starts_with_sigint_blocked():
    # The resource tracker, started by a process's first spawn, unblocked SIGINT on its way: the
    # first child got Ctrl-C after all and printed a KeyboardInterrupt traceback. A fresh process,
    # since the tracker of this one may run already.
    code = ("import signal; from corpus_tools.time_limit import TimeLimited\n"
            "with TimeLimited(signal.pthread_sigmask, timeout_s=30) as blocked:\n"
            "    print(signal.SIGINT in blocked(signal.SIG_BLOCK, []))")
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(root)))
    assert (done.returncode, done.stdout) == (0, "True\n"), done.stderr
