"""Where the time of one ALI training step goes (torch.profiler), by operator and
by kind of work.

    python benchmarks/profile_step.py [--arch svhn] [--width 0.125] [--batch 100]
        [--steps 5] [--device cpu] [--eager-fp32] [--threads 1]
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alibench.bench.train_step import TrainBench, default_warmup, sync  # noqa: E402
from alibench.train.fastpath import SWITCHES, resolve  # noqa: E402
from alibench.core.hardware import describe, resolve_device  # noqa: E402

# operator name fragments → the kind of work (first match wins)
KINDS = [
    ("convolution backward", ("convolution_backward",)),
    ("convolution forward", ("mkldnn_convolution", "cudnn_convolution", "_convolution", "conv2d",
                             "conv_transpose", "slow_conv")),
    ("batch norm", ("batch_norm",)),
    ("dropout (masks and products)", ("bernoulli", "dropout", "native_dropout")),
    ("activations (leaky ReLU, sigmoid, maxout)", ("leaky_relu", "sigmoid", "amax", "max")),
    ("Adam update", ("adam", "_foreach", "addcdiv", "addcmul", "lerp", "sqrt")),
    ("random numbers (noise)", ("randn", "normal")),
    ("data (gather, convert)", ("index_select", "div_", "to_copy", "_to_copy")),
    ("memory (copies, fills, cat)", ("copy_", "fill_", "zero_", "cat", "empty", "clone")),
]


def kind_of(name: str) -> str:
    low = name.lower()
    for kind, frags in KINDS:
        if any(f in low for f in frags):
            return kind
    return "other elementwise and bookkeeping"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", default="svhn")
    p.add_argument("--width", type=float, default=0.125)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--device", default="cpu")
    p.add_argument("--eager-fp32", action="store_true")
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    fast = resolve({k: "off" if args.eager_fp32 else "auto" for k in SWITCHES}, device)
    bench = TrainBench(args.arch, args.width, args.batch, device, fast)
    bench.run(default_warmup(fast))
    sync(device)
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=acts) as prof:
        bench.run(args.steps)
        sync(device)
    events = prof.key_averages()
    attr = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    total = sum(getattr(e, attr) for e in events)
    by_kind: dict[str, float] = defaultdict(float)
    for e in events:
        by_kind[kind_of(e.key)] += getattr(e, attr)
    print(f"# {args.arch} width {args.width} batch {args.batch}, {args.steps} steps on {describe(device)}, "
          f"{fast.dtype}, compile {fast.compile}, CUDA graphs {fast.cuda_graphs}")
    print(f"# {total / args.steps / 1000:.1f} ms of {'device' if device.type == 'cuda' else 'CPU'} "
          "time per step (self time summed over operators)\n")
    print("| kind of work | share | ms per step |\n|---|---|---|")
    for kind, t in sorted(by_kind.items(), key=lambda kv: -kv[1]):
        print(f"| {kind} | {100 * t / total:.1f} % | {t / args.steps / 1000:.2f} |")
    print()
    print(events.table(sort_by=attr, row_limit=20))


if __name__ == "__main__":
    main()
