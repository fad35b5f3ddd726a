"""SVHN and CIFAR10 through torchvision, offline unless asked to download.

torchvision checks the md5 of the official files on every load; we check it
when downloading (torchvision does) and otherwise trust the files on disk and
validate the arrays instead, so that the real loaders also run on small files
written in the official formats (the tests do that).
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import numpy as np

from ..core.errors import UserError

SVHN_SPLITS = ("train", "test", "extra")
CIFAR10_FILES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]


def _fetch_hint(dataset: str, data_dir: Path) -> str:
    return f"python -m alibench.run download {dataset} --data-dir {data_dir}"


def svhn_path(data_dir: Path, split: str) -> Path:
    return Path(data_dir) / "svhn" / f"{split}_32x32.mat"


def load_svhn_split(data_dir: Path, split: str, download: bool) -> tuple[np.ndarray, np.ndarray]:
    """(images NHWC uint8, labels 0..9) of one official SVHN split."""
    import torchvision

    path = svhn_path(data_dir, split)
    if download and not path.exists():
        try:
            torchvision.datasets.SVHN(str(path.parent), split=split, download=True)
        except Exception as exc:  # network errors come in many types
            raise UserError(f"could not download SVHN {split}: {exc}") from exc
    if not path.exists():
        raise UserError(f"SVHN file {path} is missing; get it with: "
                        f"{_fetch_hint('svhn', data_dir)} (or add --download)")

    class _OfflineSVHN(torchvision.datasets.SVHN):
        def _check_integrity(self) -> bool:
            return path.exists()

    try:
        ds = _OfflineSVHN(str(path.parent), split=split, download=False)
    except Exception as exc:  # scipy raises several types on a damaged .mat
        raise UserError(f"cannot read SVHN file {path} ({type(exc).__name__}: {exc}); "
                        f"delete it and run {_fetch_hint('svhn', data_dir)}") from exc
    data = np.asarray(ds.data)
    if data.ndim != 4 or data.shape[1:] != (3, 32, 32):
        raise UserError(f"SVHN file {path} holds images of shape {data.shape[1:]}, "
                        "expected 32x32x3 cropped digits (the *_32x32.mat format)")
    return np.ascontiguousarray(data.transpose(0, 2, 3, 1)), np.asarray(ds.labels, np.int64)


def cifar10_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "cifar10" / "cifar-10-batches-py"


def load_cifar10(data_dir: Path, download: bool) -> tuple[np.ndarray, ...]:
    """(x_train, y_train, x_test, y_test) of the official python CIFAR10."""
    import torchvision

    folder = cifar10_dir(data_dir)
    missing = [f for f in CIFAR10_FILES if not (folder / f).exists()]
    if missing and download:
        try:
            torchvision.datasets.CIFAR10(str(folder.parent), train=True, download=True)
        except Exception as exc:
            raise UserError(f"could not download CIFAR10: {exc}") from exc
        missing = [f for f in CIFAR10_FILES if not (folder / f).exists()]
    if missing:
        raise UserError(f"CIFAR10 file {folder / missing[0]} is missing; get it with: "
                        f"{_fetch_hint('cifar10', data_dir)} (or add --download)")

    class _OfflineCIFAR10(torchvision.datasets.CIFAR10):
        def _check_integrity(self) -> bool:
            return True

        def _load_meta(self) -> None:
            with open(folder / "batches.meta", "rb") as f:
                self.classes = pickle.load(f, encoding="latin1")["label_names"]

    out = []
    for train in (True, False):
        try:
            ds = _OfflineCIFAR10(str(folder.parent), train=train, download=False)
        except (pickle.UnpicklingError, EOFError, KeyError, ValueError, OSError,
                IndexError, TypeError, zipfile.BadZipFile) as exc:
            raise UserError(f"cannot read the CIFAR10 batches in {folder} "
                            f"({type(exc).__name__}: {exc}); delete them and run "
                            f"{_fetch_hint('cifar10', data_dir)}") from exc
        out += [np.ascontiguousarray(ds.data), np.asarray(ds.targets, np.int64)]
    return tuple(out)


def download(dataset: str, data_dir: Path, splits: tuple[str, ...] = SVHN_SPLITS) -> list[Path]:
    """Fetch the official files with torchvision (md5-checked) into data_dir."""
    import torchvision

    if dataset == "svhn":
        paths = []
        for split in splits:
            if split not in SVHN_SPLITS:
                raise UserError(f"unknown SVHN split {split!r}; valid: {', '.join(SVHN_SPLITS)}")
            path = svhn_path(data_dir, split)
            torchvision.datasets.SVHN(str(path.parent), split=split, download=True)
            paths.append(path)
        return paths
    if dataset == "cifar10":
        folder = cifar10_dir(data_dir)
        torchvision.datasets.CIFAR10(str(folder.parent), train=True, download=True)
        return [folder]
    raise UserError(f"cannot download {dataset!r}; downloadable: svhn, cifar10")
