"""Data sources, including torchvision's real SVHN/CIFAR10 loaders on small
files written in the official on-disk formats."""

import pickle

import numpy as np
import pytest
import scipy.io

from alibench.data import load_dataset
from alibench.data.batches import EpochSampler
from alibench.core.errors import UserError


def write_svhn_mat(path, n, seed=0):
    """The official *_32x32.mat layout: X (32, 32, 3, N) uint8, y (N, 1) with 10 for digit 0."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(32, 32, 3, n), dtype=np.uint8)
    y = rng.integers(1, 11, size=(n, 1)).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, {"X": x, "y": y})
    return x, y


def write_cifar10(root, n_per_batch=20):
    folder = root / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, size=(n_per_batch, 3072), dtype=np.uint8)
        with open(folder / name, "wb") as f:
            pickle.dump({"data": data, "labels": list(rng.integers(0, 10, n_per_batch))}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"c{i}" for i in range(10)]}, f)
    return folder


def test_svhn_through_torchvision_on_real_format_files(tmp_path):
    x, y = write_svhn_mat(tmp_path / "svhn" / "train_32x32.mat", 30)
    write_svhn_mat(tmp_path / "svhn" / "test_32x32.mat", 12, seed=1)
    write_svhn_mat(tmp_path / "svhn" / "extra_32x32.mat", 7, seed=2)
    data = load_dataset("svhn", tmp_path, with_extra=True)
    assert data.x_train.shape == (30, 32, 32, 3) and data.x_test.shape == (12, 32, 32, 3)
    assert data.x_extra.shape == (7, 32, 32, 3)
    np.testing.assert_array_equal(data.x_train[5], x[:, :, :, 5])   # channels last, same pixels
    expected = y[:, 0].astype(np.int64) % 10                         # "10" means digit 0
    np.testing.assert_array_equal(data.y_train, expected)
    assert data.full and data.name == "svhn"


def test_missing_svhn_file_names_it_and_the_command(tmp_path):
    with pytest.raises(UserError) as exc:
        load_dataset("svhn", tmp_path)
    msg = str(exc.value)
    assert "train_32x32.mat is missing" in msg and "python -m alibench.run download svhn" in msg


def test_corrupt_svhn_file_is_refused(tmp_path):
    path = tmp_path / "svhn" / "train_32x32.mat"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"MATLAB 5.0 MAT-file, truncated" + bytes(100))
    write_svhn_mat(tmp_path / "svhn" / "test_32x32.mat", 3)
    with pytest.raises(UserError, match="cannot read SVHN file"):
        load_dataset("svhn", tmp_path)


def test_cifar10_through_torchvision_on_real_format_files(tmp_path):
    write_cifar10(tmp_path)
    data = load_dataset("cifar10", tmp_path)
    assert data.x_train.shape == (100, 32, 32, 3) and data.x_test.shape == (20, 32, 32, 3)


def test_corrupt_cifar10_batch_is_refused(tmp_path):
    folder = write_cifar10(tmp_path)
    (folder / "data_batch_3").write_bytes(b"\x80\x04garbage")
    with pytest.raises(UserError, match="cannot read the CIFAR10 batches"):
        load_dataset("cifar10", tmp_path)


def test_shipped_svhn_sample_carves_a_saved_test_split():
    data = load_dataset("sample:svhn")
    assert len(data.x_train) + len(data.x_test) == 800 and len(data.x_extra) == 181
    assert set(data.split_info["test_rows"]).isdisjoint(data.split_info["train_rows"])
    # stratified: every class keeps about a quarter of its images in test
    for c in range(10):
        share = (data.y_test == c).sum() / ((data.y_test == c).sum() + (data.y_train == c).sum())
        assert 0.15 < share < 0.35
    again = load_dataset("sample:svhn")
    np.testing.assert_array_equal(again.y_test, data.y_test)


def test_npz_source(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8),
              "y_train": np.arange(40) % 10,
              "x_test": rng.integers(0, 256, (10, 32, 32, 3), dtype=np.uint8),
              "y_test": np.arange(10)}
    np.savez(tmp_path / "mine.npz", **arrays)
    data = load_dataset(f"npz:{tmp_path / 'mine.npz'}")
    assert data.name == "npz:mine" and not data.full and len(data.x_test) == 10


@pytest.mark.parametrize("change,fragment", [
    ({"x_train": np.zeros((40, 28, 28, 3), np.uint8)}, "shape"),
    ({"x_train": np.zeros((40, 32, 32, 3), np.float32)}, "uint8"),
    ({"y_train": np.arange(40) % 10 + 5}, "0..9"),
    ({"y_train": np.arange(39) % 10}, "labels"),
])
def test_bad_npz_arrays_are_refused(tmp_path, change, fragment):
    arrays = {"x_train": np.zeros((40, 32, 32, 3), np.uint8), "y_train": np.arange(40) % 10,
              "x_test": np.zeros((10, 32, 32, 3), np.uint8), "y_test": np.arange(10)}
    arrays.update(change)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(UserError, match=fragment):
        load_dataset(f"npz:{tmp_path / 'bad.npz'}")


def test_corrupt_npz_is_refused(tmp_path):
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(UserError, match="cannot read"):
        load_dataset(f"npz:{tmp_path / 'broken.npz'}")


def test_unknown_source_lists_the_valid_ones():
    with pytest.raises(UserError, match="valid: svhn, cifar10"):
        load_dataset("mnist")


def test_real_cifar10_sample(shared_data):
    data = load_dataset("cifar10-sample", shared_data)
    assert data.x_train.shape == (4085, 32, 32, 3) and data.x_test.shape == (1000, 32, 32, 3)


def test_sampler_epochs_are_permutations_and_depend_only_on_the_step():
    s = EpochSampler(10, 3, seed=4, device="cpu")
    epoch = [s.indices(i).tolist() for i in range(3)]
    assert len({i for b in epoch for i in b}) == 9          # one epoch, no repeats
    fresh = EpochSampler(10, 3, seed=4, device="cpu")
    assert fresh.indices(4).tolist() == s.indices(4).tolist()
    assert EpochSampler(10, 3, seed=5, device="cpu").indices(0).tolist() != epoch[0]


@pytest.mark.parametrize("x,y,fragment", [
    (np.zeros((28, 28, 3, 5), np.uint8), np.ones((5, 1), np.uint8), "expected 32x32x3"),
    (np.zeros((32, 32, 3, 5), np.float32), np.ones((5, 1), np.uint8), "must be uint8"),
    (np.zeros((32, 32, 3, 5), np.uint8), np.full((5, 1), 11, np.uint8), "labels must lie in 0..9"),
])
def test_svhn_mat_with_wrong_contents_is_refused(tmp_path, x, y, fragment):
    (tmp_path / "svhn").mkdir()
    scipy.io.savemat(tmp_path / "svhn" / "train_32x32.mat", {"X": x, "y": y})
    write_svhn_mat(tmp_path / "svhn" / "test_32x32.mat", 3)
    with pytest.raises(UserError, match=fragment):
        load_dataset("svhn", tmp_path)


@pytest.mark.parametrize("batch,fragment", [
    ({"data": np.zeros((20, 3000), np.uint8), "labels": [0] * 20}, "cannot read the CIFAR10 batches"),
    ({"data": np.zeros((20, 3072), np.uint8), "labels": [12] * 20}, "labels must lie in 0..9"),
    ({"pixels": np.zeros((20, 3072), np.uint8)}, "cannot read the CIFAR10 batches"),
])
def test_cifar10_batch_with_wrong_contents_is_refused(tmp_path, batch, fragment):
    folder = write_cifar10(tmp_path)
    with open(folder / "data_batch_1", "wb") as f:
        pickle.dump(batch, f)
    with pytest.raises(UserError, match=fragment):
        load_dataset("cifar10", tmp_path)


def test_npz_without_test_split_checks_labels_before_carving(tmp_path):
    np.savez(tmp_path / "odd.npz", x_train=np.zeros((40, 32, 32, 3), np.uint8), y_train=np.int64(3))
    with pytest.raises(UserError, match="labels in a 1-D array"):
        load_dataset(f"npz:{tmp_path / 'odd.npz'}")
