"""The one training loop: counted in steps, seeded, logged, checkpointed and
resumable. ALI, GAN and the conditional variants all run through it; each
supplies ``next_batch(step)`` and a method with ``train_step`` and ``state``."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import Any, Callable

import torch
from tqdm import tqdm

from . import checkpoint
from .fsutil import atomic_write_text
from .methods.base import Method
from .rundir import TRAIN_LOG, Run


class Divergence(Exception):
    """A loss became NaN or inf."""


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


def _trim_log(run: Run, step: int) -> None:
    """Drop log lines written after the checkpoint we resume from."""
    kept = [r for r in run.train_log() if r.get("step", 0) <= step]
    atomic_write_text(run.path / TRAIN_LOG, "".join(json.dumps(r, sort_keys=True) + "\n" for r in kept))


def resume_step(run: Run, state: dict[str, Any], device: torch.device) -> int:
    """Load the run's checkpoint into ``state`` if there is one; the step to start at."""
    if not run.checkpoint_path.exists():
        return 0
    payload = checkpoint.load(run.checkpoint_path, state, map_location=device)
    _trim_log(run, payload["step"])
    return int(payload["step"])


def train(method: Method, next_batch: Callable[[int], Any], settings: LoopSettings, run: Run,
          start_step: int = 0, on_log: Callable[[int, dict], None] | None = None,
          callbacks: tuple[Callback, ...] = ()) -> None:
    total = settings.total_steps
    sums: dict[str, torch.Tensor] = {}
    count, t0 = 0, time.perf_counter()
    bar = tqdm(total=total, initial=start_step, desc=settings.desc, disable=None,
               dynamic_ncols=True, leave=False)
    try:
        for step in range(start_step, total):
            logs = method.train_step(next_batch(step), step)
            for k, v in logs.items():
                sums[k] = sums[k] + v if k in sums else v.clone()
            count += 1
            done = step + 1
            if done % settings.log_every == 0 or done == total:
                record = _flush(sums, count, done, time.perf_counter() - t0)
                run.log_train(record)
                bar.set_postfix({k: f"{v:.3f}" for k, v in record.items() if k.startswith(("loss", "acc"))})
                if on_log is not None:
                    on_log(done, record)
                sums, count, t0 = {}, 0, time.perf_counter()
            for cb in callbacks:
                if done % cb.every == 0 or done == total:
                    cb.fn(done)
            if done % settings.checkpoint_every == 0 or done == total:
                checkpoint.save(run.checkpoint_path, done, method.state())
            bar.update(1)
    finally:
        bar.close()


def _flush(sums: dict[str, torch.Tensor], count: int, step: int, seconds: float) -> dict:
    names = list(sums)
    values = torch.stack([sums[n].float() for n in names]).div_(count).tolist() if names else []
    record = {"step": step, **dict(zip(names, values)), "seconds": round(seconds, 3),
              "steps_per_s": round(count / seconds, 3) if seconds > 0 else None}
    bad = [n for n, v in zip(names, values) if not math.isfinite(v)]
    if bad:
        raise Divergence(f"loss {', '.join(bad)} is not finite at step {step} "
                         f"(averaged over the last {count} steps)")
    return record


def steps_for(epochs: float, steps: int, n_examples: int, batch_size: int) -> int:
    """``steps`` if set, else ``epochs`` passes over ``n_examples`` in full batches."""
    if steps > 0:
        return steps
    return max(1, int(round(epochs * (n_examples // batch_size))))
