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


# --- (K+1)-class discriminators (Salimans et al. 2016), used by ALI-K1 and GAN-FM ---
#
# The discriminator outputs K class logits l_1..l_K; the logit of the extra
# "generated" class is fixed to 0, so with Z = sum_k exp(l_k)
#   p(generated | x) = 1 / (Z + 1),   p(real | x) = Z / (Z + 1) = sigmoid(log Z).
# log Z = logsumexp(l) therefore plays the part of an ordinary GAN logit.


def real_logit(logits: torch.Tensor) -> torch.Tensor:
    """log Z = logsumexp over the K class logits: the logit of p(real)."""
    return torch.logsumexp(logits, dim=1)


def kplus1_discriminator_losses(logits_lab: torch.Tensor, labels: torch.Tensor,
                                logits_unl: torch.Tensor, logits_gen: torch.Tensor
                                ) -> tuple[torch.Tensor, torch.Tensor]:
    """(supervised, unsupervised) losses of a (K+1)-class discriminator.

    Supervised: cross-entropy over the K classes on labelled real inputs.
    Unsupervised, as in Salimans et al.'s released code, with l = log Z:
    -½ mean(l_unl) + ½ mean(softplus(l_unl)) + ½ mean(softplus(l_gen))
    = ½ [-mean log p(real | unlabelled) - mean log p(generated | generated)].
    """
    loss_lab = F.cross_entropy(logits_lab, labels)
    l_unl, l_gen = real_logit(logits_unl), real_logit(logits_gen)
    loss_unl = 0.5 * (F.softplus(-l_unl).mean() + F.softplus(l_gen).mean())
    return loss_lab, loss_unl


def kplus1_generator_loss(logits_q: torch.Tensor, logits_p: torch.Tensor) -> torch.Tensor:
    """ALI's label-swapped generator loss on l = log Z: the encoder's pairs
    (``logits_q``) should look generated, the decoder's (``logits_p``) real."""
    return ali_losses(real_logit(logits_q), real_logit(logits_p))[1]


def feature_matching_loss(f_real: torch.Tensor, f_fake: torch.Tensor) -> torch.Tensor:
    """Salimans et al.'s released form: mean |E f(x_real) - E f(G(z))| over
    features (their paper writes the squared L2 norm of the same difference)."""
    return (f_real.mean(dim=0) - f_fake.mean(dim=0)).abs().mean()


def error_rate(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Fraction of argmax predictions that miss the label."""
    return (logits.argmax(dim=1) != labels).float().mean()


# σ below this counts as "deterministic" in the train log: the paper's claim that
# stochastic encoders drift towards determinism is read off this fraction.
SMALL_SIGMA = 0.01


def sigma_stats(log_sigma: torch.Tensor) -> dict[str, torch.Tensor]:
    """The encoder's σ as 0-d tensors (no host sync): the mean log σ over codes
    and batch, and the fraction of codes with σ < SMALL_SIGMA."""
    log_sigma = log_sigma.detach().float()
    return {"log_sigma_mean": log_sigma.mean(),
            "sigma_small_frac": (log_sigma < torch.log(torch.tensor(SMALL_SIGMA))).float().mean()}
