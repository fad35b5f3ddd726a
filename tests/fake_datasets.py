"""Small CelebA and Tiny ImageNet copies written in the real on-disk layouts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from alibench.data.celeba import ATTRIBUTES


def _jpeg(path: Path, rng, size, grey=False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = size
    pixels = rng.integers(0, 256, size=(h, w) if grey else (h, w, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, quality=95)


def write_celeba(root: Path, partition=(6, 2, 3), seed=0) -> np.ndarray:
    """DATA_DIR/celeba/ as torchvision expects it: 178×218 JPEGs, the five lists.
    Returns the attributes (N, 40) in 0/1."""
    folder = Path(root) / "celeba"
    rng = np.random.default_rng(seed)
    n = sum(partition)
    names = [f"{i + 1:06d}.jpg" for i in range(n)]
    for name in names:
        _jpeg(folder / "img_align_celeba" / name, rng, (178, 218))
    attrs = rng.integers(0, 2, size=(n, 40))
    split = np.repeat([0, 1, 2], partition)
    lines = [str(n), " ".join(ATTRIBUTES) + " "]
    lines += [f"{f} " + " ".join(f"{2 * a - 1:2d}" for a in row) for f, row in zip(names, attrs)]
    (folder / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
    (folder / "list_eval_partition.txt").write_text("".join(f"{f} {s}\n" for f, s in zip(names, split)))
    (folder / "identity_CelebA.txt").write_text("".join(f"{f} {i % 3 + 1}\n" for i, f in enumerate(names)))
    (folder / "list_bbox_celeba.txt").write_text(
        f"{n}\nimage_id x_1 y_1 width height\n" + "".join(f"{f}    95  71 226 313\n" for f in names))
    (folder / "list_landmarks_align_celeba.txt").write_text(
        f"{n}\nlefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y "
        "rightmouth_x rightmouth_y\n" + "".join(f"{f} 69 109 106 113 77 142 73 152 108 154\n"
                                                for f in names))
    return attrs.astype(np.uint8)


def write_tiny_imagenet(root: Path, wnids=("n01443537", "n01629819", "n01641577"),
                        per_class=4, n_val=5, seed=0) -> list[str]:
    """DATA_DIR/tiny-imagenet-200/ as unzipped: wnids.txt, train/<wnid>/images, val/."""
    folder = Path(root) / "tiny-imagenet-200"
    rng = np.random.default_rng(seed)
    (folder).mkdir(parents=True)
    (folder / "wnids.txt").write_text("".join(f"{w}\n" for w in wnids))
    for w in wnids:
        for i in range(per_class):
            _jpeg(folder / "train" / w / "images" / f"{w}_{i}.JPEG", rng, (64, 64), grey=(i == 1))
        (folder / "train" / w / f"{w}_boxes.txt").write_text(f"{w}_0.JPEG\t0\t0\t63\t63\n")
    rows = []
    for i in range(n_val):
        _jpeg(folder / "val" / "images" / f"val_{i}.JPEG", rng, (64, 64))
        rows.append(f"val_{i}.JPEG\t{wnids[i % len(wnids)]}\t0\t32\t44\t62\n")
    (folder / "val" / "val_annotations.txt").write_text("".join(rows))
    _jpeg(folder / "test" / "images" / "test_0.JPEG", rng, (64, 64))
    return list(wnids)
