"""ALI's training config and routine, shared by every experiment that trains
ALI on images (svhn-svm, conditional, ali-pictures)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np
import torch

from ..core import checks
from ..core.errors import UserError
from ..data import ImageData
from ..methods.ali import ALI
from ..methods.augment import parse_policy
from ..models.ali import ARCHS, D_READINGS, ALINets, build_ali
from ..models.layers import scale_dropout
from ..train import fastpath, tensorboard
from ..train.entry import fit_on_images
from ..train.loop import Callback, steps_for
from .context import RunContext


@dataclass
class ALITrainConfig:
    """ALI training, as PAPER.md gives it for SVHN (the defaults)."""
    arch: str = "svhn"
    width: float = 1.0
    latent_dim: int = 0               # 0: the architecture's (SVHN 256, CIFAR10 64)
    stochastic_encoder: bool = True   # False: BiGAN-style deterministic encoder
    d_reading: str = "released"       # CIFAR10 D(x): the released script's, or "table" (appendix)
    batch_size: int = 100
    lr: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.999              # Blocks' beta2 = 1e-3 in PyTorch's convention
    epochs: float = 100.0
    steps: int = 0                    # 0: derived from epochs
    log_every: int = 100
    checkpoint_every: int = 5000
    keep_checkpoints_every: int = 0   # > 0: keep a checkpoint copy every N steps (for `curve`)
    # demo deviations (docs/demo.md); the paper's values are the defaults
    init_std: float = 0.01            # weights N(0, init_std²)
    d_lr_scale: float = 1.0           # D's learning rate = lr × d_lr_scale
    dropout_scale: float = 1.0        # × every dropout rate of D (paper: 0.2 everywhere for SVHN)
    augment: str = ""                 # DiffAugment of D's x inputs: comma list of color,translation,cutout
    augment_data: str = ""            # the same parts on the real images before the encoder (data augmentation)
    lr_decay_steps: int = 0           # > 0: both learning rates fall linearly to 0 over the last N steps
                                      # (over the whole run if it is shorter: a quick --set steps=8 still trains)
    sigma_max: float = 0.0            # > 0: the encoder's σ is bounded smoothly below this (0: unbounded)
    # the fast path (alibench/train/fastpath.py): auto = on for CUDA; bf16 + channels_last
    # on a CPU with native bf16 (docs/performance.md)
    amp_bf16: str = "auto"
    channels_last: str = "auto"
    compile: str = "auto"
    cuda_graphs: str = "auto"
    fused_adam: str = "auto"
    cudnn_benchmark: str = "auto"
    load_threads: str = "auto"
    sync_bn: bool = True              # under torchrun: batch norm over the global batch
    tensorboard: bool = False         # mirror train_log and sample grids to RUN/tensorboard/

    def validate_training(self) -> None:
        checks.one_of("arch", self.arch, ARCHS)
        checks.one_of("d_reading", self.d_reading, D_READINGS)
        checks.schedule(self)
        checks.non_negative(self, "latent_dim")
        parse_policy(self.augment)
        parse_policy(self.augment_data, "augment_data")
        fastpath.check_switches(fastpath.switch_values(self))
        if self.tensorboard:
            tensorboard.check_available()


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


# How the CPU demos train ALI's SVHN networks (width 1/4) on the shipped SVHN
# sample: one recipe for svhn-svm, ali-pictures and conditional (the last two
# with D's lr x 1/2, PICTURE_DEMO_TRAINING below; issue 13, docs/demo.md).
# Deviations from the paper: latent 64 (256), lr 1.2e-3 (1e-4), both rates
# decayed linearly to 0 over the last 1,500 steps (constant), σ bounded below 1
# (unbounded), 6,000 steps. They balance the game and give
# digit-like, diverse samples; the large rates get the encoder past its untrained
# control within 6,000 steps (at 2e-4 it took ~12,000) and the decay lets
# reconstructions settle (rows L4, L7, L8). D's lr is the paper's (x 1): over five
# paired seeds x 1 gave better features than x 1/2 on every seed and the same
# reconstructions, steadier (D1), as x 1/2 had against x 1/4 (M3). The σ bound: at
# lr 1.2e-3 one unit's log σ could run away from ~3 to ~18 within four steps, D's
# logit reached ~1e7, and the runs where it did ended worst (point 12, S1).
DEMO_TRAINING = {"latent_dim": 64, "lr": 1.2e-3, "d_lr_scale": 1.0, "lr_decay_steps": 1500,
                 "sigma_max": 1.0, "steps": 6000,
                 "log_every": 100, "checkpoint_every": 1000, "sample_every": 1000}
# The picture demos were measured with D's lr x 1/2 and keep it (docs/demo.md, "The
# picture demos"): conditional's D, which sees y as well, already ends at 0.89 there.
PICTURE_DEMO_TRAINING = {**DEMO_TRAINING, "d_lr_scale": 0.5}


def mean_image(images: np.ndarray) -> torch.Tensor:
    """Mean training image, (3, H, W) in [0, 1], without a float copy of the set."""
    return torch.from_numpy(images.mean(axis=0, dtype=np.float64) / 255.0).permute(2, 0, 1).float()


def build_nets(cfg: ALITrainConfig, device: torch.device, images: np.ndarray | None = None,
               cond_dim: int = 0) -> ALINets:
    """ALI's networks as the config says, untrained, on ``device`` (the decoder's
    output bias from ``images``' mean if given)."""
    nets = build_ali(cfg.arch, cfg.width, cfg.latent_dim, cond_dim=cond_dim, d_reading=cfg.d_reading,
                     init_std=cfg.init_std)
    if images is not None:
        nets.decoder.init_output_bias(mean_image(images))
    scale_dropout(nets.discriminator, cfg.dropout_scale)
    nets.encoder.sigma_max = cfg.sigma_max
    for net in nets.modules().values():
        net.to(device)
    return nets


def build_ali_method(cfg: ALITrainConfig, device: torch.device,
                     images: np.ndarray | None = None, fast: fastpath.FastPath | None = None) -> ALI:
    """ALI as the config says, untrained; ``fast`` is the resolved fast path (None: plain eager)."""
    return ALI(build_nets(cfg, device, images), cfg.lr, cfg.beta1, cfg.beta2, device,
               cfg.stochastic_encoder, fast, **game_options(cfg, images))


# The config keys game_options reads: a method that cannot take them refuses them.
GAME_KEYS = ("d_lr_scale", "augment", "augment_data", "lr_decay_steps")


def game_options(cfg: ALITrainConfig, images: np.ndarray | None = None) -> dict[str, Any]:
    """The demo deviations ALI's step takes (keywords of ``methods.ali.ALI``), for
    every ALI-like method built from this config, so none of them drops a key."""
    # the decay needs the run's length, known only where the training images are;
    # a decay longer than the run starts at the full rate on step 0
    total = 0 if images is None else steps_for(cfg.epochs, cfg.steps, len(images), cfg.batch_size)
    return {"d_lr_scale": cfg.d_lr_scale, "augment_policy": parse_policy(cfg.augment),
            "data_policy": parse_policy(cfg.augment_data),
            "decay": (total, min(cfg.lr_decay_steps, total))}


def resolve_fast_path(cfg: ALITrainConfig, ctx: RunContext, conditional: bool = False) -> fastpath.FastPath:
    fast = fastpath.resolve(fastpath.switch_values(cfg), ctx.device, distributed=ctx.dist is not None)
    # A CUDA graph replays one static input tensor (conditional batches are (x, y)
    # pairs) and the learning rates it captured (a decay changes them every step).
    return replace(fast, cuda_graphs=False) if conditional or cfg.lr_decay_steps else fast


def train_ali(cfg: ALITrainConfig, ctx: RunContext, images: np.ndarray,
              build: Callable[[fastpath.FastPath], Any] | None = None,
              callbacks_for: Callable[[Any], tuple[Callback, ...]] | None = None,
              labels: np.ndarray | None = None) -> Any:
    """Train ALI (``build(fast)``: another ALI-like method, e.g. conditional ALI
    with ``labels`` as its y) through the one training entry, on the fast path
    the config asks for; resumes if the run is resumed. Under torchrun every
    rank trains on its shard and only rank 0 returns."""
    fast = resolve_fast_path(cfg, ctx, conditional=labels is not None)
    make = build or (lambda f: build_ali_method(cfg, ctx.device, images, f))
    main = ctx.dist is None or ctx.dist.is_main
    # set before training: the sample callbacks (built inside fit) find it on ctx
    ctx.tensorboard = tensorboard.TensorBoardMirror(ctx.run_dir.path) if cfg.tensorboard and main else None
    try:
        return fit_on_images(ctx, lambda: make(fast), images, cfg, "ALI", channels_last=fast.channels_last,
                             labels=labels, wrap=lambda m: fastpath.training_step(m, fast, ctx.dist, cfg.sync_bn),
                             callbacks_for=callbacks_for, fast_path=fast.describe(),
                             on_log=ctx.tensorboard.scalars if ctx.tensorboard else None)
    finally:
        if ctx.tensorboard is not None:
            ctx.tensorboard.close()
