"""ALI with a (K+1)-class joint discriminator (the paper's CIFAR10 track).

D(x, z) ends in K class logits; the logit of the extra "generated" class is
fixed to 0 (Salimans et al.'s parameterisation), so p(real | x, z) =
sigmoid(logsumexp of the K logits). Per step, with one forward pass through
Gz, Gx and D on [labelled encoder pairs; unlabelled encoder pairs; decoder pairs]:

- D minimises cross-entropy over the K classes on labelled pairs (x, Gz(x)),
  plus ``unlabeled_weight`` × Salimans' unlabelled loss: unlabelled encoder pairs
  must not be classed generated, decoder pairs (Gx(z), z) must be;
- Gz and Gx minimise ALI's label-swapped loss on l = logsumexp(logits):
  mean softplus(l(x_unl, Gz(x_unl))) + mean softplus(−l(Gx(z), z)). The
  labelled pairs train D only (the encoder gets no gradient from the labels).

Both updates come from the same pass and dropout masks, as in ``methods.ali``.
During training z = Gz(x) is a sample (μ + σ ⊙ ε); at test time the class is
argmax_k D(x, μ(x))_k in eval mode (no dropout, batch-norm population statistics).
"""

from __future__ import annotations

from typing import Any

import torch

from ..models.ali import ALINets, sample_code
from .base import simultaneous_update
from .kplus1 import Schedule, SSLBatch, inference
from .losses import (
    discriminator_accuracy,
    error_rate,
    kplus1_discriminator_losses,
    kplus1_generator_loss,
    real_logit,
    sigma_stats,
)


class ALIK1:
    def __init__(self, nets: ALINets, schedule: Schedule, device: torch.device,
                 stochastic_encoder: bool = True, unlabeled_weight: float = 1.0) -> None:
        self.nets = nets
        self.device = device
        self.schedule = schedule
        self.stochastic_encoder = stochastic_encoder
        self.unlabeled_weight = unlabeled_weight
        self.gen_params = list(nets.encoder.parameters()) + list(nets.decoder.parameters())
        self.disc_params = list(nets.discriminator.parameters())
        self.opt_g = schedule.optimizer(self.gen_params, device)
        self.opt_d = schedule.optimizer(self.disc_params, device)

    def state(self) -> dict[str, Any]:
        return {**self.nets.modules(), "opt_g": self.opt_g, "opt_d": self.opt_d}

    def _encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(z, log σ): the code and the encoder's log σ, for the σ monitor."""
        mu, log_sigma = self.nets.encoder(x)
        return sample_code(mu, log_sigma, self.stochastic_encoder), log_sigma

    def train_step(self, batch: SSLBatch, step: int) -> dict[str, torch.Tensor]:
        self.schedule.apply(step, self.opt_d, self.opt_g)
        n_lab, n_unl = batch.x_lab.shape[0], batch.x_unl.shape[0]
        x_real = torch.cat([batch.x_lab, batch.x_unl])
        z_hat, log_sigma = self._encode(x_real)
        z = torch.randn(n_unl, *z_hat.shape[1:], device=z_hat.device, dtype=z_hat.dtype)
        x_tilde = self.nets.decoder(z)
        logits = self.nets.discriminator(torch.cat([x_real, x_tilde]), torch.cat([z_hat, z]))
        lab, unl, gen = logits.split([n_lab, n_unl, n_unl])

        loss_lab, loss_unl = kplus1_discriminator_losses(lab, batch.y_lab, unl, gen)
        loss_d = loss_lab + self.unlabeled_weight * loss_unl
        loss_g = kplus1_generator_loss(unl, gen)
        simultaneous_update(loss_d, loss_g, self.disc_params, self.gen_params, self.opt_d, self.opt_g)
        with torch.no_grad():
            logs = {"loss_d": loss_d.detach(), "loss_lab": loss_lab.detach(), "loss_unl": loss_unl.detach(),
                    "loss_g": loss_g.detach(), "err_lab": error_rate(lab, batch.y_lab),
                    "acc_d": discriminator_accuracy(real_logit(unl), real_logit(gen))}
            if self.stochastic_encoder:
                logs.update(sigma_stats(log_sigma))
            return logs

    def class_logits(self, x: torch.Tensor) -> torch.Tensor:
        """K class logits of D(x, μ(x)) in eval mode."""
        nets = self.nets
        with inference(nets.encoder, nets.discriminator):
            mu, _ = nets.encoder(x)
            return nets.discriminator(x, mu).float()
