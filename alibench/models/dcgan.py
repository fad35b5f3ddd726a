"""DCGAN for 32×32 images: the DCGAN + L2-SVM baseline of the SVHN table.

Built after the DCGAN authors' released SVHN model (Newmu/dcgan_code,
``models/svhn_unsup_all_conv_dcgan_100z_gaussian_lr_0.0005_64mb``, whose
``.npy`` headers give every parameter's shape) and the layer code shared by
their released training scripts (``faces/train_uncond_dcgan.py``, ``lib/ops.py``,
``lib/inits.py``). k/s/c = kernel, stride, maps; every convolution pads by 2.

Generator G(z), z ~ N(0, I) in 100 dimensions (the model's name: "100z gaussian"):
    dense 100 → 4096 (no bias) → batch norm over the 4096 units → ReLU → reshape 256×4×4
    tconv 5/2/128 → BN → ReLU (8×8);  tconv 5/2/64 → BN → ReLU (16×16)
    tconv 5/2/3 → tanh (32×32); no biases anywhere.
  The dense projection is the first of the "4 transposed convolutions" of
  PAPER.md (a dense layer onto 4×4 maps is a 4×4 transposed convolution of a
  1×1 input); as in the released code its batch norm is per unit, not per map.
Discriminator D(x), x scaled to [−1, 1]:
    conv 5/2/64 → LReLU(0.2) (16×16, no batch norm)
    conv 5/2/128 → BN → LReLU(0.2) (8×8);  conv 5/2/256 → BN → LReLU(0.2) (4×4)
    dense 4096 → 1 logit; no biases anywhere.
Init (``lib/inits.py`` as the scripts call it): weights N(0, 0.02²), batch-norm
gains N(1, 0.02²), shifts 0. Batch norm ε = 1e-8 (``lib/ops.batchnorm``).

SVM features (``svhn/svhn_semisup_analysis.py``): the three conv layers' outputs
after the leaky ReLU, max-pooled 4×4, 2×2 and not at all, flattened and
concatenated: 64·4·4 + 128·4·4 + 256·4·4 = 7,168 dimensions at full width.

``width`` scales every hidden channel count (tiny CPU presets).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .layers import scaled

NZ = 100
G_MAPS = (256, 128, 64)   # 4×4, 8×8, 16×16
D_MAPS = (64, 128, 256)   # 16×16, 8×8, 4×4
FEATURE_POOL = (4, 2, 1)  # max-pool window per D layer for the SVM features
KERNEL, STRIDE, PAD = 5, 2, 2
SLOPE = 0.2
BN_EPS = 1e-8


def _tconv(c_in: int, c_out: int) -> nn.ConvTranspose2d:
    # output_padding=1 makes a stride-2, pad-2, 5×5 transposed conv double the size exactly,
    # as the released deconv (the gradient of that convolution onto a 2× larger image) does.
    return nn.ConvTranspose2d(c_in, c_out, KERNEL, STRIDE, PAD, output_padding=1, bias=False)


def _conv(c_in: int, c_out: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, KERNEL, STRIDE, PAD, bias=False)


class Generator(nn.Module):
    """G: z (N, nz) → x in [−1, 1] (N, 3, 32, 32)."""

    def __init__(self, width: float = 1.0, nz: int = NZ) -> None:
        super().__init__()
        self.nz = nz
        c = [scaled(m, width) for m in G_MAPS]
        self.c0 = c[0]
        self.project = nn.Sequential(nn.Linear(nz, c[0] * 16, bias=False),
                                     nn.BatchNorm1d(c[0] * 16, eps=BN_EPS), nn.ReLU())
        self.blocks = nn.Sequential(
            _tconv(c[0], c[1]), nn.BatchNorm2d(c[1], eps=BN_EPS), nn.ReLU(),
            _tconv(c[1], c[2]), nn.BatchNorm2d(c[2], eps=BN_EPS), nn.ReLU())
        self.out = _tconv(c[2], 3)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.project(z).view(-1, self.c0, 4, 4)
        return torch.tanh(self.out(self.blocks(h)))


class Discriminator(nn.Module):
    """D: x in [−1, 1] (N, 3, 32, 32) → logit (N,)."""

    def __init__(self, width: float = 1.0) -> None:
        super().__init__()
        c = [scaled(m, width) for m in D_MAPS]
        self.layers = nn.ModuleList([
            nn.Sequential(_conv(3, c[0]), nn.LeakyReLU(SLOPE)),
            nn.Sequential(_conv(c[0], c[1]), nn.BatchNorm2d(c[1], eps=BN_EPS), nn.LeakyReLU(SLOPE)),
            nn.Sequential(_conv(c[1], c[2]), nn.BatchNorm2d(c[2], eps=BN_EPS), nn.LeakyReLU(SLOPE)),
        ])
        self.head = nn.Linear(c[2] * 16, 1, bias=False)

    def hidden(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The three conv layers' outputs after the leaky ReLU."""
        out = []
        for layer in self.layers:
            x = layer(x)
            out.append(x)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.hidden(x)[-1].flatten(1)).squeeze(1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The released SVM features: layer outputs max-pooled 4×4, 2×2, 1×1, concatenated."""
        pooled = [nn.functional.max_pool2d(h, k) if k > 1 else h
                  for h, k in zip(self.hidden(x), FEATURE_POOL)]
        return torch.cat([p.flatten(1) for p in pooled], dim=1)

    def feature_dim(self) -> int:
        return sum(layer[0].out_channels * 16 for layer in self.layers)


def init_dcgan(module: nn.Module, std: float = 0.02) -> None:
    """Weights N(0, std²), batch-norm gains N(1, std²), shifts 0 (the released inits)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


@dataclass
class DCGANNets:
    generator: Generator
    discriminator: Discriminator

    def modules(self) -> dict[str, nn.Module]:
        return {"generator": self.generator, "discriminator": self.discriminator}


def build_dcgan(width: float = 1.0, nz: int = NZ) -> DCGANNets:
    nets = DCGANNets(Generator(width, nz), Discriminator(width))
    for net in nets.modules().values():
        init_dcgan(net)
    return nets
