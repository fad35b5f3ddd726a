"""The public Python API (alibench.load_run and its Run) and the export tool, on
tiny finished demo runs made through the command line."""

import json
import re
import shutil

import numpy as np
import pytest
import torch

import alibench
from alibench import UserError
from alibench.core import checkpoint
from alibench.data import load_dataset
from alibench.evaluation.features import encoder_features, parse_layers
from alibench.experiments.ali_training import build_ali_method
from conftest import ROOT, assert_one_line_error, cli

TINY = ["--preset", "demo", "--set", "steps=8", "width=0.0625", "batch_size=16", "log_every=2",
        "checkpoint_every=4", "sample_every=0", "grid_rows=2", "grid_cols=5", "interp_pairs=2",
        "interp_steps=3"]
SVM_TINY = ["n_val_draws=1", "n_test_draws=2", "n_c=3"]
ENV = {"OMP_NUM_THREADS": "1"}


def _run(out, experiment, *extra):
    proc = cli(experiment, *TINY, *extra, "--device", "cpu", "--out", out, env=ENV)
    assert proc.returncode == 0, proc.stderr
    (run,) = [p for p in out.iterdir() if p.name.startswith(experiment + "_")]
    return run


@pytest.fixture(scope="module")
def svhn_run(tmp_path_factory):
    # init_std 0.2 (paper 0.01): after 8 steps Gx's eval-mode batch norm still has
    # near-initial running statistics, and with the paper's tiny weights z's signal
    # shrinks to float rounding, so samples from two seeds could be bit-identical
    return _run(tmp_path_factory.mktemp("runs"), "svhn-svm", *SVM_TINY, "init_std=0.2")


@pytest.fixture(scope="module")
def conditional_run(tmp_path_factory):
    # embed_dim=8: the released code's linear embedding of y, so the export carries it too
    return _run(tmp_path_factory.mktemp("cruns"), "conditional", "embed_dim=8")


@pytest.fixture(scope="module")
def images():
    return load_dataset("sample:svhn").x_test[:20]


@pytest.fixture(scope="module")
def exported(svhn_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("exp") / "model"
    proc = cli("export", svhn_run, "--out", out, env=ENV)
    assert proc.returncode == 0, proc.stderr
    return out


def test_list_experiments_names_the_registered_ones():
    names = alibench.list_experiments()
    assert {"svhn-svm", "conditional", "ali-pictures", "dcgan-svm"} <= set(names)
    assert "load_run" in alibench.__all__ and "list_experiments" in alibench.__all__


def test_encode_gives_the_svm_tracks_features(svhn_run, images):
    run = alibench.load_run(svhn_run, device="cpu")
    assert run.experiment == "svhn-svm" and run.step == 8 and run.config.width == 0.0625
    assert all(not net.training for net in run.nets.modules().values())
    # the same features as the SVM track computes from the checkpoint, independently loaded
    method = build_ali_method(run.config, torch.device("cpu"))
    checkpoint.load(svhn_run / "checkpoint.pt", method.state())
    want = encoder_features(method.nets.encoder, images, parse_layers("mu,bn4,bn5,bn6"),
                            torch.device("cpu"))
    got = run.encode(images)
    assert got.dtype == np.float32 and np.array_equal(got, want)
    as_tensor = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    assert np.array_equal(run.encode(as_tensor), got)
    mu = run.encode(images, layers="mu")
    assert mu.shape == (20, run.latent_dim) and np.array_equal(mu, got[:, :run.latent_dim])


def test_reconstruct_sample_interpolate(svhn_run, images):
    run = alibench.load_run(svhn_run, device="cpu")
    rec = run.reconstruct(images)
    assert rec.shape == (20, 3, 32, 32) and 0 <= rec.min() and rec.max() <= 1
    assert torch.equal(rec, run.reconstruct(images))            # seeded
    s = run.sample(6, seed=0)
    assert s.shape == (6, 3, 32, 32)
    assert torch.equal(s, run.sample(6, seed=0)) and not torch.equal(s, run.sample(6, seed=1))
    path = run.interpolate(images[:3], images[3:6], steps=4)
    assert path.shape == (3, 5, 3, 32, 32)
    # the first point is a's reconstruction with the same seed's noise
    assert torch.allclose(path[:, 0], run.reconstruct(images[:3]), atol=1e-6)
    assert not torch.equal(path[:, 0], path[:, -1])


def test_loading_and_using_a_run_leaves_the_global_rng_alone(svhn_run, images):
    torch.manual_seed(123)
    state = torch.get_rng_state()
    run = alibench.load_run(svhn_run, device="cpu")
    run.sample(3, seed=5)
    run.reconstruct(images[:3])
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize("bad, message", [
    (lambda x: x.astype(np.float32), "must be uint8"),
    (lambda x: x[:, :16], "must have shape (N, 32, 32, 3)"),
    (lambda x: x[:0], "no images"),
    (lambda x: x.tolist(), "expected a uint8 numpy array"),
    (lambda x: torch.from_numpy(x).permute(0, 3, 1, 2), "must be float in [0, 1]"),
    (lambda x: torch.from_numpy(x).permute(0, 3, 1, 2).float(), "values must lie in [0, 1]"),
    (lambda x: torch.from_numpy(x).float(), "must have shape (N, 3, 32, 32)"),
])
def test_bad_images_are_refused_in_one_line(svhn_run, images, bad, message):
    run = alibench.load_run(svhn_run, device="cpu")
    for call in (run.encode, run.reconstruct):
        with pytest.raises(UserError, match=re.escape(message)) as err:
            call(bad(images))
        assert len(str(err.value).splitlines()) == 1
    with pytest.raises(UserError, match="unknown layer"):
        run.encode(images, layers="bn9")
    with pytest.raises(UserError, match="positive integer"):
        run.sample(0)
    with pytest.raises(UserError, match="not conditional"):
        run.sample(2, y=np.eye(10)[:2])


def test_what_is_not_a_finished_run_is_refused(svhn_run, tmp_path):
    with pytest.raises(UserError, match="is not a run directory"):
        alibench.load_run(tmp_path)
    copy = tmp_path / "copy"
    shutil.copytree(svhn_run, copy)
    meta = json.loads((copy / "run.json").read_text())
    (copy / "run.json").write_text(json.dumps({**meta, "state": "interrupted"}))
    with pytest.raises(UserError, match="is not a finished run .*--resume"):
        alibench.load_run(copy)
    (copy / "run.json").write_text(json.dumps({**meta, "experiment": "dcgan-svm"}))
    with pytest.raises(UserError, match="cannot be loaded as a model"):
        alibench.load_run(copy)
    (copy / "run.json").write_text(json.dumps(meta))
    (copy / "checkpoint.pt").write_bytes(b"torn")
    with pytest.raises(UserError, match="unreadable"):
        alibench.load_run(copy)


def test_export_round_trips_bit_for_bit(svhn_run, exported, images):
    assert sorted(p.name for p in exported.iterdir()) == ["config.json", "model.safetensors"]
    meta = json.loads((exported / "config.json").read_text())
    run_meta = json.loads((svhn_run / "run.json").read_text())
    assert meta["config"] == run_meta["config"] and meta["git_commit"] == run_meta["git_commit"]
    assert meta["dataset"]["fingerprint"] == run_meta["dataset"]["fingerprint"]
    lines = [json.loads(l) for l in (svhn_run / "metrics.jsonl").read_text().splitlines()]
    assert meta["metrics"] == lines and meta["step"] == 8
    a, b = alibench.load_run(svhn_run, device="cpu"), alibench.load_run(exported, device="cpu")
    assert np.array_equal(a.encode(images), b.encode(images))
    assert torch.equal(a.reconstruct(images), b.reconstruct(images))
    assert torch.equal(a.sample(8, seed=0), b.sample(8, seed=0))
    for name, net in a.nets.modules().items():
        other = b.nets.modules()[name].state_dict()
        assert all(torch.equal(v, other[k]) for k, v in net.state_dict().items())


def test_export_refusals_write_nothing(svhn_run, exported, tmp_path):
    proc = cli("export", svhn_run, "--out", exported, env=ENV)
    assert_one_line_error(proc, "already exists")
    proc = cli("export", tmp_path / "nothing", "--out", tmp_path / "x", env=ENV)
    assert_one_line_error(proc, "is not a run directory")
    assert not (tmp_path / "x").exists()
    bad = tmp_path / "bad"
    shutil.copytree(exported, bad)
    data = bytearray((bad / "model.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (bad / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(UserError, match="sha256 does not match"):
        alibench.load_run(bad)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_conditional_run_needs_y_and_exports_its_embedding(conditional_run, tmp_path, images):
    run = alibench.load_run(conditional_run, device="cpu")
    assert run.cond_dim == 10                     # SVHN's classes, one-hot
    with pytest.raises(UserError, match=r"pass y, an \(N, 10\)"):
        run.sample(4)
    with pytest.raises(UserError, match=r"y must have shape \(4, 10\)"):
        run.sample(4, y=np.eye(10)[:3])
    y = np.eye(10, dtype=np.float32)[[0, 1, 2, 3]]
    assert run.sample(4, seed=0, y=y).shape == (4, 3, 32, 32)
    out = tmp_path / "c"
    assert cli("export", conditional_run, "--out", out, env=ENV).returncode == 0
    back = alibench.load_run(out, device="cpu")
    assert torch.equal(run.sample(4, seed=0, y=y), back.sample(4, seed=0, y=y))
    assert np.array_equal(run.encode(images[:4], y=y), back.encode(images[:4], y=y))
    assert torch.equal(run.reconstruct(images[:4], y=y), back.reconstruct(images[:4], y=y))


def test_readme_example_runs(svhn_run):
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Python API.*?```python\n(.*?)```", text, re.S).group(1)
    assert len(block.strip().splitlines()) <= 10
    code = re.sub(r'load_run\("[^"]*"', f'load_run("{svhn_run}"', block)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert scope["features"].shape[0] == 10 and scope["samples"].shape == (16, 3, 32, 32)


@pytest.mark.parametrize("experiment,extra", [
    ("bigan", ()), ("gan-inverse", ("inference_steps=4",)), ("gan-posthoc", ("inference_steps=4",))])
def test_the_inference_baselines_load_with_their_trained_encoder(tmp_path, images, experiment, extra):
    """bigan, gan-inverse and gan-posthoc runs open with load_run: the encoder is the
    checkpoint's (every tensor), and encode/reconstruct work as for svhn-svm."""
    run_dir = _run(tmp_path, experiment, *SVM_TINY, *extra)
    run = alibench.load_run(run_dir, device="cpu")
    saved = torch.load(run_dir / "checkpoint.pt", map_location="cpu", weights_only=False)["state"]
    for key, value in run.nets.encoder.state_dict().items():
        assert torch.equal(value, saved["encoder"][key]), key
    feats = run.encode(images)
    assert feats.shape[0] == 20 and np.isfinite(feats).all()
    assert run.reconstruct(images[:4]).shape == (4, 3, 32, 32)
