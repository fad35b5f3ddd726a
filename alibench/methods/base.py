"""What the training loop needs from a method."""

from __future__ import annotations

from typing import Any, Protocol

import torch


class Method(Protocol):
    # Optional: ``loss_networks = {"loss_d": "the discriminator", ...}`` names the
    # network behind each logged value in divergence messages.

    def state(self) -> dict[str, Any]:
        """Named modules and optimisers, saved and restored by checkpoints."""

    def train_step(self, batch: Any, step: int) -> dict[str, torch.Tensor]:
        """One update; returns 0-d tensors to log (no host sync here)."""


def adam(params, lr: float, beta1: float, beta2: float, device: torch.device,
         weight_decay: float = 0.0) -> torch.optim.Adam:
    # fused Adam is one kernel per step on CUDA; on CPU the default is right.
    fused = device.type == "cuda"
    return torch.optim.Adam(params, lr=lr, betas=(beta1, beta2), weight_decay=weight_decay,
                            fused=fused)


def linear_decay(base_lr: float, step: int, total: int, decay_steps: int) -> float:
    """``base_lr`` until the last ``decay_steps`` steps, then linearly down to 0
    (Salimans et al.'s schedule: lr · min(1, (total − step) / decay_steps))."""
    if decay_steps <= 0:
        return base_lr
    return base_lr * min(1.0, (total - step) / decay_steps)


def set_lr(optimizers, lr: float) -> None:
    for opt in optimizers:
        for group in opt.param_groups:
            group["lr"] = lr
