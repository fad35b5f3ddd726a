"""Class-balanced label draws, seeded and saved, shared by every method that
uses the same (dataset, n_labels, seed) so that differences are paired."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from filelock import FileLock

from ..core.errors import UserError
from ..core.files import atomic_write


def per_class(n_labels: int, n_classes: int) -> int:
    if n_labels <= 0 or n_labels % n_classes:
        raise UserError(f"n_labels={n_labels} cannot be split evenly over {n_classes} classes; "
                        f"use a positive multiple of {n_classes}")
    return n_labels // n_classes


def check_feasible(y_pool: np.ndarray, n_labels: int, n_classes: int, where: str) -> None:
    k = per_class(n_labels, n_classes)
    counts = np.bincount(y_pool, minlength=n_classes)
    if counts.min() < k:
        c = int(counts.argmin())
        raise UserError(f"n_labels={n_labels} needs {k} labelled images per class but {where} has "
                        f"only {counts.min()} of class {c} (largest possible: "
                        f"{counts.min() * n_classes}); lower --set n_labels")


def balanced_draw(y_pool: np.ndarray, n_labels: int, n_classes: int,
                  rng: np.random.Generator) -> np.ndarray:
    k = per_class(n_labels, n_classes)
    idx = [rng.choice(np.flatnonzero(y_pool == c), size=k, replace=False) for c in range(n_classes)]
    return np.sort(np.concatenate(idx))


@dataclass
class LabelDraws:
    """Indices into the labelled pool: one draw for model selection, then
    ``n_val`` draws for the validation estimate and ``n_test`` for the test one."""
    selection: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def save(self, path: Path, **meta) -> None:
        atomic_write(path, lambda f: np.savez(f, selection=self.selection, val=self.val,
                                              test=self.test, **meta), mode="wb")

    @classmethod
    def load(cls, path: Path) -> "LabelDraws":
        with np.load(path) as f:
            return cls(f["selection"], f["val"], f["test"])


def make_draws(y_pool: np.ndarray, n_labels: int, seed: int, n_val: int, n_test: int,
               n_classes: int = 10) -> LabelDraws:
    """Each draw has its own seeded stream, so asking for fewer or more draws
    never changes the ones both requests share."""
    def draw(kind: int, i: int) -> np.ndarray:
        rng = np.random.default_rng([seed, n_labels, kind, i])
        return balanced_draw(y_pool, n_labels, n_classes, rng)

    empty = np.zeros((0, n_labels), np.int64)
    return LabelDraws(draw(0, 0),
                      np.stack([draw(1, i) for i in range(n_val)]) if n_val else empty,
                      np.stack([draw(2, i) for i in range(n_test)]) if n_test else empty)


def shared_draws(splits_dir: Path, dataset: str, fingerprint: str, y_pool: np.ndarray,
                 n_labels: int, seed: int, n_val: int, n_test: int,
                 n_classes: int = 10) -> tuple[LabelDraws, Path]:
    """Load the saved draws for this key, or create and save them (under a file
    lock, so concurrent runs agree on one file)."""
    splits_dir = Path(splits_dir)
    splits_dir.mkdir(parents=True, exist_ok=True)
    safe = dataset.replace(":", "-").replace("/", "-")
    path = splits_dir / f"{safe}_{fingerprint[:8]}_n{n_labels}_pool{len(y_pool)}_seed{seed}.npz"
    with FileLock(str(path) + ".lock", timeout=120):
        if path.exists():
            draws = LabelDraws.load(path)
            if len(draws.val) >= n_val and len(draws.test) >= n_test:
                return LabelDraws(draws.selection, draws.val[:n_val], draws.test[:n_test]), path
        draws = make_draws(y_pool, n_labels, seed, n_val, n_test, n_classes)
        draws.save(path, dataset=dataset, fingerprint=fingerprint, seed=seed, n_labels=n_labels)
    return draws, path
