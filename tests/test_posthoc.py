"""The inference baselines of the SVHN SVM track: gan-inverse, gan-posthoc, bigan."""

import pytest
import torch

from alibench.core.config import build_config
from alibench.core.errors import UserError
from alibench.experiments.svm_inference import (
    TWO_PHASE_PRESETS,
    BiganConfig,
    TwoPhaseConfig,
    check_two_phase,
)
from alibench.experiments.svhn_svm import PRESETS
from alibench.data.sources import load_dataset
from alibench.methods.posthoc import GANPhase, InverseMapping, PostHoc
from alibench.models import build_ali
from alibench.models.ali import ALINets, build_gan_discriminator

DEV = torch.device("cpu")


def _flat(module):
    return torch.cat([p.detach().flatten().clone() for p in module.parameters()])


def _method(kind):
    torch.manual_seed(0)
    nets = build_ali("svhn", width=0.0625, latent_dim=8)
    disc = build_gan_discriminator("svhn", width=0.0625)
    gan = GANPhase(nets.decoder, disc, 1e-3, 0.5, 0.999, DEV)
    if kind is InverseMapping:
        nets = ALINets(nets.encoder, nets.decoder, disc)
    return kind(nets, gan, 2, 1e-3, 0.5, 0.999, DEV)


@pytest.mark.parametrize("kind", [InverseMapping, PostHoc])
def test_gan_phase_then_inference_against_the_frozen_decoder(kind):
    m = _method(kind)
    x = torch.rand(6, 3, 32, 32)
    enc, dec, gan_d = _flat(m.nets.encoder), _flat(m.nets.decoder), _flat(m.gan.disc)
    for step in range(2):                         # the GAN phase
        logs = m.train_step(x, step)
    assert set(logs) == {"loss_gan_d", "loss_gan_g", "acc_gan_d"}
    assert not torch.equal(dec, _flat(m.nets.decoder)) and not torch.equal(gan_d, _flat(m.gan.disc))
    assert torch.equal(enc, _flat(m.nets.encoder))  # no inference learned yet
    dec, gan_d = _flat(m.nets.decoder), _flat(m.gan.disc)
    joint = _flat(m.nets.discriminator)
    for step in range(2, 4):                      # the inference phase
        logs = m.train_step(x, step)
    assert torch.equal(dec, _flat(m.nets.decoder))   # frozen: weights and BN statistics
    assert not m.nets.decoder.training
    assert torch.equal(gan_d, _flat(m.gan.disc))
    assert not torch.equal(enc, _flat(m.nets.encoder))
    if kind is PostHoc:
        assert {"loss_d", "loss_g", "acc_d", "log_sigma_mean"} <= set(logs)
        assert not torch.equal(joint, _flat(m.nets.discriminator))
    else:
        assert set(logs) == {"loss_inverse"} and torch.isfinite(logs["loss_inverse"])


def test_inverse_loss_is_the_squared_code_error():
    m = _method(InverseMapping)
    m.gan_steps = 0
    torch.manual_seed(1)
    z = torch.randn(4, 8, 1, 1)
    m.nets.decoder.eval().requires_grad_(False)
    with torch.no_grad():
        expected = (z - m.nets.encoder(m.nets.decoder(z))[0]).pow(2).sum(dim=(1, 2, 3)).mean()
    batch = torch.rand(4, 3, 32, 32)   # only its size is used
    torch.manual_seed(1)
    assert torch.isclose(m.train_step(batch, 0)["loss_inverse"], expected, rtol=1e-5)


def test_bigan_refuses_a_stochastic_encoder():
    assert not build_config(BiganConfig, PRESETS, "demo", []).stochastic_encoder
    with pytest.raises(UserError, match="bigan's encoder is deterministic"):
        build_config(BiganConfig, PRESETS, "demo", ["stochastic_encoder=true"])


@pytest.mark.parametrize("key", ["d_lr_scale=0.5", "augment=color", "augment_data=translation",
                                 "lr_decay_steps=100"])
def test_two_phase_refuses_the_ali_game_keys_it_would_ignore(key):
    """Neither phase takes them: refused, not silently trained without."""
    with pytest.raises(UserError, match=f"do not take {key.split('=')[0]}; leave it at the default"):
        build_config(TwoPhaseConfig, TWO_PHASE_PRESETS, "demo", [key])


def test_two_phase_refusals(shared_data):
    with pytest.raises(UserError, match="train eagerly; set compile=auto"):
        build_config(TwoPhaseConfig, TWO_PHASE_PRESETS, "demo", ["compile=on"])
    cfg = build_config(TwoPhaseConfig, TWO_PHASE_PRESETS, "demo", ["log_every=7"])
    data = load_dataset("sample:svhn", shared_data, with_extra=True)
    with pytest.raises(UserError, match="GAN phase \\(600 steps\\) must end on a logging step"):
        check_two_phase(cfg, data)
