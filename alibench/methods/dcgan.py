"""A GAN with the standard non-saturating loss, updated as the DCGAN authors'
released training scripts do (Newmu/dcgan_code, k = 1).

Each step takes one batch and makes ONE update: the generator on even steps,
the discriminator on odd ones, so an epoch of N batches gives N/2 updates of
each. D sees the real batch and the generated batch in two separate passes,
so its batch norm normalises real and generated images apart. Both losses are
computed every step (the released code's cost function does the same) so the
log has both; only the side whose turn it is gets a gradient.

    L_D = mean softplus(−D(x)) + mean softplus(D(G(z)))      (binary cross-entropy)
    L_G = mean softplus(−D(G(z)))                            (non-saturating)

Images arrive in [0, 1] from the shared batcher and are mapped to [−1, 1], the
range of the generator's tanh. Adam's L2 term (``weight_decay``) is added to the
gradient before the moments, as the released ``Regularizer(l2=...)`` does.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ..models.dcgan import DCGANNets
from ..models.layers import to_signed
from .base import adam
from .losses import discriminator_accuracy


class GAN:
    def __init__(self, nets: DCGANNets, lr: float, beta1: float, beta2: float,
                 weight_decay: float, device: torch.device) -> None:
        self.nets = nets
        self.device = device
        self.gen_params = list(nets.generator.parameters())
        self.disc_params = list(nets.discriminator.parameters())
        self.opt_g = adam(self.gen_params, lr, beta1, beta2, device, weight_decay=weight_decay)
        self.opt_d = adam(self.disc_params, lr, beta1, beta2, device, weight_decay=weight_decay)

    def state(self) -> dict[str, Any]:
        return {**self.nets.modules(), "opt_g": self.opt_g, "opt_d": self.opt_d}

    def losses(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(L_D, L_G, real logits, fake logits) for a batch of [−1, 1] images."""
        z = torch.randn(x.shape[0], self.nets.generator.nz, device=x.device)
        real = self.nets.discriminator(x)
        fake = self.nets.discriminator(self.nets.generator(z))
        loss_d = F.softplus(-real).mean() + F.softplus(fake).mean()
        loss_g = F.softplus(-fake).mean()
        return loss_d, loss_g, real, fake

    def train_step(self, batch: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        loss_d, loss_g, real, fake = self.losses(to_signed(batch))
        generator_turn = step % 2 == 0   # the released loop: n_updates % (k + 1) == 0
        opt, loss, params = ((self.opt_g, loss_g, self.gen_params) if generator_turn
                             else (self.opt_d, loss_d, self.disc_params))
        opt.zero_grad(set_to_none=True)
        loss.backward(inputs=params)
        opt.step()
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(),
                "acc_d": discriminator_accuracy(real.detach(), fake.detach())}
