"""Baseline: the supervised-only floor (method ``supervised``): ALI-K1's
discriminator trunk trained by cross-entropy on the labelled images alone, with
the track's shared protocol and schedule (``experiments.ssl``). The unlabelled
pool is not used; ``methods.supervised`` says how z is fixed."""

from __future__ import annotations

from dataclasses import dataclass

from ..methods.supervised import Supervised
from ..models.ali import ARCHS, Discriminator
from ..models.layers import INITS
from ..registry import Experiment, register
from . import ssl


@dataclass
class SupervisedConfig(ssl.SSLConfig):
    arch: str = "cifar10"
    latent_dim: int = 0               # 0: the architecture's; only sizes D(z)'s unused input
    init: str = "paper"               # as cifar10-ssl: paper N(0, 0.01²) or torch
    dropout_scale: float = 1.0        # × every D dropout rate (1: the paper's; demo: 0)

    def validate(self) -> None:
        self.validate_ssl()
        ssl.check_trunk(self)


def build(cfg: SupervisedConfig, ctx, schedule, track) -> Supervised:
    spec = ARCHS[cfg.arch]
    latent = cfg.latent_dim or spec.latent_dim
    disc = Discriminator(spec, cfg.width, latent, n_out=ctx.data.n_classes)
    INITS[cfg.init](disc)
    ssl.scale_dropout(disc, cfg.dropout_scale)
    return Supervised(disc.to(ctx.device), latent, schedule, ctx.device)


def run(cfg: SupervisedConfig, ctx) -> list[dict]:
    return ssl.run_track(cfg, ctx, "supervised", build)


PRESETS = {"paper": ssl.PAPER, "fast": ssl.FAST, "demo": ssl.DEMO_ALI_NETS}

register(Experiment(
    name="supervised",
    summary="supervised-only floor: ALI-K1's discriminator trunk on the labelled images alone",
    config_cls=SupervisedConfig, presets=PRESETS, run=run, check=ssl.check, paper_dataset="cifar10"))
