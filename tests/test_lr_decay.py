"""ALI's learning-rate decay (``lr_decay_steps``, a demo deviation; the released
code and every ``paper`` preset keep both rates constant)."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from alibench.experiments.ali_training import ALITrainConfig, build_ali_method, resolve_fast_path


def _rates(method) -> tuple[float, float]:
    return method.opt_g.param_groups[0]["lr"], method.opt_d.param_groups[0]["lr"]


def test_both_rates_fall_linearly_to_zero_over_the_last_steps():
    """10 steps, the last 4 decayed: G's 8e-4 and D's 2e-4 (d_lr_scale 0.25) stay
    until step 6, then fall by a quarter of themselves per step."""
    cfg = ALITrainConfig(width=0.125, latent_dim=8, batch_size=4, steps=10, lr=8e-4,
                         d_lr_scale=0.25, lr_decay_steps=4)
    images = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    method = build_ali_method(cfg, torch.device("cpu"), images)
    x = torch.rand(4, 3, 32, 32)
    seen = []
    for step in range(10):
        method.train_step(x, step)
        seen.append(_rates(method))
    expected = [(8e-4 * f, 2e-4 * f) for f in (1, 1, 1, 1, 1, 1, 1.0, 0.75, 0.5, 0.25)]
    assert seen == [pytest.approx(e) for e in expected]


def test_a_decay_longer_than_the_run_spans_the_run_from_the_full_rate():
    """The demo's 3,000-step decay in a quick 4-step run (``--set steps=4``)
    starts at the full rate, not at 4/3000 of it (which would not train)."""
    cfg = ALITrainConfig(width=0.125, latent_dim=8, batch_size=4, steps=4, lr=1e-3,
                         lr_decay_steps=3000)
    images = np.zeros((8, 32, 32, 3), dtype=np.uint8)
    method = build_ali_method(cfg, torch.device("cpu"), images)
    seen = []
    for step in range(4):
        method.train_step(torch.rand(4, 3, 32, 32), step)
        seen.append(_rates(method)[0])
    assert seen == [pytest.approx(r) for r in (1e-3, 7.5e-4, 5e-4, 2.5e-4)]


def test_without_decay_or_training_images_the_rates_stay_constant():
    images = np.zeros((8, 32, 32, 3), dtype=np.uint8)
    for cfg, imgs in ((ALITrainConfig(width=0.125, steps=10, lr=3e-4), images),
                      (ALITrainConfig(width=0.125, steps=10, lr=3e-4, lr_decay_steps=5), None)):
        method = build_ali_method(cfg, torch.device("cpu"), imgs)
        method.train_step(torch.rand(2, 3, 32, 32), 9)
        assert _rates(method) == (3e-4, 3e-4)


def test_a_decay_turns_cuda_graphs_off():
    """A captured graph keeps the learning rates it was captured with."""
    ctx = SimpleNamespace(device=torch.device("cuda"), dist=None)
    assert resolve_fast_path(ALITrainConfig(), ctx).cuda_graphs
    assert not resolve_fast_path(ALITrainConfig(lr_decay_steps=100), ctx).cuda_graphs

