"""Tiny ImageNet-200 (Stanford CS231n), 64×64, from its image folders.

Layout under ``DATA_DIR/tiny-imagenet-200/`` (as unzipped from
tiny-imagenet-200.zip): ``wnids.txt``, ``train/<wnid>/images/*.JPEG`` (500 per
class), ``val/images/*.JPEG`` with ``val/val_annotations.txt`` (file, wnid, box);
``test/`` has no labels and is not used. torchvision's ``ImageFolder`` indexes
the training folders (classes = sorted wnids).

``x_train`` is the training images in a fixed shuffled order (the folders are
grouped by class, and experiments take their validation rows off the end),
``x_test`` the labelled ``val`` images.

Not the paper's data: the paper's "Tiny ImageNet" is a 64×64 downsampled
ILSVRC2012 (1,281,167 training images, ``ilsvrc2012_tiny.hdf5`` in the released
``ali/datasets.py``), which has no public offline copy in this layout.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.errors import UserError
from .dataset import ImageData
from .jpeg_files import read_jpegs

SIZE = 64
ORDER_SEED = 0
OFFICIAL = (100_000, 10_000)
HINT = ("download http://cs231n.stanford.edu/tiny-imagenet-200.zip and unzip it "
        "into the data folder (--data-dir)")


def tiny_folder(data_dir: Path) -> Path:
    return Path(data_dir) / "tiny-imagenet-200"


def _check_files(root: Path) -> None:
    for name in ("wnids.txt", "train", "val/images", "val/val_annotations.txt"):
        if not (root / name).exists():
            raise UserError(f"Tiny ImageNet file {root / name} is missing; {HINT}")


def _train_index(root: Path) -> tuple[list[Path], np.ndarray, dict[str, int]]:
    from torchvision.datasets import ImageFolder

    wnids = sorted(set((root / "wnids.txt").read_text().split()))
    try:
        folder = ImageFolder(str(root / "train"), is_valid_file=lambda p: p.endswith(".JPEG"))
    except (FileNotFoundError, OSError) as exc:
        raise UserError(f"cannot index {root / 'train'}: {exc}") from exc
    if folder.classes != wnids:
        raise UserError(f"{root / 'train'} has {len(folder.classes)} class folders, wnids.txt "
                        f"lists {len(wnids)} classes; the two must agree")
    paths = [Path(p) for p, _ in folder.samples]
    return paths, np.array(folder.targets, np.int64), folder.class_to_idx


def _val_index(root: Path, class_to_idx: dict[str, int]) -> tuple[list[Path], np.ndarray]:
    paths, labels = [], []
    for n, line in enumerate((root / "val" / "val_annotations.txt").read_text().splitlines(), 1):
        fields = line.split("\t")
        if len(fields) < 2 or fields[1] not in class_to_idx:
            raise UserError(f"{root / 'val' / 'val_annotations.txt'} line {n} is not "
                            "'file<TAB>wnid<TAB>…' with a wnid from wnids.txt")
        paths.append(root / "val" / "images" / fields[0])
        labels.append(class_to_idx[fields[1]])
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise UserError(f"Tiny ImageNet file {missing[0]} (listed in val_annotations.txt) is missing; "
                        f"{len(missing)} in all; {HINT}")
    return paths, np.array(labels, np.int64)


def load_tiny_imagenet(data_dir: Path, download: bool, with_extra: bool) -> ImageData:
    root = tiny_folder(data_dir)
    if download:
        raise UserError(f"Tiny ImageNet cannot be downloaded by alibench; {HINT}")
    _check_files(root)
    train_paths, y_train, class_to_idx = _train_index(root)
    val_paths, y_val = _val_index(root, class_to_idx)
    order = np.random.default_rng(ORDER_SEED).permutation(len(train_paths))
    x_train = read_jpegs([train_paths[i] for i in order], (SIZE, SIZE), desc="Tiny ImageNet train")
    x_val = read_jpegs(val_paths, (SIZE, SIZE), desc="Tiny ImageNet val")
    full = (len(x_train), len(x_val)) == OFFICIAL
    desc = "Tiny ImageNet-200 (64×64)" + ("" if full else ", partial copy")
    data = ImageData("tiny-imagenet", desc, full, x_train, y_train[order], x_val, y_val,
                     n_classes=len(class_to_idx), image_shape=(SIZE, SIZE, 3))
    data.notes.append(f"Tiny ImageNet-200: training order shuffled with seed {ORDER_SEED}; "
                      "x_test is the labelled val folder; not the paper's downsampled ILSVRC2012")
    return data
