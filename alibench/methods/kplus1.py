"""What the semi-supervised methods (ALI-K1, GAN-FM, supervised-only) share:
the batch they train on, the optimiser schedule, and inference mode."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from .base import AdamEpsInSqrt, adam, linear_decay, set_lr


@dataclass
class SSLBatch:
    """One step's data: a labelled batch, an unlabelled one and, for methods that
    want it (GAN-FM's generator step), a second, independently drawn unlabelled one."""
    x_lab: torch.Tensor
    y_lab: torch.Tensor
    x_unl: torch.Tensor
    x_unl2: torch.Tensor | None = None


@dataclass(frozen=True)
class Schedule:
    """Adam with a constant learning rate, decayed linearly to 0 over the last
    ``decay_steps`` steps; every method of the track uses the same one."""
    lr: float
    beta1: float
    beta2: float
    total_steps: int
    decay_steps: int
    eps_in_sqrt: bool = False   # True: improved-gan's Adam, g / √(v̂ + 1e-8)

    def optimizer(self, params, device: torch.device) -> torch.optim.Optimizer:
        if self.eps_in_sqrt:
            return AdamEpsInSqrt(params, self.lr, (self.beta1, self.beta2))
        return adam(params, self.lr, self.beta1, self.beta2, device)

    def apply(self, step: int, *optimizers: torch.optim.Optimizer) -> None:
        set_lr(optimizers, linear_decay(self.lr, step, self.total_steps, self.decay_steps))


@contextmanager
def inference(*modules: nn.Module):
    """Eval mode (no dropout, batch-norm population statistics) and no autograd,
    restoring each module's previous mode afterwards."""
    modes = [m.training for m in modules]
    try:
        for m in modules:
            m.eval()
        with torch.inference_mode():
            yield
    finally:
        for m, mode in zip(modules, modes):
            m.train(mode)
