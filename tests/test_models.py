"""The paper preset builds exactly PAPER.md's layer shapes.

Expected parameter counts were computed by hand from the tables
(k·k·c_in·c_out weights, 2·c for each batch norm, biases where the released
code has them):

SVHN encoder   conv 5/1/32: 3·32·25=2400 +BN 64 | 4/2/64: 32·64·16=32768 +128
               4/1/128: 131072 +256 | 4/2/256: 524288 +512 | 4/1/512: 2097152 +1024
               1/1/512: 262144 +1024 | out 1/1/512: 512·512+512=262656   → 3,315,488
SVHN decoder   tconv 4/1/256: 256·256·16=1048576 +512 | 4/2/128: 524288 +256
               4/1/64: 131072 +128 | 4/2/32: 32768 +64 | 5/1/32: 25600 +64
               conv 1/1/32: 1024 +64 | out 1/1/3: 96 + 3·32·32 biases=3168 → 1,767,584
SVHN D(x)      2400+32 | 32768+128 | 131072+256 | 524288+512 | 2097152+1024 → 2,789,632
SVHN D(z)      256·512 + 512·512 (no biases)                             →   393,216
SVHN D(x,z)    1024·1024+1024 twice, 1024+1                              → 2,100,225
CIFAR10 encoder  as SVHN with out 512·128+128=65664                      → 3,118,496
CIFAR10 decoder  as SVHN with tconv 64·256·16=262144 +512                →   981,152
CIFAR10 D(x)   as released (default): maxout halves maps, every conv an untied bias
               (maps × output positions, 32→28→13→10→4→1):
               weights 3·32·25 | 16·64·16 | 32·128·16 | 64·256·16 | 128·512·16
               = 2400+16384+65536+262144+1048576 = 1,395,040; biases 32·28·28 |
               64·13·13 | 128·10·10 | 256·4·4 | 512·1·1 = 25088+10816+12800+4096+512
               = 53,312                                                  → 1,448,352
CIFAR10 D(x)   the table's reading (d_reading="table"): a tied bias on conv1 only,
               2432+16384+65536+262144+1048576                           → 1,395,072
CIFAR10 D(z)   64·512 + 256·512                                          →   163,840
CIFAR10 D(x,z) 512·1024+1024 twice, 512+1                                → 1,051,137
"""

import pytest
import torch

from alibench.evaluation.features import encoder_features
from alibench.models import build_ali
from alibench.models.layers import count_params
from conftest import network_param_counts

EXPECTED = {
    "svhn": {"encoder": 3_315_488, "decoder": 1_767_584, "x_net": 2_789_632,
             "z_net": 393_216, "joint": 2_100_225},
    "cifar10": {"encoder": 3_118_496, "decoder": 981_152, "x_net": 1_448_352,
                "z_net": 163_840, "joint": 1_051_137},
}
CIFAR10_TABLE_READING = {**EXPECTED["cifar10"], "x_net": 1_395_072}


@pytest.mark.parametrize("arch", ["svhn", "cifar10"])
def test_parameter_counts_match_hand_computed_tables(arch):
    assert network_param_counts(build_ali(arch)) == EXPECTED[arch]


def test_cifar10_table_reading_parameter_counts():
    assert network_param_counts(build_ali("cifar10", d_reading="table")) == CIFAR10_TABLE_READING
    # the reading only concerns CIFAR10's D(x): SVHN is the same either way
    assert network_param_counts(build_ali("svhn", d_reading="table")) == EXPECTED["svhn"]


def _dropout_sites(x_net):
    """(rate, what follows it) for each dropout of a D(x) stack."""
    layers = list(x_net)
    return [(m.p, type(layers[i + 1]).__name__) for i, m in enumerate(layers)
            if isinstance(m, torch.nn.Dropout)]


def test_cifar10_released_dropout_placement():
    # released: 0.2 before conv1, 0.5 before conv2, 0.5 on conv3's pre-maxout
    # output (after its bias), 0.5 before conv5; none before conv3 or conv4
    assert _dropout_sites(build_ali("cifar10").discriminator.x_net) == [
        (0.2, "Conv2d"), (0.5, "Conv2d"), (0.5, "Maxout"), (0.5, "Conv2d")]
    assert _dropout_sites(build_ali("cifar10", d_reading="table").discriminator.x_net) == [
        (0.2, "Conv2d")] + [(0.5, "Conv2d")] * 4


def test_svhn_spatial_sizes_follow_the_table():
    nets = build_ali("svhn")
    h = torch.rand(2, 3, 32, 32)
    sizes = []
    for block in nets.encoder.blocks:
        h = block(h)
        sizes.append(h.shape[-1])
    assert sizes == [28, 13, 10, 4, 1, 1]
    z = torch.randn(2, 256, 1, 1)
    sizes = []
    for block in nets.decoder.blocks:
        z = block(z)
        sizes.append(z.shape[-1])
    assert sizes == [4, 10, 13, 28, 32, 32]


def test_feature_dimension_of_the_paper_selection():
    nets = build_ali("svhn").encoder.eval()
    x = torch.rand(3, 32, 32, 3).mul(255).byte().numpy()
    f = encoder_features(nets, x, ("mu", "bn4", "bn5", "bn6"), torch.device("cpu"))
    assert f.shape == (3, 256 + 4096 + 512 + 512)


def test_decoder_output_bias_is_mean_log_odds():
    nets = build_ali("svhn", width=0.125)
    mean = torch.full((3, 32, 32), 0.25)
    nets.decoder.init_output_bias(mean)
    with torch.no_grad():
        for p in nets.decoder.out.parameters():
            p.zero_()
        x = nets.decoder(torch.randn(4, 256, 1, 1))
    assert torch.allclose(x, torch.full_like(x, 0.25), atol=1e-6)


def test_weights_follow_the_paper_init():
    nets = build_ali("svhn")
    w = nets.encoder.blocks[4].conv.weight
    assert abs(w.std().item() - 0.01) < 5e-4 and abs(w.mean().item()) < 1e-3
    assert torch.all(nets.discriminator.joint[1].bias == 0)


@pytest.mark.parametrize("arch", ["svhn", "cifar10"])
def test_width_multiplier_shrinks_every_network(arch):
    small, full = build_ali(arch, width=0.25), build_ali(arch)
    for name in ("encoder", "decoder", "discriminator"):
        assert count_params(getattr(small, name)) < count_params(getattr(full, name)) / 4


def test_discriminator_logit_shapes_and_k_plus_one_head():
    nets = build_ali("cifar10", width=0.25, n_out=10)
    x, z = torch.rand(5, 3, 32, 32), torch.randn(5, 64, 1, 1)
    assert nets.discriminator(x, z).shape == (5, 10)


@pytest.mark.parametrize("scale", [0.0, 0.5, 1.0])
def test_dropout_scale_multiplies_every_dropout_rate_of_alis_d(scale):
    """ALITrainConfig.dropout_scale (a demo switch; the paper: 1, rate 0.2 in every
    layer of the SVHN D): every Dropout of D gets rate × scale; 0 makes D in
    training mode deterministic; Gz and Gx are untouched."""
    from alibench.experiments.ali_training import ALITrainConfig, build_nets
    nets = build_nets(ALITrainConfig(width=0.125, dropout_scale=scale), torch.device("cpu"))
    rates = [m.p for m in nets.discriminator.modules() if isinstance(m, torch.nn.Dropout)]
    assert rates and all(r == pytest.approx(0.2 * scale) for r in rates)
    x, z = torch.rand(4, 3, 32, 32), torch.randn(4, 256, 1, 1)
    nets.discriminator.train()
    same = torch.equal(nets.discriminator(x, z), nets.discriminator(x, z))
    assert same is (scale == 0.0)


def test_sigma_max_bounds_the_encoders_sigma_smoothly():
    """ALITrainConfig.sigma_max (a demo switch; the paper: 0, σ = exp of a linear
    output, unbounded): σ stays below the bound even where the raw log σ runs away
    (the demo's runs reached log σ ≈ 18), small log σ passes almost unchanged, and
    a unit above the bound still gets a gradient."""
    from alibench.experiments.ali_training import ALITrainConfig, build_nets
    enc = build_nets(ALITrainConfig(width=0.125, sigma_max=1.0), torch.device("cpu")).encoder
    raw = torch.tensor([-12.0, -1.0, 0.0, 18.0], requires_grad=True)
    bounded = enc._bounded(raw)
    assert (bounded < 0).all()
    assert bounded[0].item() == pytest.approx(-12.0, abs=1e-5)
    assert bounded[3].item() == pytest.approx(0.0, abs=1e-6)
    bounded.sum().backward()
    assert (raw.grad > 0).all()
    _, log_sigma = enc(torch.rand(3, 3, 32, 32))
    assert log_sigma.max() < 0


def test_without_sigma_max_the_encoder_returns_its_raw_log_sigma():
    from alibench.experiments.ali_training import ALITrainConfig, build_nets
    enc = build_nets(ALITrainConfig(width=0.125), torch.device("cpu")).encoder
    x = torch.rand(3, 3, 32, 32)
    enc.eval()
    _, log_sigma = enc(x)
    h = x
    for block in enc.blocks:
        h = block(h)
    assert torch.equal(log_sigma, enc.out(h).chunk(2, dim=1)[1])

