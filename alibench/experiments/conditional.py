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

from ..core import checks
from ..core.errors import UserError
from ..core.registry import Experiment, register
from ..data import ImageData
from ..data import conditioning as conditions
from ..methods.conditional import ConditionalALI, make_embedder
from ..reporting.figures import (
    FigureConfig,
    Validation,
    restore,
    sample_callbacks,
    write_figures,
)
from ..train.fastpath import FastPath
from .ali_training import (
    PICTURE_DEMO_TRAINING,
    ALITrainConfig,
    build_ali_method,
    build_nets,
    check_arch_fits,
    check_train_images,
    game_options,
    train_ali,
)
from .context import RunContext

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
        checks.non_negative(self, "embed_dim", "n_val")
        checks.positive(self, "eval_batch_size")


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
          images: np.ndarray | None = None, fast: FastPath | None = None):
    """The untrained method: plain ALI, or conditional ALI with y's embedding."""
    kind = conditions.resolve_kind(cfg.condition, data)
    return _build(cfg, kind, conditions.cond_dim(kind, data), device, images, fast)


def saved_model(cfg: ConditionalConfig, dataset: dict, device: torch.device):
    """The untrained method of a saved run, from run.json's dataset summary
    (the same choice of y as ``conditions.resolve_kind`` made for the run)."""
    kind = cfg.condition
    if kind == "auto":
        kind = "attributes" if dataset.get("n_attributes") else "class"
    k = {"attributes": dataset.get("n_attributes", 0), "class": dataset.get("n_classes", 0),
         "none": 0}[kind]
    return _build(cfg, kind, int(k), device)


def _build(cfg: ConditionalConfig, kind: str, k: int, device: torch.device,
           images: np.ndarray | None = None, fast: FastPath | None = None):
    if kind == "none":
        return build_ali_method(cfg, device, images, fast)
    embedder = make_embedder(k, cfg.embed_dim)
    nets = build_nets(cfg, device, images, cond_dim=cfg.embed_dim or k)
    return ConditionalALI(nets, embedder, cfg.lr, cfg.beta1, cfg.beta2, device,
                          cfg.stochastic_encoder, fast, **game_options(cfg, images))


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
    return train_ali(cfg, ctx, images, build=lambda fast: build(cfg, data, ctx.device, images, fast),
                     callbacks_for=lambda m: sample_callbacks(ctx.run_dir, m, cfg, val.y, ctx.tensorboard),
                     labels=None if y_all is None else y_all[:-held])


def pictures(cfg: ConditionalConfig, ctx: RunContext, method=None) -> list[dict]:
    val = validation(cfg, ctx.data)
    if method is None:
        method = build(cfg, ctx.data, ctx.device)
        restore(ctx.run_dir, method, ctx.device)
    name = METHODS[val.y is not None]
    return write_figures(ctx, method, val, cfg, name, 0, cfg.eval_batch_size)


def execute(cfg: ConditionalConfig, ctx: RunContext) -> list[dict]:
    method = _train(cfg, ctx, validation(cfg, ctx.data))
    records = ctx.stage("pictures", lambda: pictures(cfg, ctx, method)) if cfg.figures else []
    print(f"pictures: {ctx.run_dir.path / 'report.md'}")
    return records


CIFAR10_PAPER = {"data": "cifar10", "arch": "cifar10", "batch_size": 100, "epochs": 6475.0,
                 "n_val": 5000}
METHODS = ("ali", "conditional-ali")   # recon_mse records: conditional or not
# The shipped SVHN sample at width 1/4, trained as the svhn-svm demo is but for D's
# learning rate (PICTURE_DEMO_TRAINING).
DEMO = {"data": "sample:svhn", "arch": "svhn", "width": 0.25, "batch_size": 64,
        "eval_batch_size": 200, **PICTURE_DEMO_TRAINING}

register(Experiment(
    name="conditional",
    summary="conditional ALI (y to Gz, Gx and D): CelebA attributes or classes, pictures",
    config_cls=ConditionalConfig,
    presets={"paper": {"amp_bf16": "off"},   # float32: see docs/performance.md
             "fast": {"epochs": 12.3},
             # Raw one-hot y (no 0.01-scale embedding), so a short run can learn to use it.
             "demo": {**DEMO, "embed_dim": 0}},
    execute=execute, methods=METHODS, check=check, paper_table="celeba", pictures=pictures,
    model=saved_model))

register(Experiment(
    name="ali-pictures",
    summary="ALI on any dataset (CelebA, Tiny ImageNet, …): samples, reconstructions, interpolations",
    config_cls=PicturesConfig,
    presets={"paper": {"amp_bf16": "off"},   # float32: see docs/performance.md
             "tiny-imagenet": {"data": "tiny-imagenet", "arch": "tiny-imagenet",
                               "batch_size": 128, "epochs": 125.0, "amp_bf16": "off"},
             # the paper's CIFAR10 samples and reconstructions figure: the released
             # ali_cifar10.py trains on train[0:45000] (train[45000:50000] monitors)
             # for NUM_EPOCHS = 6475 at batch 100 (docs/fidelity.md)
             "cifar10": CIFAR10_PAPER,
             "fast": {"epochs": 12.3},
             "demo": DEMO},
    execute=execute, methods=METHODS, check=check, paper_table="celeba", pictures=pictures,
    model=saved_model))
