"""The untrained-encoder control row (experiments/svhn_svm.py, evaluation/features.py)."""

import numpy as np
import torch

from alibench.evaluation.features import calibrate_encoder_bn, encoder_features
from alibench.models import build_ali


def _images(n=64, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)


def test_bn_statistics_come_from_the_images():
    torch.manual_seed(0)
    enc = build_ali("svhn", 0.125).encoder
    images = _images()
    cal = calibrate_encoder_bn(enc, images, torch.device("cpu"), batch_size=len(images))
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    first = enc.blocks[0].conv(x)
    bn = next(m for m in cal.modules() if isinstance(m, torch.nn.BatchNorm2d))
    torch.testing.assert_close(bn.running_mean, first.mean(dim=(0, 2, 3)), rtol=1e-4, atol=1e-5)
    assert not cal.training
    # the original is untouched: its running statistics are still the defaults
    orig = next(m for m in enc.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert torch.equal(orig.running_mean, torch.zeros_like(orig.running_mean))


def test_calibrated_features_are_not_the_uncalibrated_ones():
    torch.manual_seed(0)
    enc = build_ali("svhn", 0.125).encoder
    images = _images()
    layers = ("mu", "bn4")
    raw = encoder_features(enc, images, layers, torch.device("cpu"))
    cal = encoder_features(calibrate_encoder_bn(enc, images, torch.device("cpu")), images, layers,
                           torch.device("cpu"))
    assert raw.shape == cal.shape and not np.allclose(raw, cal)
    # with its statistics from these images, bn4's features are standardised over them
    bn4 = cal[:, enc.latent_dim:]
    assert abs(bn4.mean()) < 0.2 and 0.5 < bn4.std() < 1.5
