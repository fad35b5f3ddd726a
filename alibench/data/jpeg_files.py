"""Decoding folders of JPEG files into one uint8 NHWC array (CelebA, Tiny ImageNet)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from ..core.errors import UserError


def _read(path: Path, shape: tuple[int, int],
          transform: Callable[[Image.Image], Image.Image] | None) -> np.ndarray:
    try:
        with Image.open(path) as im:
            im = im.convert("RGB")          # grey JPEGs (Tiny ImageNet has some) become RGB
            im = transform(im) if transform is not None else im
            pixels = np.asarray(im)
    except (OSError, UnidentifiedImageError) as exc:
        raise UserError(f"cannot decode {path} ({exc}); re-copy the dataset files") from exc
    if pixels.shape[:2] != tuple(shape):
        raise UserError(f"{path} is {pixels.shape[1]}×{pixels.shape[0]} pixels, expected "
                        f"{shape[1]}×{shape[0]}; is this the right dataset folder?")
    return pixels


def read_jpegs(paths: Sequence[Path], shape: tuple[int, int],
               transform: Callable[[Image.Image], Image.Image] | None = None,
               desc: str = "decoding") -> np.ndarray:
    """(N, H, W, 3) uint8: each file decoded as RGB with Pillow, passed through
    ``transform`` and checked to be ``shape`` (H, W). Threads: Pillow decodes
    without holding the GIL."""
    out = np.empty((len(paths), *shape, 3), dtype=np.uint8)
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        results = pool.map(lambda p: _read(p, shape, transform), paths, chunksize=256)
        for i, pixels in enumerate(tqdm(results, total=len(paths), desc=desc, disable=None,
                                        leave=False, unit="img")):
            out[i] = pixels
    return out
