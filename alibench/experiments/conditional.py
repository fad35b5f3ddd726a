"""ALI for pictures: conditional ALI (paper, "Conditional generation", CelebA's
40 attributes) and plain ALI on the 64×64 picture datasets.

``conditional``: y = CelebA's attributes (multi-hot) or a class (one-hot), given
to Gz, Gx and D (``methods.conditional``); the released
``experiments/ali_celeba_conditional.py`` is the paper preset: the CelebA
networks, batch 128, 123 epochs, Adam(1e-4, β1 0.5), a 256-dimensional
embedding of y. ``ali-pictures``: the same run with no y, whose presets are the
paper's CelebA and Tiny ImageNet settings (appendix tables: CelebA batch 100,
123 epochs; Tiny ImageNet batch 128, 125 epochs — its released script says
1000). Both train on the training split minus its validation part, and draw
their pictures from that validation part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .. import conditions
from ..data import ImageData
from ..data.batches import EpochSampler, ResidentImages
from ..errors import UserError
from ..figures import FigureConfig, Validation, restore, sample_callbacks, write_figures
from ..loop import LoopSettings, resume_step, steps_for, train
from ..methods.conditional import ConditionalALI, make_embedder
from ..models.ali import build_ali
from ..registry import Experiment, register
from .common import (ALITrainConfig, RunContext, build_ali_method, check_arch_fits,
                     check_train_images, mean_image)

AUTO_VAL_FRACTION = 0.1


@dataclass
class ConditionalConfig(ALITrainConfig, FigureConfig):
    """Defaults: the released conditional CelebA script."""
    data: str = "celeba"
    arch: str = "celeba"
    batch_size: int = 128
    epochs: float = 123.0
    condition: str = "auto"   # attributes (multi-hot), class (one-hot), none; auto: attributes if any
    embed_dim: int = 256      # the shared linear embedding of y; 0 = y itself
    n_val: int = 0            # validation rows at the end of x_train; 0: the data's own, else 10 %
    eval_batch_size: int = 500

    def validate(self) -> None:
        self.validate_training()
        self.validate_figures()
        if self.condition not in conditions.KINDS:
            raise UserError(f"condition must be one of {', '.join(conditions.KINDS)}, "
                            f"got {self.condition!r}")
        for key in ("embed_dim", "n_val"):
            if getattr(self, key) < 0:
                raise UserError(f"{key} must be >= 0, got {getattr(self, key)}")
        if self.eval_batch_size <= 0:
            raise UserError(f"eval_batch_size must be positive, got {self.eval_batch_size}")


@dataclass
class PicturesConfig(ConditionalConfig):
    """Defaults: the paper's unconditional CelebA (appendix table)."""
    batch_size: int = 100
    condition: str = "none"


def n_val(cfg: ConditionalConfig, data: ImageData) -> int:
    if cfg.n_val:
        return cfg.n_val
    return data.val_size or max(2, int(len(data.x_train) * AUTO_VAL_FRACTION))


def check(cfg: ConditionalConfig, data: ImageData) -> None:
    check_arch_fits(cfg.arch, data)
    conditions.resolve_kind(cfg.condition, data)
    held = n_val(cfg, data)
    if held < 2 or held >= len(data.x_train):
        raise UserError(f"n_val={held} must be at least 2 and leave training images "
                        f"({data.name} has {len(data.x_train)}); change --set n_val")
    check_train_images(data.x_train[:-held], cfg.batch_size)


def build(cfg: ConditionalConfig, data: ImageData, device: torch.device,
          images: np.ndarray | None = None):
    """The untrained method: plain ALI, or conditional ALI with y's embedding."""
    kind = conditions.resolve_kind(cfg.condition, data)
    if kind == "none":
        return build_ali_method(cfg, device, images)
    k = conditions.cond_dim(kind, data)
    embedder = make_embedder(k, cfg.embed_dim)
    nets = build_ali(cfg.arch, cfg.width, cfg.latent_dim, cond_dim=cfg.embed_dim or k)
    if images is not None:
        nets.decoder.init_output_bias(mean_image(images))
    for net in nets.modules().values():
        net.to(device)
    return ConditionalALI(nets, embedder, cfg.lr, cfg.beta1, cfg.beta2, device,
                          cfg.stochastic_encoder)


def validation(cfg: ConditionalConfig, data: ImageData) -> Validation:
    kind, held = conditions.resolve_kind(cfg.condition, data), n_val(cfg, data)
    y = conditions.train_vectors(kind, data)
    own = "its own validation split" if held == data.val_size else "held out"
    return Validation(data.x_train[-held:], None if y is None else y[-held:],
                      f"the last {held} images of {data.name}'s training split ({own}; "
                      "never trained on)",
                      None if kind == "none" else conditions.figure_conditions(kind, data))


def _train(cfg: ConditionalConfig, ctx: RunContext, val: Validation):
    data, held = ctx.data, len(val.x)
    images = data.x_train[:-held]
    y_all = conditions.train_vectors(conditions.resolve_kind(cfg.condition, data), data)
    torch.manual_seed(ctx.seed)
    method = build(cfg, data, ctx.device, images)
    resident = ResidentImages(images, ctx.device)
    ys = None if y_all is None else torch.from_numpy(y_all[:-held]).to(ctx.device)
    sampler = EpochSampler(len(resident), cfg.batch_size, ctx.seed, ctx.device)
    total = steps_for(cfg.epochs, cfg.steps, len(resident), cfg.batch_size)
    start = resume_step(ctx.run, method.state(), ctx.device) if ctx.resumed else 0
    ctx.run.update(total_steps=total, train_images=len(resident))

    def next_batch(step: int):
        idx = sampler.indices(step)
        return resident.batch(idx) if ys is None else (resident.batch(idx), ys.index_select(0, idx))

    settings = LoopSettings(total, cfg.log_every, cfg.checkpoint_every, desc=f"ALI seed {ctx.seed}")
    train(method, next_batch, settings, ctx.run, start,
          callbacks=sample_callbacks(ctx.run, method, cfg, val.y))
    return method


def pictures(cfg: ConditionalConfig, ctx: RunContext, method=None) -> list[dict]:
    val = validation(cfg, ctx.data)
    if method is None:
        method = build(cfg, ctx.data, ctx.device)
        restore(ctx.run, method, ctx.device)
    name = "ali" if val.y is None else "conditional-ali"
    return write_figures(ctx, method, val, cfg, name, 0, cfg.eval_batch_size)


def run(cfg: ConditionalConfig, ctx: RunContext) -> list[dict]:
    method = _train(cfg, ctx, validation(cfg, ctx.data))
    records = pictures(cfg, ctx, method) if cfg.figures else []
    print(f"pictures: {ctx.run.path / 'report.md'}")
    return records


DEMO = {"data": "sample:svhn", "arch": "svhn", "width": 0.25, "steps": 600, "batch_size": 64,
        "log_every": 50, "checkpoint_every": 200, "sample_every": 100, "eval_batch_size": 200}

register(Experiment(
    name="conditional",
    summary="conditional ALI (y to Gz, Gx and D): CelebA attributes or classes, pictures",
    config_cls=ConditionalConfig,
    presets={"paper": {},
             "fast": {"epochs": 12.3},
             # Raw one-hot y (no 0.01-scale embedding) so 600 steps can learn to use it.
             "demo": {**DEMO, "embed_dim": 0}},
    run=run, check=check, paper_dataset="celeba", pictures=pictures))

register(Experiment(
    name="ali-pictures",
    summary="ALI on any dataset (CelebA, Tiny ImageNet, …): samples, reconstructions, interpolations",
    config_cls=PicturesConfig,
    presets={"paper": {},
             "tiny-imagenet": {"data": "tiny-imagenet", "arch": "tiny-imagenet",
                               "batch_size": 128, "epochs": 125.0},
             "fast": {"epochs": 12.3},
             "demo": DEMO},
    run=run, check=check, paper_dataset="celeba", pictures=pictures))
