"""The batched torch L2-SVM solves liblinear's problem: same test errors on the
same features and draws (the issue asks for agreement within 0.3 points)."""

import numpy as np
import pytest

from alibench.evaluation.splits import make_draws
from alibench.evaluation.svm import LiblinearSolver, SvmSettings, run_protocol
from alibench.evaluation.svm_torch import TorchSolver


@pytest.fixture(scope="module")
def pixels():
    from alibench.data import load_dataset
    data = load_dataset("sample:svhn")
    x = data.x_train.reshape(len(data.x_train), -1).astype(np.float32) / 255
    xt = data.x_test.reshape(len(data.x_test), -1).astype(np.float32) / 255
    return x[:500], data.y_train[:500], xt, data.y_test


@pytest.mark.parametrize("log_c", [-8.0, -5.0])
def test_torch_solver_matches_liblinear(pixels, log_c):
    x, y, xt, yt = pixels
    draws = make_draws(y, 100, seed=1, n_val=0, n_test=6)
    cs = np.full(6, np.exp(log_c))
    ref = LiblinearSolver(max_iter=20000).errors(x, y, draws.test, cs, xt, yt)
    fast = TorchSolver().errors(x, y, draws.test, cs, xt, yt)
    assert abs(ref.mean() - fast.mean()) <= 0.3
    assert np.max(np.abs(ref - fast)) <= 1.0


def test_torch_solver_with_standardised_features_matches_liblinear(pixels):
    x, y, xt, yt = pixels
    draws = make_draws(y, 100, seed=2, n_val=0, n_test=3)
    cs = np.full(3, np.exp(-9.0))
    ref = LiblinearSolver(standardize=True, max_iter=20000).errors(x, y, draws.test, cs, xt, yt)
    fast = TorchSolver(standardize=True).errors(x, y, draws.test, cs, xt, yt)
    assert abs(ref.mean() - fast.mean()) <= 0.3


def test_protocol_picks_the_c_with_lowest_validation_error():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(10, 20)) * 3
    y = np.tile(np.arange(10), 40)
    x = (centers[y] + rng.normal(size=(400, 20))).astype(np.float32)
    draws = make_draws(y[:300], 50, seed=0, n_val=2, n_test=3)
    settings = SvmSettings(log_c_min=-6, log_c_max=2, n_c=5, svm_solver="torch")
    res = run_protocol(TorchSolver(), settings, x[:300], y[:300], x[300:350], y[300:350],
                       x[350:], y[350:], draws)
    sel = np.asarray(res["selection_val_error_pct"])
    assert res["best_c"] == pytest.approx(res["c_grid"][int(np.argmin(sel))])
    assert len(res["val_error_pct"]) == 2 and len(res["test_error_pct"]) == 3
    assert np.mean(res["test_error_pct"]) < 30    # well-separated clusters are learnable


def test_liblinear_is_seeded_whatever_numpys_global_state():
    # the CPU determinism promise for liblinear: an unseeded LinearSVC would draw
    # its seed from NumPy's global RNG. (Measured with scikit-learn 1.9.1: its
    # fits did not depend on random_state at all; the solver seeds it anyway.)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 30)), rng.integers(0, 4, 200)
    draws, cs = np.arange(200)[None].repeat(3, 0), np.array([1.0, 10.0, 100.0])
    solver = LiblinearSolver(max_iter=3)
    runs = []
    for seed in (1, 2):
        np.random.seed(seed)
        runs.append(solver.errors(x, y, draws, cs, x, y))
    assert np.array_equal(runs[0], runs[1])
