"""Baseline: GAN with feature matching, (K+1)-class form (Salimans et al. 2016;
method ``gan-fm``), with their CIFAR10 networks (``models.gan_fm``) and the
track's shared protocol and schedule (``experiments.ssl``).

Differences from their released script, the same for every method of the track:
its test error is measured on an exponential moving average of D's weights, ours
on the final weights; its labelled set repeats over the 50,000 training images,
ours is drawn from train[:-n_val] (the paper's monitoring split is held out).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import paper
from ..errors import UserError
from ..methods.gan_fm import GANFM
from ..models.gan_fm import NOISE_DIM, FMDiscriminator, FMGenerator
from ..registry import Experiment, register
from . import ssl


@dataclass
class GanFmConfig(ssl.SSLConfig):
    noise_dim: int = NOISE_DIM
    init_batch: int = 500    # labelled images for the data-dependent init (theirs: 500)

    def validate(self) -> None:
        self.validate_ssl()
        if self.noise_dim <= 0 or self.init_batch <= 0:
            raise UserError("noise_dim and init_batch must be positive")


def build(cfg: GanFmConfig, ctx, schedule, track) -> GANFM:
    disc = FMDiscriminator(cfg.width, ctx.data.n_classes).to(ctx.device)
    gen = FMGenerator(cfg.width, cfg.noise_dim).to(ctx.device)
    method = GANFM(disc, gen, schedule, ctx.device, cfg.unlabeled_weight)
    # Theirs: the first 500 of a random permutation of the labelled images.
    order = torch.randperm(len(track.lab_idx), generator=torch.Generator().manual_seed(ctx.seed))
    method.initialize(track.pool.batch(track.lab_idx[order[:cfg.init_batch].to(ctx.device)]))
    return method


def run(cfg: GanFmConfig, ctx) -> list[dict]:
    return ssl.run_track(cfg, ctx, "gan-fm", build)


PRESETS = {"paper": ssl.PAPER, "fast": ssl.FAST, "demo": ssl.DEMO}

register(Experiment(
    name="gan-fm",
    summary="GAN with feature matching, K+1 classes (Salimans et al.; paper Table 2 at 1000 "
            f"labels: {paper.format_result(paper.lookup('cifar10', 'gan-fm', 1000))} %)",
    config_cls=GanFmConfig, presets=PRESETS, run=run, check=ssl.check, paper_dataset="cifar10"))
