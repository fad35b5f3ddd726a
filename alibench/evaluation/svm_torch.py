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

Where the time goes, and what keeps it small:
- one kernel matrix per distinct draw, shared by every C and every class (the
  selection stage fits 50 values of C on one draw: one K, not 50);
- each Newton system is gathered on the margin violators only (padded to the
  largest set in the batch), so its cost is |SV|³ rather than n³;
- the systems are symmetric positive definite: Cholesky, with Bunch–Kaufman
  (LDLᵀ) for the rare matrix that rounding makes indefinite at huge C (batched
  LU, ``torch.linalg.solve``, is both slower and broken for n ≈ 1000 in some
  MKL builds);
- kernels and Newton in float64 (λ reaches 1e-9 at C = e^20, far below float32's
  resolution of K); predictions in float32, one matrix product for all draws,
  as the liblinear reference path also scores in the features' float32.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm import tqdm


def _objective(beta, K, y, lam):
    """λ βᵀKβ + Σ max(0, 1 − y ⊙ Kβ)² for β, y (G, Q, n), K (G, n, n), λ (G, Q)."""
    kb = beta @ K                      # K is symmetric: (Kβ)ᵀ = βᵀK
    hinge = (1 - y * kb).clamp_min(0)
    return lam * (beta * kb).sum(-1) + (hinge ** 2).sum(-1), kb


def _spd_solve(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """X with A X = B for symmetric positive definite A (U, m, m), B (U, m, r)."""
    L, info = torch.linalg.cholesky_ex(A)
    X = torch.linalg.solve_triangular(L.mT, torch.linalg.solve_triangular(L, B, upper=False),
                                      upper=True)
    bad = info != 0
    if bad.any():
        LD, piv = torch.linalg.ldl_factor(A[bad])
        X[bad] = torch.linalg.ldl_solve(LD, piv, B[bad])
    return X


def _rank_within_group(inv: torch.Tensor) -> torch.Tensor:
    """For group labels ``inv`` (P,), each element's position among its group's members."""
    sorted_inv, perm = inv.sort(stable=True)
    first = torch.searchsorted(sorted_inv, sorted_inv)
    pos = torch.empty_like(inv)
    pos[perm] = torch.arange(len(inv), device=inv.device) - first
    return pos


def _newton_target(K_pad, y, lam, kb):
    """The Newton point: (K_SS + λI)⁻¹ y_S on the margin violators S, 0 elsewhere.

    ``K_pad`` (G, n+1, n+1) is K with a zero last row and column, which the
    padding of smaller violator sets points at. Problems with the same kernel,
    λ and violator set (every class in the first step, and at small C where
    every point violates the margin) share one factorisation."""
    G, Q, n = y.shape
    P = G * Q
    sv = ((y * kb) < 1).reshape(P, n)
    gi = torch.arange(G, device=y.device).repeat_interleave(Q)
    key = torch.cat([gi[:, None].to(y.dtype), lam.reshape(P, 1), sv.to(y.dtype)], dim=1)
    uniq, inv = torch.unique(key, dim=0, return_inverse=True)
    u_sv = uniq[:, 2:].bool()
    count = u_sv.sum(-1)
    m = int(count.max())
    if m == 0:
        return torch.zeros_like(y)
    # each system's violators first, then the zero row n as padding
    order = torch.argsort((~u_sv).to(torch.uint8), dim=-1, stable=True)[:, :m]
    valid = torch.arange(m, device=y.device) < count[:, None]
    order = torch.where(valid, order, n)
    A = K_pad[uniq[:, 0].long()[:, None, None], order[:, :, None], order[:, None, :]]
    A.diagonal(dim1=-2, dim2=-1).add_(torch.where(valid, uniq[:, 1:2], 1.0))
    # each problem's targets become one column of its system's right-hand side
    pos = _rank_within_group(inv)
    rhs = torch.gather(y.reshape(P, n), 1, order[inv].clamp_max(n - 1))
    B = y.new_zeros(len(uniq), m, int(pos.max()) + 1)
    B[inv, :, pos] = torch.where(valid[inv], rhs, 0.0)
    sol = _spd_solve(A, B)[inv, :, pos]
    out = y.new_zeros(P, n + 1).scatter_(1, order[inv], sol)
    return out[:, :n].view(G, Q, n)


def newton_svm(K: torch.Tensor, y: torch.Tensor, lam: torch.Tensor, max_iter: int = 50,
               tol: float = 1e-10) -> tuple[torch.Tensor, torch.Tensor, int]:
    """β (G, Q, n) for kernels K (G, n, n), targets y (G, Q, n) in ±1 and λ (G, Q):
    Q problems (values of C × classes) share each of the G kernels.
    Returns β, a (G, Q) flag of converged problems and the iterations used."""
    beta = torch.zeros_like(y)
    obj, kb = _objective(beta, K, y, lam)
    K_pad = torch.nn.functional.pad(K, (0, 1, 0, 1))
    done = torch.zeros(y.shape[:2], dtype=torch.bool, device=K.device)
    it = 0
    for it in range(1, max_iter + 1):
        step = _newton_target(K_pad, y, lam, kb) - beta
        t = torch.ones_like(obj)[..., None]
        for _ in range(30):  # backtracking: accept a step only if it lowers the objective
            new_obj, new_kb = _objective(beta + t * step, K, y, lam)
            ok = new_obj <= obj + 1e-12 * obj.abs()
            if ok.all():
                break
            t = torch.where(ok[..., None], t, t / 2)
        moved = new_obj < obj - tol * obj.abs().clamp_min(1.0)
        keep = done[..., None]
        beta = torch.where(keep, beta, beta + t * step)
        kb = torch.where(keep, kb, new_kb)
        obj = torch.where(done, obj, new_obj)
        done = done | ~moved
        if done.all():
            break
    return beta, done, it


def _units(draws: np.ndarray, cs: np.ndarray, max_c: int) -> list[tuple[np.ndarray, np.ndarray, list]]:
    """Rows (draw, C) as units (draw, up to ``max_c`` distinct Cs, the rows using each C):
    one kernel per distinct draw, one fit per distinct (draw, C)."""
    uniq, inv = np.unique(draws, axis=0, return_inverse=True)
    inv = inv.ravel()
    units = []
    for u in range(len(uniq)):
        rows = np.flatnonzero(inv == u)
        c_vals, c_inv = np.unique(cs[rows], return_inverse=True)
        per_c = [rows[c_inv.ravel() == j] for j in range(len(c_vals))]
        for s in range(0, len(c_vals), max_c):
            units.append((uniq[u], c_vals[s:s + max_c], per_c[s:s + max_c]))
    return units


def _batches(units: list, max_units: int) -> list[list]:
    """Consecutive units with the same number of Cs, at most ``max_units`` per batch."""
    batches: list[list] = []
    for unit in units:
        last = batches[-1] if batches else None
        if last and len(last) < max_units and len(last[0][1]) == len(unit[1]):
            last.append(unit)
        else:
            batches.append([unit])
    return batches


@dataclass
class TorchSolver:
    """Drop-in for the liblinear reference (``svm.Solver``), batched over draws and C."""
    standardize: bool = False
    max_iter: int = 50
    device: str = "auto"
    batch_elems: int = 0      # bound on problems·n² per Newton batch; 0: by device
    name: str = "torch"
    not_converged: int = field(default=0, init=False)
    newton_iterations: list = field(default_factory=list, init=False)

    def _device(self) -> torch.device:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)

    def _budget(self, dev: torch.device) -> int:
        # several float64 arrays of this size live at once (A, its factor, the gathers)
        return self.batch_elems or (2 ** 28 if dev.type == "cuda" else 2 ** 25)

    @torch.no_grad()
    def errors(self, x_pool, y_pool, draws, cs, x_eval, y_eval, desc=""):
        dev = self._device()
        draws = np.asarray(draws)
        classes = np.unique(y_pool)
        k, n = len(classes), draws.shape[1]
        max_problems = max(1, self._budget(dev) // (n * n))   # problems = draws · Cs · classes
        max_c = max(1, max_problems // k)
        units = _units(draws, np.asarray(cs, dtype=np.float64), max_c)
        xe = torch.as_tensor(np.ascontiguousarray(x_eval), device=dev, dtype=torch.float32)
        ye = torch.as_tensor(np.searchsorted(classes, y_eval), device=dev)
        known = torch.as_tensor(np.isin(y_eval, classes), device=dev)
        onehot = torch.as_tensor(y_pool[:, None] == classes[None], device=dev)
        out = np.full(len(draws), np.nan)
        prev_draws, prev = None, None
        for batch in tqdm(_batches(units, max(1, max_problems // (k * len(units[0][1])))),
                          desc=desc or "svm (torch)", disable=None, leave=False):
            rows_idx = np.stack([u[0] for u in batch])                           # (G, n)
            if prev_draws is None or not np.array_equal(rows_idx, prev_draws):
                prev_draws, prev = rows_idx, self._kernel(x_pool[rows_idx], dev)
            X, K, mean, std = prev
            c = torch.as_tensor(np.stack([u[1] for u in batch]), device=dev, dtype=torch.float64)
            idx = torch.as_tensor(rows_idx, device=dev)
            W, b = self._fit(X, K, onehot[idx], c)
            err = _eval_errors(W, b, mean, std, xe, ye, known)                    # (G, nC)
            for g, (_, _, rows) in enumerate(batch):
                for j, r in enumerate(rows):
                    out[r] = err[g][j]
        return out

    def _kernel(self, x_draws: np.ndarray, dev: torch.device):
        """Features X (G, n, d), standardised per draw if asked, and K = X̃X̃ᵀ, in float64."""
        X = torch.as_tensor(x_draws, device=dev, dtype=torch.float64)
        mean = std = None
        if self.standardize:
            mean, std = X.mean(1, keepdim=True), X.std(1, unbiased=False, keepdim=True) + 1e-8
            X = (X - mean) / std
        return X, X @ X.transpose(1, 2) + 1.0, mean, std          # x̃ = [x, 1]

    def _fit(self, X, K, onehot, c):
        """One-vs-rest weights (G, nC, k, d) and biases (G, nC, k) for draws X (G, n, d)
        with kernels K and labels ``onehot`` (G, n, k), at the values of C ``c`` (G, nC)."""
        G, n, _ = X.shape
        nc, k = c.shape[1], onehot.shape[-1]
        y = torch.where(onehot.transpose(1, 2), 1.0, -1.0).to(X.dtype)        # (G, k, n)
        y = y[:, None].expand(G, nc, k, n).reshape(G, nc * k, n)
        lam = (1.0 / (2.0 * c))[..., None].expand(G, nc, k).reshape(G, nc * k)
        beta, ok, iters = newton_svm(K, y, lam, self.max_iter)
        self.not_converged += int((~ok.view(G, nc, k)).any(-1).sum())
        self.newton_iterations.append(iters)
        beta = beta.view(G, nc * k, n)
        W = (beta @ X).view(G, nc, k, -1)        # w = X̃ᵀβ without the constant column
        return W, beta.sum(-1).view(G, nc, k)    # the constant feature's weight


def _eval_errors(W, b, mean, std, xe, ye, known) -> list[list[float]]:
    """Test error (%) of each (draw, C) one-vs-rest classifier, scored in float32."""
    if mean is not None:          # fold each draw's standardisation into w and b
        mean, std = mean[:, None], std[:, None]           # (G, 1, 1, d)
        b = b - (W * (mean / std)).sum(-1)
        W = W / std
    G, nc, k, d = W.shape
    scores = xe @ W.reshape(-1, d).T.float() + b.reshape(1, -1).float()
    pred = scores.view(-1, G, nc, k).argmax(-1)                           # (N, G, nC)
    wrong = (pred != ye[:, None, None]) | ~known[:, None, None]
    return (100.0 * wrong.double().mean(0)).tolist()
