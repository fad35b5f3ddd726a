"""Timing from the shell: a training step, feature extraction, the SVM protocol.

    python -m alibench.run bench --arch svhn --width 1.0 --batch 100 --steps 200 \\
        --device cuda [--eager-fp32] --json

prints one JSON object (``images_per_s`` and what produced it; for a training
step not on the plain eager float32 path, also that path's step measured in the
same process, interleaved, as ``eager_fp32`` and ``speedup_vs_eager_fp32``). A training
step here is what the loop runs per step: fetch the batch from the resident
uint8 images, one ALI update, accumulate the logged losses on the device. The
data are random images of the real size (timing does not depend on pixel
values); warm-up steps (compilation, CUDA graph capture, cuDNN autotuning)
run first and are excluded from ``images_per_s`` (``end_to_end_*`` include
them and the networks' construction); CUDA is synchronised before and after the timed
steps.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import numpy as np
import torch

from ..core import hardware
from ..core.errors import UserError
from ..data.batches import EpochSampler, ResidentImages
from ..evaluation.features import PAPER_LAYERS, encoder_features
from ..methods.ali import ALI
from ..models.ali import ARCHS, build_ali
from ..models.layers import count_params
from ..train.fastpath import CHOICES, SWITCHES, FastPath, resolve, training_step

# Training steps of the paper's schedules at batch 100: SVHN 100 epochs over
# `extra` (531,131 // 100 steps each), CIFAR10 6,475 epochs over 45,000 images.
PAPER_STEPS = {"svhn": 100 * (531_131 // 100), "cifar10": 6475 * (45_000 // 100)}

# Dense bf16 tensor-core peaks from NVIDIA's datasheets (TFLOP/s, no sparsity).
BF16_PEAK_TFLOPS = {"H100 PCIe": 756.0, "H100 NVL": 835.0, "H100": 989.4, "H200": 989.4,
                    "GH200": 989.4, "A100": 312.0, "L40S": 362.0, "L4": 121.0}


def peak_bf16_tflops(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for key, value in BF16_PEAK_TFLOPS.items():  # most specific names first
        if key in name:
            return value
    return None


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def random_images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)


class TrainBench:
    """An ALI model on the requested path, with resident random images, ready to step."""

    def __init__(self, arch: str, width: float, batch: int, device: torch.device,
                 fast: FastPath, n_images: int = 0, seed: int = 0) -> None:
        torch.manual_seed(seed)
        self.device, self.batch, self.fast = device, batch, fast
        self.nets = build_ali(arch, width)
        for net in self.nets.modules().values():
            net.to(device)
        self.method = ALI(self.nets, 1e-4, 0.5, 0.999, device, True, fast)
        self.step_fn = training_step(self.method, fast)
        images = random_images(n_images or max(4 * batch, 1024), seed)
        self.resident = ResidentImages(images, device, fast.channels_last)
        self.sampler = EpochSampler(len(self.resident), batch, seed, device)
        self.step = 0
        self.sums: dict[str, torch.Tensor] = {}

    def run(self, n: int) -> None:
        """``n`` training steps as the loop runs them (no host sync)."""
        for _ in range(n):
            logs = self.step_fn.train_step(self.resident.batch(self.sampler.indices(self.step)),
                                           self.step)
            for k, v in logs.items():
                self.sums[k] = self.sums[k] + v if k in self.sums else v.clone()
            self.step += 1

    def timed(self, n: int) -> float:
        sync(self.device)
        t0 = time.perf_counter()
        self.run(n)
        sync(self.device)
        return time.perf_counter() - t0


def step_flops(arch: str, width: float, batch: int, device: torch.device) -> float:
    """FLOPs of one eager training step (forward and both backward passes), counted
    by torch's FlopCounterMode on convolutions and matrix products."""
    from torch.utils.flop_counter import FlopCounterMode
    bench = TrainBench(arch, width, batch, device, FastPath(), n_images=batch)
    with FlopCounterMode(display=False) as counter:
        bench.run(1)
    return float(counter.get_total_flops())


def default_warmup(fast: FastPath) -> int:
    # graphs: 3 eager steps, then capture; compile: the first calls compile
    return 10 if (fast.compile or fast.cuda_graphs) else 3


def train_bench(arch: str, width: float, batch: int, steps: int, device: torch.device,
                fast: FastPath, warmup: int = -1, count_flops: bool = True,
                reference: bool = True, blocks: int = 5) -> dict[str, Any]:
    """The step on ``fast`` and, unless it is already that or ``reference`` is off,
    the plain eager float32 step of the same networks, measured in the same process
    with their timed steps interleaved in ``blocks`` blocks each (so a shared,
    loaded machine slows both alike). ``images_per_s`` is the steady step
    (warm-up excluded); ``end_to_end_*`` count building, warm-up and compilation too."""
    warmup = default_warmup(fast) if warmup < 0 else warmup
    with_ref = reference and fast != FastPath()
    load_before, default_threads = _load(), torch.get_num_threads()
    # the candidate is built first, so it pays the process's one-time costs
    runs = [_Timed(arch, width, batch, device, fast, warmup)]
    if with_ref:     # plain PyTorch: torch's default threads; and at the candidate's, if they differ
        plain = FastPath(), default_warmup(FastPath())
        runs.append(_Timed(arch, width, batch, device, *plain, threads=default_threads))
        if runs[0].threads != default_threads:
            runs.append(_Timed(arch, width, batch, device, *plain, threads=runs[0].threads))
    per_block = [steps // blocks + (i < steps % blocks) for i in range(blocks)]
    for n in (n for n in per_block if n):
        for run in runs:
            torch.set_num_threads(run.threads)
            run.seconds += run.bench.timed(n)
    torch.set_num_threads(runs[0].threads)
    main = runs[0]
    out = {"task": "train", "arch": arch, "width": width, "batch": batch, "steps": steps,
           **main.summary(steps), "interleaved_blocks": sum(1 for n in per_block if n) if with_ref else 0,
           "params": sum(count_params(m) for m in main.bench.nets.modules().values()),
           **_context(device, fast), "cuda_graph_captured": getattr(main.bench.step_fn, "graph", None) is not None,
           "load_avg_1min": [load_before, _load()]}
    if with_ref:
        ref = runs[1].summary(steps)
        out["eager_fp32"] = ref
        out["speedup_vs_eager_fp32"] = round(out["images_per_s"] / ref["images_per_s"], 3)
        out["end_to_end_speedup_vs_eager_fp32"] = round(
            out["end_to_end_images_per_s"] / ref["end_to_end_images_per_s"], 3)
        if len(runs) > 2:   # how much of it is the thread count, how much the arithmetic
            same = runs[2].summary(steps)
            out["eager_fp32_same_threads"] = same
            out["speedup_vs_eager_fp32_same_threads"] = round(out["images_per_s"] / same["images_per_s"], 3)
    if batch == 100:   # a projection from this measurement, not a measurement
        out.update(paper_schedule_steps=PAPER_STEPS[arch],
                   paper_schedule_projected_h=round(PAPER_STEPS[arch] * main.seconds / steps / 3600, 3))
    if count_flops:
        flops = step_flops(arch, width, batch, device)
        achieved = flops * steps / main.seconds / 1e12
        peak = peak_bf16_tflops(device)
        out.update(gflop_per_image=round(flops / batch / 1e9, 4), achieved_tflops=round(achieved, 4),
                   peak_bf16_tflops=peak,
                   fraction_of_bf16_peak=round(achieved / peak, 5) if peak else None)
    return out


class _Timed:
    """One bench, built and warmed up (timed), then stepped in blocks."""

    def __init__(self, arch: str, width: float, batch: int, device: torch.device,
                 fast: FastPath, warmup: int, threads: int = 0) -> None:
        if threads:
            torch.set_num_threads(threads)
        t0 = time.perf_counter()
        self.bench = TrainBench(arch, width, batch, device, fast)   # may set threads (load_threads)
        self.threads = torch.get_num_threads()
        self.bench.run(warmup)
        sync(device)
        self.setup_s, self.warmup, self.seconds = time.perf_counter() - t0, warmup, 0.0

    def summary(self, steps: int) -> dict[str, Any]:
        batch, total = self.bench.batch, self.setup_s + self.seconds
        return {"warmup_steps": self.warmup, "warmup_s": round(self.setup_s, 3),
                "seconds": round(self.seconds, 4), "ms_per_step": round(1000 * self.seconds / steps, 4),
                "steps_per_s": round(steps / self.seconds, 3),
                "images_per_s": round(batch * steps / self.seconds, 2),
                "end_to_end_s": round(total, 3),
                "end_to_end_images_per_s": round(batch * (self.warmup + steps) / total, 2),
                "torch_threads": self.threads,
                **self.bench.fast.describe()}


def _load() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def features_bench(arch: str, width: float, batch: int, n_images: int, device: torch.device,
                   fast: FastPath) -> dict[str, Any]:
    """Encoder features (μ + the paper's three layers) of ``n_images``, as the SVM track
    computes them: inference mode, float32, batches of ``batch``."""
    torch.manual_seed(0)
    encoder = build_ali(arch, width).encoder.to(device)
    if fast.channels_last:
        encoder.to(memory_format=torch.channels_last)
    images = random_images(n_images)
    encoder_features(encoder, images[:batch], PAPER_LAYERS, device, batch)      # warm-up
    sync(device)
    t0 = time.perf_counter()
    feats = encoder_features(encoder, images, PAPER_LAYERS, device, batch)
    seconds = time.perf_counter() - t0
    return {"task": "features", "arch": arch, "width": width, "batch": batch, "images": n_images,
            "feature_dim": int(feats.shape[1]), "seconds": round(seconds, 4),
            "images_per_s": round(n_images / seconds, 2), **_context(device, fast),
            "dtype": "float32"}


def _context(device: torch.device, fast: FastPath) -> dict[str, Any]:
    return {"device": str(device), "device_name": hardware.describe(device),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            **fast.describe()}


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", choices=("train", "features", "svm"), default="train")
    p.add_argument("--arch", choices=tuple(ARCHS), default="svhn")
    p.add_argument("--width", type=float, default=1.0)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--steps", type=int, default=50,
                   help="timed steps (train) or batches of images (features)")
    p.add_argument("--warmup", type=int, default=-1,
                   help="untimed steps first (default: 10 with compile or CUDA graphs, else 3)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--eager-fp32", action="store_true",
                   help="every fast-path switch off: the plain eager float32 step")
    for key in SWITCHES:
        p.add_argument("--" + key.replace("_", "-"), choices=CHOICES, default="auto",
                       help="fast-path switch (default auto: see docs/performance.md)")
    p.add_argument("--svm-size", choices=("ci", "few-draws", "paper"), default="ci",
                   help="task svm: protocol size (paper: 1000 labels, 5376 dims, 160 fits; "
                        "few-draws: the same problem, 50 C values, 2 + 3 draws)")
    p.add_argument("--solver", choices=("torch", "liblinear"), default="torch")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's)")
    p.add_argument("--no-flops", action="store_true", help="skip counting the step's FLOPs")
    p.add_argument("--no-reference", action="store_true",
                   help="train: skip the plain eager float32 reference measured alongside")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def main(args: argparse.Namespace) -> int:
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    for name in ("width", "batch", "steps"):
        if getattr(args, name) <= 0:
            raise UserError(f"--{name} must be positive, got {getattr(args, name)}")
    device = hardware.resolve_device(args.device)
    switches = {k: "off" if args.eager_fp32 else getattr(args, k) for k in SWITCHES}
    if args.threads > 0:
        switches["load_threads"] = "off"        # the threads asked for
    fast = resolve(switches, device)
    result = _dispatch(args, device, fast)
    print(json.dumps(result, sort_keys=True) if args.json else _line(result))
    return 0


def _dispatch(args: argparse.Namespace, device: torch.device, fast: FastPath) -> dict[str, Any]:
    if args.task == "train":
        return train_bench(args.arch, args.width, args.batch, args.steps, device, fast,
                           args.warmup, count_flops=not args.no_flops, reference=not args.no_reference)
    if args.task == "features":
        return features_bench(args.arch, args.width, args.batch, args.batch * args.steps, device, fast)
    from .svm import SVM_SIZES, svm_protocol_bench
    return svm_protocol_bench(args.solver, SVM_SIZES[args.svm_size])


def _line(r: dict[str, Any]) -> str:
    if r.get("task") in ("train", "features"):
        return (f"{r['task']} {r['arch']} width {r['width']} batch {r['batch']}: "
                f"{r['images_per_s']:.1f} images/s on {r['device_name']} ({r['dtype']}, "
                f"compile {'on' if r['compile'] else 'off'})"
                + (f"; {r['speedup_vs_eager_fp32']}x the plain eager float32 step "
                   f"({r['eager_fp32']['images_per_s']:.1f} images/s, same run)" if "eager_fp32" in r else ""))
    return f"svm protocol ({r['solver']}): {r['wall_s']:.1f} s for {r['fits']} fits"

