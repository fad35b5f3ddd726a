"""The 2-D mixture networks of the released ``experiments/ali_mixture.py`` and
``gan_mixture.py``:

- Gz (implicit): [x, ε] → Linear 4→400 → BN → ReLU → Linear 400→400 → BN → ReLU
  → Linear 400→2, ε ~ N(0, I₂) (the released ``COVConditional``);
- Gx: Linear 2→400, BN, ReLU, three more Linear 400→400, BN, ReLU, then Linear 400→2;
- D(x, z) / D(x): three maxout layers (Linear to 200 × 5, max over the 5 pieces),
  then Linear 200→1; biases, no batch norm, no dropout.

Linear layers before a batch norm have no bias (BN's shift is one); the last
layer of Gz and Gx has one. Weights N(0, std²), biases 0; BN ε 1e-4, running
statistics with momentum 0.05 (the released ``m * 0.05 + p * 0.95``).
The VAE's encoder (not in the released code) is Gz's network on x alone with
a Gaussian head: 2·nlat outputs, μ and log σ.
"""

from __future__ import annotations

import torch
import torch.nn as nn

BN_EPS = 1e-4
BN_MOMENTUM = 0.05


def mlp(dims: list[int]) -> nn.Sequential:
    """Linear (no bias) → BN → ReLU for each hidden layer; a last Linear with a bias."""
    layers: list[nn.Module] = []
    for a, b in zip(dims[:-2], dims[1:-1]):
        layers += [nn.Linear(a, b, bias=False), nn.BatchNorm1d(b, eps=BN_EPS, momentum=BN_MOMENTUM),
                   nn.ReLU()]
    layers.append(nn.Linear(dims[-2], dims[-1]))
    return nn.Sequential(*layers)


class ImplicitEncoder(nn.Module):
    """Gz(x, ε): its randomness is an input, so q(z | x) can be any shape."""

    def __init__(self, x_dim: int = 2, z_dim: int = 2, hidden: int = 400, noise_dim: int = 2) -> None:
        super().__init__()
        self.noise_dim = noise_dim
        self.net = mlp([x_dim + noise_dim, hidden, hidden, z_dim])

    def forward(self, x: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
        if eps is None:
            eps = torch.randn(x.shape[0], self.noise_dim, device=x.device, dtype=x.dtype)
        return self.net(torch.cat([x, eps], 1))


class GaussianEncoder(nn.Module):
    """The VAE's q(z | x) = N(μ(x), σ(x)²) with Gz's hidden layers."""

    def __init__(self, x_dim: int = 2, z_dim: int = 2, hidden: int = 400) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.net = mlp([x_dim, hidden, hidden, 2 * z_dim])

    def stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.net(x)
        return h[:, :self.z_dim], h[:, self.z_dim:]

    def forward(self, x: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
        mu, log_sigma = self.stats(x)
        eps = torch.randn_like(mu) if eps is None else eps
        return mu + log_sigma.exp() * eps


def decoder(z_dim: int = 2, x_dim: int = 2, hidden: int = 400, n_hidden: int = 4) -> nn.Sequential:
    return mlp([z_dim] + [hidden] * n_hidden + [x_dim])


class _MaxOverPieces(torch.autograd.Function):
    """Max over dim 1 of (n, pieces, units). Backward through a saved 0/1 mask:
    ``amax``'s own backward is several times slower on a CPU for these shapes."""

    @staticmethod
    def forward(ctx, v: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        m = v.amax(1, keepdim=True)
        ctx.save_for_backward((v == m).to(v.dtype))
        return m.squeeze(1)

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        (mask,) = ctx.saved_tensors
        return mask * g.unsqueeze(1)


class Maxout(nn.Module):
    """Linear to units × pieces, then the max over each unit's pieces. Unit u's
    pieces are rows u, u + units, … of the Linear (the released code takes
    consecutive rows): a fixed permutation of i.i.d. rows, so the same family
    and the same initial distribution."""

    def __init__(self, in_dim: int, units: int, pieces: int = 5) -> None:
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(in_dim, units * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _MaxOverPieces.apply(self.linear(x).view(x.shape[0], self.pieces, self.units))


def discriminator(in_dim: int, hidden: int = 200, pieces: int = 5, n_layers: int = 3) -> nn.Sequential:
    """D on concat(x, z) (ALI, in_dim 4) or on x (GAN, in_dim 2); outputs logits (n, 1).
    Piecewise linear in its input row by row, which ``methods.mixture`` relies on."""
    layers: list[nn.Module] = []
    d = in_dim
    for _ in range(n_layers):
        layers.append(Maxout(d, hidden, pieces))
        d = hidden
    layers.append(nn.Linear(d, 1))
    return nn.Sequential(*layers)


def init_normal(module: nn.Module, std: float) -> nn.Module:
    """Weights N(0, std²) and biases 0 for every Linear (BN keeps scale 1, shift 0)."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module
