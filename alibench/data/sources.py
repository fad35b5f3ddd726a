"""``--data`` specs → ImageData.

``svhn`` and ``cifar10`` are the official sets through torchvision;
``cifar10-jpeg`` and ``cifar10-sample`` are the real-image files of the
project's data folder (see its README); ``sample:svhn`` is the real SVHN sample
shipped inside the package; ``npz:PATH`` plugs in any arrays; ``celeba`` and
``tiny-imagenet`` are the 64×64 picture datasets (``celeba.py``,
``tiny_imagenet.py``).
"""

from __future__ import annotations

import os
import zipfile
from importlib import resources
from pathlib import Path
from typing import Callable

import numpy as np

from ..core.errors import UserError
from . import torchvision_sets as tv
from .celeba import load_celeba
from .dataset import ImageData, check_images, check_labels, stratified_split
from .tiny_imagenet import load_tiny_imagenet

CARVED_TEST_FRACTION = 0.25
CARVE_SEED = 0
JPEG_ORDER_SEED = 0


def default_data_dir() -> Path:
    env = os.environ.get("ALIBENCH_DATA")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "alibench" / "data"


def _svhn(data_dir: Path, download: bool, with_extra: bool) -> ImageData:
    x_train, y_train = tv.load_svhn_split(data_dir, "train", download)
    x_test, y_test = tv.load_svhn_split(data_dir, "test", download)
    x_extra = tv.load_svhn_split(data_dir, "extra", download)[0] if with_extra else None
    return ImageData("svhn", "SVHN (official, full)", True, x_train, y_train,
                     x_test, y_test, x_extra)


def _cifar10(data_dir: Path, download: bool, with_extra: bool) -> ImageData:
    x_train, y_train, x_test, y_test = tv.load_cifar10(data_dir, download)
    return ImageData("cifar10", "CIFAR10 (official, full)", True, x_train, y_train, x_test, y_test)


def _open_npz(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        raise UserError(f"data file {path} does not exist; check the path or --data-dir")
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise UserError(f"cannot read {path} as an .npz file ({type(exc).__name__}: {exc}); "
                        "re-create or re-copy it") from exc


def from_arrays(arrays: dict[str, np.ndarray], name: str, description: str,
                full: bool = False, source: str = "") -> ImageData:
    """Build ImageData from the npz convention: x_train, y_train, [x_test, y_test],
    [x_unlabeled or x_extra_unlabeled]. Without a test split, one is carved out
    of the training arrays (stratified, fixed seed) and recorded."""
    where = source or name
    for key in ("x_train", "y_train"):
        if key not in arrays:
            raise UserError(f"{where} has no array '{key}' (has: {', '.join(sorted(arrays)) or 'none'}); "
                            "expected x_train, y_train, x_test, y_test")
    if ("x_test" in arrays) != ("y_test" in arrays):
        raise UserError(f"{where} has only one of x_test / y_test; provide both or neither")
    x_extra = arrays.get("x_unlabeled", arrays.get("x_extra_unlabeled"))
    notes, split_info = [], {}
    if "x_test" in arrays:
        x_train, y_train = arrays["x_train"], arrays["y_train"]
        x_test, y_test = arrays["x_test"], arrays["y_test"]
    else:
        check_images(arrays["x_train"], f"{where} x_train")
        y_all = check_labels(arrays["y_train"], len(arrays["x_train"]), 10, f"{where} y_train")
        keep, held = stratified_split(y_all, CARVED_TEST_FRACTION, CARVE_SEED)
        x_train, y_train = arrays["x_train"][keep], y_all[keep]
        x_test, y_test = arrays["x_train"][held], y_all[held]
        index = arrays.get("train_index", np.arange(len(y_all)))
        split_info = {"carved_test_fraction": CARVED_TEST_FRACTION, "carve_seed": CARVE_SEED,
                      "test_rows": index[held].tolist(), "train_rows": index[keep].tolist()}
        notes.append(f"no test split in the file: {len(held)} of {len(y_all)} labelled images "
                     f"carved out as test (stratified, seed {CARVE_SEED}; indices in data_split.json)")
    return ImageData(name, description, full, x_train, y_train, x_test, y_test,
                     x_extra, notes=notes, split_info=split_info)


def _npz(path_text: str) -> Callable[..., ImageData]:
    def load(data_dir: Path, download: bool, with_extra: bool) -> ImageData:
        path = Path(path_text).expanduser()
        return from_arrays(_open_npz(path), f"npz:{path.stem}", f"arrays from {path}", source=str(path))
    return load


def _sample_svhn(data_dir: Path, download: bool, with_extra: bool) -> ImageData:
    ref = resources.files("alibench.data") / "samples" / "svhn-real-800.npz"
    with resources.as_file(ref) as path:
        arrays = _open_npz(path)
    return from_arrays(arrays, "svhn-sample-800",
                       "SVHN real sample (800 train_32x32 digits + 181 extra, shipped)")


def _cifar10_sample(data_dir: Path, download: bool, with_extra: bool) -> ImageData:
    path = Path(data_dir) / "cifar10-real-5k.npz"
    if not path.exists():
        raise UserError(f"{path} is missing; pass --data-dir pointing at the folder that holds "
                        "cifar10-real-5k.npz (the project's shared/data)")
    return from_arrays(_open_npz(path), "cifar10-sample-5k",
                       "CIFAR10 real sample (5,085 images of the original train set)")


def decode_jpegs(blob: np.ndarray, offsets: np.ndarray, device: str = "cpu") -> np.ndarray:
    import torch
    from torchvision.io import decode_jpeg

    data = torch.from_numpy(blob)
    files = [data[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]
    out = []
    for start in range(0, len(files), 4096):  # batched decode, bounded memory
        imgs = decode_jpeg(files[start:start + 4096], device=device)
        out.append(torch.stack(imgs).permute(0, 2, 3, 1).cpu())
    return torch.cat(out).numpy()


def _cifar10_jpeg(data_dir: Path, download: bool, with_extra: bool) -> ImageData:
    parts = {}
    for split in ("train", "test"):
        path = Path(data_dir) / f"cifar10-jpeg-{split}.npz"
        if not path.exists():
            raise UserError(f"{path} is missing; pass --data-dir pointing at the folder that holds "
                            "cifar10-jpeg-train.npz and cifar10-jpeg-test.npz (the project's shared/data)")
        arr = _open_npz(path)
        for key in ("jpeg", "offsets", "labels"):
            if key not in arr:
                raise UserError(f"{path} has no array '{key}'; is it the CIFAR10 JPEG copy?")
        try:
            x = decode_jpegs(arr["jpeg"], arr["offsets"])
        except RuntimeError as exc:
            raise UserError(f"cannot decode the JPEG files in {path}: {exc}") from exc
        # The files are grouped by class folder; a fixed shuffle makes slices class-mixed.
        order = np.random.default_rng(JPEG_ORDER_SEED).permutation(len(x))
        parts[split] = (x[order], arr["labels"][order])
    data = ImageData("cifar10-jpeg", "CIFAR10 (JPEG copy)", False, *parts["train"], *parts["test"])
    data.notes.append("CIFAR10 (JPEG copy): real images and labels, lossy (PSNR ~30.5 dB), "
                      f"8,867 of 10,000 test images; order shuffled with seed {JPEG_ORDER_SEED}")
    return data


SOURCES: dict[str, str] = {
    "svhn": "official SVHN through torchvision (train/test/extra .mat files under DATA_DIR/svhn)",
    "cifar10": "official CIFAR10 through torchvision (python batches under DATA_DIR/cifar10)",
    "cifar10-jpeg": "full-size CIFAR10 JPEG copy (DATA_DIR/cifar10-jpeg-{train,test}.npz)",
    "cifar10-sample": "real 5k CIFAR10 sample (DATA_DIR/cifar10-real-5k.npz)",
    "sample:svhn": "real SVHN sample shipped in the package (800 digits + 181 extra)",
    "celeba": "CelebA 64×64 with its 40 attributes (torchvision layout under DATA_DIR/celeba)",
    "tiny-imagenet": "Tiny ImageNet-200 64×64 (image folders under DATA_DIR/tiny-imagenet-200)",
    "npz:PATH": "any arrays x_train, y_train, x_test, y_test (uint8 NHWC, labels 0..9)",
}

_LOADERS: dict[str, Callable[..., ImageData]] = {
    "svhn": _svhn,
    "cifar10": _cifar10,
    "cifar10-jpeg": _cifar10_jpeg,
    "cifar10-sample": _cifar10_sample,
    "sample:svhn": _sample_svhn,
    "celeba": load_celeba,
    "tiny-imagenet": load_tiny_imagenet,
}


def resolve(spec: str) -> Callable[..., ImageData]:
    if spec.startswith("npz:"):
        if not spec[4:]:
            raise UserError("npz: needs a path, e.g. --data npz:my_images.npz")
        return _npz(spec[4:])
    if spec not in _LOADERS:
        raise UserError(f"unknown data source '{spec}'; valid: {', '.join(SOURCES)}")
    return _LOADERS[spec]


def load_dataset(spec: str, data_dir: Path | None = None, download: bool = False,
                 with_extra: bool = False) -> ImageData:
    loader = resolve(spec)
    return loader(Path(data_dir) if data_dir else default_data_dir(), download, with_extra)
