"""Benchmarks (pytest-benchmark); not part of the default test run (testpaths = tests).

    python -m pytest benchmarks/ --benchmark-only --benchmark-json results/benchmarks/NAME.json

Environment:
  ALIBENCH_BENCH_DEVICE  auto (default), cpu or cuda
  ALIBENCH_BENCH_FULL=1  also the slow CPU cases: width 1.0 training and feature
                         extraction, compile on the CPU, and the SVM protocol at
                         the paper's size (liblinear alone takes several minutes)
  ALIBENCH_BENCH_THREADS torch's CPU threads (default: torch's choice)
"""

import os
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FULL = os.environ.get("ALIBENCH_BENCH_FULL") == "1"
if os.environ.get("ALIBENCH_BENCH_THREADS"):
    torch.set_num_threads(int(os.environ["ALIBENCH_BENCH_THREADS"]))


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords and not torch.cuda.is_available():
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _keep_threads():
    """load_threads sets torch's threads process-wide: each case starts from the session's."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def device() -> torch.device:
    from alibench.core.hardware import resolve_device
    return resolve_device(os.environ.get("ALIBENCH_BENCH_DEVICE", "auto"))


def needs_full(device: torch.device, heavy: bool) -> None:
    """Heavy cases run on CUDA, or on a CPU only when asked for (ALIBENCH_BENCH_FULL=1)."""
    if heavy and device.type == "cpu" and not FULL:
        pytest.skip("slow on a CPU; set ALIBENCH_BENCH_FULL=1")


def record(benchmark, info: dict, images_per_round: int | None = None) -> None:
    """extra_info: what produced the number, and images/s from the mean round time."""
    benchmark.extra_info.update(info)
    if images_per_round:
        mean = benchmark.stats.stats.mean
        benchmark.extra_info["images_per_s"] = round(images_per_round / mean, 2)
