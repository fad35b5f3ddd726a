"""Conditional ALI (paper, "Conditional generation"): a fully observed y joins
every network: Gz(x, y), Gx(z, y) and D(x, z, y); encoder and decoder pairs
carry the same y.

As in the authors' ``ali/conditional_bricks.py`` (``ConditionalALI``,
``Embedder``): y goes through one linear embedding shared by the three
networks (256 dimensions for CelebA's 40 attributes), which the networks take
at Gz's last layer, Gx's input and D's joint layers (see ``models.ali``). The
embedding's weights are drawn like every other (N(0, 0.01²), bias 0) and never
trained: the released training algorithm updates only the discriminator's and
the encoder/decoder's parameters, not the embedder's (as read from
``ali/algorithms.py`` and ``experiments/ali_celeba_conditional.py``).
``embed_dim = 0`` feeds y itself instead (a deviation, for short runs, where a
0.01-scale projection leaves the conditioning too weak to learn quickly).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..models.ali import ALINets
from ..models.layers import init_paper
from ..train.fastpath import FastPath
from .ali import ALI


def make_embedder(cond_dim: int, embed_dim: int) -> nn.Module:
    """The released code's frozen linear embedding of y, or the identity (embed_dim 0)."""
    if embed_dim == 0:
        return nn.Identity()
    linear = nn.Linear(cond_dim, embed_dim)
    init_paper(linear)
    linear.requires_grad_(False)
    return linear


class ConditionalALI(ALI):
    """ALI whose batches are (x, y); y is embedded once per step and given to all
    three networks. The step, its precision context and the fast path are ALI's."""

    def __init__(self, nets: ALINets, embedder: nn.Module, lr: float, beta1: float, beta2: float,
                 device: torch.device, stochastic_encoder: bool = True,
                 fast: FastPath | None = None, **options: Any) -> None:
        # options: ALI's demo deviations (d_lr_scale, augment and data policies, decay)
        super().__init__(nets, lr, beta1, beta2, device, stochastic_encoder, fast, **options)
        self.embedder = embedder.to(device)

    def state(self) -> dict[str, Any]:
        return {**super().state(), "embedder": self.embedder}

    def embed(self, y: torch.Tensor | None) -> torch.Tensor | None:
        return None if y is None else self.embedder(y)
