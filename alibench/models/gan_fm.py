"""Salimans et al. (2016)'s CIFAR10 networks for the GAN feature-matching baseline.

From their released code (openai/improved-gan,
``mnist_svhn_cifar10/train_cifar_feature_matching.py`` and ``nn.py``, as read):

Discriminator, on images scaled to [-1, 1] (their (x − 127.5) / 128):
  dropout 0.2 → conv 3×3 96, 96, 96 stride 2 (padding 1) → dropout 0.5
  → conv 3×3 192, 192, 192 stride 2 (padding 1) → dropout 0.5
  → conv 3×3 192 (no padding) → 1×1 192 → 1×1 192 → global mean pool (the
  feature-matching layer, 192 features) → dense 10 (the K class logits).
  Leaky ReLU 0.2 after every convolution. Every layer is weight-normalised
  (w = g · v / ‖v‖, here ``torch.nn.utils.parametrizations.weight_norm``) with
  a bias; the scale g is trained only in the last layer (their ``train_g``),
  elsewhere it stays at its data-dependent initial value. No batch norm, no
  Gaussian noise layer (theirs appears in the MNIST and minibatch-discrimination
  scripts, not in CIFAR10 feature matching).
Generator: z ~ U(0, 1)^100 → dense 4·4·512 → BN → ReLU → transposed conv 5×5
  stride 2 to 256 @ 8×8 → BN → ReLU → 128 @ 16×16 → BN → ReLU → 3 @ 32×32,
  weight-normalised (trained scale) → tanh. Their batch norm has a shift but
  no scale (the scale is frozen at 1 here) and ε = 1e-6.
Initialisation: v ~ N(0, 0.05²), biases 0, then Salimans & Kingma's
data-dependent init: in one forward pass on a batch, each weight-normalised
layer's scale and bias are set so that its pre-activations have mean 0 and
standard deviation 1 (0.1 for the two output layers), see ``data_init``.

SVHN (``FMDiscriminator(convs="svhn")``, their ``train_svhn_feature_matching.py``):
the same layers with 64 / 128 maps instead of 96 / 192 (pooled features 128).

``width`` scales every hidden channel count (tiny CPU presets).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from .layers import scaled

INIT_STD = 0.05
LRELU = 0.2
D_CONVS = [  # (kernel, stride, padding, maps, dropout before it)
    (3, 1, 1, 96, 0.2), (3, 1, 1, 96, 0.0), (3, 2, 1, 96, 0.0),
    (3, 1, 1, 192, 0.5), (3, 1, 1, 192, 0.0), (3, 2, 1, 192, 0.0),
    (3, 1, 0, 192, 0.5), (1, 1, 0, 192, 0.0), (1, 1, 0, 192, 0.0)]
# Their SVHN discriminator (mnist_svhn_cifar10/train_svhn_feature_matching.py,
# commit 0fa06b5) is the same net, narrower: 64 maps where CIFAR10 has 96 and
# 128 where it has 192 (the generator is the same).
SVHN_D_CONVS = [
    (3, 1, 1, 64, 0.2), (3, 1, 1, 64, 0.0), (3, 2, 1, 64, 0.0),
    (3, 1, 1, 128, 0.5), (3, 1, 1, 128, 0.0), (3, 2, 1, 128, 0.0),
    (3, 1, 0, 128, 0.5), (1, 1, 0, 128, 0.0), (1, 1, 0, 128, 0.0)]
FM_DISCRIMINATORS = {"cifar10": D_CONVS, "svhn": SVHN_D_CONVS}
NOISE_DIM = 100


def wn(layer: nn.Module, dim: int = 0, train_scale: bool = False,
       init_scale: float = 1.0) -> nn.Module:
    """Weight-normalise ``layer``; remember the std its data-dependent init targets."""
    nn.init.normal_(layer.weight, 0.0, INIT_STD)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)
    layer = weight_norm(layer, dim=dim)
    layer.parametrizations.weight.original0.requires_grad_(train_scale)
    layer.init_scale = init_scale
    return layer


def _bn_shift_only(bn: nn.Module) -> nn.Module:
    bn.weight.requires_grad_(False)
    return bn


class FMDiscriminator(nn.Module):
    """x in [-1, 1] → K logits; ``features`` is the pooled layer feature matching uses."""

    def __init__(self, width: float = 1.0, n_classes: int = 10, convs: str = "cifar10") -> None:
        super().__init__()
        layers, c_in = [], 3
        for k, s, p, maps, drop in FM_DISCRIMINATORS[convs]:
            c_out = scaled(maps, width)
            if drop:
                layers.append(nn.Dropout(drop))
            layers += [wn(nn.Conv2d(c_in, c_out, k, s, p)), nn.LeakyReLU(LRELU)]
            c_in = c_out
        self.trunk = nn.Sequential(*layers)
        self.out = wn(nn.Linear(c_in, n_classes), train_scale=True, init_scale=0.1)
        self.feature_dim = c_in

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x))


class FMGenerator(nn.Module):
    """z ~ U(0, 1)^100 → image in [-1, 1]."""

    def __init__(self, width: float = 1.0, noise_dim: int = NOISE_DIM) -> None:
        super().__init__()
        c0, c1, c2 = scaled(512, width), scaled(256, width), scaled(128, width)
        self.noise_dim, self.c0 = noise_dim, c0
        self.fc = nn.Linear(noise_dim, 16 * c0, bias=False)
        self.bn0 = _bn_shift_only(nn.BatchNorm1d(16 * c0, eps=1e-6))
        self.up = nn.Sequential(
            nn.ConvTranspose2d(c0, c1, 5, 2, 2, output_padding=1, bias=False),
            _bn_shift_only(nn.BatchNorm2d(c1, eps=1e-6)), nn.ReLU(),
            nn.ConvTranspose2d(c1, c2, 5, 2, 2, output_padding=1, bias=False),
            _bn_shift_only(nn.BatchNorm2d(c2, eps=1e-6)), nn.ReLU(),
            wn(nn.ConvTranspose2d(c2, 3, 5, 2, 2, output_padding=1), dim=1,
               train_scale=True, init_scale=0.1),
            nn.Tanh())
        for m in (self.fc, self.up[0], self.up[3]):
            nn.init.normal_(m.weight, 0.0, INIT_STD)

    def noise(self, n: int, device: torch.device) -> torch.Tensor:
        return torch.rand(n, self.noise_dim, device=device)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.bn0(self.fc(z)))
        return self.up(h.view(-1, self.c0, 4, 4))


def _is_wn(m: nn.Module) -> bool:
    return hasattr(m, "parametrizations") and hasattr(m, "init_scale")


@torch.no_grad()
def data_init(net: nn.Module, *inputs: torch.Tensor) -> None:
    """Salimans & Kingma's data-dependent init of every weight-normalised layer of
    ``net``, in one forward pass: each layer's output t (bias removed) is
    standardised per channel to std ``init_scale``, g ← g·s and b ← −mean·s with
    s = init_scale / std(t), and the standardised output feeds the next layer."""
    def hook(m, _inp, out):
        shape = [1, -1] + [1] * (out.dim() - 2)
        dims = [0] + list(range(2, out.dim()))
        t = out - m.bias.view(shape)
        mean = t.mean(dim=dims)
        scale = m.init_scale / (t - mean.view(shape)).pow(2).mean(dim=dims).add(1e-12).sqrt()
        g = m.parametrizations.weight.original0
        g.mul_(scale.reshape(g.shape))
        m.bias.copy_(-mean * scale)
        return (t - mean.view(shape)) * scale.view(shape)

    handles = [m.register_forward_hook(hook) for m in net.modules() if _is_wn(m)]
    try:
        net(*inputs)
    finally:
        for h in handles:
            h.remove()
