"""Encoder features for the SVM track, computed in inference mode."""

from __future__ import annotations

import numpy as np
import torch

from .models.ali import Encoder

PAPER_LAYERS = ("mu", "bn4", "bn5", "bn6")
VALID_LAYERS = ("mu", "bn1", "bn2", "bn3", "bn4", "bn5", "bn6")


def parse_layers(text: str) -> tuple[str, ...]:
    from .errors import UserError
    layers = tuple(s.strip() for s in text.split(",") if s.strip())
    bad = [s for s in layers if s not in VALID_LAYERS]
    if bad or not layers:
        raise UserError(f"feature_layers: unknown layer(s) {bad or text!r}; "
                        f"choose from {', '.join(VALID_LAYERS)}")
    return layers


@torch.inference_mode()
def encoder_features(encoder: Encoder, images: np.ndarray, layers: tuple[str, ...],
                     device: torch.device, batch_size: int = 500) -> np.ndarray:
    """(N, D) float32 features of uint8 NHWC ``images``: batch-norm population
    statistics, no dropout, μ rather than a sample."""
    was_training = encoder.training
    encoder.eval()
    out = []
    try:
        for start in range(0, len(images), batch_size):
            x = torch.from_numpy(images[start:start + batch_size]).to(device)
            x = x.permute(0, 3, 1, 2).float().div_(255.0)
            out.append(encoder.features(x, layers).float().cpu())
    finally:
        encoder.train(was_training)
    return torch.cat(out).numpy()


def pixel_features(images: np.ndarray) -> np.ndarray:
    """Raw pixels in [0, 1], flattened: the sanity baseline."""
    return images.reshape(len(images), -1).astype(np.float32) / 255.0
