"""The five ways of the paper's 2-D mixture comparison, each one ``train_step``
for the shared loop:

- ``ali``: Gz, Gx and D(x, z) trained together (the released ``ali_mixture.py``);
- ``gan``: Gx and D(x) (``gan_mixture.py``);
- ``gan-inverse``: a new Gz trained to minimise E‖z − Gz(Gx(z))‖² with the GAN's Gx frozen;
- ``gan-posthoc``: a new Gz and D(x, z) trained with ALI's game against the frozen Gx;
- ``vae``: a Gaussian encoder and Gx trained on the ELBO (Gaussian p(x | z), fixed σ).

The adversarial ones use the released losses (D: softplus(−D(q)) + softplus(D(p));
generators: the label-swapped softplus(D(q)) + softplus(−D(p))) and update D and
the generators together from one forward pass, as ``ali/algorithms.py`` does.
A frozen Gx stays in inference mode (batch-norm population statistics).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import adam

# Above this |logit| the one-pass gradient's ratio exp(±logit) could lose
# precision in float32; such steps take the plain two-pass route.
SAFE_LOGIT = 30.0


@dataclass(frozen=True)
class Hyper:
    lr: float
    beta1: float          # PyTorch convention (the released 0.8 is 1 − 0.2 in old Blocks)
    beta2: float
    init_std: float


def _optimizer(params: list[nn.Parameter], hp: Hyper, fused: bool) -> torch.optim.Adam:
    # one Adam over every trained parameter: the released code shares one step rule
    return adam(params, hp.lr, hp.beta1, hp.beta2, params[0].device, fused=fused)


def adversarial_grads(d: nn.Module, inp: torch.Tensor, n: int, d_params: list, g_params: list,
                      g_outputs: list[torch.Tensor], g_slices: list[tuple[slice, slice]],
                      one_pass: bool = True):
    """(loss_d, loss_g, acc_d, grads of D, grads of the generators) for D applied to
    ``inp``: data pairs in rows [0, n), sample pairs in [n, 2n).

    ``one_pass``: D (maxout + linear, no batch norm) is piecewise linear in each
    row, so the generators' loss's gradient w.r.t. a row of D's input is the D
    loss's gradient times the ratio of the two losses' derivatives w.r.t. that
    row's logit: −exp(l) on data rows, −exp(−l) on sample rows. One backward
    through D then gives both (the same numbers to float precision; the test
    compares them with the two-pass route)."""
    logits = d(inp).squeeze(1)
    lq, lp = logits[:n].detach(), logits[n:].detach()
    loss_d = F.softplus(-lq).mean() + F.softplus(lp).mean()
    loss_g = F.softplus(lq).mean() + F.softplus(-lp).mean()
    acc = 0.5 * ((lq > 0).float().mean() + (lp < 0).float().mean())
    up_d = torch.cat([-torch.sigmoid(-lq), torch.sigmoid(lp)]) / n
    if not one_pass or bool(logits.detach().abs().max() > SAFE_LOGIT):
        up_g = torch.cat([torch.sigmoid(lq), -torch.sigmoid(-lp)]) / n
        gd = torch.autograd.grad(logits, d_params, up_d, retain_graph=True)
        gg = torch.autograd.grad(logits, g_params, up_g)
        return loss_d, loss_g, acc, gd, gg
    grads = torch.autograd.grad(logits, d_params + [inp], up_d)
    g_inp = grads[-1] * torch.cat([-lq.exp(), -(-lp).exp()])[:, None]
    gg = torch.autograd.grad(g_outputs, g_params, [g_inp[rows, cols] for rows, cols in g_slices])
    return loss_d, loss_g, acc, grads[:-1], gg


def _apply(opt: torch.optim.Optimizer, params: list, grads) -> None:
    for p, g in zip(params, grads):
        p.grad = g
    opt.step()


def freeze(net: nn.Module) -> nn.Module:
    return net.eval().requires_grad_(False)


class MixtureALI:
    """ALI, or post-hoc learned inference when ``gx`` is frozen (``train_gx=False``)."""
    loss_networks = {"loss_d": "the discriminator D(x, z)", "loss_g": "the generators"}

    def __init__(self, gz: nn.Module, gx: nn.Module, d: nn.Module, hp: Hyper, *,
                 train_gx: bool = True, one_pass: bool = True, fused: bool = True) -> None:
        self.gz, self.gx, self.d = gz.train(), gx, d.train()
        self.train_gx, self.one_pass = train_gx, one_pass
        self.z_dim = gx[0].in_features
        self.gx.train() if train_gx else freeze(self.gx)
        self.d_params = list(d.parameters())
        self.g_params = list(gz.parameters()) + (list(gx.parameters()) if train_gx else [])
        self.opt = _optimizer(self.d_params + self.g_params, hp, fused)

    def state(self) -> dict[str, Any]:
        return {"gz": self.gz, "gx": self.gx, "d": self.d, "opt": self.opt}

    def train_step(self, x: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        n = x.shape[0]
        z = torch.randn(n, self.z_dim, device=x.device)
        z_hat = self.gz(x)
        x_tilde = self.gx(z)
        inp = torch.cat([torch.cat([x, z_hat], 1), torch.cat([x_tilde, z], 1)], 0)
        xd = x.shape[1]
        outs, slices = [z_hat], [(slice(0, n), slice(xd, None))]
        if self.train_gx:
            outs.append(x_tilde)
            slices.append((slice(n, 2 * n), slice(0, xd)))
        loss_d, loss_g, acc, gd, gg = adversarial_grads(self.d, inp, n, self.d_params, self.g_params,
                                                        outs, slices, self.one_pass)
        _apply(self.opt, self.d_params + self.g_params, gd + gg)
        return {"loss_d": loss_d, "loss_g": loss_g, "acc_d": acc}


class MixtureGAN:
    loss_networks = {"loss_d": "the discriminator D(x)", "loss_g": "the generator Gx"}
    gz = None

    def __init__(self, gx: nn.Module, d: nn.Module, hp: Hyper, *, one_pass: bool = True,
                 fused: bool = True) -> None:
        self.gx, self.d, self.one_pass = gx.train(), d.train(), one_pass
        self.d_params, self.g_params = list(d.parameters()), list(gx.parameters())
        self.opt = _optimizer(self.d_params + self.g_params, hp, fused)

    def state(self) -> dict[str, Any]:
        return {"gx": self.gx, "d": self.d, "opt": self.opt}

    def train_step(self, x: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        n = x.shape[0]
        x_tilde = self.gx(torch.randn(n, self.gx[0].in_features, device=x.device))
        inp = torch.cat([x, x_tilde], 0)
        loss_d, loss_g, acc, gd, gg = adversarial_grads(
            self.d, inp, n, self.d_params, self.g_params, [x_tilde], [(slice(n, 2 * n), slice(None))],
            self.one_pass)
        _apply(self.opt, self.d_params + self.g_params, gd + gg)
        return {"loss_d": loss_d, "loss_g": loss_g, "acc_d": acc}


class InverseMapping:
    """Gz regressed onto z from the frozen generator's samples (the data is not used)."""
    loss_networks = {"loss_z": "the encoder Gz"}

    def __init__(self, gz: nn.Module, gx: nn.Module, hp: Hyper, *, fused: bool = True) -> None:
        self.gz, self.gx = gz.train(), freeze(gx)
        self.opt = _optimizer(list(gz.parameters()), hp, fused)

    def state(self) -> dict[str, Any]:
        return {"gz": self.gz, "gx": self.gx, "opt": self.opt}

    def train_step(self, x: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        z = torch.randn(x.shape[0], self.gx[0].in_features, device=x.device)
        with torch.no_grad():
            x_tilde = self.gx(z)
        loss = (self.gz(x_tilde) - z).pow(2).sum(1).mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return {"loss_z": loss.detach()}


class MixtureVAE:
    """−ELBO with q(z | x) Gaussian, p(z) = N(0, I), p(x | z) = N(Gx(z), x_std² I)
    (constants dropped)."""
    loss_networks = {"loss_rec": "the decoder and encoder", "loss_kl": "the encoder"}

    def __init__(self, gz: nn.Module, gx: nn.Module, hp: Hyper, x_std: float, *,
                 fused: bool = True) -> None:
        self.gz, self.gx, self.x_var = gz.train(), gx.train(), x_std ** 2
        self.opt = _optimizer(list(gz.parameters()) + list(gx.parameters()), hp, fused)

    def state(self) -> dict[str, Any]:
        return {"gz": self.gz, "gx": self.gx, "opt": self.opt}

    def train_step(self, x: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        mu, log_sigma = self.gz.stats(x)
        z = mu + log_sigma.exp() * torch.randn_like(mu)
        rec = (self.gx(z) - x).pow(2).sum(1) / (2 * self.x_var)
        kl = 0.5 * (mu.pow(2) + (2 * log_sigma).exp() - 2 * log_sigma - 1).sum(1)
        loss = (rec + kl).mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return {"loss_rec": rec.mean().detach(), "loss_kl": kl.mean().detach()}
