"""Supervised-only floor: the ALI-K1 discriminator trained on the labelled
examples alone.

The network is the same D(x, z) (towers, joint layers, K logits, dropout) with
its z input fixed to zeros: D(z) has no biases, so its tower then outputs 0 and
the classifier is D(x)'s tower → the joint 1×1 layers → the K logits. Loss:
cross-entropy over the K classes on the labelled batch; same optimiser and
schedule as ALI-K1. Prediction: argmax_k D(x, 0)_k in eval mode.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ..models.ali import Discriminator
from .kplus1 import Schedule, SSLBatch, inference
from .losses import error_rate


class Supervised:
    def __init__(self, discriminator: Discriminator, latent_dim: int, schedule: Schedule,
                 device: torch.device) -> None:
        self.discriminator = discriminator
        self.device = device
        self.latent_dim = latent_dim
        self.schedule = schedule
        self.opt = schedule.optimizer(list(discriminator.parameters()), device)

    def state(self) -> dict[str, Any]:
        return {"discriminator": self.discriminator, "opt": self.opt}

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        z = torch.zeros(x.shape[0], self.latent_dim, 1, 1, device=x.device, dtype=x.dtype)
        return self.discriminator(x, z)

    def train_step(self, batch: SSLBatch, step: int) -> dict[str, torch.Tensor]:
        self.schedule.apply(step, self.opt)
        logits = self._logits(batch.x_lab)
        loss = F.cross_entropy(logits, batch.y_lab)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        with torch.no_grad():
            return {"loss_lab": loss.detach(), "err_lab": error_rate(logits, batch.y_lab)}

    def class_logits(self, x: torch.Tensor) -> torch.Tensor:
        with inference(self.discriminator):
            return self._logits(x).float()
