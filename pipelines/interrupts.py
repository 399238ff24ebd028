"""Ctrl-C while a command runs: one ``KeyboardInterrupt`` for the CLI to report in one line.

Beam's in-process runner catches a ``KeyboardInterrupt`` raised inside a DoFn, logs it with a
traceback and re-raises it as ``RuntimeError("KeyboardInterrupt [while running 'Step']")``: the
user saw a screen of traceback and exit status 1 instead of ``webtext extract: interrupted`` (130).
:func:`user_interrupts` turns such a wrapped interrupt back into ``KeyboardInterrupt`` and
silences what libraries log while they unwind from it.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from typing import Iterator


def caused_by_interrupt(exc: BaseException | None) -> bool:
    """Whether ``exc`` is, or was raised while handling, a ``KeyboardInterrupt``."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _on_sigint(signum, frame):
    logging.disable(logging.CRITICAL)  # what Beam logs while it unwinds from here is noise now
    raise KeyboardInterrupt


@contextlib.contextmanager
def interrupts_after_cleanup() -> Iterator[None]:
    """Within: a first Ctrl-C is held back until the block is done, then raised there.

    For cleanup that must not stop half-way (Beam closing its workers: a ``KeyboardInterrupt``
    between two of them left the second one running and the command waiting for it forever).
    A second Ctrl-C within is raised at once. Outside the main thread, or where SIGINT is not
    handled by Python (ignored, `cmd &`), nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if not callable(previous):  # SIG_IGN, SIG_DFL, or not set from Python
        yield
        return
    held: list[int] = []

    def hold(signum, frame):
        if held:
            previous(signum, frame)  # the user insists
        held.append(signum)

    signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if held:
        previous(signal.SIGINT, None)  # our handler, or Python's default: raises KeyboardInterrupt


@contextlib.contextmanager
def user_interrupts() -> Iterator[None]:
    """Within: Ctrl-C raises ``KeyboardInterrupt`` with logging silenced, and an exception that
    a ``KeyboardInterrupt`` caused (Beam's wrapped one) is raised as ``KeyboardInterrupt``."""
    install = (threading.current_thread() is threading.main_thread()
               and signal.getsignal(signal.SIGINT) is signal.default_int_handler)  # not SIG_IGN (`cmd &`)
    if install:
        signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    except Exception as e:
        if caused_by_interrupt(e):
            raise KeyboardInterrupt from None
        raise
    finally:
        if install:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            logging.disable(logging.NOTSET)
