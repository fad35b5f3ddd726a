"""The fast training path, each part switchable for ablation.

Config keys (``ALITrainConfig``) take ``auto``, ``on`` or ``off``; ``auto`` is
on for CUDA and off for the CPU, so the CPU default stays plain eager float32:

- ``amp_bf16``: the forward pass and losses under bfloat16 autocast (weights,
  gradients and Adam stay float32; bf16 needs no loss scaling);
- ``channels_last``: networks and batches in NHWC memory format (tensor cores);
- ``compile``: ``torch.compile`` of the three networks (the first steps compile;
  benchmarks exclude them as warm-up);
- ``cuda_graphs``: the whole step — forward, both backward passes, both Adam
  updates — captured once as a CUDA graph and replayed, so a step costs one
  launch instead of hundreds (at batch 100 the GPU is limited by launches,
  not FLOPs);
- ``fused_adam``: Adam as one fused kernel per parameter group.

What stays the same on every path: the data (uint8 on the device, normalised
per batch), the sampler (indices sliced from an on-device permutation), and
the loop, which reads losses back only every ``log_every`` steps.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import asdict, dataclass
from typing import Any, Callable

import torch

from .errors import UserError

SWITCHES = ("amp_bf16", "channels_last", "compile", "cuda_graphs", "fused_adam")
CHOICES = ("auto", "on", "off")


@dataclass(frozen=True)
class FastPath:
    """Which parts of the fast path are on (resolved for one device)."""
    amp_bf16: bool = False
    channels_last: bool = False
    compile: bool = False
    cuda_graphs: bool = False
    fused_adam: bool = False

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


def check_switches(values: dict[str, str]) -> None:
    for key, value in values.items():
        if value not in CHOICES:
            raise UserError(f"{key} must be one of {', '.join(CHOICES)}, got {value!r}")


def resolve(values: dict[str, str], device: torch.device, distributed: bool = False) -> FastPath:
    """``auto``/``on``/``off`` per switch → a FastPath for ``device``; refuses what
    cannot work (CUDA graphs off CUDA, or together with DistributedDataParallel)."""
    check_switches(values)
    cuda = device.type == "cuda"

    def pick(key: str, auto: bool) -> bool:
        value = values.get(key, "auto")
        return auto if value == "auto" else value == "on"

    fast = FastPath(amp_bf16=pick("amp_bf16", cuda), channels_last=pick("channels_last", cuda),
                    compile=pick("compile", cuda), cuda_graphs=pick("cuda_graphs", cuda and not distributed),
                    fused_adam=pick("fused_adam", cuda))
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
    """Memory format of the networks (in place; parameters keep their identity)."""
    if fast.channels_last:
        for net in modules.values():
            net.to(memory_format=torch.channels_last)


def compiled(module: torch.nn.Module, fast: FastPath) -> torch.nn.Module:
    """A compiled view of ``module`` sharing its parameters (its state_dict keys stay
    clean because checkpoints save the original)."""
    return torch.compile(module) if fast.compile else module


class GraphedStep:
    """A method whose ``train_step`` is captured once as a CUDA graph and replayed.

    The first ``warmup`` steps run eagerly on a side stream (they are real
    training steps: cuDNN picks algorithms, torch.compile compiles, Adam makes
    its state); the next step is captured and every later one is a copy of the
    batch into the graph's static input plus one replay. Requirements, which
    ALI meets: fixed batch shape (the sampler drops partial batches), no host
    sync inside the step, an Adam built with ``capturable=True``, and no
    Python-side change between steps (a learning-rate schedule would need a
    tensor learning rate). If capture fails the step stays eager, with a warning.
    """

    def __init__(self, method: Any, warmup: int = 3) -> None:
        self.method, self.warmup = method, warmup
        self.calls = 0
        self.graph: torch.cuda.CUDAGraph | None = None
        self.failed = False
        self.static_batch: torch.Tensor | None = None
        self.static_out: torch.Tensor | None = None
        self.names: list[str] = []

    def state(self) -> dict[str, Any]:
        return self.method.state()

    def train_step(self, batch: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        self.calls += 1
        if self.failed:
            return self.method.train_step(batch, step)
        if self.static_batch is None:
            self.static_batch = batch.clone()
        self.static_batch.copy_(batch)
        if self.graph is None:
            if self.calls <= self.warmup:
                return self._side_stream_step(step)
            if not self._capture(step):
                return self.method.train_step(self.static_batch, step)
        self.graph.replay()
        out = self.static_out.clone()  # the loop may keep them past the next replay
        return dict(zip(self.names, out.unbind()))

    def _side_stream_step(self, step: int) -> dict[str, torch.Tensor]:
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            logs = self.method.train_step(self.static_batch, step)
        torch.cuda.current_stream().wait_stream(side)
        return logs

    def _capture(self, step: int) -> bool:
        """Record one step (the capture itself does not run it); True on success."""
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph):
                logs = self.method.train_step(self.static_batch, step)
                self.names = list(logs)
                self.static_out = torch.stack([logs[k].float() for k in self.names])
        except Exception as exc:  # noqa: BLE001 - any capture failure means: stay eager
            self.failed = True
            warnings.warn(f"CUDA graph capture failed ({type(exc).__name__}: {exc}); "
                          "training continues without CUDA graphs", RuntimeWarning, stacklevel=2)
            return False
        self.graph = graph
        return True


def training_step(method: Any, fast: FastPath, env: Any = None, sync_bn: bool = True) -> Any:
    """Give an ALI-like method (``nets``, ``train_nets``) its training views — global
    batch norm and DDP under torchrun, then torch.compile — and return what the
    loop should call: the method, wrapped for DDP logging and CUDA graphs as set."""
    from .models.ali import ALINets
    prepare_modules(method.nets.modules(), fast)
    views = {}
    for name, net in method.nets.modules().items():
        view = net
        if env is not None:
            from .distributed import convert_batchnorm, ddp_view
            if sync_bn:
                convert_batchnorm(net, env)
            view = ddp_view(net, env, sync_bn)
        views[name] = compiled(view, fast)
    method.train_nets = ALINets(**views)
    step: Any = method
    if env is not None:
        from .distributed import DistributedStep
        step = DistributedStep(step, env)
    if fast.cuda_graphs:
        step = GraphedStep(step)
    return step


def check_config(cfg: Any, device: torch.device, distributed: bool = False) -> None:
    """Refuse impossible switches for this device before any run directory exists."""
    values = switch_values(cfg)
    if values:
        resolve(values, device, distributed)
