"""Run a function in a child process under a wall-clock limit per call.

A pathological page can keep an HTML parser busy for minutes, in C code that no Python
signal interrupts, and signals only work in the main thread anyway. :class:`TimeLimited`
keeps one child process that runs the function; when a call is not answered within the
limit the child is killed (and a fresh one started on the next call), and the caller gets
:class:`CallTimeout`. Arguments and results cross the process boundary by pickling.
"""

from __future__ import annotations

import multiprocessing as mp
from multiprocessing import resource_tracker
import signal
import threading
from typing import Any, Callable


class CallTimeout(TimeoutError):
    """The call did not finish within the limit; the worker process was killed."""


class WorkerDied(RuntimeError):
    """The worker process exited (crash, out of memory) while running the call, or the
    :class:`TimeLimited` was closed."""


def _serve(fn: Callable, conn, warmup: tuple | None) -> None:
    if warmup is not None:
        try:
            fn(*warmup)  # imports, model loads and first-call caches happen before the clock runs
        except BaseException:  # noqa: BLE001 - a failing warm-up only costs time later
            pass
    conn.send("ready")
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        args, kwargs = msg
        try:
            conn.send((True, fn(*args, **kwargs)))
        except BaseException as e:  # noqa: BLE001 - reported to the parent, which decides
            conn.send((False, f"{type(e).__name__}: {e}"))


class TimeLimited:
    """``TimeLimited(fn, timeout_s)(*args)``: ``fn(*args)`` in a child process, at most ``timeout_s`` seconds.

    ``fn`` must be importable (a module-level function). Exceptions raised by ``fn`` come
    back as :class:`RuntimeError` with the original type and message. ``warmup`` arguments,
    when given, are passed to ``fn`` once in each new worker before it reports ready, so that
    start-up costs (imports, first-call initialisation; at most ``startup_s``) are not counted
    against a document.

    After :meth:`close` no child is started again: a call then raises :class:`WorkerDied`. A Beam
    worker that shuts down tears its DoFns down while a bundle may still run in another thread
    (after Ctrl-C, say); that bundle's next call used to start a fresh child, and the worker then
    exited while it sent the child its start-up data, which the orphaned child reported with a
    traceback (``EOFError: Ran out of input`` in ``multiprocessing/spawn.py``).
    """

    def __init__(self, fn: Callable, timeout_s: float, warmup: tuple | None = None, startup_s: float = 300.0,
                 start_method: str = "spawn"):
        self.fn = fn
        self.timeout_s = timeout_s
        self.warmup = warmup
        self.startup_s = startup_s
        self._ctx = mp.get_context(start_method)
        self._proc = None
        self._conn = None
        self._closed = False
        self._starting = threading.Lock()  # close() waits for a child being started, then ends it

    def _start(self) -> None:
        with self._starting:
            if self._closed:
                raise WorkerDied("closed")
            parent = self._launch()
        try:
            ok = parent.poll(self.startup_s) and parent.recv() == "ready"
        except (EOFError, OSError):
            ok = False
        if not ok:
            self._kill()
            raise WorkerDied("closed" if self._closed else f"worker process did not start within {self.startup_s:g} s")

    def _launch(self):
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(target=_serve, args=(self.fn, child, self.warmup), daemon=True)
        if self._ctx.get_start_method() != "fork":
            # Started by the first spawn of a process, the resource tracker unblocks SIGINT in the
            # calling thread on its way (multiprocessing.resource_tracker.ensure_running): the
            # first child then started with SIGINT open. Started here, before the block.
            resource_tracker.ensure_running()
        # The child starts with SIGINT blocked, and keeps it so: Ctrl-C reaches the whole process
        # group, and it is the parent's to handle (this daemon child ends with it); in the child
        # it printed a second traceback, or came back as the call's error. A Ctrl-C during the
        # start is delivered to the parent when it unblocks.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            proc.start()
        except BaseException:  # no child: nothing for close() to kill later
            parent.close()
            raise
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            child.close()
        self._proc, self._conn = proc, parent
        return parent

    def _kill(self) -> None:
        proc, conn = self._proc, self._conn  # close() may run in another thread than a call
        self._proc = self._conn = None
        if proc is not None:
            proc.kill()
            proc.join(5)
        if conn is not None:
            conn.close()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._proc is None or not self._proc.is_alive():
            self._kill()
            self._start()
        proc, conn = self._proc, self._conn  # None, or closed, when close() ran meanwhile
        if conn is None:
            raise WorkerDied("closed")
        try:
            conn.send((args, kwargs))
            ready = conn.poll(self.timeout_s)
        except (EOFError, OSError):
            ready = True
        if not ready:
            self._kill()
            raise CallTimeout(f"no result within {self.timeout_s:g} s")
        try:
            ok, value = conn.recv()
        except (EOFError, OSError):
            code = proc.exitcode
            self._kill()
            raise WorkerDied(f"worker process exited (code {code})") from None
        if not ok:
            raise RuntimeError(value)
        return value

    def close(self) -> None:
        with self._starting:
            self._closed = True
        proc, conn = self._proc, self._conn
        if conn is not None and proc is not None and proc.is_alive():
            try:
                conn.send(None)
                proc.join(2)
            except OSError:  # BrokenPipeError included
                pass
        self._kill()

    def __enter__(self) -> "TimeLimited":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
