"""GAN with feature matching and a (K+1)-class discriminator (Salimans et al.
2016), the paper's CIFAR10 baseline, as their released CIFAR10 script trains it.

Per step: D minimises cross-entropy over the K classes on the labelled batch
plus ``unlabeled_weight`` × the unlabelled loss (the "generated" logit fixed to
0, l = logsumexp of the K logits: unlabelled real images must not be classed
generated, G's samples must); then G, on a second unlabelled batch and fresh
noise, minimises the feature-matching loss mean |E f(x) − E f(G(z))| on D's
pooled features (the released code's L1 form), through the just-updated D with
dropout active. Images are scaled to [−1, 1]; the class is argmax_k D(x)_k in
eval mode.
"""

from __future__ import annotations

from typing import Any

import torch

from ..models.gan_fm import FMDiscriminator, FMGenerator, data_init
from ..models.layers import to_signed
from .kplus1 import Schedule, SSLBatch, inference
from .losses import (
    discriminator_accuracy,
    error_rate,
    feature_matching_loss,
    kplus1_discriminator_losses,
    real_logit,
)


class GANFM:
    def __init__(self, disc: FMDiscriminator, gen: FMGenerator, schedule: Schedule,
                 device: torch.device, unlabeled_weight: float = 1.0) -> None:
        self.disc, self.gen = disc, gen
        self.schedule = schedule
        self.device = device
        self.unlabeled_weight = unlabeled_weight
        self.opt_d = schedule.optimizer([p for p in disc.parameters() if p.requires_grad], device)
        self.opt_g = schedule.optimizer([p for p in gen.parameters() if p.requires_grad], device)

    def state(self) -> dict[str, Any]:
        return {"discriminator": self.disc, "generator": self.gen,
                "opt_d": self.opt_d, "opt_g": self.opt_g}

    def initialize(self, x_lab: torch.Tensor) -> None:
        """Data-dependent init of D on labelled images, and of G on one noise batch."""
        data_init(self.disc, to_signed(x_lab))
        data_init(self.gen, self.gen.noise(x_lab.shape[0], self.device))

    def train_step(self, batch: SSLBatch, step: int) -> dict[str, torch.Tensor]:
        self.schedule.apply(step, self.opt_d, self.opt_g)
        n_lab, n_unl = batch.x_lab.shape[0], batch.x_unl.shape[0]
        with torch.no_grad():
            x_gen = self.gen(self.gen.noise(n_unl, self.device))
        logits = self.disc(torch.cat([to_signed(batch.x_lab), to_signed(batch.x_unl), x_gen]))
        lab, unl, gen = logits.split([n_lab, n_unl, n_unl])
        loss_lab, loss_unl = kplus1_discriminator_losses(lab, batch.y_lab, unl, gen)
        loss_d = loss_lab + self.unlabeled_weight * loss_unl
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()

        x_unl2 = batch.x_unl if batch.x_unl2 is None else batch.x_unl2
        with torch.no_grad():
            f_real = self.disc.features(to_signed(x_unl2))
        f_fake = self.disc.features(self.gen(self.gen.noise(x_unl2.shape[0], self.device)))
        loss_g = feature_matching_loss(f_real, f_fake)
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward(inputs=list(self.opt_g.param_groups[0]["params"]))
        self.opt_g.step()
        with torch.no_grad():
            return {"loss_d": loss_d.detach(), "loss_lab": loss_lab.detach(), "loss_unl": loss_unl.detach(),
                    "loss_g": loss_g.detach(), "err_lab": error_rate(lab, batch.y_lab),
                    "acc_d": discriminator_accuracy(real_logit(unl), real_logit(gen))}

    def class_logits(self, x: torch.Tensor) -> torch.Tensor:
        with inference(self.disc):
            return self.disc(to_signed(x)).float()
