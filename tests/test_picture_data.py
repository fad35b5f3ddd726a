"""CelebA and Tiny ImageNet loaders on small files in the real on-disk layouts,
and one-line errors when the files are absent."""

import numpy as np
import pytest
from PIL import Image

from alibench.data import load_dataset
from alibench.core.errors import UserError
from conftest import assert_one_line_error, cli
from fake_datasets import write_celeba, write_tiny_imagenet


def test_celeba_through_torchvision_at_64x64(tmp_path):
    attrs = write_celeba(tmp_path, partition=(6, 2, 3))
    data = load_dataset("celeba", tmp_path)
    assert data.x_train.shape == (8, 64, 64, 3) and data.x_test.shape == (3, 64, 64, 3)
    assert data.val_size == 2 and data.image_shape == (64, 64, 3)   # train then valid
    assert len(data.attr_names) == 40 and data.attr_names[20] == "Male"
    np.testing.assert_array_equal(data.attr_train, attrs[:8])        # -1/1 mapped to 0/1
    np.testing.assert_array_equal(data.attr_test, attrs[8:])
    # the paper's pipeline (Fuel): resize to 64×78 with PIL's antialiasing filter, rows 7..70
    path = tmp_path / "celeba" / "img_align_celeba" / "000007.jpg"
    expected = Image.open(path).resize((64, 78), Image.Resampling.LANCZOS).crop((0, 7, 64, 71))
    np.testing.assert_array_equal(data.x_train[6], np.asarray(expected))
    assert not data.full and "partial" in data.description


def test_tiny_imagenet_from_image_folders(tmp_path):
    wnids = write_tiny_imagenet(tmp_path, per_class=4, n_val=5)
    data = load_dataset("tiny-imagenet", tmp_path)
    assert data.x_train.shape == (12, 64, 64, 3) and data.x_test.shape == (5, 64, 64, 3)
    assert data.n_classes == 3 and np.bincount(data.y_train).tolist() == [4, 4, 4]
    np.testing.assert_array_equal(data.y_test, [i % 3 for i in range(5)])  # val_annotations.txt
    # a training image is the decoded file of its class folder (shuffled order)
    folder = tmp_path / "tiny-imagenet-200" / "train"
    files = {np.asarray(Image.open(p).convert("RGB")).tobytes(): sorted(wnids).index(p.parts[-3])
             for p in folder.glob("*/images/*.JPEG")}
    decoded = {x.tobytes(): y for x, y in zip(data.x_train, data.y_train)}
    assert decoded == files                 # pixels and labels, grey JPEGs expanded to RGB
    assert not np.array_equal(data.y_train, np.sort(data.y_train))   # not grouped by class


def test_tiny_imagenet_wnids_must_match_the_folders(tmp_path):
    write_tiny_imagenet(tmp_path)
    (tmp_path / "tiny-imagenet-200" / "wnids.txt").write_text("n01443537\n")
    with pytest.raises(UserError, match="wnids.txt"):
        load_dataset("tiny-imagenet", tmp_path)


@pytest.mark.parametrize("source,missing", [
    ("celeba", "celeba/img_align_celeba is missing"),
    ("tiny-imagenet", "tiny-imagenet-200/wnids.txt is missing"),
])
def test_missing_picture_data_is_one_line(tmp_path, source, missing):
    out = tmp_path / "out"
    proc = cli("ali-pictures", "--data", source, "--data-dir", tmp_path / "nothing", "--out", out)
    assert_one_line_error(proc, missing)
    assert not out.exists()


def test_missing_celeba_list_is_named(tmp_path):
    write_celeba(tmp_path)
    (tmp_path / "celeba" / "list_eval_partition.txt").unlink()
    with pytest.raises(UserError, match="list_eval_partition.txt is missing"):
        load_dataset("celeba", tmp_path)
