"""A batched L2-SVM solver in torch: every draw (and every C) of the protocol
solved at once, on the GPU or the CPU.

It solves exactly liblinear's problem — one-vs-rest, squared hinge, L2 penalty,
the intercept as an extra constant feature that is regularised too:

    min_w  ½‖w‖² + C Σ_i max(0, 1 − y_i w·x̃_i)²,   x̃ = [x, 1]

— in its kernel form (w = X̃ᵀβ, K = X̃X̃ᵀ, λ = 1/(2C)), by Newton's method for
the primal (Chapelle, "Training a support vector machine in the primal", 2007):
each step solves (K_SV + λI) β_SV = y_SV on the current margin violators, with
a backtracking line search so every step decreases the objective. A handful of
n×n solves replace liblinear's coordinate descent, and they batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm import tqdm


def _objective(beta, K, y, lam):
    """λ βᵀKβ + Σ max(0, 1 − y ⊙ Kβ)², batched over (..., classes)."""
    kb = torch.einsum("bij,bcj->bci", K, beta)
    hinge = (1 - y * kb).clamp_min(0)
    return lam * (beta * kb).sum(-1) + (hinge ** 2).sum(-1), kb


def newton_svm(K: torch.Tensor, y: torch.Tensor, lam: torch.Tensor, max_iter: int = 50,
               tol: float = 1e-10) -> tuple[torch.Tensor, torch.Tensor]:
    """β (B, k, n) for kernels K (B, n, n), targets y (B, k, n) in ±1, λ (B,).
    Returns β and a (B,) flag of problems that converged."""
    B, k, n = y.shape
    lam = lam.view(B, 1).to(K.dtype)
    beta = torch.zeros_like(y)
    obj, kb = _objective(beta, K, y, lam)
    eye = torch.eye(n, dtype=K.dtype, device=K.device)
    done = torch.zeros(B, k, dtype=torch.bool, device=K.device)
    for _ in range(max_iter):
        sv = (y * kb) < 1
        mask = (sv[..., :, None] & sv[..., None, :]).to(K.dtype)
        diag = torch.where(sv, lam.view(B, 1, 1).expand(B, k, n), torch.ones_like(y))
        A = K[:, None] * mask + eye * diag[..., None]
        target = torch.linalg.solve(A, torch.where(sv, y, torch.zeros_like(y)))
        step = target - beta
        t = torch.ones(B, k, 1, dtype=K.dtype, device=K.device)
        for _ in range(30):  # backtracking: accept a step only if it lowers the objective
            new_obj, new_kb = _objective(beta + t * step, K, y, lam)
            ok = new_obj <= obj + 1e-12 * obj.abs()
            if ok.all():
                break
            t = torch.where(ok[..., None], t, t / 2)
        moved = (new_obj < obj - tol * obj.abs().clamp_min(1.0))
        beta = torch.where(done[..., None], beta, beta + t * step)
        obj = torch.where(done, obj, new_obj)
        kb = torch.einsum("bij,bcj->bci", K, beta)
        done = done | ~moved
        if done.all():
            break
    return beta, done.all(dim=1)


@dataclass
class TorchSolver:
    """Drop-in for the liblinear reference (``svm.Solver``), batched over draws."""
    standardize: bool = False
    max_iter: int = 50
    device: str = "auto"
    batch_elems: int = 2 ** 27   # bound on B·k·n² per chunk (memory)
    name: str = "torch"
    not_converged: int = field(default=0, init=False)

    def _device(self) -> torch.device:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)

    @torch.no_grad()
    def errors(self, x_pool, y_pool, draws, cs, x_eval, y_eval, desc=""):
        dev = self._device()
        classes = np.unique(y_pool)
        X = torch.as_tensor(x_pool, device=dev, dtype=torch.float64)
        Xe = torch.as_tensor(x_eval, device=dev, dtype=torch.float64)
        ye = torch.as_tensor(np.searchsorted(classes, y_eval), device=dev)
        known = torch.as_tensor(np.isin(y_eval, classes), device=dev)
        Y = torch.as_tensor(y_pool, device=dev)
        cls = torch.as_tensor(classes, device=dev)
        n, k = draws.shape[1], len(classes)
        chunk = max(1, self.batch_elems // (k * n * n))
        out = []
        for s in tqdm(range(0, len(draws), chunk), desc=desc or "svm (torch)", disable=None, leave=False):
            idx = torch.as_tensor(draws[s:s + chunk], device=dev)
            lam = 1.0 / (2.0 * torch.as_tensor(cs[s:s + chunk], device=dev, dtype=torch.float64))
            Xd, Xev = X[idx], Xe
            if self.standardize:
                mean, std = Xd.mean(1, keepdim=True), Xd.std(1, unbiased=False, keepdim=True) + 1e-8
                Xd = (Xd - mean) / std
            K = Xd @ Xd.transpose(1, 2) + 1.0
            y = torch.where(Y[idx][:, None, :] == cls[None, :, None], 1.0, -1.0).to(torch.float64)
            beta, ok = newton_svm(K, y, lam, self.max_iter)
            self.not_converged += int((~ok).sum())
            W = torch.einsum("bcn,bnd->bcd", beta, Xd)          # (B, k, d)
            b = beta.sum(-1)                                      # the constant feature's weight
            for j in range(len(idx)):
                xe = Xev if not self.standardize else (Xev - mean[j]) / std[j]
                pred = (xe @ W[j].T + b[j]).argmax(1)
                wrong = (pred != ye) | ~known
                out.append(100.0 * wrong.double().mean().item())
        return np.asarray(out)
