"""Drawing: image grids laid out as the paper's figures, training curves, PNG files.

Pure layout and file writing (torchvision's ``make_grid``, matplotlib's Agg
backend); what goes into the grids is decided in ``alibench.figures``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..core.files import atomic_write

PAD = 2          # pixels between cells
PAD_VALUE = 1.0  # white separators


def _pyplot():
    """matplotlib on its Agg backend: files only, never a window. Imported on first
    use, so that commands drawing nothing do not pay for it."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def grid(images: torch.Tensor, ncol: int) -> np.ndarray:
    """(N, 3, H, W) floats in [0, 1] → one (rows·(H+PAD)+PAD, ncol·(W+PAD)+PAD, 3) uint8
    image, filled row by row."""
    from torchvision.utils import make_grid

    images = images.detach().float().cpu().clamp(0, 1)
    if len(images) == 1:   # make_grid returns a lone image unpadded
        g = torch.nn.functional.pad(images[0], (PAD,) * 4, value=PAD_VALUE)
    else:
        g = make_grid(images, nrow=ncol, padding=PAD, pad_value=PAD_VALUE)
    return g.mul(255).round().to(torch.uint8).permute(1, 2, 0).numpy()


def cell(image: np.ndarray, row: int, col: int, size: tuple[int, int]) -> np.ndarray:
    """The (H, W, 3) cell at 0-based ``row``, ``col`` of an image made by ``grid``."""
    h, w = size
    top, left = PAD + row * (h + PAD), PAD + col * (w + PAD)
    return image[top:top + h, left:left + w]


def reconstruction_grid(x: torch.Tensor, x_hat: torch.Tensor, pairs_per_row: int) -> np.ndarray:
    """The paper's reconstruction figure: odd columns (1st, 3rd, … counting from 1)
    the originals, each followed in the next column by its reconstruction."""
    both = torch.stack([x, x_hat], dim=1).flatten(0, 1)   # x0, x̂0, x1, x̂1, …
    return grid(both, 2 * pairs_per_row)


def interpolation_grid(x_from: torch.Tensor, x_to: torch.Tensor,
                       between: torch.Tensor) -> np.ndarray:
    """One row per pair: the first image, the decoded path (``between`` is
    (pairs, steps, 3, H, W)), the second image — the released script's layout."""
    rows = torch.cat([x_from[:, None], between, x_to[:, None]], dim=1)
    return grid(rows.flatten(0, 1), rows.shape[1])


def save_png(path: Path, image: np.ndarray) -> None:
    """Write an (H, W, 3) uint8 image as a PNG, atomically."""
    atomic_write(path, lambda f: _pyplot().imsave(f, image, format="png"), mode="wb")


def save_curves(path: Path, log: list[dict], title: str = "") -> None:
    """Losses and the discriminator's accuracy against the step, from train_log.jsonl;
    and, where the log has them, the encoder's mean log σ and fraction of σ < 0.01."""
    steps = [r["step"] for r in log]
    losses = sorted({k for r in log for k in r if k.startswith("loss")})
    accs = sorted({k for r in log for k in r if k.startswith("acc")})
    has_sigma = any("log_sigma_mean" in r for r in log)
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3 if has_sigma else 2, figsize=(15 if has_sigma else 10, 3.6),
                             constrained_layout=True)
    ax_l, ax_a = axes[0], axes[1]
    for key in losses:
        ax_l.plot(steps, [r.get(key, np.nan) for r in log], label=key)
    ax_l.set(xlabel="step", ylabel="loss", title="losses")
    for key in accs:
        ax_a.plot(steps, [r.get(key, np.nan) for r in log], label=key)
    ax_a.axhline(0.5, color="grey", linestyle="--", linewidth=1, label="chance (0.5)")
    ax_a.set(xlabel="step", ylabel="accuracy", title="discriminator accuracy", ylim=(0, 1.02))
    if has_sigma:
        _sigma_panel(axes[2], steps, log)
    _finish(plt, fig, axes, title, path)


def _sigma_panel(ax, steps: list[int], log: list[dict]) -> None:
    """The encoder's mean log σ (left axis) and fraction of codes with σ < 0.01
    (right axis): a stochastic encoder turning deterministic shows as the first
    falling and the second rising towards 1."""
    ax.plot(steps, [r.get("log_sigma_mean", np.nan) for r in log], color="C0", label="log_sigma_mean")
    ax.set(xlabel="step", ylabel="mean log σ", title="encoder σ")
    right = ax.twinx()
    right.plot(steps, [r.get("sigma_small_frac", np.nan) for r in log], color="C3",
               linestyle="--", label="sigma_small_frac (σ < 0.01)")
    right.set(ylabel="fraction σ < 0.01", ylim=(-0.02, 1.02))
    right.legend(fontsize=8, loc="lower right")


def save_labelled_grid(path: Path, image: np.ndarray, size: tuple[int, int],
                       col_labels: list[str], row_labels: list[str]) -> None:
    """A grid with a caption above every column and beside every row (conditional figure)."""
    h, w = size
    plt = _pyplot()
    inches = max(1.0, 48 / h)   # small images drawn larger, so the captions fit
    fig, ax = plt.subplots(figsize=(image.shape[1] * inches / 100, image.shape[0] * inches / 100),
                           dpi=100)
    ax.imshow(image, interpolation="nearest")
    ax.set_xticks([PAD + c * (w + PAD) + w / 2 for c in range(len(col_labels))])
    ax.set_xticklabels(col_labels, rotation=60, ha="left", fontsize=7)
    ax.xaxis.tick_top()
    ax.set_yticks([PAD + r * (h + PAD) + h / 2 for r in range(len(row_labels))])
    ax.set_yticklabels(row_labels, fontsize=7)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    atomic_write(path, lambda f: fig.savefig(f, format="png", bbox_inches="tight"), mode="wb")
    plt.close(fig)


def save_checkpoint_curve(path: Path, rows: list[dict], title: str = "") -> None:
    """The ``curve`` tool's figure, one point per evaluated checkpoint: the SVM test
    error of the encoder's features (the raw-pixels error as a horizontal line),
    the reconstruction ratio and sample diversity, and D's accuracy, against the step."""
    steps = [r["step"] for r in rows]

    def col(key: str) -> list[float]:
        return [r.get(key, np.nan) for r in rows]

    plt = _pyplot()
    fig, (ax_e, ax_s, ax_d) = plt.subplots(1, 3, figsize=(15, 3.8), constrained_layout=True)
    ax_e.plot(steps, col("ali_test_error_pct"), marker="o", label="encoder features")
    raw = next((r["raw_pixels_test_error_pct"] for r in rows), None)
    if raw is not None:
        ax_e.axhline(raw, color="grey", linestyle="--", linewidth=1, label=f"raw pixels ({raw:.2f} %)")
    ax_e.set(xlabel="step", ylabel="test error (%)", title="L2-SVM test error")
    ax_s.plot(steps, col("recon_ratio"), marker="o", label="recon_mse / mse_of_mean_image")
    if any(v is not None and np.isfinite(v) for v in col("mean_code_ratio")):
        mean_code = [np.nan if v is None else v for v in col("mean_code_ratio")]
        ax_s.plot(steps, mean_code, marker="^", label="the same from the mean code Gx(μ(x))")
    ax_s.plot(steps, col("sample_diversity"), marker="s", label="sample diversity")
    ax_s.axhline(1.0, color="grey", linestyle="--", linewidth=1, label="1")
    ax_s.set(xlabel="step", ylabel="ratio", title="reconstruction and diversity")
    ax_d.plot(steps, col("acc_d"), marker="o", label="acc_d (train log)")
    ax_d.axhline(0.5, color="grey", linestyle="--", linewidth=1, label="chance (0.5)")
    ax_d.set(xlabel="step", ylabel="accuracy", title="discriminator accuracy", ylim=(0, 1.02))
    _finish(plt, fig, (ax_e, ax_s, ax_d), title, path)


def _finish(plt, fig, axes, title: str, path: Path) -> None:
    """Grid and legend on every panel, the title, then the PNG written atomically."""
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100), mode="wb")
    plt.close(fig)
