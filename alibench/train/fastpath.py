"""The fast training path, each part switchable for ablation.

Config keys (``ALITrainConfig``) take ``auto``, ``on`` or ``off``. ``auto`` is
on for CUDA; on the CPU it is ``amp_bf16`` + ``channels_last`` where oneDNN has
native bf16 kernels (AVX512-BF16 or AMX: ``cpu_bf16_native()``), every other
switch off, and plain eager float32 on a CPU without them (docs/performance.md
has the measurements behind this; ``paper`` presets set ``amp_bf16=off``):

- ``amp_bf16``: the forward pass and losses under bfloat16 autocast (weights,
  gradients and Adam stay float32; bf16 needs no loss scaling);
- ``channels_last``: networks and batches in NHWC memory format (tensor cores;
  on the CPU the layout oneDNN's bf16 convolutions want: alone it gains little);
- ``compile``: ``torch.compile`` of the three networks (the first steps compile;
  the steady step excludes them as warm-up, the bench's end-to-end figure does
  not; off in the CPU ``auto``: its compile time does not pay there);
- ``cuda_graphs``: the whole step — forward, both backward passes, both Adam
  updates — captured once as a CUDA graph and replayed, so a step costs one
  launch instead of hundreds (at batch 100 the GPU is limited by launches,
  not FLOPs);
- ``fused_adam``: Adam as one fused kernel per parameter group;
- ``cudnn_benchmark``: cuDNN times its convolution algorithms once per shape
  and keeps the fastest (every step has the same shapes);
- ``load_threads`` (CPU): torch's CPU threads = the cores other processes leave
  idle (1-minute load average when training starts; at least 1, at most every
  core), unless OMP_NUM_THREADS is set. On the shared 2-core machine two OpenMP
  threads that must meet at every barrier, while other jobs hold the cores,
  ran a step ~12× slower than one thread (docs/performance.md); on an idle
  machine it keeps torch's default (all cores). Opt-in (``on``): ``auto`` keeps
  it off, so a run's numbers never depend on the machine's load.

"Eager float32" (every switch off: ``--set amp_bf16=off channels_last=off`` on
the CPU) is PyTorch's default, under which cuDNN
may run float32 convolutions on TF32 tensor cores.

Known cost: a compiled network's backward computes every gradient it can, so
the generators' backward pass also recomputes the discriminator's weight
gradients (eager autograd prunes them via ``backward(inputs=...)``).

What stays the same on every path: the data (uint8 on the device, normalised
per batch), the sampler (indices sliced from an on-device permutation), and
the loop, which reads losses back only every ``log_every`` steps.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import asdict, dataclass
from typing import Any, Callable

import torch

from ..core.errors import UserError
from ..models.ali import ALINets
from . import distributed
from .cuda_graphs import GraphedStep

SWITCHES = ("amp_bf16", "channels_last", "compile", "cuda_graphs", "fused_adam", "cudnn_benchmark",
            "load_threads")
CHOICES = ("auto", "on", "off")


@dataclass(frozen=True)
class FastPath:
    """Which parts of the fast path are on (resolved for one device)."""
    amp_bf16: bool = False
    channels_last: bool = False
    compile: bool = False
    cuda_graphs: bool = False
    fused_adam: bool = False
    cudnn_benchmark: bool = False
    load_threads: bool = False

    @property
    def dtype(self) -> str:
        return "bfloat16 autocast" if self.amp_bf16 else "float32"

    def describe(self) -> dict[str, Any]:
        return {**asdict(self), "dtype": self.dtype}

    def autocast(self, device: torch.device) -> Callable[[], Any]:
        """A context-manager factory for the forward pass. Autocast's weight cache
        is off: it must be with CUDA graphs, and each weight is cast once per step anyway."""
        if not self.amp_bf16:
            return contextlib.nullcontext
        return lambda: torch.autocast(device.type, dtype=torch.bfloat16, cache_enabled=False)


def cpu_bf16_native() -> bool:
    """Whether oneDNN runs bf16 on this CPU natively (AVX512-BF16 or AMX); without
    that, bf16 autocast emulates and is slower than float32."""
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):      # a torch build without the probe
        return False


def auto_values(device: torch.device, distributed: bool = False) -> dict[str, bool]:
    """What ``auto`` means on ``device``: everything on CUDA (no CUDA graphs under
    torchrun); bf16 autocast + channels_last on a CPU with native bf16."""
    if device.type == "cuda":
        return {k: k != "load_threads" and not (k == "cuda_graphs" and distributed) for k in SWITCHES}
    bf16 = cpu_bf16_native()
    # load_threads stays opt-in: a thread count read off the machine's load would make a
    # run's arithmetic (and so its numbers) depend on what else was running.
    return {k: bf16 and k in ("amp_bf16", "channels_last") for k in SWITCHES}


def load_aware_threads() -> int:
    """Cores the other processes leave idle, from the 1-minute load average (at least 1)."""
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except OSError:
        return cores
    return max(1, min(cores, int(cores - load + 0.5)))


def check_switches(values: dict[str, str]) -> None:
    for key, value in values.items():
        if value not in CHOICES:
            raise UserError(f"{key} must be one of {', '.join(CHOICES)}, got {value!r}")


def resolve(values: dict[str, str], device: torch.device, distributed: bool = False) -> FastPath:
    """``auto``/``on``/``off`` per switch → a FastPath for ``device``; refuses what
    cannot work (CUDA graphs off CUDA, or together with DistributedDataParallel)."""
    check_switches(values)
    cuda = device.type == "cuda"
    auto = auto_values(device, distributed)

    def pick(key: str) -> bool:
        value = values.get(key, "auto")
        return auto[key] if value == "auto" else value == "on"

    fast = FastPath(**{key: pick(key) for key in SWITCHES})
    if fast.cuda_graphs and not cuda:
        raise UserError("cuda_graphs=on needs a CUDA device; use --device cuda or --set cuda_graphs=auto")
    if fast.cuda_graphs and distributed:
        raise UserError("cuda_graphs=on is not supported with torchrun (DistributedDataParallel); "
                        "use --set cuda_graphs=auto")
    return fast


def switch_values(cfg: Any) -> dict[str, str]:
    """The switches as a config holds them."""
    return {key: getattr(cfg, key) for key in SWITCHES if hasattr(cfg, key)}


def prepare_modules(modules: dict[str, torch.nn.Module], fast: FastPath) -> None:
    """Memory format of the networks (in place; parameters keep their identity)
    and cuDNN's algorithm search (a process-wide setting)."""
    torch.backends.cudnn.benchmark = fast.cudnn_benchmark
    if fast.load_threads and "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(load_aware_threads())
    if fast.channels_last:
        for net in modules.values():
            net.to(memory_format=torch.channels_last)


def compiled(module: torch.nn.Module, fast: FastPath) -> torch.nn.Module:
    """A compiled view of ``module`` sharing its parameters (its state_dict keys stay
    clean because checkpoints save the original)."""
    return torch.compile(module) if fast.compile else module


class ViewStep:
    """A method stepped through training views of its networks (compiled and/or
    DistributedDataParallel views that share its parameters): the wrapper hands
    the views to the method's own step; the method itself stays untouched."""

    def __init__(self, method: Any, views: ALINets) -> None:
        self.method, self.views = method, views

    def __getattr__(self, name: str) -> Any:      # state, device, loss_networks, ...
        return getattr(self.method, name)

    def train_step(self, batch: Any, step: int) -> dict[str, torch.Tensor]:
        return self.method.train_step(batch, step, nets=self.views)


def training_views(nets: ALINets, fast: FastPath, env: Any = None, sync_bn: bool = True) -> ALINets:
    """The networks as the training step should call them: global batch norm and
    DDP under torchrun, then torch.compile (each view shares its network's parameters)."""
    prepare_modules(nets.modules(), fast)
    views = {}
    for name, net in nets.modules().items():
        view = net
        if env is not None:
            if sync_bn:
                distributed.convert_batchnorm(net, env)
            view = distributed.ddp_view(net, env, sync_bn)
        views[name] = compiled(view, fast)
    return ALINets(**views)


def training_step(method: Any, fast: FastPath, env: Any = None, sync_bn: bool = True) -> Any:
    """What the loop should call for an ALI-like method (one with ``nets`` and a
    ``train_step(batch, step, nets=None)``): the method itself when every switch is
    off, else the method wrapped in its training views, the DDP loss averaging and
    the CUDA graph replay, as set."""
    views = training_views(method.nets, fast, env, sync_bn)
    same = all(v is n for v, n in zip(views.modules().values(), method.nets.modules().values()))
    step: Any = method if same else ViewStep(method, views)
    if env is not None:
        step = distributed.DistributedStep(step, env)
    if fast.cuda_graphs:
        step = GraphedStep(step)
    return step


def check_config(cfg: Any, device: torch.device, distributed: bool = False) -> None:
    """Refuse impossible switches for this device before any run directory exists."""
    values = switch_values(cfg)
    if values:
        resolve(values, device, distributed)
