"""The signals a GAN researcher checks first, as numbers, and a collapse verdict.

- ``sample_diversity``: the mean pairwise L2 distance between generated images
  divided by the same for as many real images (pixels in [0, 1]). 1 means
  samples spread as much as the data; a collapsed generator (one image, or one
  grey texture) is far below. It cannot see memorisation (copies of training
  images score 1), which is what the SVM and reconstruction rows are for.
- ``recon_ratio``: ``recon_mse`` / ``mse_of_mean_image``: below 1 the
  reconstructions say something about their inputs; at or above 1 they say no
  more than the mean image does.
- ``acc_d``: D's accuracy over the last logged window (0.5: fooled).

``verdict`` turns them into a warning by one stated rule (COLLAPSE_RULE), so a
report never leaves a collapsed run looking like a finished one.
``signals_from`` builds the signals of a run from its metric lines (the
``PICTURE_METRICS`` that ``reporting/figures.py`` records) and its train log.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

# The thresholds of the collapse warning; docs/pictures.md says what they mean.
MIN_DIVERSITY = 0.5       # samples spread less than half as much as real images
MAX_RECON_RATIO = 0.9     # reconstructions barely better than the mean image
MAX_ACC_D = 0.9           # D wins: the generators get almost no signal through it
COLLAPSE_RULE = (f"sample diversity < {MIN_DIVERSITY}, or recon_mse > {MAX_RECON_RATIO} × "
                 f"mse_of_mean_image, or D's final accuracy > {MAX_ACC_D}")

# The metric names (metrics.jsonl) the signals are read from.
DIVERSITY_METRIC = "sample_diversity"
ACC_D_METRIC = "acc_d_final"
RECON_METRIC = "recon_mse"


def mean_pairwise_distance(x: torch.Tensor) -> float:
    """Mean L2 distance over all distinct pairs of the rows of ``x`` (N, ...) (N ≥ 2)."""
    flat = x.reshape(len(x), -1).double()
    d = torch.cdist(flat, flat)
    n = len(flat)
    return float(d.sum() / (n * (n - 1)))


def sample_diversity(samples: torch.Tensor, real: torch.Tensor) -> float:
    """Mean pairwise distance of ``samples`` over that of ``real`` (both in [0, 1])."""
    if len(samples) < 2 or len(real) < 2:
        raise ValueError("sample_diversity needs at least 2 samples and 2 real images")
    spread = mean_pairwise_distance(real)
    return mean_pairwise_distance(samples) / spread if spread > 0 else float("nan")


def last_logged(train_log: list[dict], key: str) -> dict | None:
    """The last train-log record that has ``key`` (None: never logged)."""
    for record in reversed(train_log):
        if key in record:
            return record
    return None


def final_acc_d(train_log: list[dict]) -> float | None:
    """D's accuracy in the last logged window that has one (None: not logged)."""
    record = last_logged(train_log, "acc_d")
    return None if record is None else float(record["acc_d"])


def _finite(value: Any) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class Signals:
    acc_d: float | None
    diversity: float | None
    recon_ratio: float | None
    log_sigma_mean: float | None = None
    sigma_small_frac: float | None = None    # fraction of the encoder's σ below 0.01
    loss_d: float | None = None              # last logged
    loss_g: float | None = None
    recon_ratio_mean_code: float | None = None   # Gx(μ(x))'s error / the mean image's (not judged)

    def problems(self) -> list[str]:
        """What looks collapsed, each in words (empty: nothing)."""
        out = []
        if self.diversity is not None and math.isfinite(self.diversity) and self.diversity < MIN_DIVERSITY:
            out.append(f"samples spread {self.diversity:.2f}× as much as real images (< {MIN_DIVERSITY})")
        if self.recon_ratio is not None and self.recon_ratio > MAX_RECON_RATIO:
            out.append(f"reconstructions are {self.recon_ratio:.2f}× the mean image's error "
                       f"(> {MAX_RECON_RATIO})")
        if self.acc_d is not None and self.acc_d > MAX_ACC_D:
            out.append(f"D's final accuracy is {self.acc_d:.2f} (> {MAX_ACC_D}): D wins")
        return out

    @property
    def collapsed(self) -> bool:
        return bool(self.problems())

    def verdict(self) -> str:
        """'ok', or 'collapsed: <reasons>'."""
        problems = self.problems()
        return "collapsed: " + "; ".join(problems) if problems else "ok"


def signals_from(records: list[dict], train_log: list[dict]) -> Signals:
    """A run's signals from its metric lines (``recon_mse`` with its
    ``mse_of_mean_image``, ``sample_diversity``, ``acc_d_final``; the last line
    of each wins) and its train log (D's accuracy when no ``acc_d_final`` line,
    the losses and the encoder's σ of the last record that logs them)."""
    by_metric = {r.get("metric"): r for r in records}
    recon = by_metric.get(RECON_METRIC, {})
    mse, scale = _finite(recon.get("value")), _finite(recon.get("mse_of_mean_image"))
    mse_mu = _finite(recon.get("mean_code_mse"))
    acc = by_metric.get(ACC_D_METRIC)
    last = lambda key: _finite((last_logged(train_log, key) or {}).get(key))  # noqa: E731
    return Signals(
        acc_d=_finite(acc["value"]) if acc is not None else final_acc_d(train_log),
        diversity=_finite(by_metric.get(DIVERSITY_METRIC, {}).get("value")),
        recon_ratio=mse / scale if mse is not None and scale else None,
        log_sigma_mean=last("log_sigma_mean"), sigma_small_frac=last("sigma_small_frac"),
        loss_d=last("loss_d"), loss_g=last("loss_g"),
        recon_ratio_mean_code=mse_mu / scale if mse_mu is not None and scale else None)
