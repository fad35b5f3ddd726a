"""Small building blocks shared by the architectures."""

from __future__ import annotations

import torch
from torch import nn


def to_signed(x01: torch.Tensor) -> torch.Tensor:
    """[0, 1] images → [−1, 1], the scale a tanh generator produces (the
    released DCGAN and improved-gan code's x / 127.5 − 1)."""
    return x01 * 2.0 - 1.0


# The paper's framework (Blocks) updates batch-norm population statistics as
# 0.95 * old + 0.05 * batch and uses epsilon 1e-4; we keep both.
BN_MOMENTUM = 0.05
BN_EPS = 1e-4


def scaled(channels: int, width: float, even: bool = False) -> int:
    """Channel count under a width multiplier (maxout layers need an even count)."""
    if even:
        return 2 * max(1, int(round(channels * width / 2)))
    return max(1, int(round(channels * width)))


def bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class Maxout(nn.Module):
    """Max over ``pieces`` consecutive channels: C maps in, C / pieces out."""

    def __init__(self, pieces: int = 2) -> None:
        super().__init__()
        self.pieces = pieces

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        return x.view(n, c // self.pieces, self.pieces, h, w).amax(dim=2)


class ConvBN(nn.Module):
    """conv (no bias) → batch norm → leaky ReLU; ``forward_bn`` also returns the
    batch-norm output, which the SVM protocol uses as features."""

    def __init__(self, conv: nn.Module, channels: int, slope: float) -> None:
        super().__init__()
        self.conv, self.bn, self.act = conv, bn(channels), nn.LeakyReLU(slope)

    def forward_bn(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b = self.bn(self.conv(x))
        return b, self.act(b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class PositionBias(nn.Module):
    """A learned bias per output position and channel (Blocks' untied biases)."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.bias


def init_paper(module: nn.Module, std: float = 0.01) -> None:
    """Weights N(0, std²), biases 0, batch norm scale 1 and shift 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, PositionBias):
            nn.init.zeros_(m.bias)


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def init_torch(module: nn.Module) -> None:
    """PyTorch's default initialisation of every layer (``reset_parameters``).

    Not the paper's: at the tiny widths of CPU demos, N(0, 0.01²) weights shrink
    the signal through D's eight norm-free layers so much that its logits stay at
    0 for hundreds of steps; PyTorch's fan-in-scaled init keeps them alive.
    """
    init_paper(module)
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            m.reset_parameters()


INITS = {"paper": init_paper, "torch": init_torch}


def scale_dropout(net: nn.Module, scale: float) -> None:
    """Multiply every dropout rate of ``net`` by ``scale`` (1: the paper's rates).
    At the (K+1) demo's width 1/8 the paper's 0.2/0.5 rates drown what little
    signal the few maps carry: the classifier stays at chance for hundreds of steps."""
    for module in net.modules():
        if isinstance(module, nn.Dropout):
            module.p *= scale
