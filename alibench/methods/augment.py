"""Differentiable augmentation of D's image inputs (a demo deviation, never in `paper`).

Zhao, Liu, Lin, Zhu, Han, "Differentiable Augmentation for Data-Efficient GAN
Training" (NeurIPS 2020): the same random transformation family is applied to
every image D sees, real and generated alike, and the generator is trained
through it. On a 981-image training set D otherwise memorises the real images
within a few hundred steps (docs/demo.md). For ALI, D sees (T(x), Gz(x)) and
(T(Gx(z)), z): both joint laws pushed through the same T, so they still match
exactly when q(x, z) = p(x, z) -- but D can no longer check that z carries what T
randomises, so it cannot ask the encoder for it (docs/demo.md, point 6). The
``data_policy`` of ``methods.ali`` (config ``augment_data``) applies the same parts
to the real images before the encoder instead: data augmentation, every pair consistent.

Images here are in [0, 1] (the paper's scaling); the reference code works in
[−1, 1], so its brightness range ±0.5 is ±0.25 here.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

POLICIES = ("color", "translation", "cutout")


def parse_policy(text: str, key: str = "augment") -> tuple[str, ...]:
    """'color,translation' → ('color', 'translation'); '' → () (off). ``key``: the
    config key the text came from, for the error message."""
    parts = tuple(p.strip() for p in text.split(",") if p.strip())
    bad = [p for p in parts if p not in POLICIES]
    if bad:
        from ..core.errors import UserError
        raise UserError(f"{key}: unknown part {bad[0]!r}; use a comma list of "
                        f"{', '.join(POLICIES)}, or '' for none")
    return parts


def augment(x: torch.Tensor, policy: tuple[str, ...]) -> torch.Tensor:
    """``x`` (N, C, H, W) through each part of ``policy``, a fresh draw per image."""
    for part in policy:
        x = _OPS[part](x)
    return x


def _color(x: torch.Tensor) -> torch.Tensor:
    n = x.shape[0]
    rand = lambda: torch.rand(n, 1, 1, 1, device=x.device, dtype=x.dtype)  # noqa: E731
    x = x + (rand() - 0.5) * 0.5                                  # brightness ±0.25
    mean_c = x.mean(dim=1, keepdim=True)
    x = (x - mean_c) * (rand() * 2) + mean_c                      # saturation × [0, 2]
    mean_all = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean_all) * (rand() + 0.5) + mean_all             # contrast × [0.5, 1.5]


def _translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Shift by up to ``ratio`` of the size in each direction, zeros shifted in."""
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sh, sh + 1, (n, 1, 1), device=x.device)
    dx = torch.randint(-sw, sw + 1, (n, 1, 1), device=x.device)
    gy, gx = torch.meshgrid(torch.arange(h, device=x.device), torch.arange(w, device=x.device),
                            indexing="ij")
    gy = (gy.unsqueeze(0) + dy).clamp(-1, h)                      # -1 and h index the padding
    gx = (gx.unsqueeze(0) + dx).clamp(-1, w)
    padded = F.pad(x, (1, 1, 1, 1))
    idx = ((gy + 1) * (w + 2) + (gx + 1)).flatten(1)              # (N, H*W) into the padded plane
    flat = padded.flatten(2)                                      # (N, C, (H+2)(W+2))
    out = flat.gather(2, idx.unsqueeze(1).expand(-1, x.shape[1], -1))
    return out.view_as(x)


def _cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Zero one square of ``ratio`` of the size per image, anywhere on it."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device)
    cx = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device)
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    top, left = cy - ch // 2, cx - cw // 2
    inside = (ys >= top) & (ys < top + ch) & (xs >= left) & (xs < left + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


_OPS = {"color": _color, "translation": _translation, "cutout": _cutout}
