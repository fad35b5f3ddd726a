"""Training-step throughput (images/s) of the SVHN and CIFAR10 ALI networks,
eager float32 against the fast path and its ablations, at the paper's width
and at the CI width. A round is STEPS steps as the loop runs them, CUDA
synchronised before and after; warm-up (compilation, graph capture) excluded."""

import pytest
import torch

from conftest import needs_full, record

from alibench.bench.train_step import TrainBench, default_warmup, step_flops, sync
from alibench.train.fastpath import SWITCHES, resolve

TINY = 0.125
BATCH = 100

# name -> switches; "default" is what a run uses on this device (auto)
VARIANTS = {
    "eager-fp32": {k: "off" for k in SWITCHES},
    "default": {},
    # ablations of the CUDA fast path: everything but one part
    "no-cuda-graphs": {"cuda_graphs": "off"},
    "no-compile": {"compile": "off"},
    "no-bf16": {"amp_bf16": "off"},
    "no-channels-last": {"channels_last": "off"},
    # single parts on a CPU, to see whether any would pay there
    "cpu+channels-last": {"channels_last": "on"},
    "cpu+bf16": {"amp_bf16": "on"},
    "cpu+compile": {"compile": "on"},
}
CUDA_ONLY = {"no-cuda-graphs", "no-compile", "no-bf16", "no-channels-last"}
CPU_ONLY = {"cpu+channels-last", "cpu+bf16", "cpu+compile"}


def _steps(device, width):
    if device.type == "cuda":
        return 200, 5
    return (5, 3) if width < 1 else (2, 2)


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("width", [TINY, 1.0])
@pytest.mark.parametrize("arch", ["svhn", "cifar10"])
def test_train_step(benchmark, device, arch, width, variant):
    if (variant in CUDA_ONLY and device.type != "cuda") or (variant in CPU_ONLY and device.type != "cpu"):
        pytest.skip(f"{variant} is not measured on {device.type}")
    needs_full(device, heavy=width >= 1 or variant == "cpu+compile")
    fast = resolve({k: "auto" for k in SWITCHES} | VARIANTS[variant], device)
    bench = TrainBench(arch, width, BATCH, device, fast)
    warmup = default_warmup(fast)
    bench.run(warmup)
    steps, rounds = _steps(device, width)
    benchmark.pedantic(lambda: (bench.run(steps), sync(device)), setup=lambda: sync(device),
                       rounds=rounds, iterations=1)
    flops = step_flops(arch, width, BATCH, device)
    record(benchmark, {"arch": arch, "width": width, "batch": BATCH, "variant": variant,
                       "steps_per_round": steps, "warmup_steps": warmup,
                       "device": str(device), "device_name": _name(device),
                       "torch_threads": torch.get_num_threads(), **fast.describe(),
                       "cuda_graph_captured": getattr(bench.step_fn, "graph", None) is not None,
                       "gflop_per_image": round(flops / BATCH / 1e9, 4)},
           images_per_round=steps * BATCH)


def _name(device):
    from alibench.core.hardware import describe
    return describe(device)
