"""Conditioning vectors y for conditional ALI (one-hot classes or CelebA's
multi-hot attributes) and the columns of the conditional-generation figure."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.errors import UserError
from . import ImageData

KINDS = ("auto", "attributes", "class", "none")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")
MAX_CLASS_COLUMNS = 10

# The paper's conditional CelebA figure: four rows of fixed attributes …
PAPER_ROWS = (("I: male, attractive, young", ("Male", "Attractive", "Young")),
              ("II: male, attractive, older", ("Male", "Attractive")),
              ("III: female, attractive, young", ("Attractive", "Young")),
              ("IV: female, attractive, older", ("Attractive",)))
# … and, across columns, these attributes added (column (a) adds none).
PAPER_COLUMNS = ((), ("Black_Hair",), ("Brown_Hair",), ("Blond_Hair",),
                 ("Black_Hair", "Wavy_Hair"), ("Blond_Hair", "Bangs"),
                 ("Blond_Hair", "Receding_Hairline"), ("Blond_Hair", "Bald"),
                 ("Black_Hair", "Smiling"), ("Black_Hair", "Smiling", "Mouth_Slightly_Open"),
                 ("Black_Hair", "Smiling", "Mouth_Slightly_Open", "Eyeglasses"),
                 ("Black_Hair", "Smiling", "Mouth_Slightly_Open", "Eyeglasses", "Wearing_Hat"))


def resolve_kind(requested: str, data: ImageData) -> str:
    """'auto' → attributes if the data has them, else classes; refuse what the data lacks."""
    if requested not in KINDS:
        raise UserError(f"condition must be one of {', '.join(KINDS)}, got {requested!r}")
    has_attrs = data.attr_train is not None
    kind = requested if requested != "auto" else ("attributes" if has_attrs else "class")
    if kind == "attributes" and not has_attrs:
        raise UserError(f"{data.name} has no attributes to condition on; use --set condition=class")
    if kind == "class" and data.n_classes < 2:
        raise UserError(f"{data.name} has no class labels to condition on; "
                        "use --set condition=attributes or condition=none")
    return kind


def cond_dim(kind: str, data: ImageData) -> int:
    return {"attributes": len(data.attr_names), "class": data.n_classes, "none": 0}[kind]


def train_vectors(kind: str, data: ImageData) -> np.ndarray | None:
    """y for every row of x_train, float32 (N, K), or None without conditioning."""
    if kind == "none":
        return None
    if kind == "attributes":
        return data.attr_train.astype(np.float32)
    return np.eye(data.n_classes, dtype=np.float32)[data.y_train]


def class_names(data: ImageData) -> list[str]:
    if data.name.startswith("cifar10") and data.n_classes == 10:
        return list(CIFAR10_CLASSES)
    if data.name.startswith("svhn"):
        return [f"digit {d}" for d in range(10)]
    return [f"class {k}" for k in range(data.n_classes)]


@dataclass
class FigureConditions:
    """The conditional figure: row r is fixed z_r with base ``rows[r % len(rows)]``;
    column c adds ``columns[c]`` (y = min(1, base + column))."""
    rows: np.ndarray          # (B, K)
    row_labels: list[str]
    columns: np.ndarray       # (C, K)
    col_labels: list[str]


def _multi_hot(names: tuple[str, ...], index: dict[str, int], k: int) -> np.ndarray:
    v = np.zeros(k, np.float32)
    v[[index[n] for n in names]] = 1
    return v


def figure_conditions(kind: str, data: ImageData) -> FigureConditions:
    k = cond_dim(kind, data)
    if kind == "class":
        n = min(k, MAX_CLASS_COLUMNS)
        return FigureConditions(np.zeros((1, k), np.float32), [""], np.eye(k, dtype=np.float32)[:n],
                                class_names(data)[:n])
    index = {name: i for i, name in enumerate(data.attr_names)}
    needed = {n for _, names in PAPER_ROWS for n in names} | {n for c in PAPER_COLUMNS for n in c}
    if needed <= set(index):   # CelebA: the paper's figure
        rows = np.stack([_multi_hot(names, index, k) for _, names in PAPER_ROWS])
        cols = np.stack([_multi_hot(names, index, k) for names in PAPER_COLUMNS])
        labels = [f"({chr(97 + i)}) " + (", ".join(c).replace("_", " ").lower() or "base only")
                  for i, c in enumerate(PAPER_COLUMNS)]
        return FigureConditions(rows, [label for label, _ in PAPER_ROWS], cols, labels)
    n = min(k, 12)             # other attribute sets: one attribute per column
    return FigureConditions(np.zeros((1, k), np.float32), [""], np.eye(k, dtype=np.float32)[:n],
                            list(data.attr_names[:n]))


def figure_grid_conditions(fc: FigureConditions, n_rows: int) -> tuple[np.ndarray, list[str]]:
    """(n_rows·C, K) conditioning vectors in row-major order, and one label per row."""
    bases = fc.rows[np.arange(n_rows) % len(fc.rows)]
    y = np.minimum(1, bases[:, None, :] + fc.columns[None, :, :])
    labels = [f"z{r}" + (f" {fc.row_labels[r % len(fc.rows)]}" if fc.row_labels[0] else "")
              for r in range(n_rows)]
    return y.reshape(-1, y.shape[-1]), labels
