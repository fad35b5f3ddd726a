"""What every experiment shares: the run context handed to it, the metric
record format, and the ALI training config and routine."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import distributed
from ..data import ImageData
from ..data.batches import EpochSampler, ResidentImages
from ..errors import UserError
from ..fastpath import check_switches, resolve, switch_values, training_step
from ..loop import LoopSettings, resume_step, steps_for, train
from ..methods.ali import ALI
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
        positive = {"width": self.width, "batch_size": self.batch_size, "lr": self.lr,
                    "log_every": self.log_every, "checkpoint_every": self.checkpoint_every}
        for key, value in positive.items():
            if value <= 0:
                raise UserError(f"{key} must be positive, got {value}")
        if self.steps < 0 or self.epochs < 0 or (self.steps == 0 and self.epochs == 0):
            raise UserError("set a positive number of steps or epochs")
        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise UserError("beta1 and beta2 must lie in [0, 1)")
        if self.latent_dim < 0:
            raise UserError(f"latent_dim must be >= 0, got {self.latent_dim}")
        check_switches(switch_values(self))


def check_train_images(images: np.ndarray, batch_size: int) -> None:
    if len(images) < batch_size:
        raise UserError(f"only {len(images)} training images for a batch of {batch_size}; "
                        "lower --set batch_size")


def mean_image(images: np.ndarray) -> torch.Tensor:
    """Mean training image, (3, 32, 32) in [0, 1], without a float copy of the set."""
    return torch.from_numpy(images.mean(axis=0, dtype=np.float64) / 255.0).permute(2, 0, 1).float()


def train_ali(cfg: ALITrainConfig, ctx: RunContext, images: np.ndarray) -> ALI:
    """Build ALI as the config says, train it (resuming if asked) and return it.
    Under torchrun every rank trains on its shard and only rank 0 returns."""
    torch.manual_seed(ctx.seed)
    nets = build_ali(cfg.arch, cfg.width, cfg.latent_dim)
    nets.decoder.init_output_bias(mean_image(images))
    for net in nets.modules().values():
        net.to(ctx.device)
    env = ctx.dist
    fast = resolve(switch_values(cfg), ctx.device, distributed=env is not None)
    method = ALI(nets, cfg.lr, cfg.beta1, cfg.beta2, ctx.device, cfg.stochastic_encoder, fast)
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
    train(step_fn, lambda step: resident.batch(sampler.indices(step)), settings, ctx.run, start)
    if env is not None and not env.is_main:
        raise distributed.WorkerDone()
    return method


def _resume(ctx: RunContext, method: ALI) -> int:
    if not ctx.resumed:
        return 0
    if ctx.dist is not None and not ctx.dist.is_main:
        return distributed.load_main_checkpoint(ctx.dist, method.state(), ctx.device)
    return resume_step(ctx.run, method.state(), ctx.device)
