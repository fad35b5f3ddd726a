"""What every experiment shares: the run context handed to it, the metric
record format, and the ALI training config and routine."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from .. import distributed
from ..data import ImageData
from ..data.batches import EpochSampler, ResidentImages
from ..errors import UserError
from ..fastpath import check_switches, resolve, switch_values, training_step
from ..loop import Callback, LoopSettings, resume_step, steps_for, train
from ..methods.ali import ALI
from ..methods.base import Method
from ..models.ali import ARCHS, build_ali
from ..rundir import Run


@dataclass
class RunContext:
    """Everything a run needs besides its config."""
    experiment: str
    run: Run
    data: ImageData
    device: torch.device
    seed: int
    preset: str
    hardware: str
    splits_dir: Path
    resumed: bool = False
    paper_dataset: str = ""
    dist: distributed.DistEnv | None = None   # set under torchrun (several processes)

    def record(self, method: str, metric: str, value: float, n_labels: int, **extra: Any) -> dict:
        """Append one metric line to the run's metrics.jsonl and return it."""
        rec = {"experiment": self.experiment, "method": method, "dataset": self.data.name,
               "dataset_full": self.data.full, "paper_dataset": self.paper_dataset,
               "preset": self.preset, "n_labels": int(n_labels), "seed": self.seed,
               "metric": metric, "value": float(value), "hardware": self.hardware,
               "run": self.run.path.name, **extra}
        self.run.add_metric(rec)
        return rec


@dataclass
class ALITrainConfig:
    """ALI training, as PAPER.md gives it for SVHN (the defaults)."""
    arch: str = "svhn"
    width: float = 1.0
    latent_dim: int = 0               # 0: the architecture's (SVHN 256, CIFAR10 64)
    stochastic_encoder: bool = True   # False: BiGAN-style deterministic encoder
    batch_size: int = 100
    lr: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.999              # Blocks' beta2 = 1e-3 in PyTorch's convention
    epochs: float = 100.0
    steps: int = 0                    # 0: derived from epochs
    log_every: int = 100
    checkpoint_every: int = 5000
    # the fast path (alibench/fastpath.py): auto = on for CUDA, off for the CPU
    amp_bf16: str = "auto"
    channels_last: str = "auto"
    compile: str = "auto"
    cuda_graphs: str = "auto"
    fused_adam: str = "auto"
    cudnn_benchmark: str = "auto"
    sync_bn: bool = True              # under torchrun: batch norm over the global batch

    def validate_training(self) -> None:
        if self.arch not in ARCHS:
            raise UserError(f"unknown arch '{self.arch}'; valid: {', '.join(ARCHS)}")
        check_schedule(self)
        if self.latent_dim < 0:
            raise UserError(f"latent_dim must be >= 0, got {self.latent_dim}")
        check_switches(switch_values(self))


def check_schedule(cfg) -> None:
    """The keys every trainer's config has: width, batch_size, lr, beta1, beta2,
    epochs, steps, log_every, checkpoint_every."""
    for key in ("width", "batch_size", "lr", "log_every", "checkpoint_every"):
        if getattr(cfg, key) <= 0:
            raise UserError(f"{key} must be positive, got {getattr(cfg, key)}")
    if cfg.steps < 0 or cfg.epochs < 0 or (cfg.steps == 0 and cfg.epochs == 0):
        raise UserError("set a positive number of steps or epochs")
    if not (0 <= cfg.beta1 < 1 and 0 <= cfg.beta2 < 1):
        raise UserError("beta1 and beta2 must lie in [0, 1)")


def check_train_images(images: np.ndarray, batch_size: int) -> None:
    if len(images) < batch_size:
        raise UserError(f"only {len(images)} training images for a batch of {batch_size}; "
                        "lower --set batch_size")


def check_arch_fits(arch: str, data: ImageData) -> None:
    """The architecture's image size must be the data's (32×32 nets on 64×64 faces, say)."""
    size = ARCHS[arch].image_size
    if tuple(data.image_shape[:2]) != (size, size):
        fitting = [a for a, spec in ARCHS.items() if spec.image_size == data.image_shape[0]]
        raise UserError(f"arch {arch} takes {size}×{size} images but {data.name} has "
                        f"{data.image_shape[0]}×{data.image_shape[1]}; use --set arch="
                        f"{'|'.join(fitting) or '?'}")


def mean_image(images: np.ndarray) -> torch.Tensor:
    """Mean training image, (3, H, W) in [0, 1], without a float copy of the set."""
    return torch.from_numpy(images.mean(axis=0, dtype=np.float64) / 255.0).permute(2, 0, 1).float()


def build_ali_method(cfg: ALITrainConfig, device: torch.device,
                     images: np.ndarray | None = None, fast=None) -> ALI:
    """ALI as the config says, untrained (the decoder's output bias from ``images``
    if given); ``fast`` is the resolved fast path (None: plain eager)."""
    nets = build_ali(cfg.arch, cfg.width, cfg.latent_dim)
    if images is not None:
        nets.decoder.init_output_bias(mean_image(images))
    for net in nets.modules().values():
        net.to(device)
    return ALI(nets, cfg.lr, cfg.beta1, cfg.beta2, device, cfg.stochastic_encoder, fast)


def train_ali(cfg: ALITrainConfig, ctx: RunContext, images: np.ndarray,
              callbacks_for: Callable[[ALI], tuple[Callback, ...]] | None = None) -> ALI:
    """Build ALI as the config says, train it (resuming if asked) and return it.
    ``callbacks_for(method)`` gives loop callbacks (sample grids during training).
    Under torchrun every rank trains on its shard and only rank 0 returns."""
    torch.manual_seed(ctx.seed)
    env = ctx.dist
    fast = resolve(switch_values(cfg), ctx.device, distributed=env is not None)
    method = build_ali_method(cfg, ctx.device, images, fast)
    step_fn = training_step(method, fast, env, cfg.sync_bn)
    resident = ResidentImages(distributed.shard(images, env), ctx.device, fast.channels_last)
    sampler = EpochSampler(len(resident), distributed.local_batch(cfg.batch_size, env), ctx.seed,
                           ctx.device, stream=env.rank if env else 0)
    total = steps_for(cfg.epochs, cfg.steps, len(images), cfg.batch_size)
    start = _resume(ctx, method)
    distributed.seed_rank(ctx.seed, env, start)
    ctx.run.update(total_steps=total, train_images=len(images), fast_path=fast.describe(),
                   world_size=env.world if env else 1)
    settings = LoopSettings(total, cfg.log_every, cfg.checkpoint_every, desc=f"ALI seed {ctx.seed}")
    main = env is None or env.is_main
    callbacks = callbacks_for(method) if callbacks_for is not None and main else ()
    train(step_fn, lambda step: resident.batch(sampler.indices(step)), settings, ctx.run, start,
          callbacks=callbacks)
    if not main:
        raise distributed.WorkerDone()
    return method


def _resume(ctx: RunContext, method: ALI) -> int:
    if not ctx.resumed:
        return 0
    if ctx.dist is not None and not ctx.dist.is_main:
        return distributed.load_main_checkpoint(ctx.dist, method.state(), ctx.device)
    return resume_step(ctx.run, method.state(), ctx.device)


def train_on_images(method: Method, cfg, ctx: RunContext, images: np.ndarray, name: str,
                    callbacks: tuple[Callback, ...] = ()) -> None:
    """Drive ``method`` through the shared loop over seeded epochs of ``images``,
    resuming from the run's checkpoint when the run is resumed. ``cfg`` gives
    batch_size, epochs, steps, log_every and checkpoint_every (single process,
    plain eager step: the baselines' trainers)."""
    resident = ResidentImages(images, ctx.device)
    sampler = EpochSampler(len(resident), cfg.batch_size, ctx.seed, ctx.device)
    total = steps_for(cfg.epochs, cfg.steps, len(resident), cfg.batch_size)
    start = resume_step(ctx.run, method.state(), ctx.device) if ctx.resumed else 0
    ctx.run.update(total_steps=total, train_images=len(resident))
    settings = LoopSettings(total, cfg.log_every, cfg.checkpoint_every, desc=f"{name} seed {ctx.seed}")
    train(method, lambda step: resident.batch(sampler.indices(step)), settings, ctx.run, start,
          callbacks=callbacks)
