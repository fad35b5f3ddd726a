"""Track 2: ALI with a (K+1)-class discriminator on CIFAR10 (method ``ali-k1``).

The paper's CIFAR10 ALI (PAPER.md: latent 64, leaky ReLU 0.1 in Gz and Gx,
maxout D, Salimans et al.'s parameterisation with the "generated" logit fixed
to 0), trained with the track's shared protocol and schedule (``experiments.ssl``)
and evaluated by argmax_k D(x, μ(x))_k; see ``methods.ali_k1`` for the losses.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import paper
from ..methods.ali_k1 import ALIK1
from ..models.ali import build_ali
from ..models.layers import INITS
from ..registry import Experiment, register
from . import ssl
from .common import mean_image


@dataclass
class AliK1Config(ssl.SSLConfig):
    arch: str = "cifar10"
    latent_dim: int = 0               # 0: the architecture's (CIFAR10: 64)
    stochastic_encoder: bool = True   # False: BiGAN-style deterministic encoder
    init: str = "paper"               # paper: N(0, 0.01²); torch: PyTorch's default (tiny widths)
    dropout_scale: float = 1.0        # × every D dropout rate (1: the paper's; demo: 0)

    def validate(self) -> None:
        self.validate_ssl()
        ssl.check_trunk(self)


def build(cfg: AliK1Config, ctx, schedule, track) -> ALIK1:
    nets = build_ali(cfg.arch, cfg.width, cfg.latent_dim, n_out=ctx.data.n_classes)
    for net in nets.modules().values():
        INITS[cfg.init](net)
    nets.decoder.init_output_bias(mean_image(track.x_pool))
    ssl.scale_dropout(nets.discriminator, cfg.dropout_scale)
    for net in nets.modules().values():
        net.to(ctx.device)
    return ALIK1(nets, schedule, ctx.device, cfg.stochastic_encoder, cfg.unlabeled_weight)


def run(cfg: AliK1Config, ctx) -> list[dict]:
    return ssl.run_track(cfg, ctx, "ali-k1", build)


PRESETS = {"paper": ssl.PAPER, "fast": ssl.FAST, "demo": ssl.DEMO_ALI_NETS}

register(Experiment(
    name="cifar10-ssl",
    summary="ALI with a (K+1)-class D(x, z) on CIFAR10 (paper Table 2 at 1000 labels: "
            f"{paper.format_result(paper.lookup('cifar10', 'ali-k1', 1000))} %)",
    config_cls=AliK1Config, presets=PRESETS, run=run, check=ssl.check, paper_dataset="cifar10"))
