"""Measures of the 2-D mixture experiment.

- ``modes_covered``: samples Gx(z) assigned to the component of highest
  responsibility under the true mixture; a mode is covered when at least one
  sample lands in it (the paper's definition);
- ``high_quality_pct``: % of samples within ``k`` = 3 std (Euclidean) of their
  nearest mean;
- ``recon_mode_acc_pct``: % of held-out x whose reconstruction Gx(Gz(x)) is
  assigned to x's own component;
- ``latent_mmd``: unbiased MMD² between codes Gz(x) of held-out x and draws of
  N(0, I), kernel k(a, b) = Σ_s exp(−‖a − b‖² / (2 s²)), s ∈ {0.25, 0.5, 1, 2},
  averaged over disjoint blocks of 2,000 points of each (every point is used;
  the cost stays linear in n).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

MMD_SCALES = (2.0, 1.0, 0.5, 0.25)   # each the previous halved: see _kernel_sum
MMD_BLOCK = 2000
QUALITY_STDS = 3.0


def assign(x: np.ndarray, means: np.ndarray, std: float) -> np.ndarray:
    """Component of highest responsibility (equal weights, shared isotropic covariance)."""
    d2 = ((x[:, None, :].astype(np.float64) - means[None]) ** 2).sum(-1)
    return np.argmax(-d2 / (2 * std ** 2), axis=1)


def modes_covered(samples: np.ndarray, means: np.ndarray, std: float) -> int:
    return int(len(np.unique(assign(samples, means, std))))


def high_quality_pct(samples: np.ndarray, means: np.ndarray, std: float,
                     k: float = QUALITY_STDS) -> float:
    d2 = ((samples[:, None, :].astype(np.float64) - means[None]) ** 2).sum(-1).min(1)
    return float(100.0 * np.mean(d2 <= (k * std) ** 2))


def recon_mode_acc_pct(recon: np.ndarray, labels: np.ndarray, means: np.ndarray, std: float) -> float:
    return float(100.0 * np.mean(assign(recon, means, std) == labels))


def _kernel_sum(u: torch.Tensor, v: torch.Tensor, chunk: int = 500) -> float:
    """Σ over all pairs of Σ_s exp(−d²/(2s²)). One exp per pair at the widest
    scale; halving s raises the kernel to the 4th power, so two squarings give
    each next scale."""
    total = torch.zeros((), dtype=torch.float64)
    for i in range(0, len(u), chunk):
        e = torch.cdist(u[i:i + chunk], v).square_().mul_(-0.5 / MMD_SCALES[0] ** 2).exp_()
        total += e.sum(dtype=torch.float64)
        for _ in MMD_SCALES[1:]:
            e = e.square_().square_()
            total += e.sum(dtype=torch.float64)
    return float(total)


def mmd2_unbiased(a: np.ndarray, b: np.ndarray) -> float:
    """Gretton et al.'s unbiased MMD² (its expectation is 0 when a and b share a law)."""
    x = torch.as_tensor(np.asarray(a, dtype=np.float32))
    y = torch.as_tensor(np.asarray(b, dtype=np.float32))
    m, n, k = len(x), len(y), len(MMD_SCALES)
    kxx = (_kernel_sum(x, x) - k * m) / (m * (m - 1))
    kyy = (_kernel_sum(y, y) - k * n) / (n * (n - 1))
    return kxx + kyy - 2.0 * _kernel_sum(x, y) / (m * n)


def latent_mmd(codes: np.ndarray, prior: np.ndarray, block: int = MMD_BLOCK) -> float:
    """Mean unbiased MMD² over disjoint blocks of ``block`` (all of both sets when smaller)."""
    n = min(len(codes), len(prior))
    size = min(block, n)
    starts = range(0, n - size + 1, size)
    return float(np.mean([mmd2_unbiased(codes[i:i + size], prior[i:i + size]) for i in starts]))


@dataclass
class Outcome:
    """One trained model's measures and the arrays its figure column shows."""
    metrics: dict[str, float]
    extra: dict[str, float]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def collapsed(self) -> bool:
        return self.metrics["modes_covered"] <= 1


@torch.no_grad()
def evaluate(gx: torch.nn.Module, gz: torch.nn.Module | None, x_held: np.ndarray, y_held: np.ndarray,
             means: np.ndarray, std: float, n_samples: int, seed: int,
             encoder_draws: int = 8) -> Outcome:
    """Every measure, networks in inference mode, all noise from ``seed`` (the
    global RNG is left as it was). Without ``gz`` (the GAN) only the sample
    measures."""
    was = (gx.training, gz.training if gz is not None else False)
    gx.eval()
    g = torch.Generator().manual_seed(seed)
    z_dim = gx[0].in_features
    dev = next(gx.parameters()).device
    prior = torch.randn(n_samples, z_dim, generator=g)
    samples = gx(prior.to(dev)).cpu().numpy()
    metrics = {"modes_covered": float(modes_covered(samples, means, std)),
               "high_quality_pct": high_quality_pct(samples, means, std)}
    extra = {"sample_std": float(samples.std(0).mean())}
    arrays = {"samples": samples, "prior": prior.numpy()}
    if gz is not None:
        gz.eval()
        x = torch.as_tensor(x_held).to(dev)
        eps = torch.randn(len(x), _noise_dim(gz, z_dim), generator=g).to(dev)
        codes = gz(x, eps)
        recon = gx(codes).cpu().numpy()
        codes = codes.cpu()
        metrics["recon_mode_acc_pct"] = recon_mode_acc_pct(recon, y_held, means, std)
        metrics["latent_mmd"] = latent_mmd(codes.numpy(), torch.randn(len(x), z_dim, generator=g).numpy())
        extra["recon_mse"] = float(((recon - x_held) ** 2).sum(1).mean())
        extra["mse_of_mean"] = float(((x_held - x_held.mean(0)) ** 2).sum(1).mean())
        extra["encoder_sigma"] = _encoder_sigma(gz, x[:1000], z_dim, encoder_draws, g)
        arrays.update(codes=codes.numpy(), recon=recon)
        gz.train(was[1])
    gx.train(was[0])
    return Outcome(metrics, extra, arrays)


def _noise_dim(gz: torch.nn.Module, z_dim: int) -> int:
    return getattr(gz, "noise_dim", z_dim)


def _encoder_sigma(gz, x: torch.Tensor, z_dim: int, draws: int, g: torch.Generator) -> float:
    """Spread of q(z | x) for fixed x: the std over ``draws`` noise draws, averaged
    over x and dimensions (an implicit encoder has no σ to read off)."""
    codes = torch.stack([gz(x, torch.randn(len(x), _noise_dim(gz, z_dim), generator=g).to(x.device))
                         for _ in range(draws)])
    return float(codes.std(0).mean())
