"""The whole SVM protocol (C chosen on one draw, 10 validation and 100 test draws)
with liblinear, the reference, and the batched exact torch solver, on random
class-structured features of the real size (pool 63,257 × 5,376, test 26,032),
the real size with a few draws (few-draws: per-fit times, and the 160-fit
protocol projected from them), or the CI size. One round: with liblinear the
protocol is minutes long."""

import pytest
import torch

from conftest import needs_full, record

from alibench.bench.svm import SVM_SIZES, svm_protocol_bench, synthetic_features
from alibench.core.hardware import describe


@pytest.fixture(scope="module")
def features():
    return {}


@pytest.mark.parametrize("solver", ["torch", "liblinear"])
@pytest.mark.parametrize("size", ["ci", "few-draws", "paper"])
def test_svm_protocol(benchmark, device, features, size, solver):
    needs_full(device, heavy=size != "ci")
    if size == "paper" and solver == "liblinear" and device.type == "cpu":
        pytest.skip("about a quarter of an hour; few-draws gives its per-fit times")
    if size not in features:
        features.clear()                 # one size in memory at a time (the paper's: 2 GB)
        features[size] = synthetic_features(SVM_SIZES[size])
    result = benchmark.pedantic(lambda: svm_protocol_bench(solver, SVM_SIZES[size], features=features[size]),
                                rounds=1, iterations=1)
    solver_device = "cpu" if solver == "liblinear" else str(device)
    record(benchmark, {"size": size, "solver": solver, "fits": result["fits"],
                       "wall_s": result["wall_s"], "s_per_fit": result["s_per_fit"],
                       "stages": result["stages"],
                       "projected_paper_protocol_s": result["projected_paper_protocol_s"],
                       "test_error_pct": result["test_error_pct"],
                       "best_log_c": result["best_log_c"], "not_converged": result["not_converged"],
                       "device": solver_device, "device_name": describe(torch.device(solver_device)),
                       "dtype": "float64 solve, float32 scoring" if solver == "torch" else "float64",
                       "torch_threads": torch.get_num_threads()})
