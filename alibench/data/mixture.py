"""The ALI paper's 2-D toy data: a mixture of 25 isotropic Gaussians with means
(i, j), i, j ∈ {−4, −2, 0, 2, 4}, std 0.05, equal weights (the released
``experiments/ali_mixture.py`` and ``ali/datasets.py``).

One fixed training set (seeded by ``data_seed``, the same for every run, as the
released code's) and a held-out set drawn from an independent stream of the
same seed. The released code's "validation" set is a second copy of the
training set (both are drawn with Fuel's default seed); ours is not, so that
reconstructions are measured on points the models never saw.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

GRID = (-4.0, -2.0, 0.0, 2.0, 4.0)
STD = 0.05
NAME = "mixture25"


def grid_means(grid: tuple[float, ...] = GRID) -> np.ndarray:
    """(25, 2) component means; component k = (grid[k // 5], grid[k % 5])."""
    return np.array([(i, j) for i in grid for j in grid], dtype=np.float64)


def sample(n: int, rng: np.random.Generator, means: np.ndarray, std: float):
    """``n`` points and their components (uniform over components)."""
    labels = rng.integers(0, len(means), size=n)
    x = means[labels] + std * rng.standard_normal((n, means.shape[1]))
    return x.astype(np.float32), labels.astype(np.int64)


@dataclass
class MixtureData:
    """The toy's data, with what the launcher and metric lines read of any dataset."""
    x_train: np.ndarray
    y_train: np.ndarray
    x_held: np.ndarray
    y_held: np.ndarray
    means: np.ndarray
    std: float
    seed: int
    name: str = NAME
    full: bool = True          # the generated set is the whole dataset the paper uses
    notes: list[str] = field(default_factory=list)
    split_info: dict = field(default_factory=dict)

    @property
    def description(self) -> str:
        return (f"25-Gaussian mixture (std {self.std:g}): {len(self.x_train)} training and "
                f"{len(self.x_held)} held-out points, data_seed {self.seed}")

    def summary(self) -> dict:
        return {"name": self.name, "description": self.description, "full": self.full,
                "n_train": len(self.x_train), "n_held_out": len(self.x_held), "std": self.std,
                "data_seed": self.seed}

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for a in (self.x_train, self.x_held):
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()[:16]


def make_mixture(seed: int, n_train: int, n_held: int, std: float = STD) -> MixtureData:
    train_rng, held_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    means = grid_means()
    x, y = sample(n_train, train_rng, means, std)
    xh, yh = sample(n_held, held_rng, means, std)
    return MixtureData(x, y, xh, yh, means, std, seed)
