"""Feature extraction for the SVM track (μ + the three last hidden layers of the
encoder, float32, inference mode): images/s."""

import pytest
import torch

from conftest import needs_full, record

from alibench.bench.train_step import random_images, sync
from alibench.train.fastpath import SWITCHES, resolve
from alibench.evaluation.features import PAPER_LAYERS, encoder_features
from alibench.core.hardware import describe
from alibench.models import build_ali


@pytest.mark.parametrize("width", [0.125, 1.0])
def test_feature_extraction(benchmark, device, width):
    needs_full(device, heavy=width >= 1)
    fast = resolve({k: "auto" for k in SWITCHES}, device)
    torch.manual_seed(0)
    encoder = build_ali("svhn", width).encoder.to(device)
    if fast.channels_last:
        encoder.to(memory_format=torch.channels_last)
    n, batch = (20000, 2000) if device.type == "cuda" else (1000, 500)
    images = random_images(n)
    encoder_features(encoder, images[:batch], PAPER_LAYERS, device, batch)      # warm-up
    feats = benchmark.pedantic(lambda: encoder_features(encoder, images, PAPER_LAYERS, device, batch),
                               setup=lambda: sync(device), rounds=3, iterations=1)
    record(benchmark, {"width": width, "images": n, "batch": batch, "feature_dim": feats.shape[1],
                       "device": str(device), "device_name": describe(device), "dtype": "float32",
                       "channels_last": fast.channels_last, "compile": False,
                       "torch_threads": torch.get_num_threads()}, images_per_round=n)
