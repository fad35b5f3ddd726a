"""The optional TensorBoard mirror: a tiny run with --set tensorboard=true
writes event files whose scalars are the train log's and whose images are the
fixed-noise sample grids; read back with TensorBoard's own reader."""

import json

import numpy as np
import pytest

from conftest import assert_one_line_error, cli

pytest.importorskip("tensorboard")
ENV = {"OMP_NUM_THREADS": "1"}
TINY = ["--preset", "demo", "--set", "steps=8", "width=0.0625", "batch_size=16", "log_every=2",
        "checkpoint_every=4", "sample_every=4", "grid_rows=2", "grid_cols=3", "interp_pairs=2",
        "n_val_draws=1", "n_test_draws=2", "n_c=3", "raw_pixels=false", "figures=false"]


def _events(path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(str(path), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    return acc


def test_the_mirror_holds_the_train_log_and_the_sample_grids(tmp_path):
    proc = cli("svhn-svm", *TINY, "tensorboard=true", "--device", "cpu", "--out", tmp_path, env=ENV)
    assert proc.returncode == 0, proc.stderr
    (run,) = tmp_path.glob("svhn-svm_*")
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))
    acc = _events(run / "tensorboard")
    log = [json.loads(l) for l in (run / "train_log.jsonl").read_text().splitlines()]
    assert {"loss_d", "loss_g", "acc_d"} <= set(acc.Tags()["scalars"])
    for key in ("loss_d", "loss_g", "acc_d"):
        events = acc.Scalars(key)
        assert [e.step for e in events] == [r["step"] for r in log] == [2, 4, 6, 8]
        assert np.allclose([e.value for e in events], [r[key] for r in log], rtol=1e-6)
    images = acc.Images("samples")
    assert [e.step for e in images] == [4, 8]
    assert images[0].width > 0 and images[0].height > 0


def test_off_by_default(tmp_path):
    proc = cli("svhn-svm", *TINY, "steps=2", "sample_every=0", "--device", "cpu", "--out", tmp_path,
               env=ENV)
    assert proc.returncode == 0, proc.stderr
    (run,) = tmp_path.glob("svhn-svm_*")
    assert not (run / "tensorboard").exists()


def test_a_bad_value_is_refused(tmp_path):
    assert_one_line_error(cli("svhn-svm", "--set", "tensorboard=maybe", env=ENV),
                          "bad value for 'tensorboard'")
