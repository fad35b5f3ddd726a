"""Graceful stop on SIGINT or SIGTERM.

During training a signal is only noted: the loop finishes the step it is in,
writes a checkpoint there and raises ``Stopped``. A second signal, or one that
arrives outside training (evaluation, say), raises ``Stopped`` at once; the
last checkpoint is then the loop's latest. Either way the run is marked
interrupted and ``--resume`` continues it.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)

_pending: signal.Signals | None = None
_deferring = False


class Stopped(KeyboardInterrupt):
    """The user (or a scheduler) asked the process to stop."""

    def __init__(self, sig: signal.Signals, step: int | None = None) -> None:
        self.signal, self.step = sig, step
        self.message = f"stopped by {sig.name}" + (f" at step {step}" if step is not None else "")
        super().__init__(self.message)

    @property
    def exit_code(self) -> int:
        return 128 + int(self.signal)   # the shell's convention for "killed by signal N"

    def __str__(self) -> str:
        return self.message


def _handle(signum: int, frame) -> None:
    global _pending
    sig = signal.Signals(signum)
    if _deferring and _pending is None:
        _pending = sig
        return
    raise Stopped(sig)


@contextmanager
def handling_signals() -> Iterator[None]:
    """Turn SIGINT/SIGTERM into a graceful stop inside the block. A signal the
    parent process ignores stays ignored (as Python does for SIGINT), and
    outside the main thread nothing is installed."""
    global _pending
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for sig in SIGNALS:
        if signal.getsignal(sig) is not signal.SIG_IGN:
            previous[sig] = signal.signal(sig, _handle)
    _pending = None
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _pending = None


@contextmanager
def deferred() -> Iterator[None]:
    """Inside the block a first signal is only recorded (see ``requested``)."""
    global _deferring
    before, _deferring = _deferring, True
    try:
        yield
    finally:
        _deferring = before


def requested() -> signal.Signals | None:
    """The signal received while deferred, if any: the loop should stop now."""
    return _pending
