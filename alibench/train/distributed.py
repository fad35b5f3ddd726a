"""Several GPUs with torchrun: DistributedDataParallel, one process per GPU.

    torchrun --nproc_per_node N -m alibench.run svhn-svm [options]

Without torchrun (or with one process) nothing here is used. With it:

- ``batch_size`` stays the *global* batch (the paper's 100): each rank trains on
  ``batch_size / N`` images per step from its own shard of the training set
  (images rank, rank + N, ...), resident on its GPU as uint8; the number of
  steps is the one-process number.
- DDP averages the gradients; every rank's losses are means over equal shares,
  so the average is the gradient of the global batch.
- Batch norm uses the statistics of the global batch (``sync_bn``, on by
  default), as one process would: ``GlobalBatchNorm2d`` all-reduces
  [mean, mean square] per layer, differentiably. torch's ``SyncBatchNorm``
  computes the same but only on GPUs and with a host sync in every layer
  (pytorch issue 78549); this one also runs on the CPU (gloo) for the tests.
- Each rank draws its own noise and dropout masks (seeded by seed and rank),
  so N processes are the same training in distribution, not bit for bit.
- Logged losses are averaged over ranks (one all-reduce per step, no host
  sync): every rank sees the same numbers, so a divergence stops all of them.
- Only rank 0 writes the run directory, logs and checkpoints, and evaluates;
  the other ranks stop after training (``WorkerDone``).
- CUDA graphs are off under DDP (``cuda_graphs=auto``); compile, bf16 and
  channels_last apply.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.distributed import _functional_collectives as funcol

from ..core import checkpoint
from ..core.errors import UserError

# Rank 0 evaluates (the SVM protocol can take many minutes on a CPU) while the
# others wait for the next seed's training; the default 10 minutes is too short.
TIMEOUT = timedelta(minutes=float(os.environ.get("ALIBENCH_DIST_TIMEOUT_MIN", "240")))


class WorkerDone(Exception):
    """Raised on ranks other than 0 once training is over: rank 0 evaluates alone."""


@dataclass
class DistEnv:
    rank: int
    world: int
    local_rank: int
    device: torch.device
    bn_group: Any
    main_checkpoint: Path | None = None   # what a worker resumes from (rank 0's file)

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launched_world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def setup(device_arg: str) -> DistEnv | None:
    """Join the process group torchrun prepared; None for a plain single process."""
    world = launched_world_size()
    if world <= 1:
        return None
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", os.environ["RANK"]))
    if device_arg not in ("auto", "cpu", "cuda"):
        raise UserError(f"with torchrun use --device auto, cuda or cpu, not {device_arg!r}: "
                        "each process takes the GPU of its LOCAL_RANK")
    if device_arg != "cpu" and torch.cuda.is_available():
        if local >= torch.cuda.device_count():
            raise UserError(f"LOCAL_RANK {local} but only {torch.cuda.device_count()} GPU(s); "
                            "lower --nproc_per_node")
        device, backend = torch.device("cuda", local), "nccl"
        torch.cuda.set_device(device)
    elif device_arg == "cuda":
        raise UserError("--device cuda requested but CUDA is not available here")
    else:
        device, backend = torch.device("cpu"), "gloo"
    dist.init_process_group(backend, timeout=TIMEOUT)
    # batch-norm statistics on their own group, so their order never interleaves
    # with DDP's gradient buckets on one queue
    bn_group = dist.new_group(backend=backend, timeout=TIMEOUT)
    return DistEnv(rank, world, local, device, bn_group)


def shutdown(env: DistEnv | None) -> None:
    if env is not None and dist.is_initialized():
        dist.destroy_process_group()


def check_config(cfg: Any, env: DistEnv | None) -> None:
    if env is not None and getattr(cfg, "batch_size", 0) % env.world:
        raise UserError(f"batch_size={cfg.batch_size} (the global batch) is not divisible by the "
                        f"{env.world} processes; choose a multiple of {env.world}")


def shard(images: np.ndarray, env: DistEnv | None) -> np.ndarray:
    """This rank's share of the training images (every world-th, from its rank)."""
    return images if env is None else images[env.rank::env.world]


def local_batch(batch_size: int, env: DistEnv | None) -> int:
    return batch_size if env is None else batch_size // env.world


def seed_rank(seed: int, env: DistEnv | None, step: int = 0) -> None:
    """Own noise per rank; also after a resume, which loaded rank 0's RNG everywhere."""
    if env is not None:
        torch.manual_seed(hash((seed, env.rank, step)) % (2 ** 63))


def worker_run(experiment: str, rank: int):
    """A private scratch run directory for a rank other than 0 (deleted at exit)."""
    from ..core.rundir import RunDir
    root = Path(tempfile.mkdtemp(prefix=f"alibench-rank{rank}-"))
    return RunDir.create(root, f"rank{rank}", {"experiment": experiment, "rank": rank}), root


def remove_worker_run(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)


def load_main_checkpoint(env: DistEnv, state: dict[str, Any], device: torch.device) -> int:
    """A worker resumes from rank 0's checkpoint (read only); the step."""
    if env.main_checkpoint is None or not env.main_checkpoint.exists():
        return 0
    return int(checkpoint.load(env.main_checkpoint, state, map_location=device)["step"])


class GlobalBatchNorm2d(nn.BatchNorm2d):
    """Batch norm over the global batch of all ranks (same state as BatchNorm2d).

    The local mean and mean square of (x − running mean) are all-reduced; the
    shift by the running mean, identical on every rank, keeps E[x²] − E[x]²
    well conditioned in float32."""

    group: Any = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_initialized() and dist.get_world_size(self.group) > 1):
            return super().forward(x)
        world = dist.get_world_size(self.group)
        c = x.shape[1]
        shift = self.running_mean.detach().clone().view(1, c, 1, 1)
        d = x.float() - shift
        local = torch.cat([d.mean((0, 2, 3)), (d * d).mean((0, 2, 3))])
        stats = funcol.all_reduce(local, "sum", self.group) / world
        m1, m2 = stats[:c], stats[c:]
        var = (m2 - m1 * m1).clamp_min(0)
        mean = m1 + shift.view(c)
        self._update_running(mean.detach(), var.detach(), x.numel() // c * world)
        y = (x.float() - mean.view(1, c, 1, 1)) * torch.rsqrt(var + self.eps).view(1, c, 1, 1)
        if self.affine:
            y = y * self.weight.view(1, c, 1, 1) + self.bias.view(1, c, 1, 1)
        return y.to(x.dtype)

    @torch.no_grad()
    def _update_running(self, mean: torch.Tensor, var: torch.Tensor, n: int) -> None:
        if not self.track_running_stats:
            return
        self.num_batches_tracked += 1
        factor = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
        self.running_mean.lerp_(mean, factor)
        self.running_var.lerp_(var * n / max(n - 1, 1), factor)


def convert_batchnorm(module: nn.Module, env: DistEnv) -> None:
    """Every BatchNorm2d of ``module`` normalises over the global batch from now on
    (in place: parameters, buffers and state_dict keys are unchanged)."""
    for m in module.modules():
        if type(m) is nn.BatchNorm2d:
            m.__class__ = GlobalBatchNorm2d
            m.group = env.bn_group


class DistributedStep:
    """Wraps a method: its logged losses are averaged over ranks each step."""

    def __init__(self, method: Any, env: DistEnv) -> None:
        self.method, self.env = method, env

    def state(self) -> dict[str, Any]:
        return self.method.state()

    def train_step(self, batch: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        logs = self.method.train_step(batch, step)
        names = list(logs)
        packed = torch.stack([logs[k].detach().float() for k in names])
        dist.all_reduce(packed)       # enqueued on the device; no host sync
        return dict(zip(names, packed.div_(self.env.world).unbind()))


def ddp_view(module: nn.Module, env: DistEnv, sync_bn: bool) -> nn.Module:
    """A DistributedDataParallel view of ``module`` (which keeps its parameters)."""
    import inspect

    from torch.nn.parallel import DistributedDataParallel as DDP
    ids = [env.device.index] if env.device.type == "cuda" else None
    # with global batch norm the buffers agree on every rank already: no
    # broadcast before each forward (the keyword was renamed in recent torch)
    key = ("forward_sync_buffers" if "forward_sync_buffers" in inspect.signature(DDP).parameters
           else "broadcast_buffers")
    return DDP(module, device_ids=ids, **{key: not sync_bn})
