"""Inference added to a GAN afterwards: the alternatives to ALI of the paper's
§2.2, as rows of the SVHN SVM track.

Both train in two phases within one run (one loop, one checkpoint):
1. steps [0, gan_steps): a GAN — ALI's decoder Gx against a D(x) made of
   ALI's discriminator without its z part (``models.ali.XDiscriminator``), the
   non-saturating loss, both updated from the same forward pass as ALI's are;
2. steps [gan_steps, total): Gx frozen (eval mode, no updates), then
   - ``InverseMapping`` (``gan-inverse``): ALI's encoder learns z ↦ x ↦ z by
     minimising E‖z − μ(Gx(z))‖², z ~ N(0, I) (the real images are not used);
   - ``PostHoc`` (``gan-posthoc``): a new stochastic encoder and a new joint
     D(x, z) (ALI's) play ALI's game against the frozen Gx: only the encoder
     and D(x, z) are updated.
Only how inference is learned differs from ALI: generator, encoder, their
architectures, Adam and the batches are ALI's.

The phase boundary must fall on a logging step (the log's keys change there).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ..models.ali import ALINets, XDiscriminator
from .ali import ALI
from .base import adam, simultaneous_update
from .losses import discriminator_accuracy


class GANPhase:
    """Phase 1: Gx (ALI's decoder) against D(x); Gx's loss is non-saturating."""

    def __init__(self, decoder: torch.nn.Module, disc: XDiscriminator, lr: float, beta1: float,
                 beta2: float, device: torch.device) -> None:
        self.decoder, self.disc = decoder, disc
        self.gen_params, self.disc_params = list(decoder.parameters()), list(disc.parameters())
        self.opt_g = adam(self.gen_params, lr, beta1, beta2, device)
        self.opt_d = adam(self.disc_params, lr, beta1, beta2, device)

    def state(self) -> dict[str, Any]:
        return {"gan_discriminator": self.disc, "opt_gan_g": self.opt_g, "opt_gan_d": self.opt_d}

    def train_step(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        z = torch.randn(x.shape[0], self.decoder.latent_dim, 1, 1, device=x.device)
        # one D pass over real and generated images together, as ALI's D sees its pairs
        real, fake = self.disc(torch.cat([x, self.decoder(z)])).split(x.shape[0])
        loss_d = F.softplus(-real).mean() + F.softplus(fake).mean()
        loss_g = F.softplus(-fake).mean()
        simultaneous_update(loss_d, loss_g, self.disc_params, self.gen_params, self.opt_d, self.opt_g)
        return {"loss_gan_d": loss_d.detach(), "loss_gan_g": loss_g.detach(),
                "acc_gan_d": discriminator_accuracy(real.detach(), fake.detach())}


class _TwoPhase:
    """A GAN phase, then ``_inference_step`` against the frozen decoder."""
    stochastic_encoder = True

    def __init__(self, nets: ALINets, gan: GANPhase, gan_steps: int, device: torch.device) -> None:
        self.nets, self.gan, self.gan_steps, self.device = nets, gan, gan_steps, device

    def state(self) -> dict[str, Any]:
        return {**self.nets.modules(), **self.gan.state(), **self._inference_state()}

    def train_step(self, batch: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        if step < self.gan_steps:
            return self.gan.train_step(batch)
        if self.nets.decoder.training:   # frozen from here on (also after a resume)
            self.nets.decoder.eval().requires_grad_(False)
        return self._inference_step(batch, step)


class InverseMapping(_TwoPhase):
    """``gan-inverse``: the encoder regresses z from Gx(z) (its μ; σ is unused)."""
    stochastic_encoder = False
    loss_networks = {"loss_gan_d": "the GAN's D(x)", "loss_gan_g": "the decoder Gx(z)",
                     "loss_inverse": "the encoder Gz(x)"}

    def __init__(self, nets: ALINets, gan: GANPhase, gan_steps: int, lr: float, beta1: float,
                 beta2: float, device: torch.device) -> None:
        super().__init__(nets, gan, gan_steps, device)
        self.opt_e = adam(list(nets.encoder.parameters()), lr, beta1, beta2, device)

    def _inference_state(self) -> dict[str, Any]:
        return {"opt_e": self.opt_e}

    def _inference_step(self, batch: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        z = torch.randn(batch.shape[0], self.nets.decoder.latent_dim, 1, 1, device=batch.device)
        with torch.no_grad():
            x = self.nets.decoder(z)
        mu, _ = self.nets.encoder(x)
        loss = (z - mu).pow(2).flatten(1).sum(1).mean()
        self.opt_e.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_e.step()
        return {"loss_inverse": loss.detach()}


class PostHoc(_TwoPhase):
    """``gan-posthoc``: ALI's game for a new encoder and D(x, z), Gx frozen."""
    loss_networks = {"loss_gan_d": "the GAN's D(x)", "loss_gan_g": "the decoder Gx(z)",
                     **ALI.loss_networks}

    def __init__(self, nets: ALINets, gan: GANPhase, gan_steps: int, lr: float, beta1: float,
                 beta2: float, device: torch.device) -> None:
        super().__init__(nets, gan, gan_steps, device)
        self.ali = ALI(nets, lr, beta1, beta2, device, stochastic_encoder=True, train_decoder=False)

    def _inference_state(self) -> dict[str, Any]:
        return {"opt_g": self.ali.opt_g, "opt_d": self.ali.opt_d}

    def _inference_step(self, batch: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        return self.ali.train_step(batch, step)
