"""Fault injection for the reliability tests: ``ALIBENCH_KILL_AT=NAME:N`` makes
the process SIGKILL itself at the N-th time it passes the point ``NAME`` (a real
kill: no handler, no cleanup, no flush). Unset (always, outside tests) a point
costs one dictionary lookup.

Points: ``step`` (after each training step, its log line and checkpoint),
``features`` (after each feature batch), ``svm-fit`` (after a chunk of SVM fits,
before it is saved), ``metric`` (after a metric line), ``stage`` (after a stage's
work, before it is marked finished), ``picture`` (after each picture file)."""

from __future__ import annotations

import os
import signal

ENV = "ALIBENCH_KILL_AT"
_TARGET = os.environ.get(ENV, "")
_NAME, _, _COUNT = _TARGET.partition(":")
_seen: dict[str, int] = {}


def point(name: str) -> None:
    if name != _NAME:
        return
    _seen[name] = _seen.get(name, 0) + 1
    if _seen[name] == int(_COUNT or 1):
        os.kill(os.getpid(), signal.SIGKILL)
