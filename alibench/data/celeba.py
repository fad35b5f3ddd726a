"""CelebA through torchvision (file index, official split, 40 attributes), at 64×64.

Files in torchvision's layout under ``DATA_DIR/celeba/``: ``img_align_celeba/*.jpg``
(the aligned-and-cropped 178×218 faces), ``list_attr_celeba.txt``,
``list_eval_partition.txt``, ``identity_CelebA.txt``, ``list_bbox_celeba.txt``
and ``list_landmarks_align_celeba.txt``. torchvision checks md5 sums on load;
like the SVHN loader we check that the files exist and validate the arrays
instead, so small files in the same layout work too (the tests use them).

64×64 as the paper's data pipeline made it (Fuel's ``convert_celeba_64``, used
by the released ``ali/streams.py``): resize the whole face to 64×78 (W×H) with
antialiasing, then keep rows 7..70. Fuel's splits are rows [0, 162770) train,
[162770, 182637) valid, the rest test, which is CelebA's official
``list_eval_partition.txt``; the paper trains on train and monitors on valid.
Here ``x_train`` is train followed by valid, with ``val_size`` = the size of
valid, so "the last ``val_size`` training rows" is CelebA's own validation split.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ..core.errors import UserError
from .dataset import ImageData
from .jpeg_files import read_jpegs

SIZE = 64
RESIZE_HW = (78, 64)   # Fuel: .resize((64, 78)) in PIL's (W, H), then crop rows 7..70
CROP_TOP = 7
OFFICIAL_TOTAL = 202_599
FILES = ("list_attr_celeba.txt", "list_eval_partition.txt", "identity_CelebA.txt",
         "list_bbox_celeba.txt", "list_landmarks_align_celeba.txt")
# The 40 attribute names, in list_attr_celeba.txt's order.
ATTRIBUTES = (
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs",
    "Big_Lips", "Big_Nose", "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows",
    "Chubby", "Double_Chin", "Eyeglasses", "Goatee", "Gray_Hair", "Heavy_Makeup",
    "High_Cheekbones", "Male", "Mouth_Slightly_Open", "Mustache", "Narrow_Eyes", "No_Beard",
    "Oval_Face", "Pale_Skin", "Pointy_Nose", "Receding_Hairline", "Rosy_Cheeks", "Sideburns",
    "Smiling", "Straight_Hair", "Wavy_Hair", "Wearing_Earrings", "Wearing_Hat",
    "Wearing_Lipstick", "Wearing_Necklace", "Wearing_Necktie", "Young")
HINT = ("put the aligned-and-cropped CelebA (img_align_celeba/ and the list_*.txt files, "
        "torchvision's layout) there, or add --download (needs the gdown package)")


def celeba_folder(data_dir: Path) -> Path:
    return Path(data_dir) / "celeba"


def _check_files(folder: Path) -> None:
    for name in ("img_align_celeba",) + FILES:
        if not (folder / name).exists():
            raise UserError(f"CelebA file {folder / name} is missing; {HINT}")


def _to_64(im: Image.Image) -> Image.Image:
    """Fuel's pipeline: PIL resize with its ANTIALIAS filter (Lanczos), then the crop."""
    small = im.resize(RESIZE_HW[::-1], Image.Resampling.LANCZOS)
    return small.crop((0, CROP_TOP, SIZE, CROP_TOP + SIZE))


def _split(root: Path, split: str):
    """(file paths, attributes uint8 (N, 40), attribute names) of one official split."""
    import torchvision

    class _OfflineCelebA(torchvision.datasets.CelebA):
        def _check_integrity(self) -> bool:
            return True

    try:
        ds = _OfflineCelebA(str(root), split=split, target_type="attr")
    except (ValueError, IndexError, RuntimeError, OSError) as exc:
        raise UserError(f"cannot read the CelebA lists in {celeba_folder(root)} "
                        f"({type(exc).__name__}: {exc}); re-copy them") from exc
    names = tuple(n for n in ds.attr_names if n)
    paths = [celeba_folder(root) / "img_align_celeba" / f for f in ds.filename]
    return paths, ds.attr.numpy().astype(np.uint8), names


def _download(root: Path) -> None:
    import torchvision
    try:
        torchvision.datasets.CelebA(str(root), split="all", download=True)
    except Exception as exc:  # network and gdown errors come in many types
        raise UserError(f"could not download CelebA: {type(exc).__name__}: {exc}") from exc


def load_celeba(data_dir: Path, download: bool, with_extra: bool) -> ImageData:
    folder = celeba_folder(data_dir)
    if download:
        _download(Path(data_dir))
    _check_files(folder)
    parts = {s: _split(Path(data_dir), s) for s in ("train", "valid", "test")}
    names = parts["train"][2]
    if any(not parts[s][0] for s in parts):
        empty = [s for s in parts if not parts[s][0]]
        raise UserError(f"CelebA's list_eval_partition.txt in {folder} lists no {empty[0]} images")
    x = {s: read_jpegs(parts[s][0], (SIZE, SIZE), _to_64, desc=f"CelebA {s}") for s in parts}
    x_train = np.concatenate([x["train"], x["valid"]])
    attr_train = np.concatenate([parts["train"][1], parts["valid"][1]])
    n_val = len(x["valid"])
    full = len(x_train) + len(x["test"]) == OFFICIAL_TOTAL
    desc = "CelebA (aligned, 64×64)" + ("" if full else ", partial copy")
    data = ImageData("celeba", desc, full, x_train,
                     np.zeros(len(x_train), np.int64), x["test"], np.zeros(len(x["test"]), np.int64),
                     n_classes=1, image_shape=(SIZE, SIZE, 3), attr_train=attr_train,
                     attr_test=parts["test"][1], attr_names=names, val_size=n_val)
    data.notes.append(f"CelebA: {len(x['train'])} train + {n_val} valid (the last {n_val} training "
                      f"rows) + {len(x['test'])} test; no class labels, {len(names)} attributes")
    return data
