"""The paper's 2-D mixture figure: 5 rows × 4 columns.

Rows: held-out x coloured by component; their codes Gz(x); reconstructions
Gx(Gz(x)) (both coloured as their x); prior samples z; samples Gx(z).
Columns: (a) ALI, (b) inverse mapping from GAN samples, (c) post-hoc learned
inference, (d) VAE. Axes: x ∈ [−6, 6], z ∈ [−4, 4] (the released
``scripts/generate_mixture_plots``). A column whose method did not run says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

from ..core.files import atomic_write
from .grids import _pyplot

COLUMNS = (("ali", "(a) ALI"), ("gan-inverse", "(b) Inv. mapping\nfrom GAN samples"),
           ("gan-posthoc", "(c) Post-hoc\nlearned inference"), ("vae", "(d) VAE"))
ROWS = (("x", "Test set examples", "x"), ("codes", "Latent codes", "z"),
        ("recon", "Reconstructions", "x"), ("prior", "Prior samples", "z"),
        ("samples", "Generator samples", "x"))
LIMITS = {"x": 6.0, "z": 4.0}
CMAP = "jet"
MARKER_SIZE = 3.0


def mixture_figure(arrays: Mapping[str, Mapping[str, np.ndarray]], x_held: np.ndarray,
                   y_held: np.ndarray, n_components: int = 25, title: str = ""):
    """``arrays[method]`` holds codes, recon, prior and samples (``evaluation.mixture``)."""
    plt = _pyplot()
    fig, axes = plt.subplots(len(ROWS), len(COLUMNS), figsize=(3.2 * len(COLUMNS), 3.0 * len(ROWS)),
                             squeeze=False)
    for c, (method, col_title) in enumerate(COLUMNS):
        got = arrays.get(method)
        for r, (key, row_title, space) in enumerate(ROWS):
            ax = axes[r, c]
            _frame(ax, space)
            if r == 0:
                ax.set_title(col_title, fontsize=11)
            if c == 0:
                ax.annotate(row_title, xy=(-0.32, 0.5), xycoords="axes fraction", rotation=90,
                            va="center", ha="center", fontsize=11)
            if got is None and key != "x":
                ax.text(0.5, 0.5, "not run", transform=ax.transAxes, ha="center", va="center",
                        color="grey")
                continue
            data = x_held if key == "x" else got[key]
            if key in ("x", "codes", "recon"):   # coloured by x's mixture component
                style = {"c": y_held, "cmap": CMAP, "vmin": 0, "vmax": n_components - 1, "alpha": 0.5}
            else:
                style = {"c": "black", "alpha": 0.3}
            ax.scatter(data[:, 0], data[:, 1], s=MARKER_SIZE, marker=".", linewidths=0, **style)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def _frame(ax, space: str) -> None:
    lim = LIMITS[space]
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ticks = np.arange(-lim, lim + 1e-9, 2.0)
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.set_xlabel(f"${space}_1$")
    ax.set_ylabel(f"${space}_2$")
    ax.tick_params(labelsize=7)


def write_mixture_figure(path: Path, arrays, x_held: np.ndarray, y_held: np.ndarray,
                         n_components: int = 25, title: str = "") -> Path:
    plt = _pyplot()
    fig = mixture_figure(arrays, x_held, y_held, n_components, title)
    try:
        atomic_write(Path(path), lambda f: fig.savefig(f, format="png", dpi=110), mode="wb")
    finally:
        plt.close(fig)
    return Path(path)
