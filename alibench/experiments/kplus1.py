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
from functools import partial
from typing import Callable

import torch

from ..core import checks
from ..core.registry import Experiment, register
from ..methods.ali_k1 import ALIK1
from ..methods.gan_fm import GANFM
from ..methods.kplus1 import Schedule
from ..methods.supervised import Supervised
from ..models.ali import ARCHS, Discriminator, build_ali
from ..models.gan_fm import FM_DISCRIMINATORS, NOISE_DIM, FMDiscriminator, FMGenerator
from ..models.layers import INITS, scale_dropout
from ..reporting import paper
from ..reporting.figures import (
    NOISE_SEED,
    FigureConfig,
    restore,
    signed_generator_samples,
    write_figures,
    write_generator_figures,
    write_training_report,
)
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
class AliK1Config(TrunkConfig, FigureConfig):
    stochastic_encoder: bool = True   # False: BiGAN-style deterministic encoder

    def validate(self) -> None:
        super().validate()
        self.validate_figures()


@dataclass
class SupervisedConfig(TrunkConfig):
    """latent_dim only sizes D(z)'s unused input."""


@dataclass
class GanFmConfig(track.SSLConfig, FigureConfig):
    noise_dim: int = NOISE_DIM
    init_batch: int = 500    # labelled images for the data-dependent init (theirs: 500)
    fm_disc: str = "cifar10"  # their CIFAR10 discriminator, or "svhn" (narrower)

    def validate(self) -> None:
        self.validate_ssl()
        self.validate_figures()
        check_fm(self)


def check_fm(cfg) -> None:
    """The GAN-FM keys: noise_dim, init_batch, fm_disc."""
    checks.positive(cfg, "noise_dim", "init_batch")
    checks.one_of("fm_disc", cfg.fm_disc, FM_DISCRIMINATORS)


def ali_k1_method(cfg: AliK1Config, n_classes: int, device: torch.device,
                  schedule: Schedule | None = None, images=None) -> ALIK1:
    """ALI-K1 as the config says. Training (``images``: the pool, for the decoder's
    output bias): initialised by ``cfg.init`` on the CPU; ``schedule`` None: a saved
    run's method, whose weights are loaded next and whose optimisers never step."""
    nets = build_ali(cfg.arch, cfg.width, cfg.latent_dim, n_out=n_classes, d_reading=cfg.d_reading)
    if images is not None:
        for net in nets.modules().values():
            INITS[cfg.init](net)
        nets.decoder.init_output_bias(mean_image(images))
    scale_dropout(nets.discriminator, cfg.dropout_scale)
    for net in nets.modules().values():
        net.to(device)
    return ALIK1(nets, schedule or _loaded(cfg), device, cfg.stochastic_encoder, cfg.unlabeled_weight)


def build_ali_k1(cfg: AliK1Config, ctx, schedule, trk) -> ALIK1:
    return ali_k1_method(cfg, ctx.data.n_classes, ctx.device, schedule, trk.x_pool)


def gan_fm_method(cfg: GanFmConfig, n_classes: int, device: torch.device,
                  schedule: Schedule | None = None) -> GANFM:
    disc = FMDiscriminator(cfg.width, n_classes, cfg.fm_disc).to(device)
    gen = FMGenerator(cfg.width, cfg.noise_dim).to(device)
    return GANFM(disc, gen, schedule or _loaded(cfg), device, cfg.unlabeled_weight)


def build_gan_fm(cfg: GanFmConfig, ctx, schedule, trk) -> GANFM:
    method = gan_fm_method(cfg, ctx.data.n_classes, ctx.device, schedule)
    # Theirs: the first 500 of a random permutation of the labelled images.
    order = torch.randperm(len(trk.lab_idx), generator=torch.Generator().manual_seed(ctx.seed))
    method.initialize(trk.pool.batch(trk.lab_idx[order[:cfg.init_batch].to(ctx.device)]))
    return method


def supervised_method(cfg: SupervisedConfig, n_classes: int, device: torch.device,
                      schedule: Schedule | None = None, init: bool = False) -> Supervised:
    spec = ARCHS[cfg.arch]
    latent = cfg.latent_dim or spec.latent_dim
    disc = Discriminator(spec, cfg.width, latent, n_out=n_classes, reading=cfg.d_reading)
    if init:
        INITS[cfg.init](disc)
    scale_dropout(disc, cfg.dropout_scale)
    return Supervised(disc.to(device), latent, schedule or _loaded(cfg), device)


def build_supervised(cfg: SupervisedConfig, ctx, schedule, trk) -> Supervised:
    return supervised_method(cfg, ctx.data.n_classes, ctx.device, schedule, init=True)


def _loaded(cfg) -> Schedule:
    """The optimisers' settings of a saved run (loading never steps them)."""
    return Schedule(cfg.lr, cfg.beta1, cfg.beta2, 1, 0, eps_in_sqrt=cfg.adam_eps == "in-sqrt")


# --- after training: pictures and signals (curves, report.md), saved models -----------

def ali_k1_pictures(cfg: AliK1Config, ctx, method=None) -> list[dict]:
    """Samples, reconstructions, interpolations, recon_mse, the training signals and
    report.md, from the monitoring split, as every ALI run draws them."""
    if method is None:
        method = ali_k1_method(cfg, ctx.data.n_classes, ctx.device)
        restore(ctx.run_dir, method, ctx.device)
    return write_figures(ctx, method, track.monitoring_split(cfg, ctx.data), cfg, "ali-k1",
                         cfg.n_labels, cfg.eval_batch_size)


def gan_fm_pictures(cfg: GanFmConfig, ctx, method=None) -> list[dict]:
    """Samples from fixed noise, sample diversity, D's accuracy, curves and report.md."""
    if method is None:
        method = gan_fm_method(cfg, ctx.data.n_classes, ctx.device)
        restore(ctx.run_dir, method, ctx.device)
    return write_generator_figures(ctx, lambda n: gan_fm_samples(method, n, cfg.eval_batch_size),
                                   track.monitoring_split(cfg, ctx.data), cfg, "gan-fm",
                                   cfg.n_labels, ctx.device)


def gan_fm_samples(method: GANFM, n: int, batch_size: int = 500) -> torch.Tensor:
    """The first ``n`` samples from GAN-FM's fixed noise U(0, 1)^noise_dim (the same
    for every run), float N×3×H×W in [0, 1]; the RNG is left as it was."""
    z = torch.rand(n, method.gen.noise_dim, generator=torch.Generator().manual_seed(NOISE_SEED))
    return signed_generator_samples(method.gen, z, method.device, batch_size)


def supervised_report(cfg: SupervisedConfig, ctx, method=None) -> list[dict]:
    """curves.png and report.md: no generator, so no pictures and no GAN signals."""
    write_training_report(ctx, track.monitoring_split(cfg, ctx.data).source)
    return []


def _classes(dataset) -> int:
    return int(dataset.get("n_classes") or 10)


def _at_1000(method: str) -> str:
    return f"paper Table 2 at 1000 labels: {paper.format_result(paper.lookup('cifar10', method, 1000))} %"


@dataclass(frozen=True)
class TrackMethod:
    """One method of the track: how to train it, draw it and load it."""
    build: Callable            # build(cfg, ctx, schedule, track): the untrained method
    pictures: Callable         # pictures(cfg, ctx, method or None): records (track.Pictures)
    model: Callable            # model(cfg, n_classes, device): a saved run's method, untrained


METHODS = {
    "ali-k1": TrackMethod(build_ali_k1, ali_k1_pictures, ali_k1_method),
    "gan-fm": TrackMethod(build_gan_fm, gan_fm_pictures, gan_fm_method),
    "supervised": TrackMethod(build_supervised, supervised_report, supervised_method),
}

# (experiment, method, config, demo preset, summary)
TRACK_EXPERIMENTS = (
    ("cifar10-ssl", "ali-k1", AliK1Config, track.DEMO_ALI_NETS,
     f"ALI with a (K+1)-class D(x, z) on CIFAR10 ({_at_1000('ali-k1')})"),
    ("gan-fm", "gan-fm", GanFmConfig, track.DEMO,
     f"GAN with feature matching, K+1 classes (Salimans et al.; {_at_1000('gan-fm')})"),
    ("supervised", "supervised", SupervisedConfig, track.DEMO_ALI_NETS,
     "supervised-only floor: ALI-K1's discriminator trunk on the labelled images alone"),
)


def execute_method(cfg, ctx, method: str) -> list[dict]:
    m = METHODS[method]
    return track.run_track(cfg, ctx, method, m.build, m.pictures)


def saved_model(method: str):
    """The ``model=`` of a registration: ``load_run`` and ``export`` rebuild the method."""
    return lambda cfg, dataset, device: METHODS[method].model(cfg, _classes(dataset), device)


for name, method, config_cls, demo, summary in TRACK_EXPERIMENTS:
    register(Experiment(
        name=name, summary=summary, config_cls=config_cls,
        presets={"paper": track.PAPER, "fast": track.FAST, "demo": demo},
        execute=partial(execute_method, method=method), methods=(method,), check=track.check,
        paper_table="cifar10", model=saved_model(method),
        # the figures tool redraws pictures; the supervised floor draws none (it keeps
        # its curves and report.md from the run)
        pictures=METHODS[method].pictures if method != "supervised" else None))
