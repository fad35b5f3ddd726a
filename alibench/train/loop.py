"""The one training loop: counted in steps, seeded, logged, checkpointed and
resumable. ALI, GAN and the conditional variants all run through it; each
supplies ``next_batch(step)`` and a method with ``train_step`` and ``state``.

Faults it handles: a loss that turns NaN or inf stops training (``Divergence``)
and is never checkpointed; SIGINT/SIGTERM (see ``stop``) end the current step,
checkpoint it and raise ``stop.Stopped``; a resumed run continues from its
checkpoint with the same batches, RNG streams and logging window, so its
train log and results match an uninterrupted run's.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Callable, Protocol

import torch
from tqdm import tqdm

from ..core import checkpoint, faults
from ..core import signals as stop
from ..core.files import atomic_write, atomic_write_text
from ..core.rundir import TRAIN_LOG, RunDir

KEPT_DIR = "checkpoints"   # RunDir/checkpoints/step_XXXXXXXX.pt: kept copies (keep_every)


class Method(Protocol):
    """What the loop needs from a method (each method owns its step).
    Optional: ``loss_networks = {"loss_d": "the discriminator", ...}`` names the
    network behind each logged value in divergence messages."""

    def state(self) -> dict[str, Any]:
        """Named modules and optimisers, saved and restored by checkpoints."""

    def train_step(self, batch: Any, step: int) -> dict[str, torch.Tensor]:
        """One update; returns 0-d tensors to log (no host sync here)."""


class Divergence(Exception):
    """A loss, or a network's weights, became NaN or inf."""


@dataclass
class Callback:
    """``fn(step)`` after every ``every``-th step (sample grids, extra logs)."""
    every: int
    fn: Callable[[int], None]


@dataclass
class LoopSettings:
    total_steps: int
    log_every: int = 100
    checkpoint_every: int = 5000
    desc: str = "train"
    keep_every: int = 0       # > 0: also keep a copy every keep_every steps (RUN/checkpoints/)


class _Window:
    """The logged values since the last log line, summed on the device, and for
    each the first step at which it was NaN or inf. Updating it never waits for
    the device; reading it (at log and checkpoint time) does, once."""

    def __init__(self, owners: dict[str, str]) -> None:
        self.owners = owners          # logged name -> the network it belongs to
        self._reset()

    def _reset(self) -> None:
        self.names: list[str] = []
        self.sums: torch.Tensor | None = None
        self.first_bad: torch.Tensor | None = None   # 0: finite so far
        self.count = 0
        self.timed, self.t0 = 0, time.perf_counter()

    def add(self, logs: dict[str, torch.Tensor], step: int) -> None:
        values = torch.stack([v.detach().float().reshape(()) for v in logs.values()])
        if self.sums is None:
            self.names, self.sums = list(logs), values
            self.first_bad = torch.zeros(len(values), dtype=torch.long, device=values.device)
        else:
            self.sums = self.sums + values
        self.first_bad = torch.where(self.first_bad > 0, self.first_bad, (~values.isfinite()) * step)
        self.count += 1
        self.timed += 1

    def check(self) -> None:
        """Raise Divergence naming the value, its network and the first bad step."""
        if self.first_bad is None:
            return
        bad = sorted((s, n) for n, s in zip(self.names, self.first_bad.tolist()) if s > 0)
        if not bad:
            return
        (step, name), later = bad[0], bad[1:]
        message = f"{name}{self._owner(name)} became NaN or inf at step {step}"
        if later:
            message += " (also " + ", ".join(f"{n}{self._owner(n)} at step {s}" for s, n in later) + ")"
        raise Divergence(message)

    def _owner(self, name: str) -> str:
        return f" ({self.owners[name]})" if name in self.owners else ""

    def flush(self, step: int) -> dict:
        """The log record of the window (means), and a fresh window."""
        self.check()
        seconds = time.perf_counter() - self.t0
        means = (self.sums / self.count).tolist() if self.count else []
        record = {"step": step, **dict(zip(self.names, means)), "seconds": round(seconds, 3),
                  "steps_per_s": round(self.timed / seconds, 3) if seconds > 0 else None}
        self._reset()
        return record

    def state_dict(self) -> dict:
        return {"names": self.names, "sums": self.sums, "count": self.count}

    def load_state_dict(self, state: dict) -> None:
        if state.get("count"):
            self.names, self.sums, self.count = list(state["names"]), state["sums"], state["count"]
            self.first_bad = torch.zeros(len(self.names), dtype=torch.long, device=self.sums.device)


def _trim_log(run: RunDir, step: int) -> None:
    """Drop log lines written after the checkpoint we resume from."""
    kept = [r for r in run.train_log() if r.get("step", 0) <= step]
    atomic_write_text(run.path / TRAIN_LOG, "".join(json.dumps(r, sort_keys=True) + "\n" for r in kept))


def resume_step(run: RunDir, state: dict[str, Any], device: torch.device) -> int:
    """Load the run's checkpoint into ``state`` if there is one; the step to start at."""
    step = 0
    if run.checkpoint_path.exists():
        step = int(checkpoint.load(run.checkpoint_path, state, map_location=device)["step"])
    _trim_log(run, step)
    return step


def _resumed_window(run: RunDir, start_step: int, window: _Window, device: torch.device) -> None:
    """Continue the logging window saved with the checkpoint we resume from."""
    if start_step and run.checkpoint_path.exists():
        payload = checkpoint.read(run.checkpoint_path, map_location=device)
        if payload["step"] == start_step:
            window.load_state_dict(payload["extra"].get("log_window", {}))


def _save(run: RunDir, step: int, method: Method, window: _Window) -> None:
    """Checkpoint ``step``, unless anything is NaN or inf: the last good one stays."""
    window.check()
    state = method.state()
    bad = checkpoint.nonfinite(state)
    if bad:
        raise Divergence(f"the state of {', '.join(bad)} became NaN or inf by step {step}")
    checkpoint.save(run.checkpoint_path, step, state, extra={"log_window": window.state_dict()})


def _keep(run: RunDir, step: int) -> None:
    """A copy of the checkpoint just saved, for evaluating a run along its way
    (``alibench.run curve``); the copy is written atomically like the original."""
    kept = run.path / KEPT_DIR / f"step_{step:08d}.pt"
    kept.parent.mkdir(exist_ok=True)
    data = run.checkpoint_path.read_bytes()
    atomic_write(kept, lambda f: f.write(data), mode="wb")


def train(method: Method, next_batch: Callable[[int], Any], settings: LoopSettings, run: RunDir,
          start_step: int = 0, on_log: Callable[[int, dict], None] | None = None,
          callbacks: tuple[Callback, ...] = ()) -> None:
    total = settings.total_steps
    window = _Window(getattr(method, "loss_networks", {}))
    _resumed_window(run, start_step, window, getattr(method, "device", torch.device("cpu")))
    with stop.deferred(), tqdm(total=total, initial=start_step, desc=settings.desc, disable=None,
                               dynamic_ncols=True, leave=False) as bar:
        for step in range(start_step, total):
            done = step + 1
            window.add(method.train_step(next_batch(step), step), done)
            if done % settings.log_every == 0 or done == total:
                record = window.flush(done)
                run.log_train(record)
                bar.set_postfix({k: f"{v:.3f}" for k, v in record.items() if k.startswith(("loss", "acc"))})
                if on_log is not None:
                    on_log(done, record)
            for cb in callbacks:
                if done % cb.every == 0 or done == total:
                    cb.fn(done)
            sig = stop.requested()
            keep = settings.keep_every > 0 and done % settings.keep_every == 0
            if done % settings.checkpoint_every == 0 or done == total or sig or keep:
                _save(run, done, method, window)
            if keep:
                _keep(run, done)
            if sig:
                raise stop.Stopped(sig, done)
            bar.update(1)
            faults.point("step")


def steps_for(epochs: float, steps: int, n_examples: int, batch_size: int) -> int:
    """``steps`` if set, else ``epochs`` passes over ``n_examples`` in full batches."""
    if steps > 0:
        return steps
    return max(1, int(round(epochs * (n_examples // batch_size))))
