"""The one training entry every method goes through: seed, build the method,
resume it if asked, record the schedule in run.json, then the shared loop.

``fit`` takes any method and any ``next_batch(step)``; ``fit_on_images`` adds
the seeded epochs over a resident image set (sharded per rank under torchrun),
which is what ALI, conditional ALI and the DCGAN train on. The (K+1) track
brings its own labelled/unlabelled batches to ``fit``.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol, TypeVar

import numpy as np
import torch

from ..core.rundir import RunDir
from ..data.batches import EpochSampler, ResidentImages
from . import distributed
from .loop import Callback, LoopSettings, resume_step, steps_for, train

M = TypeVar("M")


class Where(Protocol):
    """Where and as whom a method trains (an experiment's RunContext is one)."""
    run_dir: RunDir
    device: torch.device
    seed: int
    resumed: bool
    dist: distributed.DistEnv | None


def fit(where: Where, build: Callable[[], M], next_batch: Callable[[int], Any],
        settings: LoopSettings, *, wrap: Callable[[M], Any] | None = None,
        callbacks_for: Callable[[M], tuple[Callback, ...]] | None = None,
        on_log: Callable[[int, dict], None] | None = None, **info: Any) -> M:
    """Build the method under the run's seed (its initial weights depend on it),
    resume it from the run's checkpoint when the run is resumed, and train it for
    ``settings.total_steps``. ``wrap(method)`` is what the loop steps (the fast
    path's wrappers; default the method), ``callbacks_for(method)`` its callbacks
    (rank 0 only), ``on_log(step, record)`` sees every train-log record, ``info`` goes to run.json beside the schedule. Under torchrun
    every rank trains and only rank 0 returns."""
    torch.manual_seed(where.seed)
    method = build()
    stepper = wrap(method) if wrap is not None else method
    start = _resume(where, method)
    env = where.dist
    distributed.seed_rank(where.seed, env, start)
    where.run_dir.update(total_steps=settings.total_steps, world_size=env.world if env else 1, **info)
    main = env is None or env.is_main
    callbacks = callbacks_for(method) if callbacks_for is not None and main else ()
    train(stepper, next_batch, settings, where.run_dir, start, callbacks=callbacks,
          on_log=on_log if main else None)
    if not main:
        raise distributed.WorkerDone()
    return method


def _resume(where: Where, method: Any) -> int:
    if not where.resumed:
        return 0
    if where.dist is not None and not where.dist.is_main:
        return distributed.load_main_checkpoint(where.dist, method.state(), where.device)
    return resume_step(where.run_dir, method.state(), where.device)


def epoch_batches(where: Where, images: np.ndarray, batch_size: int, *, channels_last: bool = False,
                  labels: np.ndarray | None = None) -> Callable[[int], Any]:
    """``next_batch(step)``: seeded epochs over ``images`` held on the device as
    uint8 (this rank's shard and share of the batch under torchrun); with
    ``labels``, (images, labels) pairs."""
    env = where.dist
    resident = ResidentImages(distributed.shard(images, env), where.device, channels_last)
    ys = None if labels is None else torch.from_numpy(distributed.shard(labels, env)).to(where.device)
    sampler = EpochSampler(len(resident), distributed.local_batch(batch_size, env), where.seed,
                           where.device, stream=env.rank if env else 0)

    def next_batch(step: int) -> Any:
        idx = sampler.indices(step)
        return resident.batch(idx) if ys is None else (resident.batch(idx), ys.index_select(0, idx))
    return next_batch


def fit_on_images(where: Where, build: Callable[[], M], images: np.ndarray, cfg: Any, name: str, *,
                  channels_last: bool = False, labels: np.ndarray | None = None,
                  **kwargs: Any) -> M:
    """``fit`` over seeded epochs of ``images``; ``cfg`` gives batch_size, epochs,
    steps, log_every, checkpoint_every and, if it has one, keep_checkpoints_every."""
    total = steps_for(cfg.epochs, cfg.steps, len(images), cfg.batch_size)
    settings = LoopSettings(total, cfg.log_every, cfg.checkpoint_every, desc=f"{name} seed {where.seed}",
                            keep_every=getattr(cfg, "keep_checkpoints_every", 0))
    batches = epoch_batches(where, images, cfg.batch_size, channels_last=channels_last, labels=labels)
    return fit(where, build, batches, settings, train_images=len(images), **kwargs)
