"""The CIFAR10 (K+1) track's losses, schedule and networks, on hand values and
tiny widths (no training runs here; see test_ssl_cli.py for those)."""

import math

import pytest
import torch

from alibench.methods.losses import error_rate, feature_matching_loss, kplus1_discriminator_losses, \
    kplus1_generator_loss, real_logit
from alibench.methods.ali_k1 import ALIK1
from alibench.methods.base import linear_decay
from alibench.methods.gan_fm import GANFM
from alibench.methods.kplus1 import Schedule, SSLBatch
from alibench.methods.supervised import Supervised
from alibench.models.ali import ARCHS, Discriminator, build_ali
from alibench.models.gan_fm import FMDiscriminator, FMGenerator, data_init
from alibench.models.layers import init_torch


def test_generated_logit_fixed_at_zero_gives_p_real_from_the_k_logits():
    logits = torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0]])
    # Z = 2 and 4: p(real) = Z / (Z + 1) = sigmoid(log Z)
    assert torch.allclose(torch.sigmoid(real_logit(logits)), torch.tensor([2 / 3, 4 / 5]))


def test_kplus1_discriminator_losses_on_hand_values():
    lab = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    y = torch.tensor([0, 0])
    unl = torch.zeros(1, 2)            # Z = 2: p(real) = 2/3
    gen = torch.tensor([[math.log(0.5), math.log(0.5)]])  # Z = 1: p(generated) = 1/2
    loss_lab, loss_unl = kplus1_discriminator_losses(lab, y, unl, gen)
    ce = 0.5 * (-math.log(math.exp(2) / (math.exp(2) + 1)) - math.log(1 / (1 + math.e)))
    assert loss_lab.item() == pytest.approx(ce, rel=1e-6)
    # ½ [−log p(real | unlabelled) − log p(generated | generated)]
    assert loss_unl.item() == pytest.approx(0.5 * (-math.log(2 / 3) - math.log(1 / 2)), rel=1e-6)


def test_kplus1_generator_loss_swaps_the_labels():
    q = torch.zeros(1, 2)                  # encoder pair, Z = 2
    p = torch.tensor([[0.0, -100.0]])      # decoder pair, Z ≈ 1
    # encoder pairs should look generated: −log p(gen | q) = log(Z + 1) = log 3;
    # decoder pairs should look real: −log p(real | p) = log((Z + 1) / Z) ≈ log 2
    assert kplus1_generator_loss(q, p).item() == pytest.approx(math.log(3) + math.log(2), rel=1e-6)


def test_feature_matching_is_the_mean_absolute_difference_of_batch_means():
    real = torch.tensor([[1.0, 2.0], [3.0, 2.0]])   # means (2, 2)
    fake = torch.tensor([[0.0, 5.0], [0.0, 3.0]])   # means (0, 4)
    assert feature_matching_loss(real, fake).item() == pytest.approx(2.0)


def test_error_rate_is_argmax_misses():
    logits = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0]])
    assert error_rate(logits, torch.tensor([0, 0, 0])).item() == pytest.approx(1 / 3)


def test_learning_rate_is_constant_then_decays_linearly_to_zero():
    assert linear_decay(3e-4, 0, 1200, 400) == 3e-4
    assert linear_decay(3e-4, 800, 1200, 400) == 3e-4
    assert linear_decay(3e-4, 1000, 1200, 400) == pytest.approx(1.5e-4)
    assert linear_decay(3e-4, 1199, 1200, 400) == pytest.approx(3e-4 / 400)
    assert linear_decay(3e-4, 5, 10, 0) == 3e-4


def _batch(n=8, k=10):
    g = torch.Generator().manual_seed(0)
    return SSLBatch(torch.rand(n, 3, 32, 32, generator=g), torch.arange(n) % k,
                    torch.rand(n, 3, 32, 32, generator=g), torch.rand(n, 3, 32, 32, generator=g))


SCHEDULE = Schedule(1e-3, 0.5, 0.999, total_steps=4, decay_steps=2)


def _ali_k1():
    torch.manual_seed(0)
    nets = build_ali("cifar10", 0.125, 0, n_out=10)
    for net in nets.modules().values():
        init_torch(net)
    return ALIK1(nets, SCHEDULE, torch.device("cpu"))


def _gan_fm():
    torch.manual_seed(0)
    m = GANFM(FMDiscriminator(0.0625), FMGenerator(0.0625), SCHEDULE, torch.device("cpu"))
    m.initialize(torch.rand(16, 3, 32, 32))
    return m


def _supervised():
    torch.manual_seed(0)
    spec = ARCHS["cifar10"]
    disc = Discriminator(spec, 0.125, spec.latent_dim, n_out=10)
    init_torch(disc)
    return Supervised(disc, spec.latent_dim, SCHEDULE, torch.device("cpu"))


@pytest.mark.parametrize("make", [_ali_k1, _gan_fm, _supervised])
def test_each_method_trains_and_classifies_deterministically(make):
    method = make()
    before = {k: [p.detach().clone() for p in m.parameters()]
              for k, m in method.state().items() if isinstance(m, torch.nn.Module)}
    logs = method.train_step(_batch(), 0)
    assert all(torch.isfinite(v) for v in logs.values()) and "loss_lab" in logs
    for name, params in before.items():
        now = list(method.state()[name].parameters())
        assert any(not torch.equal(a, b) for a, b in zip(params, now)), f"{name} did not change"
    x = torch.rand(5, 3, 32, 32)
    a, b = method.class_logits(x), method.class_logits(x)
    assert a.shape == (5, 10) and torch.equal(a, b)   # eval mode, μ(x): no sampling, no dropout


def test_ali_k1_classifies_by_d_of_x_and_the_encoder_mean():
    method = _ali_k1()
    x = torch.rand(4, 3, 32, 32)
    nets = method.nets
    nets.encoder.eval(), nets.discriminator.eval()
    with torch.no_grad():
        expected = nets.discriminator(x, nets.encoder(x)[0])
    nets.encoder.train(), nets.discriminator.train()
    assert torch.allclose(method.class_logits(x), expected)
    assert nets.encoder.training and nets.discriminator.training   # mode restored


def test_learning_rate_follows_the_schedule_during_training():
    method = _supervised()
    for step in range(4):
        method.train_step(_batch(), step)
        assert method.opt.param_groups[0]["lr"] == pytest.approx(
            linear_decay(1e-3, step, 4, 2))


def test_gan_fm_data_init_standardises_each_layer():
    torch.manual_seed(0)
    disc = FMDiscriminator(0.125).eval()
    x = torch.rand(64, 3, 32, 32) * 2 - 1
    data_init(disc, x)
    with torch.no_grad():
        first = disc.trunk[1](disc.trunk[0](x))   # dropout (eval: identity), first conv
        logits = disc(x)
    assert first.mean(dim=(0, 2, 3)).abs().max() < 1e-4
    assert torch.allclose(first.std(dim=(0, 2, 3), unbiased=False), torch.ones(first.shape[1]),
                          atol=1e-3)
    assert logits.std(dim=0, unbiased=False).mean().item() == pytest.approx(0.1, rel=1e-2)


def test_adam_eps_in_sqrt_matches_improved_gans_update():
    from alibench.methods.base import AdamEpsInSqrt
    torch.manual_seed(0)
    p = torch.nn.Parameter(torch.randn(5))
    start = p.detach().clone()
    opt = AdamEpsInSqrt([p], lr=0.1, betas=(0.5, 0.999))
    grads = [torch.randn(5) * 1e-5 for _ in range(3)]   # tiny: ε's place matters
    m, v, ref = torch.zeros(5), torch.zeros(5), start.clone()
    for t, g in enumerate(grads, 1):
        p.grad = g.clone()
        opt.step()
        m, v = 0.5 * m + 0.5 * g, 0.999 * v + 0.001 * g * g
        ref = ref - 0.1 * (m / (1 - 0.5 ** t)) / torch.sqrt(v / (1 - 0.999 ** t) + 1e-8)
    assert torch.allclose(p.detach(), ref, rtol=1e-5, atol=1e-7)
    torch_p = torch.nn.Parameter(start.clone())
    torch_opt = torch.optim.Adam([torch_p], lr=0.1, betas=(0.5, 0.999), eps=1e-8)
    for g in grads:
        torch_p.grad = g.clone()
        torch_opt.step()
    assert not torch.allclose(torch_p.detach(), ref, rtol=1e-3)   # torch puts ε outside


def test_track_schedule_uses_improved_gans_adam_by_default():
    from alibench.experiments.kplus1_track import SSLConfig
    from alibench.methods.base import AdamEpsInSqrt
    assert SSLConfig().adam_eps == "in-sqrt"
    sched = Schedule(1e-3, 0.5, 0.999, 4, 2, eps_in_sqrt=True)
    assert isinstance(sched.optimizer([torch.nn.Parameter(torch.zeros(2))], torch.device("cpu")),
                      AdamEpsInSqrt)
