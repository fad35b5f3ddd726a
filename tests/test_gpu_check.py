"""The GPU check's data slice and its refusals (the whole tool runs in CI as
``gpu-check --dry-run``; on a GPU it is ``python -m alibench.run gpu-check``)."""

import numpy as np

from conftest import assert_one_line_error, cli

from alibench.bench.gpu_check import prepare_data
from alibench.data.sources import decode_jpegs


def test_prepare_data_slices_the_jpeg_copy_class_balanced(shared_data, tmp_path):
    train, test = prepare_data(shared_data, tmp_path, per_class=7)
    with np.load(train) as a, np.load(shared_data / "cifar10-jpeg-train.npz") as full:
        assert np.bincount(a["labels"]).tolist() == [7] * 10
        first = int(np.flatnonzero(full["labels"] == a["labels"][0])[0])
        assert a["files"][0] == full["files"][first]
        original = full["jpeg"][full["offsets"][first]:full["offsets"][first + 1]]
        np.testing.assert_array_equal(a["jpeg"][a["offsets"][0]:a["offsets"][1]], original)
        assert decode_jpegs(a["jpeg"], a["offsets"]).shape == (70, 32, 32, 3)
    with np.load(test) as a, np.load(shared_data / "cifar10-jpeg-test.npz") as full:
        assert len(a["labels"]) == len(full["labels"])


def test_gpu_check_refuses_missing_data_and_a_missing_gpu(tmp_path):
    proc = cli("gpu-check", "--data-dir", tmp_path / "none", "--out", tmp_path / "out")
    assert_one_line_error(proc, "cifar10-jpeg-train.npz not found", "--prepare-data")
    assert not (tmp_path / "out").exists()
    proc = cli("gpu-check", "--parts", "bench", "--device", "cpu", "--out", tmp_path / "out")
    assert_one_line_error(proc, "needs a CUDA device", "--dry-run")
    assert_one_line_error(cli("gpu-check", "--parts", "nope"), "unknown --parts nope")


def test_real_part_fails_on_disagreement_only_at_full_size(monkeypatch):
    """A dry run's 20 steps measure noise, so only the GPU-size run judges agreement."""
    import argparse

    import torch

    from alibench.bench import gpu_check

    def fake_real(device, size, out, data_dir, tol):
        return {"fast": {"returncode": 0}, "eager-fp32": {"returncode": 0},
                "agree": False}

    monkeypatch.setattr(gpu_check, "run_real", fake_real)
    for dry_run, status in ((True, "ok"), (False, "failed")):
        args = argparse.Namespace(dry_run=dry_run, budget_s=1e9, out=None, data_dir=None, tolerance=3.0)
        report = gpu_check.run_parts(["real"], torch.device("cpu"), args)
        assert report["parts"]["real"]["status"] == status
