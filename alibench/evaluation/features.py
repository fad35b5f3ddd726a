"""Features for the SVM track, computed in inference mode: ALI's encoder and
the DCGAN discriminator."""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from ..core import faults
from ..models.ali import Encoder

PAPER_LAYERS = ("mu", "bn4", "bn5", "bn6")
VALID_LAYERS = ("mu", "bn1", "bn2", "bn3", "bn4", "bn5", "bn6")


def parse_layers(text: str) -> tuple[str, ...]:
    from ..core.errors import UserError
    layers = tuple(s.strip() for s in text.split(",") if s.strip())
    bad = [s for s in layers if s not in VALID_LAYERS]
    if bad or not layers:
        raise UserError(f"feature_layers: unknown layer(s) {bad or text!r}; "
                        f"choose from {', '.join(VALID_LAYERS)}")
    return layers


@torch.inference_mode()
def encoder_features(encoder: Encoder, images: np.ndarray | torch.Tensor, layers: tuple[str, ...],
                     device: torch.device, batch_size: int = 500,
                     y: torch.Tensor | None = None) -> np.ndarray:
    """(N, D) float32 features of uint8 NHWC ``images`` (or a float N×3×H×W
    tensor in [0, 1]; ``y``: a conditional encoder's embedded y): batch-norm
    population statistics, no dropout, μ rather than a sample. Always float32
    (the SVM protocol's input); on CUDA the copies in and out overlap the compute."""
    was_training = encoder.training
    encoder.eval()
    cuda = torch.device(device).type == "cuda"
    fmt = torch.channels_last if _is_channels_last(encoder) else torch.contiguous_format
    out = None
    try:
        for start in range(0, len(images), batch_size):
            x = _model_input(images[start:start + batch_size], device, cuda).contiguous(memory_format=fmt)
            yy = None if y is None else y[start:start + batch_size].to(device)
            f = encoder.features(x, layers, yy).float()
            if out is None:
                out = torch.empty((len(images), f.shape[1]), dtype=torch.float32, pin_memory=cuda)
            out[start:start + len(f)].copy_(f, non_blocking=cuda)
            faults.point("features")
        if cuda:
            torch.cuda.synchronize(device)
    finally:
        encoder.train(was_training)
    return out.numpy()


def _model_input(batch: np.ndarray | torch.Tensor, device: torch.device, cuda: bool) -> torch.Tensor:
    """A batch as the encoder takes it: float N×3×H×W in [0, 1] on ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device).float()
    x = torch.from_numpy(batch)
    x = (x.pin_memory() if cuda else x).to(device, non_blocking=cuda)
    return x.permute(0, 3, 1, 2).float().div_(255.0)


def _is_channels_last(module: torch.nn.Module) -> bool:
    weight = next((p for p in module.parameters() if p.dim() == 4), None)
    return weight is not None and weight.is_contiguous(memory_format=torch.channels_last) \
        and not weight.is_contiguous()


def pixel_features(images: np.ndarray) -> np.ndarray:
    """Raw pixels in [0, 1], flattened: the sanity baseline."""
    return images.reshape(len(images), -1).astype(np.float32) / 255.0


# The released DCGAN analysis estimates batch-norm statistics in batches of 128.
BN_STATS_BATCH = 128


def _as_signed(images: np.ndarray, device: torch.device) -> torch.Tensor:
    x = torch.from_numpy(images).to(device).permute(0, 3, 1, 2).float()
    return x.div_(127.5).sub_(1.0)


@torch.no_grad()
def _population_bn(net: nn.Module, batches) -> nn.Module:
    """A copy of ``net`` in inference mode whose batch-norm statistics are the average
    of per-batch statistics over ``batches`` (model inputs), each layer seeing the
    previous ones normalised by their batch statistics."""
    net = copy.deepcopy(net)
    for m in net.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None   # cumulative average over the batches below
    net.train()
    for x in batches:
        net(x)
    return net.eval()


def with_population_bn(net: nn.Module, images: np.ndarray, device: torch.device) -> nn.Module:
    """``net`` with population batch-norm statistics over ``images`` (uint8 NHWC, fed in
    [−1, 1]) in batches of 128 — what the DCGAN authors' released SVHN analysis does on
    its training pool. Training-time running averages would mix real and generated batches."""
    return _population_bn(net, (_as_signed(images[s:s + BN_STATS_BATCH], device)
                                for s in range(0, len(images), BN_STATS_BATCH)))


def calibrate_encoder_bn(encoder: Encoder, images: np.ndarray, device: torch.device,
                         batch_size: int = 500) -> Encoder:
    """``encoder`` with population batch-norm statistics over ``images`` (uint8 NHWC,
    fed in [0, 1]): for an untrained encoder, whose running statistics were never
    updated, so that its features are those of the architecture and its random weights."""
    return _population_bn(encoder, (_model_input(images[s:s + batch_size], device, False)
                                    for s in range(0, len(images), batch_size)))


@torch.no_grad()
def discriminator_features(disc: nn.Module, images: np.ndarray, device: torch.device,
                           batch_size: int = 500) -> np.ndarray:
    """(N, D) float32 ``disc.features`` of uint8 NHWC ``images`` fed in [−1, 1];
    ``disc`` should be in inference mode (see ``with_population_bn``)."""
    out = []
    for s in range(0, len(images), batch_size):
        out.append(disc.features(_as_signed(images[s:s + batch_size], device)).float().cpu())
        faults.point("features")
    return torch.cat(out).numpy()
