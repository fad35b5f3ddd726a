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
    statistics, no dropout, μ rather than a sample. Always float32 (the SVM
    protocol's input); on CUDA the copies in and out overlap the compute."""
    was_training = encoder.training
    encoder.eval()
    cuda = torch.device(device).type == "cuda"
    fmt = torch.channels_last if _is_channels_last(encoder) else torch.contiguous_format
    out = None
    try:
        for start in range(0, len(images), batch_size):
            x = torch.from_numpy(images[start:start + batch_size])
            x = (x.pin_memory() if cuda else x).to(device, non_blocking=cuda)
            x = x.permute(0, 3, 1, 2).float().div_(255.0).contiguous(memory_format=fmt)
            f = encoder.features(x, layers).float()
            if out is None:
                out = torch.empty((len(images), f.shape[1]), dtype=torch.float32, pin_memory=cuda)
            out[start:start + len(f)].copy_(f, non_blocking=cuda)
        if cuda:
            torch.cuda.synchronize(device)
    finally:
        encoder.train(was_training)
    return out.numpy()


def _is_channels_last(module: torch.nn.Module) -> bool:
    weight = next((p for p in module.parameters() if p.dim() == 4), None)
    return weight is not None and weight.is_contiguous(memory_format=torch.channels_last) \
        and not weight.is_contiguous()


def pixel_features(images: np.ndarray) -> np.ndarray:
    """Raw pixels in [0, 1], flattened: the sanity baseline."""
    return images.reshape(len(images), -1).astype(np.float32) / 255.0
