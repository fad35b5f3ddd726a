"""Pictures: grid layouts (sizes, the paper's odd/even reconstruction columns),
the figures written at the end of a run and redrawn from its directory alone."""

import json
import shutil

import matplotlib.image
import numpy as np
import pytest
import torch

from alibench.reporting import grids
from alibench.reporting.figures import FigureConfig, Validation, write_figures
from alibench.methods.ali import ALI
from alibench.models import build_ali
from alibench.core.rundir import RunDir
from conftest import cli

H = W = 32


def _images(n, seed=0):
    """Images whose values survive the uint8 round trip exactly."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, H, W), generator=g).float() / 255


def _u8(x):
    return (x * 255).round().byte().permute(1, 2, 0).numpy()


@pytest.mark.parametrize("n,ncol", [(100, 10), (12, 5), (1, 4)])
def test_grid_size(n, ncol):
    image = grids.grid(_images(n), ncol)
    rows, cols = -(-n // ncol), min(n, ncol)
    assert image.shape == (rows * (H + grids.PAD) + grids.PAD, cols * (W + grids.PAD) + grids.PAD, 3)
    assert image.dtype == np.uint8


def test_reconstruction_grid_puts_originals_in_odd_columns():
    x, x_hat = _images(12, seed=1), _images(12, seed=2)
    pairs = 4
    image = grids.reconstruction_grid(x, x_hat, pairs)
    assert image.shape[1] == 2 * pairs * (W + grids.PAD) + grids.PAD
    originals = {_u8(v).tobytes() for v in x}
    for i in range(12):
        row, p = divmod(i, pairs)
        # 1-based column 2p+1 (odd) holds x_i, column 2p+2 (even) its reconstruction
        np.testing.assert_array_equal(grids.cell(image, row, 2 * p, (H, W)), _u8(x[i]))
        np.testing.assert_array_equal(grids.cell(image, row, 2 * p + 1, (H, W)), _u8(x_hat[i]))
        assert grids.cell(image, row, 2 * p + 1, (H, W)).tobytes() not in originals


def test_interpolation_grid_has_the_originals_at_both_ends():
    a, b, between = _images(3, 1), _images(3, 2), _images(3 * 5, 3).view(3, 5, 3, H, W)
    image = grids.interpolation_grid(a, b, between)
    assert image.shape[:2] == (3 * (H + 2) + 2, 7 * (W + 2) + 2)
    for r in range(3):
        np.testing.assert_array_equal(grids.cell(image, r, 0, (H, W)), _u8(a[r]))
        np.testing.assert_array_equal(grids.cell(image, r, 6, (H, W)), _u8(b[r]))
        np.testing.assert_array_equal(grids.cell(image, r, 3, (H, W)), _u8(between[r, 2]))


class _Ctx:
    """The part of RunContext the figures use."""

    def __init__(self, run):
        self.run_dir, self.records = run, []

    def record(self, method, metric, value, n_labels, **extra):
        rec = {"method": method, "metric": metric, "value": value, "n_labels": n_labels, **extra}
        self.run_dir.add_metric(rec)
        return rec


def test_write_figures_sizes_and_recon_mse(tmp_path):
    torch.manual_seed(0)
    method = ALI(build_ali("svhn", width=0.0625, latent_dim=8), 1e-3, 0.5, 0.999, torch.device("cpu"))
    run = RunDir.create(tmp_path, "t", {"experiment": "test", "dataset": {"full": False}})
    run.log_train({"step": 1, "loss_d": 1.3, "loss_g": 1.4, "acc_d": 0.6})
    x = (_images(30).permute(0, 2, 3, 1) * 255).round().byte().numpy()
    cfg = FigureConfig(grid_rows=3, grid_cols=4, interp_pairs=5, interp_steps=6)
    rec, diversity, acc = write_figures(_Ctx(run), method, Validation(x, None, "test images"), cfg, "ali")
    size = lambda name: matplotlib.image.imread(run.path / name).shape[:2]  # noqa: E731
    assert size("samples.png") == (3 * 34 + 2, 4 * 34 + 2)
    assert size("reconstructions.png") == (3 * 34 + 2, 8 * 34 + 2)
    assert size("interpolations.png") == (5 * 34 + 2, (6 + 3) * 34 + 2)
    assert (run.path / "curves.png").exists()
    assert rec["metric"] == "recon_mse" and 0 < rec["value"] < 1 and rec["n_images"] == 30
    flat = x.reshape(30, -1) / 255.0
    assert rec["mse_of_mean_image"] == pytest.approx(((flat - flat.mean(0)) ** 2).mean(), rel=1e-5)
    # the mean code's reconstruction Gx(μ(x)), computed here independently
    nets = method.nets
    nets.encoder.eval(), nets.decoder.eval()
    with torch.no_grad():
        x01 = torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255
        mu_mse = (nets.decoder(nets.encoder(x01)[0]) - x01).pow(2).mean().item()
    assert rec["mean_code_mse"] == pytest.approx(mu_mse, rel=1e-5)
    assert "the same from the mean code" in (run.path / "report.md").read_text()
    assert diversity["metric"] == "sample_diversity" and diversity["value"] >= 0   # untrained Gx: ~0
    assert diversity["n_samples"] == diversity["n_real"] == 30
    assert acc["metric"] == "acc_d_final" and acc["value"] == 0.6 and acc["step"] == 1
    report = (run.path / "report.md").read_text()
    for name in ("samples.png", "reconstructions.png", "interpolations.png", "curves.png", "recon_mse",
                 "sample_diversity", "## Training signals"):
        assert name in report


TINY = ["--preset", "demo", "--set", "steps=8", "width=0.0625", "batch_size=16", "log_every=2",
        "checkpoint_every=4", "sample_every=4", "grid_rows=2", "grid_cols=5", "interp_pairs=2",
        "interp_steps=3", "eval_batch_size=64", "--device", "cpu"]


@pytest.fixture(scope="module")
def conditional_run(tmp_path_factory, shared_data):
    out = tmp_path_factory.mktemp("runs")
    proc = cli("conditional", *TINY, "--data", "cifar10-sample", "--data-dir", shared_data,
               "--out", out)
    assert proc.returncode == 0, proc.stderr
    (run,) = [p for p in out.iterdir() if p.name.startswith("conditional_")]
    return run


def test_conditional_run_writes_every_picture(conditional_run):
    run = conditional_run
    for name in ("samples.png", "reconstructions.png", "interpolations.png", "conditional.png",
                 "curves.png", "report.md", "samples/step_000004.png", "samples/step_000008.png"):
        assert (run / name).exists(), name
    assert "airplane" in (run / "report.md").read_text()
    lines = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
    assert [(l["method"], l["metric"]) for l in lines] == [
        ("conditional-ali", "recon_mse"), ("conditional-ali", "sample_diversity"),
        ("conditional-ali", "acc_d_final")]
    # validation = the last 10 % of the CIFAR10 sample's training split (408 of 4085)
    assert lines[0]["n_images"] == 408


def test_figures_command_redraws_from_the_run_directory_alone(conditional_run, tmp_path, shared_data):
    run = tmp_path / conditional_run.name
    shutil.copytree(conditional_run, run)
    read = lambda: [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]  # noqa: E731
    before = read()
    for png in run.glob("*.png"):
        png.unlink()
    (run / "report.md").unlink()
    proc = cli("figures", "--run", run, "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    for name in ("samples.png", "reconstructions.png", "interpolations.png", "conditional.png",
                 "curves.png", "report.md"):
        assert (run / name).exists(), name
    after = read()
    assert [r["metric"] for r in after] == [r["metric"] for r in before]   # replaced, not appended
    for old, new in zip(before, after):
        assert new["value"] == pytest.approx(old["value"], rel=1e-6), new["metric"]


def test_figures_command_refuses_a_run_without_checkpoint(conditional_run, tmp_path):
    run = tmp_path / "copy"
    shutil.copytree(conditional_run, run)
    (run / "checkpoint.pt").unlink()
    proc = cli("figures", "--run", run, "--device", "cpu")
    assert proc.returncode == 2 and "no checkpoint.pt" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
