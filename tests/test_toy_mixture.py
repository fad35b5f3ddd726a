"""The 2-D mixture experiment (toy-mixture): data, networks, the one-pass
adversarial gradients, the measures, the figure, and the CLI end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from alibench.core.errors import UserError
from alibench.data.mixture import grid_means, make_mixture
from alibench.evaluation import mixture as ev
from alibench.experiments.toy_mixture import PRESETS, ToyMixtureConfig, draw_hyper
from alibench.methods.mixture import Hyper, MixtureALI, MixtureGAN, adversarial_grads
from alibench.models import mixture as nets
from alibench.reporting import mixture_tables, paper
from alibench.reporting.mixture_figure import COLUMNS, ROWS, mixture_figure

from conftest import assert_one_line_error, cli

MEANS = grid_means()
STD = 0.05
TINY = ["--set", "n_train=400", "--set", "n_held=300", "--set", "n_samples=500",
        "--set", "gen_hidden=16", "--set", "disc_hidden=8", "--set", "steps=12",
        "--set", "steps_after=6", "--set", "steps_vae=6", "--set", "log_every=4",
        "--set", "checkpoint_every=5"]


# --- data -----------------------------------------------------------------

def test_data_is_the_papers_grid_and_seeded():
    a, b = make_mixture(1, 2000, 500), make_mixture(1, 2000, 500)
    assert MEANS.shape == (25, 2) and set(MEANS[:, 0]) == {-4, -2, 0, 2, 4}
    assert np.array_equal(a.x_train, b.x_train) and a.fingerprint() == b.fingerprint()
    assert make_mixture(2, 2000, 500).fingerprint() != a.fingerprint()
    # every point sits within a few std of its own component's mean
    assert np.abs(a.x_train - MEANS[a.y_train]).max() < 6 * STD
    assert a.x_held.shape == (500, 2) and not np.isin(a.x_held[:, 0], a.x_train[:, 0]).any()


# --- measures ---------------------------------------------------------------

def test_mode_assignment_on_hand_placed_points():
    k = {tuple(m): i for i, m in enumerate(MEANS)}
    pts = np.array([[4.0, 4.0], [-3.9, 2.1], [1.1, 0.0], [0.9, 0.0], [-5.0, -5.0]], np.float32)
    want = [k[(4, 4)], k[(-4, 2)], k[(2, 0)], k[(0, 0)], k[(-4, -4)]]
    assert ev.assign(pts, MEANS, STD).tolist() == want
    assert ev.modes_covered(pts, MEANS, STD) == 5
    assert ev.modes_covered(np.repeat(pts[:1], 100, 0), MEANS, STD) == 1
    assert ev.recon_mode_acc_pct(pts, np.array(want[:4] + [1]), MEANS, STD) == 80.0


def test_high_quality_is_three_std_from_the_nearest_mean():
    pts = np.array([[2.0, 0.14], [2.0, -0.16], [0.1, 0.1], [3.0, 3.0]], np.float32)
    # distances 0.14, 0.16, 0.141, 1.41 against the 0.15 threshold
    assert ev.high_quality_pct(pts, MEANS, STD) == 50.0


def test_mmd_is_zero_for_one_law_and_positive_for_a_shift():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4000, 2)), rng.standard_normal((4000, 2))
    same = ev.latent_mmd(a, b)
    assert abs(same) < 0.005
    assert ev.latent_mmd(a + np.array([0.5, 0.0]), b) > 0.05
    assert ev.latent_mmd(0.2 * a, b) > 0.5            # codes crowded near the origin
    # against a direct evaluation of the same kernel
    x, y = a[:300], b[:300] + 0.3
    k = lambda u, v: sum(np.exp(-((u[:, None] - v[None]) ** 2).sum(-1) / (2 * s * s)) for s in ev.MMD_SCALES)
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    direct = ((kxx.sum() - np.trace(kxx)) / (300 * 299) + (kyy.sum() - np.trace(kyy)) / (300 * 299)
              - 2 * kxy.mean())
    assert ev.mmd2_unbiased(x, y) == pytest.approx(direct, rel=1e-4, abs=1e-6)


# --- networks ---------------------------------------------------------------

def _params(m):
    return sum(p.numel() for p in m.parameters())


def test_network_shapes_and_sizes_at_paper_width():
    x, z = torch.randn(7, 2), torch.randn(7, 2)
    gz, gx = nets.ImplicitEncoder(), nets.decoder()
    vae = nets.GaussianEncoder()
    assert gz(x).shape == (7, 2) and gx(z).shape == (7, 2) and vae(x).shape == (7, 2)
    assert [t.shape for t in vae.stats(x)] == [(7, 2), (7, 2)]
    d_xz, d_x = nets.discriminator(4), nets.discriminator(2)
    assert d_xz(torch.randn(7, 4)).shape == (7, 1) and d_x(x).shape == (7, 1)
    bn = 2 * 400
    assert _params(gz) == 4 * 400 + bn + 400 * 400 + bn + 400 * 2 + 2
    assert _params(gx) == 2 * 400 + bn + 3 * (400 * 400 + bn) + 400 * 2 + 2
    assert _params(d_xz) == (4 * 1000 + 1000) + 2 * (200 * 1000 + 1000) + 201
    bns = [m for m in gx.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    assert len(bns) == 4 and all(b.eps == 1e-4 and b.momentum == 0.05 for b in bns)


def test_maxout_takes_the_max_over_each_units_pieces():
    m = nets.Maxout(3, units=2, pieces=5)
    x = torch.randn(4, 3, requires_grad=True)
    pre = m.linear(x).view(4, 5, 2)
    assert torch.equal(m(x), pre.max(1).values)
    g = torch.randn(4, 2)
    (a,) = torch.autograd.grad((m(x) * g).sum(), x)
    (b,) = torch.autograd.grad((pre.max(1).values * g).sum(), x)
    assert torch.allclose(a, b)


def test_init_is_normal_weights_and_zero_biases():
    d = nets.init_normal(nets.discriminator(4), 0.05)
    w = torch.cat([m.weight.flatten() for m in d.modules() if isinstance(m, torch.nn.Linear)])
    assert w.std().item() == pytest.approx(0.05, rel=0.02)
    assert all((m.bias == 0).all() for m in d.modules() if isinstance(m, torch.nn.Linear))


# --- the one-pass gradients ---------------------------------------------------

def _two_pass(method, x, z, eps):
    """Reference: each loss differentiated on its own parameters by plain autograd."""
    n = x.shape[0]
    if isinstance(method, MixtureGAN):
        inp = torch.cat([x, method.gx(z)])
    else:
        inp = torch.cat([torch.cat([x, method.gz(x, eps)], 1), torch.cat([method.gx(z), z], 1)])
    logit = method.d(inp).squeeze(1)
    loss_d = F.softplus(-logit[:n]).mean() + F.softplus(logit[n:]).mean()
    loss_g = F.softplus(logit[:n]).mean() + F.softplus(-logit[n:]).mean()
    gd = torch.autograd.grad(loss_d, method.d_params, retain_graph=True)
    return gd, torch.autograd.grad(loss_g, method.g_params)


@pytest.mark.parametrize("kind", ["ali", "gan"])
@pytest.mark.parametrize("scale", [1.0, 5000.0])   # 5000: logits past SAFE_LOGIT, the fallback
def test_one_pass_gradients_equal_two_passes(kind, scale):
    torch.manual_seed(0)
    hp = Hyper(1e-4, 0.2, 0.999, 0.05)
    gx = nets.init_normal(nets.decoder(hidden=32), 0.05)
    if kind == "ali":
        m = MixtureALI(nets.init_normal(nets.ImplicitEncoder(hidden=32), 0.05), gx,
                       nets.init_normal(nets.discriminator(4, 16), 0.05), hp, fused=False)
    else:
        m = MixtureGAN(gx, nets.init_normal(nets.discriminator(2, 16), 0.05), hp, fused=False)
    with torch.no_grad():
        m.d[-1].weight.mul_(scale)
    x, z, eps = torch.randn(50, 2) * 3, torch.randn(50, 2), torch.randn(50, 2)
    ref_d, ref_g = _two_pass(m, x, z, eps)
    if kind == "ali":
        zh, xt = m.gz(x, eps), m.gx(z)
        inp = torch.cat([torch.cat([x, zh], 1), torch.cat([xt, z], 1)])
        outs, sl = [zh, xt], [(slice(0, 50), slice(2, 4)), (slice(50, 100), slice(0, 2))]
    else:
        xt = m.gx(z)
        inp, outs, sl = torch.cat([x, xt]), [xt], [(slice(50, 100), slice(None))]
    _, _, _, gd, gg = adversarial_grads(m.d, inp, 50, m.d_params, m.g_params, outs, sl)
    for got, ref in zip(list(gd) + list(gg), list(ref_d) + list(ref_g)):
        assert torch.allclose(got, ref, rtol=1e-4, atol=1e-7 * max(1.0, ref.abs().max().item()))


# --- random search ------------------------------------------------------------

def test_random_search_draws_from_the_stated_ranges_per_seed():
    cfg = ToyMixtureConfig()
    draws = [draw_hyper(cfg, s) for s in range(40)]
    assert draw_hyper(cfg, 3) == draws[3] and draws[3] != draws[4]
    assert all(cfg.lr_min <= h.lr <= cfg.lr_max and cfg.beta1_min <= h.beta1 <= cfg.beta1_max
               and cfg.init_std_min <= h.init_std <= cfg.init_std_max for h in draws)
    fixed = ToyMixtureConfig(**PRESETS["demo"])
    assert draw_hyper(fixed, 5) == Hyper(fixed.lr, fixed.beta1, fixed.beta2, fixed.init_std)


@pytest.mark.parametrize("values, fragment", [
    ({"methods": "ali,bogus"}, "unknown method 'bogus'"),
    ({"methods": "gan-inverse"}, "add gan to methods"),
    ({"lr": -1.0}, "lr must be positive"),
    ({"beta1": 1.0}, "beta1 must lie in"),
    ({"lr_min": 1e-2}, "lr_min=0.01 exceeds lr_max"),
    ({"batch_size": 500, "n_train": 100}, "exceeds n_train"),
    ({"base_gan": "/nonexistent/run"}, "base_gan"),
])
def test_bad_values_are_refused(values, fragment):
    with pytest.raises(UserError, match=fragment.replace("(", r"\(")):
        ToyMixtureConfig(**values).validate()


# --- figure -------------------------------------------------------------------

def test_figure_has_the_papers_layout():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((60, 2)), rng.integers(0, 25, 60)
    col = {k: rng.standard_normal((60, 2)) for k in ("codes", "recon", "prior", "samples")}
    fig = mixture_figure({"ali": col, "vae": col}, x, y)
    axes = np.array(fig.axes).reshape(len(ROWS), len(COLUMNS))
    assert axes.shape == (5, 4)
    assert [a.get_title() for a in axes[0]] == [t for _, t in COLUMNS]
    for r, (_, _, space) in enumerate(ROWS):
        lim = 6.0 if space == "x" else 4.0
        assert all(a.get_xlim() == (-lim, lim) and a.get_ylim() == (-lim, lim) for a in axes[r])
    # columns (b) and (c) did not run: their rows below the data say so, and hold no points
    assert any(t.get_text() == "not run" for t in axes[1, 1].texts)
    assert not axes[1, 1].collections and axes[1, 0].collections and axes[0, 1].collections


# --- tables -------------------------------------------------------------------

def _rec(method, metric, value, seed):
    return {"experiment": "toy-mixture", "method": method, "metric": metric, "value": value,
            "seed": seed, "dataset": "mixture25", "preset": "paper", "hardware": "cpu",
            "run": f"r{seed}", "collapsed": value <= 1 and metric == "modes_covered"}


def test_table_gives_mean_std_min_max_beside_the_paper():
    recs = [_rec("ali", "modes_covered", v, s) for s, v in enumerate([10, 20, 24])]
    recs += [_rec("gan", "modes_covered", v, s) for s, v in enumerate([1, 5, 9])]
    recs += [_rec("ali", "latent_mmd", 0.01 * s, s) for s in range(3)]
    (t,) = mixture_tables.build(pd.DataFrame(recs))
    ali, gan = t.main.iloc[0], t.main.iloc[1]
    assert ali["modes covered (ours)"] == "18.0 ± 7.2" and (ali["min"], ali["max"]) == ("10", "24")
    assert ali["modes covered (paper)"] == paper.format_modes("ali") and "13.4 ± 5.8" in paper.format_modes("ali")
    assert gan["method"] == "GAN (1 collapsed)" and gan["latent MMD² vs N(0, I)"] == "—"
    assert "## Toy mixture" in mixture_tables.render(t)


def test_runs_split_by_methods_pool_but_other_settings_do_not():
    """A seed run as methods=ali and methods=gan joins the methods=ali,gan runs;
    a different steps= is another setting, another table."""
    recs = [{**_rec("ali", "modes_covered", 10 + s, s), "overrides": "methods=ali,gan"} for s in (0, 1)]
    recs += [{**_rec("ali", "modes_covered", 12, 2), "run": "r2a", "overrides": "methods=ali"},
             {**_rec("gan", "modes_covered", 3, 2), "run": "r2g", "overrides": "methods=gan"},
             {**_rec("gan", "modes_covered", 5, 0), "overrides": "methods=ali,gan"},
             {**_rec("ali", "modes_covered", 7, 3), "run": "r3", "overrides": "methods=ali,gan,steps=10"}]
    pooled, other = mixture_tables.build(pd.DataFrame(recs))
    assert pooled.preset == "paper" and other.preset == "paper + steps=10"
    assert pooled.main.set_index("method")["runs"].to_dict() == {"ALI": "3", "GAN": "2"}


def test_runs_record_their_setting_without_methods_and_pool_with_older_records():
    """Runs record the setting already without ``methods=`` (space-separated); older
    records, every --set item joined by commas, group with them."""
    from alibench.core.config import setting_overrides
    assert setting_overrides(["methods=ali,gan", "steps=10", "lr=1e-3"], ("methods=",)) == ["steps=10", "lr=1e-3"]
    recs = [{**_rec("ali", "modes_covered", 10, 0), "overrides": "methods=ali,gan,steps=10,lr=1e-3"},
            {**_rec("ali", "modes_covered", 12, 1), "run": "r1", "overrides": "steps=10 lr=1e-3"}]
    (table,) = mixture_tables.build(pd.DataFrame(recs))
    assert table.preset == "paper + steps=10 lr=1e-3"
    assert table.main.set_index("method")["runs"].to_dict() == {"ALI": "2"}


# --- the command line, end to end ---------------------------------------------

def test_cli_runs_every_method_writes_figure_metrics_and_table(tmp_path):
    out = tmp_path / "runs"
    proc = cli("toy-mixture", "--preset", "demo", *TINY, "--out", out)
    assert proc.returncode == 0, proc.stderr
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    assert (run / "mixture.png").stat().st_size > 10_000
    report = (run / "report.md").read_text()
    assert "## Measures" in report and "modes_covered" in report and "acc_d" in report
    recs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    got = {(r["method"], r["metric"]) for r in recs}
    for m in ("ali", "gan", "gan-inverse", "gan-posthoc", "vae"):
        assert {(m, "modes_covered"), (m, "high_quality_pct")} <= got
        has_encoder = m != "gan"
        assert ((m, "recon_mode_acc_pct") in got) == has_encoder == ((m, "latent_mmd") in got)
    assert all(0 <= r["value"] <= 25 for r in recs if r["metric"] == "modes_covered")
    for m in ("ali", "gan", "gan-inverse", "gan-posthoc", "vae"):
        assert (run / m / "checkpoint.pt").is_file() and (run / m / "train_log.jsonl").is_file()
    assert "Toy mixture" in proc.stdout and "13.4 ± 5.8" in proc.stdout
    tables = cli("tables", "--runs", out, "--no-save")
    assert tables.returncode == 0 and "Toy mixture" in tables.stdout and "10.4 ± 9.2" in tables.stdout


def test_cli_resume_skips_finished_phases_and_matches(tmp_path):
    out = tmp_path / "runs"
    assert cli("toy-mixture", "--preset", "demo", *TINY, "--set", "methods=ali,gan",
               "--set", "figure=false", "--out", out).returncode == 0
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    before = (run / "metrics.jsonl").read_text()
    meta = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**meta, "state": "interrupted"}))
    ali_log = (run / "ali" / "train_log.jsonl").read_text()
    proc = cli("toy-mixture", "--resume", run)
    assert proc.returncode == 0, proc.stderr
    assert (run / "ali" / "train_log.jsonl").read_text() == ali_log   # nothing retrained
    strip = lambda text: [{k: v for k, v in json.loads(l).items() if k != "hardware"}
                          for l in text.splitlines()]
    assert strip((run / "metrics.jsonl").read_text()) == strip(before)


@pytest.mark.parametrize("args, fragment", [   # the rest of the refusals: test_bad_values_are_refused
    (["--set", "methods=gan-posthoc"], "add gan to methods"),
    (["--set", "fused_adam=yes"], "fused_adam must be one of"),
])
def test_cli_refuses_bad_values_in_one_line_before_any_run_dir(tmp_path, args, fragment):
    out = tmp_path / "runs"
    assert_one_line_error(cli("toy-mixture", "--preset", "demo", *args, "--out", out), fragment)
    assert not out.exists()
