"""A stage stopped part-way (Ctrl-C, a bug in a DoFn) or refused: what the user sees, and what the
run directory holds afterwards (docs/architecture.md, 'The run directory')."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from corpus_tools.rundir import RunDir
from pipelines.webtext import main
from tests.buggy_extract import BUG, BUGGY_RECORD

REPO = Path(__file__).resolve().parents[1]
BUGGY_SOURCE = REPO / "tests" / "buggy_extract.py"


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_ctrl_c_inside_a_beam_step_is_one_line_and_the_rerun_gives_the_same_bytes(shared_data, tmp_path):
    """Ctrl-C (SIGINT to the process group, as a terminal sends it) while extract's DoFns run: Beam
    used to re-raise it as a RuntimeError with a screen of traceback and status 1, and extract's
    time-limit child printed one more. Now: one line, status 130, no _SUCCESS, and a rerun makes
    the same bytes as an uninterrupted run."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(3):  # a few seconds of extraction, so the signal lands inside the pipeline
        shutil.copy(shared_data / "warc" / "cc-main-2020-34-excerpt.warc.gz", inputs / f"cc-{i}.warc.gz")
    run = tmp_path / "run"
    argv = ["extract", "--input", str(inputs), "--out", str(run)]
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.webtext", *argv], stderr=subprocess.PIPE,
                            env=env, start_new_session=True)
    lines = []
    for raw in proc.stderr:  # wait until the pipeline runs, then a little more: inside a DoFn
        lines.append(raw.decode().rstrip("\n"))
        if "Beam pipeline on" in lines[-1]:
            break
    time.sleep(1.0)
    assert proc.poll() is None, "the stage finished before it could be interrupted"
    os.killpg(proc.pid, signal.SIGINT)
    lines += proc.stderr.read().decode().splitlines()
    assert proc.wait(timeout=120) == 130
    assert lines == ["[extract] running", lines[1], "webtext extract: interrupted"], "\n".join(lines)
    assert not RunDir(run).is_done("extract")

    assert main(argv) == 0  # the rerun redoes the stage
    assert main(["extract", "--input", str(inputs), "--out", str(tmp_path / "clean")]) == 0
    rerun, clean = _files(run / "docs"), _files(tmp_path / "clean" / "docs")
    rerun.pop("_SUCCESS"), clean.pop("_SUCCESS")  # each holds its own execution id
    assert rerun == clean


def _live_processes(session: int) -> list[str]:
    """The processes of a session (a process group here) still running: not exited, not zombies."""
    ps = subprocess.run(["ps", "-eo", "pgid=,stat=,args="], capture_output=True, text=True, check=True).stdout
    return [ln for ln in ps.splitlines() if ln.split()[0] == str(session) and not ln.split()[1].startswith("Z")]


def _left_behind(session: int, grace_s: float = 10.0) -> list[str]:
    """The processes of a session still running after ``grace_s``: a process that has closed its
    files (the command's stderr reached EOF) may still be exiting for a moment (``ps`` shows it
    as ``[python]``); one that waits for work never exits."""
    deadline = time.monotonic() + grace_s
    while (live := _live_processes(session)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return live


def test_ctrl_c_in_a_multi_process_extract_is_one_line_whenever_it_comes(shared_data, tmp_path):
    """Ctrl-C to a local multi-process run (two Beam workers, each with extract's time-limit child),
    early and late. It used to hang in the first seconds (a worker still starting never heard that
    the run was given up), print ``EOFError: Ran out of input`` from a time-limit child a worker
    left half-started, or a KeyboardInterrupt from the first such child. Now, whatever the moment:
    the same three lines as in-process, status 130, no _SUCCESS, and no process left behind."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(4):
        shutil.copy(shared_data / "warc" / "cc-main-2020-34-excerpt.warc.gz", inputs / f"cc-{i}.warc.gz")
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
    for delay in (0.3, 1.5, 3.0):  # workers starting; extracting; about to finish (a run takes ~5 s)
        run = tmp_path / f"run-{delay}"
        argv = ["extract", "--input", str(inputs), "--out", str(run),
                "--direct_running_mode=multi_processing", "--direct_num_workers=2"]
        proc = subprocess.Popen([sys.executable, "-m", "pipelines.webtext", *argv], stderr=subprocess.PIPE,
                                env=env, start_new_session=True)
        lines: list[str] = []
        running = threading.Event()

        def read_stderr():  # in a thread: a hung run must fail the test, not hang it
            for raw in proc.stderr:
                lines.append(raw.decode().rstrip("\n"))
                if "Beam pipeline on" in lines[-1]:
                    running.set()

        reader = threading.Thread(target=read_stderr, daemon=True)
        reader.start()
        try:
            assert running.wait(timeout=120), "\n".join(lines)
            time.sleep(delay)
            assert proc.poll() is None, "the stage finished before it could be interrupted"
            os.killpg(proc.pid, signal.SIGINT)
            status = proc.wait(timeout=60)
            reader.join(timeout=30)  # EOF: every process holding stderr ended
            assert not reader.is_alive(), "a process of the run still holds its stderr"
            left = _left_behind(proc.pid)  # looked at before the clean-up below kills what is left
        finally:
            if proc.poll() is None or _live_processes(proc.pid):
                os.killpg(proc.pid, signal.SIGKILL)
        assert (status, lines) == (130, ["[extract] running", lines[1], "webtext extract: interrupted"]), \
            f"Ctrl-C {delay} s in:\n" + "\n".join(lines)
        assert "multi_processing, 2 worker(s)" in lines[1]
        assert not RunDir(run).is_done("extract")
        assert left == []


@pytest.mark.parametrize("beam_args", [[], ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]],
                         ids=["in-process", "multi-process"])
def test_a_bug_in_a_dofn_is_its_traceback_once(shared_data, tmp_path, beam_args):
    """A DoFn that raises (a bug, not bad input: ``tests/buggy_extract.py``, one record of four
    files) fails the command with that exception's traceback, printed once, then one line naming
    the command and the exception (``webtext extract: failed: ...``), and status 1; the exception
    names Beam's step (``[while running 'Extract/...']``). The same in both modes. In-process, Beam logged the
    exception at ERROR before re-raising it: the traceback twice. With two worker processes it
    came five more times: printed and logged twice by the worker, and both records relayed by the
    submitting process as one-line protobuf dumps (``...local_job_service:Worker: severity: ERROR
    ...``), about 270 lines. No _SUCCESS, and no process of the run left behind."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(4):
        shutil.copy(shared_data / "warc" / "cc-main-2020-34-excerpt.warc.gz", inputs / f"cc-{i}.warc.gz")
    assert (inputs / BUGGY_RECORD[0]).exists()
    run = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "tests.buggy_extract", "extract", "--input", str(inputs),
                             "--out", str(run), *beam_args], stderr=subprocess.PIPE, env=env, start_new_session=True)
    try:
        _, err_bytes = proc.communicate(timeout=300)  # a hung run fails the test instead of hanging it
        left = _left_behind(proc.pid)  # looked at before the clean-up below kills what is left
    finally:
        if proc.poll() is None or _live_processes(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
    err = err_bytes.decode()
    lines = err.rstrip("\n").splitlines()
    mode = "multi_processing, 2 worker(s)" if beam_args else "in_memory, 1 worker(s)"
    assert lines[:3] == ["[extract] running", f"[extract] Beam pipeline on local FnApiRunner ({mode})",
                         "Traceback (most recent call last):"], err
    raising = "raise RuntimeError(BUG)"  # the DoFn's own frame, last in the traceback
    tail = [line for line in lines if line.strip()][-4:]  # a worker's relayed traceback ends in a blank line
    assert tail[:3] == [f'  File "{BUGGY_SOURCE}", line {_line_of(raising)}, in _fails_on', f"    {raising}",
                        f"RuntimeError: {BUG} [while running 'Extract/ParDo(BuggyExtractFn)']"], err
    # then one line naming the command, as its other errors do
    assert tail[3] == (f"webtext extract: failed: RuntimeError: {BUG} [while running 'Extract/ParDo(BuggyExtractFn)'] "
                       "(an unexpected error, not bad input: the traceback above; the stage that failed is not "
                       "marked done and reruns)"), err
    assert err.count(f"{BUG} [while running") == 2, err  # the traceback's and the closing line's
    assert proc.returncode == 1
    assert not RunDir(run).is_done("extract")
    assert left == []


def _line_of(code: str) -> int:
    """The number of the line of tests/buggy_extract.py that is ``code``."""
    source = BUGGY_SOURCE.read_text().splitlines()
    return next(i for i, line in enumerate(source, 1) if line.strip() == code)


def test_forced_stage_that_refuses_its_input_keeps_its_finished_output(shared_data, tmp_path, capsys):
    """`--force extract` on a run directory that cannot give extract an input is refused; it used to
    delete the finished docs/ and stats/extract.json first."""
    run = tmp_path / "run"
    warc = str(shared_data / "warc" / "cc-main-2020-34-excerpt.warc.gz")
    assert main(["extract", "--input", warc, "--out", str(run)]) == 0
    before = _files(run)

    capsys.readouterr()
    assert main(["extract", "--out", str(run), "--force", "extract"]) == 2  # refused by the stage itself
    assert "reads the output of 'fetch'" in capsys.readouterr().err
    assert _files(run) == before  # docs/, its _SUCCESS, stats and recipe.toml as they were
    # `webtext run` refuses it before any stage starts (fetch is neither among --stages nor done)
    assert main(["run", "--out", str(run), "--stages", "extract", "--force", "extract"]) == 2
    assert "extract reads the output of fetch, which is neither among them nor done" in capsys.readouterr().err
    assert _files(run) == before
    assert sorted(os.listdir(run)) == ["docs", "recipe.toml", "stats"]  # nothing set aside is left
    assert main(["extract", "--input", warc, "--out", str(run)]) == 0
    assert "already done" in capsys.readouterr().err
