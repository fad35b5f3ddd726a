"""The three methods of the (K+1)-class track, on its shared protocol and
schedule (``kplus1_track``); they differ only in the method they build.

- ``cifar10-ssl`` (method ``ali-k1``): the paper's CIFAR10 ALI (PAPER.md:
  latent 64, leaky ReLU 0.1 in Gz and Gx, maxout D, Salimans et al.'s
  parameterisation with the "generated" logit fixed to 0), evaluated by
  argmax_k D(x, μ(x))_k; ``methods.ali_k1`` has the losses.
- ``gan-fm``: GAN with feature matching, (K+1)-class form (Salimans et al.
  2016), with their CIFAR10 networks (``models.gan_fm``). Differences from
  their released script, the same for every method of the track: its test
  error is measured on an exponential moving average of D's weights, ours on
  the final weights; its labelled set repeats over the 50,000 training images,
  ours is drawn from train[:-n_val] (the paper's monitoring split is held out).
- ``supervised``: the supervised-only floor, ALI-K1's discriminator trunk
  trained by cross-entropy on the labelled images alone (the unlabelled pool is
  not used; ``methods.supervised`` says how z is fixed).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..core import checks
from ..core.registry import Experiment, register
from ..methods.ali_k1 import ALIK1
from ..methods.gan_fm import GANFM
from ..methods.supervised import Supervised
from ..models.ali import ARCHS, Discriminator, build_ali
from ..models.gan_fm import FM_DISCRIMINATORS, NOISE_DIM, FMDiscriminator, FMGenerator
from ..models.layers import INITS
from ..reporting import paper
from . import kplus1_track as track
from .ali_training import mean_image


@dataclass
class TrunkConfig(track.SSLConfig):
    """ALI-K1's discriminator trunk (cifar10-ssl and supervised share it)."""
    arch: str = "cifar10"
    latent_dim: int = 0               # 0: the architecture's (CIFAR10: 64)
    init: str = "paper"               # paper: N(0, 0.01²); torch: PyTorch's default (tiny widths)
    dropout_scale: float = 1.0        # × every D dropout rate (1: the paper's; demo: 0)
    d_reading: str = "released"       # CIFAR10 D(x): the released script's, or "table" (appendix)

    def validate(self) -> None:
        self.validate_ssl()
        track.check_trunk(self)


@dataclass
class AliK1Config(TrunkConfig):
    stochastic_encoder: bool = True   # False: BiGAN-style deterministic encoder


@dataclass
class SupervisedConfig(TrunkConfig):
    """latent_dim only sizes D(z)'s unused input."""


@dataclass
class GanFmConfig(track.SSLConfig):
    noise_dim: int = NOISE_DIM
    init_batch: int = 500    # labelled images for the data-dependent init (theirs: 500)
    fm_disc: str = "cifar10"  # their CIFAR10 discriminator, or "svhn" (narrower)

    def validate(self) -> None:
        self.validate_ssl()
        check_fm(self)


def check_fm(cfg) -> None:
    """The GAN-FM keys: noise_dim, init_batch, fm_disc."""
    checks.positive(cfg, "noise_dim", "init_batch")
    checks.one_of("fm_disc", cfg.fm_disc, FM_DISCRIMINATORS)


def build_ali_k1(cfg: AliK1Config, ctx, schedule, trk) -> ALIK1:
    nets = build_ali(cfg.arch, cfg.width, cfg.latent_dim, n_out=ctx.data.n_classes,
                     d_reading=cfg.d_reading)
    for net in nets.modules().values():
        INITS[cfg.init](net)
    nets.decoder.init_output_bias(mean_image(trk.x_pool))
    track.scale_dropout(nets.discriminator, cfg.dropout_scale)
    for net in nets.modules().values():
        net.to(ctx.device)
    return ALIK1(nets, schedule, ctx.device, cfg.stochastic_encoder, cfg.unlabeled_weight)


def build_gan_fm(cfg: GanFmConfig, ctx, schedule, trk) -> GANFM:
    disc = FMDiscriminator(cfg.width, ctx.data.n_classes, cfg.fm_disc).to(ctx.device)
    gen = FMGenerator(cfg.width, cfg.noise_dim).to(ctx.device)
    method = GANFM(disc, gen, schedule, ctx.device, cfg.unlabeled_weight)
    # Theirs: the first 500 of a random permutation of the labelled images.
    order = torch.randperm(len(trk.lab_idx), generator=torch.Generator().manual_seed(ctx.seed))
    method.initialize(trk.pool.batch(trk.lab_idx[order[:cfg.init_batch].to(ctx.device)]))
    return method


def build_supervised(cfg: SupervisedConfig, ctx, schedule, trk) -> Supervised:
    spec = ARCHS[cfg.arch]
    latent = cfg.latent_dim or spec.latent_dim
    disc = Discriminator(spec, cfg.width, latent, n_out=ctx.data.n_classes, reading=cfg.d_reading)
    INITS[cfg.init](disc)
    track.scale_dropout(disc, cfg.dropout_scale)
    return Supervised(disc.to(ctx.device), latent, schedule, ctx.device)


def _at_1000(method: str) -> str:
    return f"paper Table 2 at 1000 labels: {paper.format_result(paper.lookup('cifar10', method, 1000))} %"


# (experiment, method, config, builder, demo preset, summary)
TRACK_METHODS = (
    ("cifar10-ssl", "ali-k1", AliK1Config, build_ali_k1, track.DEMO_ALI_NETS,
     f"ALI with a (K+1)-class D(x, z) on CIFAR10 ({_at_1000('ali-k1')})"),
    ("gan-fm", "gan-fm", GanFmConfig, build_gan_fm, track.DEMO,
     f"GAN with feature matching, K+1 classes (Salimans et al.; {_at_1000('gan-fm')})"),
    ("supervised", "supervised", SupervisedConfig, build_supervised, track.DEMO_ALI_NETS,
     "supervised-only floor: ALI-K1's discriminator trunk on the labelled images alone"),
)


def _executor(method: str, build):
    def execute(cfg, ctx) -> list[dict]:
        return track.run_track(cfg, ctx, method, build)
    return execute


for name, method, config_cls, build, demo, summary in TRACK_METHODS:
    register(Experiment(
        name=name, summary=summary, config_cls=config_cls,
        presets={"paper": track.PAPER, "fast": track.FAST, "demo": demo},
        execute=_executor(method, build), methods=(method,), check=track.check,
        paper_table="cifar10"))
