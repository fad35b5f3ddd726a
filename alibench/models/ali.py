"""The paper's ALI networks: 32×32 (SVHN, CIFAR10) and 64×64 (CelebA, Tiny ImageNet).

Layer lists follow shared/PAPER.md (the appendix tables and the authors'
released scripts). Choices PAPER.md leaves open, taken from the released code:
only the first convolution of D(x) has a bias (SVHN, CelebA, Tiny ImageNet;
CIFAR10: see below), D(z) has none (except Tiny ImageNet's), the joint network
has biases; the encoder's last layer and the
decoder's output layer have biases (the decoder's one per position and
channel, initialised to the log-odds of the mean training pixel). Batch norm
in D sees encoder and decoder pairs as one concatenated batch, as in the
released code.

CIFAR10's D(x), from the final released ``experiments/ali_cifar10.py``
(IshmaelBelghazi/ALI, commit 741808b, NUM_EPOCHS = 6475), is the default
(``d_reading="released"``): every convolution has a bias (the sequence sets no
``use_bias=False``) and it is untied, one per output position and map (Blocks'
``Convolutional`` default ``tied_biases=False``); dropout 0.2 on conv1's input
and 0.5 on conv2's input, on conv3's pre-maxout output and on conv5's input
(``apply_dropout`` on ``layers[0]`` and ``layers[2::3]``). ``d_reading="table"``
keeps the appendix table's reading: dropout 0.2 on the first input and 0.5 on
every other, a tied bias on conv1 only (an earlier version of the script).
D(z) and D(x, z) are the same in both readings.

64×64 architectures, from the released scripts ``experiments/ali_celeba.py``
and ``experiments/ali_tiny_imagenet.py`` (repository IshmaelBelghazi/ALI,
commit d9daa17), checked against the paper's appendix tables. conv k/s/c and
tconv k/s/c as in PAPER.md (no padding); every hidden layer of Gz and Gx is
BN + leaky ReLU; D(x)'s first layer has no BN, the others have; dropout 0.2
on the input of every D convolution (the scripts' ``apply_dropout(…, 0.2)``).

CelebA (latent 256, leaky ReLU 0.02 everywhere):
  Gz: conv 2/1/64, 7/2/128, 5/2/256, 7/2/256, 4/1/512, then conv 1/1/512
      linear = [μ, log σ]. Spatial 64→63→29→13→4→1.
  Gx: tconv 4/1/512, 7/2/256, 5/2/256, 7/2/128, 2/1/64, conv 1/1/3 + sigmoid.
      Spatial 1→4→13→29→63→64.
  D(x): conv 2/1/64, 7/2/128, 5/2/256, 7/2/256, 4/1/512.
  D(z): conv 1/1/1024, 1/1/1024 (no biases).  D(x, z): conv 1/1/2048,
      1/1/2048, 1/1/1.
  The appendix table differs from the script, and we follow the script: the
  table marks D(x)'s first layer with BN and all of D(x) with dropout 0.0,
  gives Gx and D(z) a 512-map input (the conditional script's 256 + 256
  embedding; the unconditional latent is 256) and D(x, z) a 1024-map input
  (the script's is 512 + 1024 = 1536).
Tiny ImageNet (latent 256, leaky ReLU 0.01 — Blocks' default — everywhere):
  Gz: conv 4/2/64, 4/1/64, 4/2/128, 4/1/128, 4/2/256, 4/1/256, 1/1/2048,
      1/1/2048, then conv 1/1/512 linear. Spatial 64→31→28→13→10→4→1→1→1.
  Gx: conv 1/1/2048, 1/1/256, tconv 4/1/256, 4/2/128, 4/1/128, 4/2/64,
      4/1/64, 4/2/64, conv 1/1/3 + sigmoid. Spatial 1→1→1→4→10→13→28→31→64.
  D(x): conv 4/2/64, 4/1/64, 4/2/128, 4/1/128, 4/2/256, 4/1/256.
  D(z): conv 1/1/2048, 1/1/2048 (with biases, unlike the others).
  D(x, z): conv 1/1/4096, 1/1/4096, 1/1/1 (input 256 + 2048 = 2304, as the
  table says). The table and the script agree.

``width`` scales every hidden channel count (tiny CPU presets); the latent size
is the paper's unless set otherwise. ``cond_dim`` > 0 adds a conditioning
vector y (already embedded; see ``methods.conditional``) where the authors'
conditional code (``ali/conditional_bricks.py``) puts it: concatenated to
Gz's last hidden layer (the input of the μ/log σ layer), to Gx's input z, and
to D's joint input beside D(x) and D(z).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from .layers import ConvBN, Maxout, PositionBias, bn, init_paper, scaled

# (kernel, stride, maps) per layer, from the paper's tables.
ENCODER = [(5, 1, 32), (4, 2, 64), (4, 1, 128), (4, 2, 256), (4, 1, 512), (1, 1, 512)]
DECODER = [(4, 1, 256), (4, 2, 128), (4, 1, 64), (4, 2, 32), (5, 1, 32), (1, 1, 32)]
D_X = [(5, 1, 32), (4, 2, 64), (4, 1, 128), (4, 2, 256), (4, 1, 512)]
D_Z = [512, 512]
D_JOINT = [1024, 1024]

CELEBA_ENCODER = [(2, 1, 64), (7, 2, 128), (5, 2, 256), (7, 2, 256), (4, 1, 512)]
CELEBA_DECODER = [(4, 1, 512), (7, 2, 256), (5, 2, 256), (7, 2, 128), (2, 1, 64)]
TINY_ENCODER = [(4, 2, 64), (4, 1, 64), (4, 2, 128), (4, 1, 128), (4, 2, 256), (4, 1, 256),
                (1, 1, 2048), (1, 1, 2048)]
TINY_DECODER = [(1, 1, 2048), (1, 1, 256), (4, 1, 256), (4, 2, 128), (4, 1, 128), (4, 2, 64),
                (4, 1, 64), (4, 2, 64)]
TINY_D_X = [(4, 2, 64), (4, 1, 64), (4, 2, 128), (4, 1, 128), (4, 2, 256), (4, 1, 256)]


@dataclass(frozen=True)
class ArchSpec:
    name: str
    latent_dim: int
    gen_slope: float      # leaky ReLU slope in Gz and Gx
    maxout: bool          # D uses maxout (CIFAR10) instead of BN + leaky ReLU (SVHN)
    disc_slope: float     # leaky ReLU slope in D when not maxout
    dropout_first: float  # dropout on the input of D(x)'s and D(z)'s first layer
    dropout_rest: float   # dropout on every other D input
    image_size: int = 32
    encoder: tuple = tuple(ENCODER)   # hidden layers of Gz; a 1×1 linear layer follows
    decoder: tuple = tuple(DECODER)   # hidden layers of Gx; a 1×1 conv to 3 maps follows
    d_x: tuple = tuple(D_X)
    d_z: tuple = tuple(D_Z)
    d_joint: tuple = tuple(D_JOINT)
    d_z_bias: bool = False
    # The released script's D(x) where it differs from the appendix table (CIFAR10):
    # per layer (dropout before the conv, dropout on the conv's pre-maxout output),
    # every conv with an untied (per-position) bias. Empty: the table's reading only.
    released_d_x: tuple = ()


# CIFAR10's D(x) in the released ali_cifar10.py (final version, 6,475 epochs):
# dropout 0.2 on conv1's input, 0.5 on conv2's input, on conv3's pre-maxout output
# and on conv5's input (its apply_dropout on x_discriminator.layers[0] and [2::3]).
CIFAR10_RELEASED_D_X = ((0.2, 0.0), (0.5, 0.0), (0.0, 0.5), (0.0, 0.0), (0.5, 0.0))
D_READINGS = ("released", "table")


ARCHS = {
    "svhn": ArchSpec("svhn", 256, 0.01, False, 0.01, 0.2, 0.2),
    "cifar10": ArchSpec("cifar10", 64, 0.1, True, 0.0, 0.2, 0.5,
                        released_d_x=CIFAR10_RELEASED_D_X),
    "celeba": ArchSpec("celeba", 256, 0.02, False, 0.02, 0.2, 0.2, image_size=64,
                       encoder=tuple(CELEBA_ENCODER), decoder=tuple(CELEBA_DECODER),
                       d_x=tuple(CELEBA_ENCODER), d_z=(1024, 1024), d_joint=(2048, 2048)),
    "tiny-imagenet": ArchSpec("tiny-imagenet", 256, 0.01, False, 0.01, 0.2, 0.2, image_size=64,
                              encoder=tuple(TINY_ENCODER), decoder=tuple(TINY_DECODER),
                              d_x=tuple(TINY_D_X), d_z=(2048, 2048), d_joint=(4096, 4096),
                              d_z_bias=True),
}


def _with_y(h: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
    """``h`` (N, C, 1, 1) with the conditioning vector y (N, K) appended as K channels."""
    if y is None:
        return h
    return torch.cat([h, y[:, :, None, None].to(h.dtype)], dim=1)


class Encoder(nn.Module):
    """Gz: x → (μ, log σ), each (N, latent, 1, 1)."""

    # > 0: σ is bounded smoothly below this value (a demo deviation, set from
    # ALITrainConfig.sigma_max by ``build_nets``; the paper's σ is exp of a linear
    # output, unbounded; in the CPU demo one unit's σ ran away to ~1e8 within a few
    # steps and D's logit to ~1e7: docs/demo.md, point 12).
    sigma_max: float = 0.0

    def __init__(self, spec: ArchSpec, width: float = 1.0, latent_dim: int | None = None,
                 cond_dim: int = 0) -> None:
        super().__init__()
        self.latent_dim = latent_dim or spec.latent_dim
        self.cond_dim = cond_dim
        blocks, c_in = [], 3
        for k, s, c in spec.encoder:
            c_out = scaled(c, width)
            blocks.append(ConvBN(nn.Conv2d(c_in, c_out, k, s, bias=False), c_out, spec.gen_slope))
            c_in = c_out
        self.blocks = nn.ModuleList(blocks)
        self.out = nn.Conv2d(c_in + cond_dim, 2 * self.latent_dim, 1, bias=True)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None):
        h = x
        for block in self.blocks:
            h = block(h)
        mu, log_sigma = self.out(_with_y(h, y)).chunk(2, dim=1)
        return mu, self._bounded(log_sigma)

    def _bounded(self, log_sigma: torch.Tensor) -> torch.Tensor:
        """log σ, or m − softplus(m − log σ) with m = log sigma_max: below m, and
        with a gradient everywhere (a hard clamp would freeze a unit above it)."""
        if self.sigma_max <= 0:
            return log_sigma
        m = math.log(self.sigma_max)
        return m - F.softplus(m - log_sigma)

    def features(self, x: torch.Tensor, layers: tuple[str, ...],
                 y: torch.Tensor | None = None) -> torch.Tensor:
        """Flattened concatenation of named activations: 'mu' and 'bn1'..'bnN'
        (batch-norm outputs of the hidden convolutions)."""
        acts, h = {}, x
        for i, block in enumerate(self.blocks, 1):
            acts[f"bn{i}"], h = block.forward_bn(h)
        acts["mu"] = self.out(_with_y(h, y)).chunk(2, dim=1)[0]
        return torch.cat([acts[name].flatten(1) for name in layers], dim=1)


class Decoder(nn.Module):
    """Gx: z (N, latent, 1, 1) → x in [0, 1] (N, 3, S, S)."""

    def __init__(self, spec: ArchSpec, width: float = 1.0, latent_dim: int | None = None,
                 cond_dim: int = 0) -> None:
        super().__init__()
        self.latent_dim = latent_dim or spec.latent_dim
        self.cond_dim = cond_dim
        blocks, c_in = [], self.latent_dim + cond_dim
        for k, s, c in spec.decoder:
            c_out = scaled(c, width)
            conv = (nn.ConvTranspose2d(c_in, c_out, k, s, bias=False) if k > 1
                    else nn.Conv2d(c_in, c_out, 1, bias=False))
            blocks.append(ConvBN(conv, c_out, spec.gen_slope))
            c_in = c_out
        self.blocks = nn.ModuleList(blocks)
        self.out = nn.Conv2d(c_in, 3, 1, bias=False)
        self.out_bias = PositionBias((3, spec.image_size, spec.image_size))

    def logits(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = _with_y(z, y)
        for block in self.blocks:
            h = block(h)
        return self.out_bias(self.out(h))

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return torch.sigmoid(self.logits(z, y))

    @torch.no_grad()
    def init_output_bias(self, mean_image: torch.Tensor) -> None:
        """Set the output bias to the log-odds of the mean training image (3, S, S)."""
        p = mean_image.clamp(1e-7, 1 - 1e-7)
        self.out_bias.bias.copy_(torch.log(p / (1 - p)))


def _disc_stack(spec: ArchSpec, sizes, c_in: int, width: float, conv, first_bias: bool,
                batch_norm: bool) -> tuple[nn.Sequential, int]:
    """Dropout → conv → (BN) → activation for each layer; maxout halves the maps."""
    layers = []
    for i, size in enumerate(sizes):
        maps = scaled(size, width, even=spec.maxout)
        use_bn = batch_norm and i > 0 and not spec.maxout
        layers += [nn.Dropout(spec.dropout_first if i == 0 else spec.dropout_rest),
                   conv(c_in, maps, size_index=i, bias=first_bias and i == 0)]
        if use_bn:
            layers.append(bn(maps))
        if spec.maxout:
            layers.append(Maxout(2))
            c_in = maps // 2
        else:
            layers.append(nn.LeakyReLU(spec.disc_slope))
            c_in = maps
    return nn.Sequential(*layers), c_in


def _released_x_stack(spec: ArchSpec, width: float) -> tuple[nn.Sequential, int]:
    """CIFAR10's D(x) as the released script builds it: maxout layers, each conv
    with an untied bias (Blocks' Convolutional default), dropout where the script
    applies it (``spec.released_d_x``)."""
    layers, c_in, size = [], 3, spec.image_size
    for (k, s, c), (before, after) in zip(spec.d_x, spec.released_d_x):
        maps, size = scaled(c, width, even=True), (size - k) // s + 1
        if before:
            layers.append(nn.Dropout(before))
        layers += [nn.Conv2d(c_in, maps, k, s, bias=False), PositionBias((maps, size, size))]
        if after:
            layers.append(nn.Dropout(after))
        layers.append(Maxout(2))
        c_in = maps // 2
    return nn.Sequential(*layers), c_in


def _joint_stack(spec, width: float, c_in: int) -> tuple[nn.Sequential, int]:
    """D's joint 1×1 layers (dropout, conv, maxout or leaky ReLU) on ``c_in``
    input maps; returns the stack and its output maps."""
    joint = []
    for size in spec.d_joint:
        maps = scaled(size, width, even=spec.maxout)
        joint += [nn.Dropout(spec.dropout_rest), nn.Conv2d(c_in, maps, 1)]
        joint.append(Maxout(2) if spec.maxout else nn.LeakyReLU(spec.disc_slope))
        c_in = maps // 2 if spec.maxout else maps
    return nn.Sequential(*joint), c_in


class Discriminator(nn.Module):
    """D(x, z) → ``n_out`` logits: D(x) and D(z) towers, joined by 1×1 convolutions."""

    def __init__(self, spec: ArchSpec, width: float = 1.0, latent_dim: int | None = None,
                 n_out: int = 1, cond_dim: int = 0, reading: str = "released") -> None:
        super().__init__()
        latent_dim = latent_dim or spec.latent_dim

        def conv_x(c_in, c_out, size_index, bias):
            k, s, _ = spec.d_x[size_index]
            return nn.Conv2d(c_in, c_out, k, s, bias=bias)

        def conv_1x1(c_in, c_out, size_index, bias):
            return nn.Conv2d(c_in, c_out, 1, bias=bias or spec.d_z_bias)

        if reading == "released" and spec.released_d_x:
            self.x_net, cx = _released_x_stack(spec, width)
        else:
            self.x_net, cx = _disc_stack(spec, [c for _, _, c in spec.d_x], 3, width, conv_x,
                                         first_bias=True, batch_norm=True)
        self.x_net_maps = cx
        self.z_net, cz = _disc_stack(spec, spec.d_z, latent_dim, width, conv_1x1,
                                     first_bias=False, batch_norm=False)
        self.joint, c_in = _joint_stack(spec, width, cx + cz + cond_dim)
        self.head = nn.Sequential(nn.Dropout(spec.dropout_rest), nn.Conv2d(c_in, n_out, 1))
        self.cond_dim = cond_dim
        self.feature_dim = c_in

    def joint_features(self, x: torch.Tensor, z: torch.Tensor,
                       y: torch.Tensor | None = None) -> torch.Tensor:
        h = torch.cat([self.x_net(x), self.z_net(z)], dim=1)
        return self.joint(_with_y(h, y))

    def forward(self, x: torch.Tensor, z: torch.Tensor,
                y: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.joint_features(x, z, y)).flatten(1)


def sample_code(mu: torch.Tensor, log_sigma: torch.Tensor, stochastic: bool = True,
                noise: Callable[[torch.Tensor], torch.Tensor] = torch.randn_like) -> torch.Tensor:
    """The encoder's code: z = μ + σ ⊙ ε with ε = noise(μ) (reparametrised), or μ
    alone for a deterministic (BiGAN-style) encoder, which draws no noise."""
    if not stochastic:
        return mu
    return mu + log_sigma.exp() * noise(mu)


@dataclass
class ALINets:
    encoder: Encoder
    decoder: Decoder
    discriminator: Discriminator

    def modules(self) -> dict[str, nn.Module]:
        return {"encoder": self.encoder, "decoder": self.decoder,
                "discriminator": self.discriminator}


def build_ali(arch: str, width: float = 1.0, latent_dim: int = 0, n_out: int = 1,
              cond_dim: int = 0, d_reading: str = "released", init_std: float = 0.01) -> ALINets:
    """``d_reading``: "released" (the authors' script, the default) or "table" (the
    appendix table's reading); they differ only for CIFAR10's D(x). ``init_std``:
    the weights' N(0, std²) (the paper's 0.01)."""
    spec = ARCHS[arch]
    latent = latent_dim or spec.latent_dim
    nets = ALINets(Encoder(spec, width, latent, cond_dim),
                   Decoder(spec, width, latent, cond_dim),
                   Discriminator(spec, width, latent, n_out, cond_dim, d_reading))
    for net in nets.modules().values():
        init_paper(net, init_std)
    return nets


class XDiscriminator(nn.Module):
    """A GAN's D(x) → 1 logit, built from ALI's discriminator without its z part:
    the D(x) tower, then the joint 1×1 layers on D(x)'s maps alone, then the
    logit. The inference baselines (``methods.posthoc``) train ALI's decoder
    against it, so that their generator and its critic match ALI's."""

    def __init__(self, spec: ArchSpec, width: float = 1.0, reading: str = "released") -> None:
        super().__init__()
        full = Discriminator(spec, width, reading=reading)
        self.x_net = full.x_net
        self.joint, c_in = _joint_stack(spec, width, full.x_net_maps)
        self.head = nn.Sequential(nn.Dropout(spec.dropout_rest), nn.Conv2d(c_in, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.joint(self.x_net(x))).flatten(1)


def build_gan_discriminator(arch: str, width: float = 1.0, d_reading: str = "released") -> XDiscriminator:
    disc = XDiscriminator(ARCHS[arch], width, d_reading)
    init_paper(disc)
    return disc
