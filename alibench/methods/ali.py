"""ALI: encoder, decoder and discriminator trained together.

One forward pass per batch; D's loss updates D and the generators' loss updates
Gz and Gx, both from the same pass and the same dropout masks, as in the
released code (its two updates are computed on one graph and applied together).

The step runs on ``nets`` unless the fast path's wrapper hands it training
views of them (compiled or DistributedDataParallel views sharing their
parameters: ``train.fastpath.training_step``); checkpoints and evaluation
always use ``nets``. A batch is images, or (images, y) for conditional ALI,
whose y the method embeds first (``embed``).
"""

from __future__ import annotations

from typing import Any

import torch

from ..models.ali import ALINets, sample_code
from ..train.fastpath import FastPath
from .augment import augment
from .base import adam, linear_decay, set_lr, simultaneous_update
from .losses import ali_losses, discriminator_accuracy, sigma_stats


class ALI:
    # which network each logged loss trains, for divergence messages
    loss_networks = {"loss_d": "the discriminator D(x, z)", "loss_g": "the generators Gz(x) and Gx(z)"}

    def __init__(self, nets: ALINets, lr: float, beta1: float, beta2: float,
                 device: torch.device, stochastic_encoder: bool = True,
                 fast: FastPath | None = None, train_decoder: bool = True, *,
                 d_lr_scale: float = 1.0, augment_policy: tuple[str, ...] = (),
                 data_policy: tuple[str, ...] = (), decay: tuple[int, int] = (0, 0)) -> None:
        self.nets = nets
        # demo deviations (ALITrainConfig; the paper: 1.0 and none). augment_policy
        # transforms only what D sees; data_policy transforms the real batch before
        # the encoder, so every encoder pair stays (T(x), Gz(T(x))).
        self.augment_policy = augment_policy
        self.data_policy = data_policy
        self.device = device
        self.stochastic_encoder = stochastic_encoder
        fast = fast or FastPath(fused_adam=device.type == "cuda")
        self.precision = fast.autocast(device)
        # train_decoder=False: the encoder alone plays against D (post-hoc inference
        # for a trained, frozen Gx; methods.posthoc)
        self.gen_params = list(nets.encoder.parameters()) + (
            list(nets.decoder.parameters()) if train_decoder else [])
        self.disc_params = list(nets.discriminator.parameters())
        self.opt_g = adam(self.gen_params, lr, beta1, beta2, device, fast.fused_adam, fast.cuda_graphs)
        self.opt_d = adam(self.disc_params, lr * d_lr_scale, beta1, beta2, device, fast.fused_adam,
                          fast.cuda_graphs)
        # decay = (the run's steps, N > 0): both rates fall linearly to 0 over the
        # last N steps (a demo deviation; the released ALI code keeps them constant)
        self.base_lrs = (lr, lr * d_lr_scale)
        self.total_steps, self.decay_steps = decay

    @property
    def train_nets(self) -> ALINets:
        """The networks the method's own step runs on (views come from a wrapper)."""
        return self.nets

    def state(self) -> dict[str, Any]:
        return {**self.nets.modules(), "opt_g": self.opt_g, "opt_d": self.opt_d}

    def embed(self, y: torch.Tensor | None) -> torch.Tensor | None:
        """y as the networks take it (plain ALI has none)."""
        return y

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """z = μ + σ ⊙ ε (reparametrised), or μ alone for a BiGAN-style encoder."""
        return self._encode(self.nets.encoder, x, y)

    def _encode(self, encoder, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        return self._code(encoder, x, y)[0]

    def _code(self, encoder, x: torch.Tensor, y: torch.Tensor | None):
        """(z, log σ): the code and the encoder's log σ, for the σ monitor."""
        mu, log_sigma = encoder(x, y) if y is not None else encoder(x)
        return sample_code(mu, log_sigma, self.stochastic_encoder), log_sigma

    def sample_prior(self, like: torch.Tensor) -> torch.Tensor:
        """z ~ N(0, I), shaped like the encoder's output."""
        return torch.randn_like(like)

    def pair_logits(self, x: torch.Tensor, y: torch.Tensor | None = None,
                    nets: ALINets | None = None):
        """D's logits on encoder pairs and on decoder pairs, one batch each."""
        return self._pair_logits(x, y, nets)[:2]

    def _pair_logits(self, x: torch.Tensor, y: torch.Tensor | None, nets: ALINets | None):
        """(ρ_q, ρ_p, log σ of the encoder on x)."""
        nets = nets or self.nets
        z_hat, log_sigma = self._code(nets.encoder, x, y)
        z = self.sample_prior(z_hat)
        x_tilde = nets.decoder(z, y) if y is not None else nets.decoder(z)
        yy = None if y is None else torch.cat([y, y])
        xs = torch.cat([x, x_tilde])
        if self.augment_policy:    # the same transformation family on real and generated x
            xs = augment(xs, self.augment_policy)
        logits = nets.discriminator(xs, torch.cat([z_hat, z]), yy)
        rho_q, rho_p = logits.split(x.shape[0])
        return rho_q, rho_p, log_sigma

    def train_step(self, batch: Any, step: int, nets: ALINets | None = None) -> dict[str, torch.Tensor]:
        x, y = batch if isinstance(batch, tuple) else (batch, None)
        if self.decay_steps:
            for opt, lr in zip((self.opt_g, self.opt_d), self.base_lrs):
                set_lr([opt], linear_decay(lr, step, self.total_steps, self.decay_steps))
        if self.data_policy:   # a bigger training set, not a change to the game
            x = augment(x, self.data_policy).clamp(0.0, 1.0)
        with self.precision():
            rho_q, rho_p, log_sigma = self._pair_logits(x, self.embed(y), nets)
            loss_d, loss_g = ali_losses(rho_q.float(), rho_p.float())
        simultaneous_update(loss_d, loss_g, self.disc_params, self.gen_params, self.opt_d, self.opt_g)
        logs = {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(),
                "acc_d": discriminator_accuracy(rho_q.detach(), rho_p.detach())}
        if self.stochastic_encoder:   # a deterministic (BiGAN) encoder has no σ to watch
            logs.update(sigma_stats(log_sigma))
        return logs
