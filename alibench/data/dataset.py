"""The in-memory dataset every experiment works on, and the checks it must pass."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from ..core.errors import UserError

IMAGE_SHAPE = (32, 32, 3)


@dataclass
class ImageData:
    """uint8 NHWC images with int64 labels.

    ``x_train``/``y_train`` is the labelled pool (the protocols carve their
    validation part off its end), ``x_test``/``y_test`` the test set and
    ``x_extra`` unlabelled images (SVHN's ``extra`` split, say).
    ``attr_train``/``attr_test`` are optional multi-hot attributes (N, K) uint8
    (CelebA's 40) named by ``attr_names``; ``val_size`` > 0 says that the last
    ``val_size`` rows of the training arrays are the source's own validation
    split (CelebA's official one).
    """

    name: str            # short id written into every metric line
    description: str     # what a human should read in a table
    full: bool           # the complete official dataset, or a sample/copy
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    x_extra: np.ndarray | None = None
    n_classes: int = 10
    notes: list[str] = field(default_factory=list)
    split_info: dict = field(default_factory=dict)
    image_shape: tuple[int, int, int] = IMAGE_SHAPE
    attr_train: np.ndarray | None = None
    attr_test: np.ndarray | None = None
    attr_names: tuple[str, ...] = ()
    val_size: int = 0

    def __post_init__(self) -> None:
        for what in ("x_train", "x_test"):
            check_images(getattr(self, what), f"{self.name} {what}", self.image_shape)
        if self.x_extra is not None and len(self.x_extra):
            check_images(self.x_extra, f"{self.name} x_extra", self.image_shape)
        self.y_train = check_labels(self.y_train, len(self.x_train), self.n_classes,
                                    f"{self.name} y_train")
        self.y_test = check_labels(self.y_test, len(self.x_test), self.n_classes,
                                   f"{self.name} y_test")
        if self.attr_train is not None:
            for what, attrs, x in (("attr_train", self.attr_train, self.x_train),
                                   ("attr_test", self.attr_test, self.x_test)):
                check_attributes(attrs, len(x), len(self.attr_names), f"{self.name} {what}")
        if not 0 <= self.val_size < len(self.x_train):
            raise UserError(f"{self.name}: val_size {self.val_size} must leave training images")

    def unlabeled(self, which: str) -> np.ndarray:
        """Images the generative model trains on: 'train', 'extra' or 'train+extra'."""
        parts = which.split("+")
        bad = [p for p in parts if p not in ("train", "extra")]
        if bad or not parts:
            raise UserError(f"unlabeled must be train, extra or train+extra, got {which!r}")
        arrays = []
        for part in parts:
            if part == "train":
                arrays.append(self.x_train)
            elif self.x_extra is None or not len(self.x_extra):
                raise UserError(f"dataset {self.name} has no extra (unlabelled) images; "
                                "use --set unlabeled=train")
            else:
                arrays.append(self.x_extra)
        return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)

    def fingerprint(self) -> str:
        """A content hash, so a table can tell runs on different data apart."""
        h = hashlib.blake2b(digest_size=12)
        arrays = (self.x_train, self.y_train, self.x_test, self.y_test, self.x_extra)
        if self.attr_train is not None:   # kept out otherwise: old fingerprints stay valid
            arrays += (self.attr_train, self.attr_test)
        for arr in arrays:
            if arr is None:
                h.update(b"none")
                continue
            h.update(str(arr.shape).encode())
            h.update(np.ascontiguousarray(arr).data)
        return h.hexdigest()

    def summary(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "full": self.full,
            "n_train": len(self.x_train),
            "n_test": len(self.x_test),
            "n_extra": 0 if self.x_extra is None else len(self.x_extra),
            "n_classes": self.n_classes,
            "image_shape": list(self.image_shape),
            "n_attributes": len(self.attr_names),
            "val_size": self.val_size,
            "notes": list(self.notes),
        }


def check_images(x: np.ndarray, what: str, shape=IMAGE_SHAPE) -> None:
    if not isinstance(x, np.ndarray):
        raise UserError(f"{what}: expected a numpy array, got {type(x).__name__}")
    if x.dtype != np.uint8:
        raise UserError(f"{what}: images must be uint8 (0..255), got dtype {x.dtype}; "
                        "convert with (x * 255).round().astype('uint8') if they are floats in [0, 1]")
    if x.ndim != 4 or tuple(x.shape[1:]) != tuple(shape):
        raise UserError(f"{what}: images must have shape (N, {', '.join(map(str, shape))}) "
                        f"(channels last), got {x.shape}")
    if len(x) == 0:
        raise UserError(f"{what}: no images")


def check_labels(y: np.ndarray, n: int, n_classes: int, what: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n:
        raise UserError(f"{what}: expected {n} labels in a 1-D array, got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        if np.issubdtype(y.dtype, np.floating) and np.all(np.mod(y, 1) == 0):
            y = y.astype(np.int64)
        else:
            raise UserError(f"{what}: labels must be integers, got dtype {y.dtype}")
    if len(y) and (y.min() < 0 or y.max() >= n_classes):
        raise UserError(f"{what}: labels must lie in 0..{n_classes - 1}, "
                        f"found {int(y.min())}..{int(y.max())}")
    return y.astype(np.int64, copy=False)


def check_attributes(a: np.ndarray | None, n: int, k: int, what: str) -> None:
    if a is None or a.shape != (n, k) or a.dtype != np.uint8:
        shape = None if a is None else (a.shape, a.dtype)
        raise UserError(f"{what}: expected {n}×{k} uint8 attributes, got {shape}")
    if a.size and a.max() > 1:
        raise UserError(f"{what}: attributes must be 0 or 1")


def stratified_split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (keep, held) with about ``fraction`` of every class held out."""
    rng = np.random.default_rng(seed)
    held = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        held.append(idx[: int(round(fraction * len(idx)))])
    held_idx = np.sort(np.concatenate(held))
    keep_idx = np.setdiff1d(np.arange(len(y)), held_idx)
    return keep_idx, held_idx
