"""The CIFAR10 (K+1)-class track's shared protocol: data split, label draws,
schedule, batches, training through the shared loop, and evaluation. ALI-K1
(``cifar10-ssl``), GAN-FM (``gan-fm``) and the supervised-only floor
(``supervised``) differ only in the method they build.

Protocol (PAPER.md, Track 2; the schedule is ours, the paper gives none):
- train[:-n_val] is the pool: every image of it is unlabelled data, and the
  labelled set is a class-balanced draw of ``n_labels`` from it, shared on disk
  per (dataset, n_labels, pool, seed) by every method (``splits.shared_draws``);
  train[-n_val:] is for monitoring only (CIFAR10: train[45000:50000]); nothing
  is selected on the test set, and the final weights are evaluated.
- Schedule, identical for the three methods: Salimans et al.'s released CIFAR10
  setting — Adam(lr 3e-4, β = (0.5, 0.999), ε = 1e-8 inside the square root as
  their ``nn.adam_updates``; ``adam_eps=torch`` for torch's), batches of 100 labelled and 100
  unlabelled images, 1200 epochs of the pool with the learning rate decayed
  linearly to 0 over the last third (their last 400 epochs).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Protocol

import numpy as np
import torch

from ..core import checks
from ..core.config import setting_overrides
from ..core.errors import UserError
from ..data import ImageData
from ..data.batches import EpochSampler, ResidentImages
from ..evaluation.splits import check_feasible, per_class, shared_draws
from ..methods.kplus1 import Schedule, SSLBatch
from ..models.ali import ARCHS, D_READINGS
from ..models.layers import INITS
from ..reporting.figures import Validation
from ..train.entry import fit
from ..train.loop import Callback, LoopSettings, steps_for
from .ali_training import check_train_images
from .context import RunContext


ADAM_EPS = ("in-sqrt", "torch")


@dataclass
class SSLConfig:
    """Data protocol and schedule of the track (defaults: full CIFAR10, Salimans' schedule)."""
    data: str = "cifar10"
    n_labels: int = 4000
    n_val: int = 5000                # train[-n_val:] monitors; the rest is the pool
    batch_size: int = 100            # labelled and unlabelled batches each
    lr: float = 3e-4
    beta1: float = 0.5
    beta2: float = 0.999
    adam_eps: str = "in-sqrt"        # improved-gan's g/√(v̂+1e-8); "torch": g/(√v̂+1e-8)
    epochs: float = 1200.0           # passes over the unlabelled pool
    steps: int = 0                   # 0: derived from epochs
    decay_fraction: float = 1 / 3    # lr → 0 linearly over this last share of the steps
    unlabeled_weight: float = 1.0
    width: float = 1.0               # channel multiplier of the method's networks
    eval_every: int = 0              # validation error logged every N steps (0: at the end)
    figures: bool = True             # curves, training signals, pictures and report.md at the end
    eval_batch_size: int = 500
    log_every: int = 100
    checkpoint_every: int = 5000

    def validate_ssl(self) -> None:
        checks.schedule(self)
        checks.one_of("adam_eps", self.adam_eps, ADAM_EPS)
        checks.positive(self, "n_val", "eval_batch_size")
        checks.within(self, "decay_fraction", 0, 1)
        checks.non_negative(self, "unlabeled_weight", "eval_every")
        per_class(self.n_labels, 10)

    def validate(self) -> None:
        self.validate_ssl()


def check_trunk(cfg) -> None:
    """The keys of the ALI-K1 discriminator trunk (cifar10-ssl and supervised
    share it): arch, latent_dim, init, dropout_scale, d_reading."""
    checks.one_of("arch", cfg.arch, ARCHS)
    checks.one_of("d_reading", cfg.d_reading, D_READINGS)
    checks.non_negative(cfg, "latent_dim")
    checks.one_of("init", cfg.init, INITS)
    checks.within(cfg, "dropout_scale", 0, 1)


def check(cfg: SSLConfig, data: ImageData) -> None:
    """Everything that can be refused before a run directory is made."""
    if cfg.n_val >= len(data.x_train):
        raise UserError(f"n_val={cfg.n_val} leaves no training pool: {data.name} has only "
                        f"{len(data.x_train)} training images; lower --set n_val")
    n_pool = len(data.x_train) - cfg.n_val
    check_train_images(data.x_train[:n_pool], cfg.batch_size)
    check_feasible(data.y_train[:n_pool], cfg.n_labels, data.n_classes,
                   f"the training pool of {data.name} (train[:{n_pool}])")
    if cfg.n_labels < cfg.batch_size:
        raise UserError(f"n_labels={cfg.n_labels} cannot fill a labelled batch of "
                        f"{cfg.batch_size}; lower --set batch_size")


class SSLMethod(Protocol):
    def state(self) -> dict[str, Any]: ...
    def train_step(self, batch: SSLBatch, step: int) -> dict[str, torch.Tensor]: ...
    def class_logits(self, x: torch.Tensor) -> torch.Tensor: ...


@dataclass
class Track:
    """One run's data, resident on the training device."""
    pool: ResidentImages           # train[:-n_val], all used as unlabelled data
    x_pool: np.ndarray
    lab_idx: torch.Tensor          # indices into the pool of the labelled draw
    y_lab: torch.Tensor
    label_split: str               # file name of the shared draw

    def labelled_images(self, n: int) -> torch.Tensor:
        return self.pool.batch(self.lab_idx[:n])


def _track(cfg: SSLConfig, ctx: RunContext) -> Track:
    data, n_pool = ctx.data, len(ctx.data.x_train) - cfg.n_val
    draws, shared = shared_draws(ctx.splits_dir, data.name, data.fingerprint(),
                                 data.y_train[:n_pool], cfg.n_labels, ctx.seed, 0, 0)
    draws.save(ctx.run_dir.path / "label_draws.npz", shared_copy=str(shared))
    lab = np.asarray(draws.selection)
    return Track(ResidentImages(data.x_train[:n_pool], ctx.device), data.x_train[:n_pool],
                 torch.as_tensor(lab, device=ctx.device),
                 torch.as_tensor(data.y_train[:n_pool][lab], device=ctx.device), shared.name)


def _batches(cfg: SSLConfig, ctx: RunContext, track: Track) -> Callable[[int], SSLBatch]:
    """Seeded epoch permutations: unlabelled (two independent streams) and labelled."""
    n_pool = len(track.pool)
    unl = EpochSampler(n_pool, cfg.batch_size, ctx.seed, ctx.device, stream=0)
    unl2 = EpochSampler(n_pool, cfg.batch_size, ctx.seed, ctx.device, stream=2)
    lab = EpochSampler(len(track.lab_idx), cfg.batch_size, ctx.seed, ctx.device, stream=1)

    def next_batch(step: int) -> SSLBatch:
        i = lab.indices(step)
        return SSLBatch(track.pool.batch(track.lab_idx[i]), track.y_lab[i],
                        track.pool.batch(unl.indices(step)), track.pool.batch(unl2.indices(step)))
    return next_batch


def error_pct(method: SSLMethod, images: np.ndarray, labels: np.ndarray,
              device: torch.device, batch_size: int) -> float:
    """Test-style error (%) of the method's argmax prediction on uint8 NHWC images."""
    wrong = 0
    for start in range(0, len(images), batch_size):
        x = torch.from_numpy(images[start:start + batch_size]).to(device)
        x = x.permute(0, 3, 1, 2).float().div_(255.0)
        pred = method.class_logits(x).argmax(dim=1).cpu().numpy()
        wrong += int((pred != labels[start:start + batch_size]).sum())
    return 100.0 * wrong / len(images)


Builder = Callable[[Any, RunContext, Schedule, Track], SSLMethod]
# pictures(cfg, ctx, method): the run's curves, signals, pictures and report.md (a list of
# metric records); method None: rebuilt from the run's checkpoint (the ``figures`` tool)
Pictures = Callable[[Any, RunContext, Any], list[dict]]


def monitoring_split(cfg: SSLConfig, data: ImageData) -> Validation:
    """train[-n_val:], the images the pictures and signals are drawn from (never the test set)."""
    n_pool = len(data.x_train) - cfg.n_val
    return Validation(data.x_train[n_pool:], None,
                      f"train[{n_pool}:] of {data.name}, the track's monitoring split")


def run_track(cfg: SSLConfig, ctx: RunContext, method_name: str, build: Builder,
              pictures: Pictures | None = None) -> list[dict]:
    """Train ``build``'s method through the one training entry, then record its
    validation and test error under ``method_name`` and, with ``figures``, draw
    its ``pictures``."""
    data = ctx.data
    n_pool = len(data.x_train) - cfg.n_val
    track = _track(cfg, ctx)
    total = steps_for(cfg.epochs, cfg.steps, n_pool, cfg.batch_size)
    schedule = Schedule(cfg.lr, cfg.beta1, cfg.beta2, total, int(round(total * cfg.decay_fraction)),
                        eps_in_sqrt=cfg.adam_eps == "in-sqrt")
    x_val, y_val = data.x_train[n_pool:], data.y_train[n_pool:]

    def callbacks_for(method: SSLMethod) -> tuple[Callback, ...]:
        def validate(step: int) -> None:
            err = error_pct(method, x_val, y_val, ctx.device, cfg.eval_batch_size)
            ctx.run_dir.log_train({"step": step, "val_error_pct": err})
        return (Callback(cfg.eval_every, validate),) if cfg.eval_every else ()

    t0 = time.perf_counter()
    settings = LoopSettings(total, cfg.log_every, cfg.checkpoint_every, desc=f"{method_name} seed {ctx.seed}")
    method = fit(ctx, lambda: build(cfg, ctx, schedule, track), _batches(cfg, ctx, track), settings,
                 callbacks_for=callbacks_for, decay_steps=schedule.decay_steps, pool_images=n_pool,
                 label_split=track.label_split)
    ctx.run_dir.update(train_seconds=round(time.perf_counter() - t0, 1))
    extra = {"label_split": track.label_split, "dataset_description": data.description,
             "train_steps": total,
             "overrides": " ".join(setting_overrides(ctx.run_dir.meta.get("overrides", []), ("method=",)))}

    def evaluate() -> list[dict]:
        val = error_pct(method, x_val, y_val, ctx.device, cfg.eval_batch_size)
        test = error_pct(method, data.x_test, data.y_test, ctx.device, cfg.eval_batch_size)
        return [ctx.record(method_name, "val_error_pct", val, cfg.n_labels, n_images=len(y_val), **extra),
                ctx.record(method_name, "test_error_pct", test, cfg.n_labels, n_images=len(data.y_test),
                           **extra)]
    records = ctx.stage("evaluate", evaluate)
    if cfg.figures and pictures is not None:
        records += ctx.stage("pictures", lambda: pictures(cfg, ctx, method))
    return records


# Presets shared by the three experiments, so their schedules cannot drift apart.
PAPER: dict[str, Any] = {}
FAST: dict[str, Any] = {"epochs": 120.0}       # a tenth of the schedule: quick GPU checks
# CPU demo on the real 5k CIFAR10 sample: eighth-width networks, 1200 steps of
# 50 + 50 images (about 17 passes over the 3,585-image pool), lr 1e-3 because
# at 3e-4 the supervised floor barely leaves chance level in 300 steps.
DEMO: dict[str, Any] = {"data": "cifar10-sample", "n_labels": 1000, "n_val": 500,
                        "steps": 1200, "batch_size": 50, "lr": 1e-3, "width": 0.125,
                        "log_every": 50, "checkpoint_every": 400, "eval_batch_size": 500}
# ALI's networks (cifar10-ssl and its supervised floor): quarter width, PyTorch's init
# (at small widths the paper's N(0, 0.01²) stays at chance, see models.layers.init_torch)
# and no dropout in D; GAN-FM has its own data-dependent init. Length and width from
# the step study (results/studies/cifar10-ssl-demo-steps, docs/studies.md): at width
# 1/8, ALI-K1 was above the supervised floor at 300 and 600 steps and below it from
# 1200; at width 1/4 and 1200 steps, below it on all 5 seeds.
DEMO_ALI_NETS: dict[str, Any] = {**DEMO, "init": "torch", "dropout_scale": 0.0, "width": 0.25}
