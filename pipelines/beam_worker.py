"""The SDK worker of local multi-process runs (``--direct_running_mode=multi_processing``), quiet.

Beam starts each local worker as ``python -m apache_beam.runners.worker.sdk_worker_main``, which
logs its start-up and shut-down at INFO on the terminal (about 20 lines a worker: channels
established, state cache created, harness exiting; and a warning that the optional BigQuery
client is missing), and, on Ctrl-C, prints a traceback of its own in every worker, since the
terminal's interrupt reaches the whole process group.

This entry point runs the same worker with two differences:

* its terminal log shows errors only. Failures of our code do not depend on it: an exception in a
  DoFn travels to the submitting process through the control channel and is raised there, with
  its traceback;
* it ignores SIGINT. Ctrl-C is the submitting process's to handle (``webtext X: interrupted``);
  a worker ends when that process closes its control channel.

:class:`pipelines.options.LocalRunner` starts workers with it.
"""

from __future__ import annotations

import logging
import signal
import sys


def main(argv: list[str]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    terminal = logging.StreamHandler()  # before Beam's imports log (a root handler makes basicConfig a no-op)
    terminal.setLevel(logging.ERROR)
    logging.getLogger().addHandler(terminal)
    # its own start-up notes reach the submitting process's log too ("No semi_persistent_directory")
    logging.getLogger("apache_beam.runners.worker.sdk_worker_main").setLevel(logging.ERROR)
    from apache_beam.runners.worker import sdk_worker_main

    sdk_worker_main.main(argv)


if __name__ == "__main__":
    main(sys.argv)
