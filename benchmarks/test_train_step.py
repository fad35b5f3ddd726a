"""Training-step throughput (images/s) of the SVHN and CIFAR10 ALI networks,
eager float32 against the fast path and its ablations, at the paper's width
(batch 100), the demo's (0.5, batch 64) and the CI width; the eager float32
case of each size runs in the same session (summarize.py divides by it). A round is STEPS steps as the loop runs them, CUDA
synchronised before and after; warm-up (compilation, graph capture) excluded."""

import pytest
import torch

from conftest import needs_full, record

from alibench.bench.train_step import TrainBench, default_warmup, step_flops, sync, train_bench
from alibench.train.fastpath import SWITCHES, resolve

TINY = 0.125
SIZES = [(TINY, 100), (0.5, 64), (1.0, 100)]     # (width, batch)
OFF = {k: "off" for k in SWITCHES}

# name -> switches; "default" is what a run uses on this device (auto)
VARIANTS = {
    "eager-fp32": OFF,
    "default": {},
    # ablations of the CUDA fast path: everything but one part
    "no-cuda-graphs": {"cuda_graphs": "off"},
    "no-compile": {"compile": "off"},
    "no-bf16": {"amp_bf16": "off"},
    "no-channels-last": {"channels_last": "off"},
    # single parts on a CPU over plain eager float32, and the pair the CPU default is
    "cpu+channels-last": OFF | {"channels_last": "on"},
    "cpu+bf16": OFF | {"amp_bf16": "on"},
    "cpu+fused-adam": OFF | {"fused_adam": "on"},
    "cpu+load-threads": OFF | {"load_threads": "on"},
    "cpu+compile": OFF | {"compile": "on"},
    "cpu+bf16+channels-last": OFF | {"amp_bf16": "on", "channels_last": "on"},
    "cpu+bf16+channels-last+compile": OFF | {"amp_bf16": "on", "channels_last": "on", "compile": "on"},
}
CUDA_ONLY = {"no-cuda-graphs", "no-compile", "no-bf16", "no-channels-last"}
CPU_ONLY = {k for k in VARIANTS if k.startswith("cpu+")}


def _steps(device, width):
    if device.type == "cuda":
        return 200, 5
    return (5, 3) if width < 1 else (2, 2)


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("width, batch", SIZES)
@pytest.mark.parametrize("arch", ["svhn", "cifar10"])
def test_train_step(benchmark, device, arch, width, batch, variant):
    if (variant in CUDA_ONLY and device.type != "cuda") or (variant in CPU_ONLY and device.type != "cpu"):
        pytest.skip(f"{variant} is not measured on {device.type}")
    needs_full(device, heavy=width > TINY or "compile" in variant)
    fast = resolve({k: "auto" for k in SWITCHES} | VARIANTS[variant], device)
    bench = TrainBench(arch, width, batch, device, fast)
    warmup = default_warmup(fast)
    bench.run(warmup)
    steps, rounds = _steps(device, width)
    benchmark.pedantic(lambda: (bench.run(steps), sync(device)), setup=lambda: sync(device),
                       rounds=rounds, iterations=1)
    flops = step_flops(arch, width, batch, device)
    record(benchmark, {"arch": arch, "width": width, "batch": batch, "variant": variant,
                       "steps_per_round": steps, "warmup_steps": warmup,
                       "device": str(device), "device_name": _name(device),
                       "torch_threads": torch.get_num_threads(), **fast.describe(),
                       "cuda_graph_captured": getattr(bench.step_fn, "graph", None) is not None,
                       "gflop_per_image": round(flops / batch / 1e9, 4)},
           images_per_round=steps * batch)


@pytest.mark.parametrize("width, batch", SIZES)
def test_default_step_against_eager_interleaved(benchmark, device, width, batch):
    """The default step and the plain eager float32 step, built in one process and
    timed in interleaved blocks (as ``bench`` does), so load hits both alike;
    extra_info holds the ratio. One round: the measurement is the interleaving."""
    needs_full(device, heavy=width > TINY)
    fast = resolve({}, device)
    steps = 200 if device.type == "cuda" else (10 if width <= TINY else 5)
    result = benchmark.pedantic(lambda: train_bench("svhn", width, batch, steps, device, fast,
                                                    count_flops=False), rounds=1, iterations=1)
    ref = result.get("eager_fp32", {"images_per_s": result["images_per_s"]})
    record(benchmark, {"arch": "svhn", "width": width, "batch": batch, "variant": "default-vs-eager",
                       "device": str(device), "device_name": _name(device),
                       "torch_threads": torch.get_num_threads(), **fast.describe(),
                       "images_per_s": result["images_per_s"], "eager_fp32_images_per_s": ref["images_per_s"],
                       "speedup_vs_eager_fp32": result.get("speedup_vs_eager_fp32", 1.0),
                       "end_to_end_speedup_vs_eager_fp32": result.get("end_to_end_speedup_vs_eager_fp32", 1.0),
                       "load_avg_1min": result["load_avg_1min"]})


def _name(device):
    from alibench.core.hardware import describe
    return describe(device)
