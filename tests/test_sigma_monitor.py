"""The encoder's σ in the train log (log_sigma_mean, sigma_small_frac) and in curves.png."""

import math

import torch

from alibench.core.rundir import RunDir
from alibench.methods.ali import ALI
from alibench.methods.losses import sigma_stats
from alibench.models import build_ali
from alibench.reporting.grids import save_curves
from alibench.train.loop import LoopSettings, train


def test_sigma_stats_values():
    log_sigma = torch.log(torch.tensor([[0.001, 0.5], [0.009, 2.0]]))
    stats = sigma_stats(log_sigma)
    assert all(v.dim() == 0 for v in stats.values())
    assert math.isclose(stats["log_sigma_mean"].item(), log_sigma.mean().item(), rel_tol=1e-6)
    assert stats["sigma_small_frac"].item() == 0.5


def _method(stochastic):
    torch.manual_seed(0)
    nets = build_ali("svhn", width=0.0625, latent_dim=8)
    return ALI(nets, 1e-3, 0.5, 0.999, torch.device("cpu"), stochastic_encoder=stochastic)


def test_ali_step_logs_sigma_and_curves_plot_it(tmp_path):
    method = _method(True)
    x = torch.rand(6, 3, 32, 32)
    with torch.no_grad():
        method.nets.encoder.train()
        _, log_sigma = method.nets.encoder(x)
    run = RunDir.create(tmp_path, "r", {"experiment": "test"})
    train(method, lambda s: x, LoopSettings(total_steps=2, log_every=1), run)
    log = run.train_log()
    assert {"log_sigma_mean", "sigma_small_frac"} <= set(log[0])
    # step 1's value is the encoder's σ on that batch before any update (BN in train mode)
    assert math.isclose(log[0]["log_sigma_mean"], log_sigma.mean().item(), rel_tol=1e-4)
    assert 0.0 <= log[0]["sigma_small_frac"] <= 1.0
    save_curves(tmp_path / "curves.png", log)
    import matplotlib.image
    assert matplotlib.image.imread(tmp_path / "curves.png").shape[1] == 1500   # three panels


def test_deterministic_encoder_logs_no_sigma():
    logs = _method(False).train_step(torch.rand(4, 3, 32, 32), 0)
    assert "log_sigma_mean" not in logs and "sigma_small_frac" not in logs
