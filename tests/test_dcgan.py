"""The DCGAN + L2-SVM baseline: the released SVHN architecture, its features,
its training through the shared loop, and the SVM protocol variants.

Parameter counts at full width, by hand (k·k·c_in·c_out weights, no biases
anywhere, 2·c for each batch norm's gain and shift):

Generator      dense 100·4096 = 409,600 + BN over 4096 units 8,192
               tconv 5/2/128: 25·256·128 = 819,200 + BN 256
               tconv 5/2/64:  25·128·64  = 204,800 + BN 128
               tconv 5/2/3:   25·64·3    =   4,800                 → 1,446,976
Discriminator  conv 5/2/64:   25·3·64    =   4,800
               conv 5/2/128:  25·64·128  = 204,800 + BN 256
               conv 5/2/256:  25·128·256 = 819,200 + BN 512
               dense 4096 → 1            =   4,096                 → 1,033,664

These are the shapes of the DCGAN authors' released SVHN model
(Newmu/dcgan_code, models/svhn_unsup_all_conv_dcgan_100z_gaussian_lr_0.0005_64mb,
read from its .npy headers): RELEASED_SHAPES below (theano keeps a dense weight
as (in, out), torch as (out, in)).

Features: 64 maps of 16×16 pooled 4×4 → 64·4·4 = 1,024; 128 maps of 8×8 pooled
2×2 → 128·4·4 = 2,048; 256 maps of 4×4 unpooled → 4,096; total 7,168. At width
1/4: 16·16 + 32·16 + 64·16 = 1,792.
"""

import json
import shutil
import re

import numpy as np
import pytest
import torch

from alibench.core.config import build_config
from alibench.data.batches import EpochSampler, ResidentImages
from alibench.evaluation.features import BN_STATS_BATCH, discriminator_features, with_population_bn
from alibench.core.errors import UserError
from alibench.experiments.dcgan_svm import PRESETS, DcganSvmConfig
from alibench.train.loop import LoopSettings, resume_step, train
from alibench.methods.dcgan import GAN
from alibench.models.dcgan import build_dcgan
from alibench.models.layers import count_params
from alibench.core.rundir import RunDir
from alibench.evaluation.splits import make_draws
from alibench.evaluation.svm import DCGAN_C_GRID, SvmSettings, run_dcgan_protocol
from conftest import assert_one_line_error, cli

RELEASED_SHAPES = {
    "generator": [(4096, 100), (4096,), (4096,), (256, 128, 5, 5), (128,), (128,),
                  (128, 64, 5, 5), (64,), (64,), (64, 3, 5, 5)],
    "discriminator": [(64, 3, 5, 5), (128, 64, 5, 5), (128,), (128,), (256, 128, 5, 5),
                      (256,), (256,), (1, 4096)],
}


def test_parameter_counts_match_hand_computed_numbers():
    nets = build_dcgan()
    assert count_params(nets.generator) == 1_446_976
    assert count_params(nets.discriminator) == 1_033_664


def test_parameter_shapes_are_the_released_models():
    nets = build_dcgan()
    for name, net in nets.modules().items():
        assert [tuple(p.shape) for p in net.parameters()] == RELEASED_SHAPES[name]


def test_spatial_sizes_and_output_ranges():
    nets = build_dcgan(width=0.25)
    x = nets.generator(torch.randn(3, 100))
    assert x.shape == (3, 3, 32, 32) and x.abs().max() <= 1
    hidden = nets.discriminator.hidden(x)
    assert [tuple(h.shape[1:]) for h in hidden] == [(16, 16, 16), (32, 8, 8), (64, 4, 4)]
    assert nets.discriminator(x).shape == (3,)


@pytest.mark.parametrize("width,dim", [(1.0, 7168), (0.25, 1792)])
def test_feature_dimension(width, dim):
    d = build_dcgan(width).discriminator.eval()
    assert d.feature_dim() == dim
    assert d.features(torch.rand(2, 3, 32, 32) * 2 - 1).shape == (2, dim)


def test_features_are_the_max_pooled_layer_outputs():
    d = build_dcgan(0.25).discriminator.eval()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    h1, h2, h3 = d.hidden(x)
    f = d.features(x)
    assert torch.equal(f[:, :256], h1.view(2, 16, 4, 4, 4, 4).amax((3, 5)).flatten(1))
    assert torch.equal(f[:, 256:768], h2.view(2, 32, 4, 2, 4, 2).amax((3, 5)).flatten(1))
    assert torch.equal(f[:, 768:], h3.flatten(1))


def test_population_bn_is_the_mean_of_batch_statistics():
    torch.manual_seed(0)
    d = build_dcgan(0.25).discriminator
    images = np.random.default_rng(0).integers(0, 256, (2 * BN_STATS_BATCH, 32, 32, 3), dtype=np.uint8)
    before = d.layers[1][1].running_mean.clone()
    frozen = with_population_bn(d, images, torch.device("cpu"))
    assert torch.equal(d.layers[1][1].running_mean, before)      # the trained net is untouched
    assert not frozen.training
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1
    with torch.no_grad():    # D's first layer has no batch norm: its output is fixed
        conv2 = d.layers[1][0](d.layers[0](x))
    batch_means = torch.stack([b.mean((0, 2, 3)) for b in conv2.split(BN_STATS_BATCH)])
    assert torch.allclose(frozen.layers[1][1].running_mean, batch_means.mean(0), atol=1e-5)
    feats = discriminator_features(frozen, images[:5], torch.device("cpu"), batch_size=2)
    assert feats.shape == (5, 1792) and feats.dtype == np.float32


def test_generator_and_discriminator_take_turns():
    torch.manual_seed(0)
    nets = build_dcgan(0.125)
    gan = GAN(nets, 1e-3, 0.5, 0.999, 1e-5, torch.device("cpu"))
    x = torch.rand(8, 3, 32, 32)

    def snap(params):
        return torch.cat([p.detach().flatten() for p in params]).clone()

    for step, moved in ((0, "g"), (1, "d"), (2, "g")):
        g0, d0 = snap(gan.gen_params), snap(gan.disc_params)
        logs = gan.train_step(x, step)
        assert set(logs) == {"loss_d", "loss_g", "acc_d"}
        assert torch.equal(d0, snap(gan.disc_params)) == (moved == "g")
        assert torch.equal(g0, snap(gan.gen_params)) == (moved == "d")


def _setup(tmp_path, name):
    torch.manual_seed(0)
    gan = GAN(build_dcgan(0.125), 1e-3, 0.5, 0.999, 1e-5, torch.device("cpu"))
    images = ResidentImages(np.random.default_rng(1).integers(0, 256, (40, 32, 32, 3), dtype=np.uint8),
                            "cpu")
    sampler = EpochSampler(len(images), 8, seed=0, device="cpu")
    return gan, (lambda s: images.batch(sampler.indices(s))), RunDir.create(tmp_path, name, {})


def test_resume_at_an_odd_step_matches_an_uninterrupted_run(tmp_path):
    torch.use_deterministic_algorithms(True)
    try:
        full, batches, run = _setup(tmp_path, "full")
        train(full, batches, LoopSettings(6, log_every=3, checkpoint_every=3), run)
        part, batches, run2 = _setup(tmp_path, "part")
        train(part, batches, LoopSettings(3, log_every=3, checkpoint_every=3), run2)
        resumed, batches, _ = _setup(tmp_path, "fresh")
        start = resume_step(run2, resumed.state(), torch.device("cpu"))
        assert start == 3    # a discriminator turn: parity comes back with the step
        train(resumed, batches, LoopSettings(6, log_every=3, checkpoint_every=3), run2, start)
    finally:
        torch.use_deterministic_algorithms(False)
    for a, b in zip(full.gen_params + full.disc_params, resumed.gen_params + resumed.disc_params):
        assert torch.equal(a, b)


class _ErrorIsC:
    """A stand-in solver whose error on a draw is a known function of C and the draw."""
    name = "stub"

    def errors(self, x_pool, y_pool, draws, cs, x_eval, y_eval, desc=""):
        return np.array([abs(np.log10(c) + 3) + 0.01 * d[0] for d, c in zip(draws, cs)])


def test_dcgan_protocol_picks_c_by_mean_validation_error():
    y = np.repeat(np.arange(10), 20)
    draws = make_draws(y, 50, seed=0, n_val=3, n_test=4)
    x = np.zeros((len(y), 2))
    res = run_dcgan_protocol(_ErrorIsC(), SvmSettings(), x, y, x, y, x, y, draws)
    assert res["c_grid"] == list(DCGAN_C_GRID) and res["best_c"] == 1e-3
    assert len(res["val_error_pct"]) == 3 and len(res["test_error_pct"]) == 4
    expect = [abs(np.log10(c) + 3) + 0.01 * draws.val[:, 0].mean() for c in DCGAN_C_GRID]
    assert np.allclose(res["selection_val_error_pct"], expect)


TINY = ["--preset", "demo", "--set", "steps=6", "width=0.125", "batch_size=32", "log_every=3",
        "checkpoint_every=3", "n_val_draws=2", "n_test_draws=4", "n_c=6"]


@pytest.fixture(scope="module")
def paired_runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    for exp in ("dcgan-svm", "svhn-svm"):
        extra = ["raw_pixels=false"] if exp == "svhn-svm" else []
        proc = cli(exp, *TINY, *extra, "--seeds", "0", "--out", out, "--device", "cpu")
        assert proc.returncode == 0, proc.stderr
    return out, proc


def _run_dir(out, exp):
    (run,) = [p for p in out.iterdir() if p.name.startswith(exp + "_")]
    return run


def test_tiny_cli_run_writes_a_finished_run(paired_runs):
    out, _ = paired_runs
    run = _run_dir(out, "dcgan-svm")
    meta = json.loads((run / "run.json").read_text())
    assert meta["state"] == "finished" and meta["total_steps"] == 6
    assert meta["feature_dim"] == 8 * 16 + 16 * 16 + 32 * 16   # width 1/8: 8, 16, 32 maps
    all_lines = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
    lines = [l for l in all_lines if l["metric"].endswith("error_pct")]
    assert {(l["method"], l["metric"]) for l in all_lines} == {
        ("dcgan-svm", m) for m in ("test_error_pct", "val_error_pct", "sample_diversity", "acc_d_final")}
    assert all(0 <= l["value"] <= 100 and l["feature_dim"] == meta["feature_dim"] for l in lines)
    svm = json.loads((run / "svm_dcgan-svm.json").read_text())   # the paper preset's protocol
    assert svm["protocol"] == "dcgan" and svm["c_grid"] == list(DCGAN_C_GRID)
    assert svm["best_c"] in DCGAN_C_GRID
    assert len(svm["val_error_pct"]) == 2 and len(svm["test_error_pct"]) == 4
    assert [r["step"] for r in map(json.loads, (run / "train_log.jsonl").read_text().splitlines())] \
        == [3, 6]


def test_a_dcgan_run_reports_its_training_signals(paired_runs, tmp_path):
    """Samples, curves and report.md with D's accuracy, the losses and sample diversity
    (a DCGAN has no encoder: no reconstructions); the figures tool redraws them."""
    out, _ = paired_runs
    run = _run_dir(out, "dcgan-svm")
    assert {p.name for p in run.glob("*.png")} == {"samples.png", "curves.png"}
    report = (run / "report.md").read_text()
    for signal in ("D's final accuracy", "loss_d / loss_g", "sample diversity"):
        assert signal in report
    lines = {l["metric"]: l for l in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())}
    log = [json.loads(l) for l in (run / "train_log.jsonl").read_text().splitlines()]
    assert lines["acc_d_final"]["value"] == log[-1]["acc_d"]
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    (copy / "samples.png").unlink()
    proc = cli("figures", "--run", copy, "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    assert (copy / "samples.png").exists()
    redrawn = {l["metric"]: l for l in map(json.loads, (copy / "metrics.jsonl").read_text().splitlines())}
    assert redrawn["sample_diversity"]["value"] == pytest.approx(lines["sample_diversity"]["value"], rel=1e-6)


def test_dcgan_and_ali_runs_share_one_label_draw_file(paired_runs):
    out, _ = paired_runs
    files = [np.load(_run_dir(out, exp) / "label_draws.npz") for exp in ("dcgan-svm", "svhn-svm")]
    assert str(files[0]["shared_copy"]) == str(files[1]["shared_copy"])
    assert len(list((out / "label-splits").glob("*.npz"))) == 1
    for key in ("selection", "val", "test"):
        assert np.array_equal(files[0][key], files[1][key])


def test_tables_show_dcgan_beside_the_paper(paired_runs):
    out, _ = paired_runs
    proc = cli("tables", "--runs", out)
    assert proc.returncode == 0, proc.stderr
    row = next(l for l in proc.stdout.splitlines() if l.startswith("| dcgan-svm"))
    assert "22.18 ± 1.13 at 1000 labels" in row


def test_paper_preset_is_the_dcgan_protocol_and_settings():
    cfg = build_config(DcganSvmConfig, PRESETS, "paper", [])
    assert cfg.svm_protocol == "dcgan" and (cfg.lr, cfg.beta1, cfg.batch_size, cfg.nz) == (2e-4, 0.5, 64, 100)
    assert (cfg.n_labels, cfg.n_val, cfg.n_val_draws, cfg.n_test_draws) == (1000, 10000, 10, 100)


@pytest.mark.parametrize("preset", ["paper", "demo"])
def test_presets_draw_the_same_labels_as_svhn_svm(preset):
    from alibench.experiments import svhn_svm
    ours = build_config(DcganSvmConfig, PRESETS, preset, [])
    ali = build_config(svhn_svm.SvhnSvmConfig, svhn_svm.PRESETS, preset, [])
    keys = ("data", "unlabeled", "n_labels", "n_val", "n_val_draws", "n_test_draws", "svm_solver")
    assert [getattr(ours, k) for k in keys] == [getattr(ali, k) for k in keys]


@pytest.mark.parametrize("sets,fragment", [
    (["svm_protocol=libsvm"], "unknown svm_protocol 'libsvm'; valid: suite, dcgan"),
    (["svm_protocol=dcgan", "n_val_draws=0"], "set n_val_draws to at least 1"),
    (["nz=0"], "nz must be positive"),
    (["weight_decay=-1"], "weight_decay must be >= 0"),
])
def test_bad_settings_are_refused(sets, fragment):
    with pytest.raises(UserError, match=re.escape(fragment)):
        build_config(DcganSvmConfig, PRESETS, "demo", sets)


def test_too_many_labels_is_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    proc = cli("dcgan-svm", "--preset", "demo", "--set", "n_labels=1000", "--out", out)
    assert_one_line_error(proc, "n_labels=1000", "only")
    assert not out.exists()


@pytest.mark.gpu
def test_cuda_training_step_and_features_match_the_cpu():
    torch.manual_seed(0)
    nets = build_dcgan(0.25)
    images = np.random.default_rng(2).integers(0, 256, (300, 32, 32, 3), dtype=np.uint8)
    cpu = discriminator_features(with_population_bn(nets.discriminator, images, torch.device("cpu")),
                                 images[:50], torch.device("cpu"))
    cuda = torch.device("cuda")
    for net in nets.modules().values():
        net.to(cuda)
    gan = GAN(nets, 2e-4, 0.5, 0.999, 1e-5, cuda)
    logs = gan.train_step(torch.rand(64, 3, 32, 32, device=cuda), 0)   # a generator turn: D unchanged
    assert all(torch.isfinite(v) for v in logs.values())
    gpu = discriminator_features(with_population_bn(nets.discriminator, images, cuda), images[:50], cuda)
    assert np.allclose(cpu, gpu, atol=1e-3)
