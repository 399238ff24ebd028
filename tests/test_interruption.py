"""A stage stopped part-way (Ctrl-C) or refused: what the user sees, and what the run directory
holds afterwards (docs/architecture.md, 'The run directory')."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from corpus_tools.rundir import RunDir
from pipelines.webtext import main

REPO = Path(__file__).resolve().parents[1]


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


def test_forced_stage_that_refuses_its_input_keeps_its_finished_output(shared_data, tmp_path, capsys):
    """`--force extract` on a run directory that cannot give extract an input is refused; it used to
    delete the finished docs/ and stats/extract.json first."""
    run = tmp_path / "run"
    warc = str(shared_data / "warc" / "cc-main-2020-34-excerpt.warc.gz")
    assert main(["extract", "--input", warc, "--out", str(run)]) == 0
    before = _files(run)

    assert main(["run", "--out", str(run), "--stages", "extract", "--force", "extract"]) == 2
    assert "reads the output of 'fetch'" in capsys.readouterr().err
    assert _files(run) == before  # docs/, its _SUCCESS, stats and recipe.toml as they were
    assert sorted(os.listdir(run)) == ["docs", "recipe.toml", "stats"]  # nothing set aside is left
    assert main(["extract", "--input", warc, "--out", str(run)]) == 0
    assert "already done" in capsys.readouterr().err
