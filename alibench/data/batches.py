"""Training data resident on the training device as uint8, batched by index.

Each epoch is a seeded permutation that depends only on (seed, stream, epoch),
so the sampler's whole state is the step number: resuming at step s yields the
same batches an uninterrupted run would have seen.
"""

from __future__ import annotations

import numpy as np
import torch


class ResidentImages:
    """uint8 NCHW images on ``device``; ``batch(idx)`` returns floats in [0, 1]."""

    def __init__(self, x_nhwc: np.ndarray, device: torch.device | str,
                 channels_last: bool = False) -> None:
        data = torch.from_numpy(np.ascontiguousarray(x_nhwc)).permute(0, 3, 1, 2)
        self.channels_last = channels_last
        self.data = data.contiguous().to(device)
        self.device = torch.device(device)

    def __len__(self) -> int:
        return self.data.shape[0]

    def batch(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.data.index_select(0, idx).float().div_(255.0)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x


class EpochSampler:
    """Batches of ``batch_size`` indices; the last partial batch of an epoch is
    dropped so every step sees the same shape (which CUDA graphs need)."""

    def __init__(self, n: int, batch_size: int, seed: int, device: torch.device | str,
                 stream: int = 0) -> None:
        if n < batch_size:
            raise ValueError(f"{n} examples cannot fill a batch of {batch_size}")
        self.n, self.batch_size, self.seed, self.stream = n, batch_size, seed, stream
        self.device = torch.device(device)
        self.steps_per_epoch = n // batch_size
        self._epoch = -1
        self._perm: torch.Tensor | None = None

    def indices(self, step: int) -> torch.Tensor:
        epoch, pos = divmod(step, self.steps_per_epoch)
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(
                (self.seed * 1_000_003 + self.stream * 7_919 + epoch) % (2**63))
            perm = torch.randperm(self.n, generator=g)
            if self.device.type == "cuda":  # pinned and asynchronous: no host sync per epoch
                perm = perm.pin_memory()
            self._perm = perm.to(self.device, non_blocking=True)
            self._epoch = epoch
        return self._perm[pos * self.batch_size:(pos + 1) * self.batch_size]
