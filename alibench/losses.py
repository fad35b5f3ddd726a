"""Adversarial losses, written on discriminator logits."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def ali_losses(rho_q: torch.Tensor, rho_p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """ALI's discriminator and (non-saturating, label-swapped) generator losses.

    ``rho_q``: D's logits on encoder pairs (x, Gz(x)); ``rho_p``: on decoder
    pairs (Gx(z), z). D wants q → 1 and p → 0; the generators want the reverse.
    """
    loss_d = F.softplus(-rho_q).mean() + F.softplus(rho_p).mean()
    loss_g = F.softplus(rho_q).mean() + F.softplus(-rho_p).mean()
    return loss_d, loss_g


def discriminator_accuracy(rho_q: torch.Tensor, rho_p: torch.Tensor) -> torch.Tensor:
    """Fraction of pairs D puts on the right side (0.5 means it is fooled)."""
    return 0.5 * ((rho_q > 0).float().mean() + (rho_p < 0).float().mean())
