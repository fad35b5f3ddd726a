"""The L2-SVM protocol of the paper's SVHN track (PAPER.md, Track 1).

One selection draw picks C from a log grid by validation error; then new draws
give the validation estimate and the test estimate (mean ± std over draws).
scikit-learn's ``LinearSVC`` (liblinear: squared hinge, L2 penalty,
one-vs-rest) is the reference solver.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from tqdm import tqdm

from ..core import faults
from ..core.files import atomic_write_json
from .splits import LabelDraws


@dataclass
class SvmSettings:
    """The SVM's settings; the SVHN SVM track's config inherits them as its keys."""
    log_c_min: float = -20.0
    log_c_max: float = 20.0
    n_c: int = 50
    standardize: bool = False
    svm_max_iter: int = 1000
    svm_solver: str = "liblinear"

    def c_grid(self) -> np.ndarray:
        return np.exp(np.linspace(self.log_c_min, self.log_c_max, self.n_c))


class Solver(Protocol):
    name: str

    def errors(self, x_pool: np.ndarray, y_pool: np.ndarray, draws: np.ndarray, cs: np.ndarray,
               x_eval: np.ndarray, y_eval: np.ndarray, desc: str = "") -> np.ndarray:
        """Error rate (%) on (x_eval, y_eval) of an SVM trained on each draw's
        rows of the pool with the matching C; one value per draw."""


def _standardize(x_fit: np.ndarray, x_eval: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, std = x_fit.mean(0), x_fit.std(0) + 1e-8
    return (x_fit - mean) / std, (x_eval - mean) / std


@dataclass
class LiblinearSolver:
    """One ``LinearSVC`` fit per (draw, C): the faithful, slow reference.
    scikit-learn documents ``random_state`` as the seed of the dual coordinate
    descent's visiting order, drawn from NumPy's global state when unset; it is
    fixed here so that the same features give the same SVMs. (With scikit-learn
    1.9.1 we measured no dependence on it at all; docs/fidelity.md.)"""
    standardize: bool = False
    max_iter: int = 1000
    random_state: int = 0
    name: str = "liblinear"
    resume_chunk: int = 1     # fits between saves (ResumableSolver): each fit stands alone
    not_converged: int = field(default=0, init=False)

    def errors(self, x_pool, y_pool, draws, cs, x_eval, y_eval, desc=""):
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.svm import LinearSVC

        out = np.empty(len(draws))
        for i in tqdm(range(len(draws)), desc=desc or "svm", disable=None, leave=False):
            x_fit, y_fit = x_pool[draws[i]], y_pool[draws[i]]
            x_ev = x_eval
            if self.standardize:
                x_fit, x_ev = _standardize(x_fit, x_eval)
            # random_state: liblinear's dual solver shuffles; unseeded it draws from
            # NumPy's global RNG, so a fit (and a resumed protocol) would not repeat.
            svc = LinearSVC(C=float(cs[i]), loss="squared_hinge", penalty="l2", dual=True,
                            max_iter=self.max_iter, random_state=self.random_state)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                svc.fit(x_fit, y_fit)
            self.not_converged += any(issubclass(w.category, ConvergenceWarning) for w in caught)
            pred = svc.classes_[np.argmax(x_ev @ svc.coef_.T.astype(x_ev.dtype) + svc.intercept_, axis=1)]
            out[i] = 100.0 * np.mean(pred != y_eval)
        return out


class ResumableSolver:
    """A solver whose error rates are saved (atomically, in ``path``) as they are
    computed, so a protocol killed between fits resumes where it stopped and
    gives the same result. The k-th ``errors`` call of a protocol is its k-th
    stage (choose C, validation draws, test draws); a saved stage is reused only
    for the same draws and values of C. Fits are computed ``solver.resume_chunk``
    at a time (liblinear: 1, each fit on its own; the torch solver: a whole stage,
    as it batches them), so an uninterrupted run computes exactly what a resumed one does."""

    def __init__(self, solver: Solver, path: Path) -> None:
        self.solver, self.path, self.name = solver, Path(path), solver.name
        self.saved: dict = json.loads(self.path.read_text()) if self.path.exists() else {}
        self.calls = 0

    @property
    def not_converged(self) -> int | None:
        if not hasattr(self.solver, "not_converged"):
            return None
        return sum(sum(stage.get("not_converged", [])) for stage in self.saved.values())

    def errors(self, x_pool, y_pool, draws, cs, x_eval, y_eval, desc=""):
        key, self.calls = str(self.calls), self.calls + 1
        draws, cs = np.asarray(draws), np.asarray(cs, dtype=np.float64)
        tag = hashlib.blake2b(draws.tobytes() + cs.tobytes() + np.asarray(y_eval).tobytes(),
                              digest_size=12).hexdigest()
        stage = self.saved.get(key)
        if stage is None or stage.get("inputs") != tag:
            stage = {"inputs": tag, "errors": [], "not_converged": []}
        chunk = getattr(self.solver, "resume_chunk", len(draws)) or len(draws)
        while len(stage["errors"]) < len(draws):
            i = len(stage["errors"])
            j = min(len(draws), i + chunk)
            before = getattr(self.solver, "not_converged", 0)
            errs = self.solver.errors(x_pool, y_pool, draws[i:j], cs[i:j], x_eval, y_eval,
                                      f"{desc} [{j}/{len(draws)}]" if j - i < len(draws) else desc)
            faults.point("svm-fit")
            stage["errors"] += [float(e) for e in errs]
            stage["not_converged"].append(getattr(self.solver, "not_converged", 0) - before)
            self.saved[key] = stage
            atomic_write_json(self.path, self.saved)
        return np.asarray(stage["errors"])


def _torch_solver(settings: SvmSettings) -> Solver:
    from .svm_torch import TorchSolver
    return TorchSolver(standardize=settings.standardize)


# "liblinear" is the reference; "torch" solves the same problem exactly, batched.
SOLVERS = {
    "liblinear": lambda s: LiblinearSolver(standardize=s.standardize, max_iter=s.svm_max_iter),
    "torch": _torch_solver,
}


def make_solver(settings: SvmSettings) -> Solver:
    return SOLVERS[settings.svm_solver](settings)


def run_protocol(solver: Solver, settings: SvmSettings, x_pool: np.ndarray, y_pool: np.ndarray,
                 x_val: np.ndarray, y_val: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                 draws: LabelDraws, desc: str = "svm") -> dict:
    grid = settings.c_grid()
    sel = np.repeat(draws.selection[None], len(grid), axis=0)
    sel_err = solver.errors(x_pool, y_pool, sel, grid, x_val, y_val, f"{desc}: choose C")
    best = int(np.argmin(sel_err))  # the first of equal errors, as the released script does
    c = grid[best]
    val_err = solver.errors(x_pool, y_pool, draws.val, np.full(len(draws.val), c),
                            x_val, y_val, f"{desc}: validation draws")
    test_err = solver.errors(x_pool, y_pool, draws.test, np.full(len(draws.test), c),
                             x_test, y_test, f"{desc}: test draws")
    return {"c_grid": grid.tolist(), "selection_val_error_pct": sel_err.tolist(),
            "best_c": float(c), "best_log_c": float(np.log(c)),
            "val_error_pct": val_err.tolist(), "test_error_pct": test_err.tolist(),
            "solver": solver.name, "not_converged": getattr(solver, "not_converged", None)}


# C values of the DCGAN authors' released SVHN analysis (svhn/svhn_semisup_analysis.py).
DCGAN_C_GRID = (1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2)


def run_dcgan_protocol(solver: Solver, settings: SvmSettings, x_pool: np.ndarray, y_pool: np.ndarray,
                       x_val: np.ndarray, y_val: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                       draws: LabelDraws, desc: str = "svm") -> dict:
    """The DCGAN authors' variant: C from ``DCGAN_C_GRID`` by the mean validation
    error over the validation draws, then the test draws at that C. (Their script
    draws 10 fresh sets per C; we reuse the same validation draws for every C,
    which pairs the comparison across C.) ``settings``' own grid is not used.
    The reported validation error is the selection's own, so it is optimistic."""
    grid, n = np.asarray(DCGAN_C_GRID), len(draws.val)
    if n == 0:
        raise ValueError("the DCGAN protocol chooses C over validation draws; n_val_draws is 0")
    sel = solver.errors(x_pool, y_pool, np.tile(draws.val, (len(grid), 1)), np.repeat(grid, n),
                        x_val, y_val, f"{desc}: choose C").reshape(len(grid), n)
    best = int(np.argmin(sel.mean(axis=1)))
    c = grid[best]
    test_err = solver.errors(x_pool, y_pool, draws.test, np.full(len(draws.test), c),
                             x_test, y_test, f"{desc}: test draws")
    return {"protocol": "dcgan", "c_grid": grid.tolist(),
            "selection_val_error_pct": sel.mean(axis=1).tolist(),
            "best_c": float(c), "best_log_c": float(np.log(c)),
            "val_error_pct": sel[best].tolist(), "test_error_pct": test_err.tolist(),
            "solver": solver.name, "not_converged": getattr(solver, "not_converged", None)}
