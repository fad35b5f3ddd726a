"""Timing the SVM protocol (PAPER.md, Track 1) on features of the real size.

The real encoder features are 5,376-dimensional; where they are absent, random
class-structured features of the same size stand in (timing depends on the
sizes and, for liblinear, on how hard the problems are; the error rates they
give mean nothing). ``paper`` is the official protocol's size: 1000 labels,
pool 63,257, validation 10,000, test 26,032, 50 values of C, 10 validation and
100 test draws, so 160 fits.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import torch

from ..evaluation.splits import make_draws
from ..evaluation.svm import SvmSettings, make_solver, run_protocol


@dataclass(frozen=True)
class SvmBenchSize:
    n_pool: int = 63257
    n_val: int = 10000
    n_test: int = 26032
    dim: int = 5376
    n_labels: int = 1000
    n_c: int = 50
    n_val_draws: int = 10
    n_test_draws: int = 100

    @property
    def fits(self) -> int:
        return self.n_c + self.n_val_draws + self.n_test_draws


SVM_SIZES = {
    "paper": SvmBenchSize(),
    # the real feature size and C grid but only a few draws: per-fit times of the
    # real problem, from which the 160-fit protocol is projected (liblinear alone
    # would take a quarter of an hour on a 2-core CPU for "paper")
    "few-draws": SvmBenchSize(n_pool=20000, n_val_draws=2, n_test_draws=3),
    # small enough for CI on a CPU, same code path
    "ci": SvmBenchSize(n_pool=3000, n_val=500, n_test=1000, dim=256, n_labels=200, n_c=8,
                       n_val_draws=2, n_test_draws=4),
}


def synthetic_features(size: SvmBenchSize, seed: int = 0, separation: float = 6.2):
    """(x_pool, y_pool, x_val, y_val, x_test, y_test): unit Gaussian classes around
    random means about ``separation`` apart, float32 like the encoder's features
    (about 25 % test error at the paper size)."""
    rng = np.random.default_rng(seed)
    scale = separation / np.sqrt(2 * size.dim)     # so that ‖μ_a − μ_b‖ ≈ separation
    means = rng.standard_normal((10, size.dim), dtype=np.float32) * np.float32(scale)

    def split(n):
        y = np.arange(n) % 10
        rng.shuffle(y)
        x = rng.standard_normal((n, size.dim), dtype=np.float32)
        x += means[y]
        return x, y

    return (*split(size.n_pool), *split(size.n_val), *split(size.n_test))


class _TimedSolver:
    """Wraps a solver and records the wall time of each stage of the protocol."""

    def __init__(self, solver) -> None:
        self.solver, self.name, self.stages = solver, solver.name, []

    def errors(self, x_pool, y_pool, draws, cs, x_eval, y_eval, desc=""):
        t0 = time.perf_counter()
        out = self.solver.errors(x_pool, y_pool, draws, cs, x_eval, y_eval, desc)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.stages.append({"stage": desc, "fits": len(draws),
                            "seconds": round(time.perf_counter() - t0, 3)})
        return out

    @property
    def not_converged(self):
        return getattr(self.solver, "not_converged", None)


def projected_protocol_s(stages: list[dict], size: SvmBenchSize, full: SvmBenchSize) -> float:
    """A projection, not a measurement: the selection stage as measured (it fits the
    whole C grid on one draw either way) plus the measured seconds per fit of the
    validation and test draws times ``full``'s number of those draws."""
    sel, *draws = stages
    per_fit = sum(s["seconds"] for s in draws) / sum(s["fits"] for s in draws)
    return sel["seconds"] * full.n_c / size.n_c + per_fit * (full.n_val_draws + full.n_test_draws)


def svm_protocol_bench(solver: str, size: SvmBenchSize, seed: int = 0, features=None) -> dict:
    """Run the whole protocol once with ``solver`` ('liblinear' or 'torch'); its timing."""
    xp, yp, xv, yv, xt, yt = features if features is not None else synthetic_features(size, seed)
    draws = make_draws(yp, size.n_labels, seed, size.n_val_draws, size.n_test_draws)
    settings = SvmSettings(n_c=size.n_c, svm_solver=solver)
    timed = _TimedSolver(make_solver(settings))
    t0 = time.perf_counter()
    res = run_protocol(timed, settings, xp, yp, xv, yv, xt, yt, draws, desc=f"svm {solver}")
    wall = time.perf_counter() - t0
    return {"solver": solver, "wall_s": round(wall, 3), "fits": size.fits,
            "s_per_fit": round(wall / size.fits, 4), "stages": timed.stages,
            "projected_paper_protocol_s": round(projected_protocol_s(timed.stages, size,
                                                                     SVM_SIZES["paper"]), 1),
            "test_error_pct": float(np.mean(res["test_error_pct"])),
            "best_log_c": res["best_log_c"], "not_converged": timed.not_converged,
            "selection_val_error_pct": [round(e, 3) for e in res["selection_val_error_pct"]],
            "test_error_pct_per_draw": [round(e, 3) for e in res["test_error_pct"]],
            "torch_threads": torch.get_num_threads(), "size": asdict(size)}
