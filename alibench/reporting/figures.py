"""A trained ALI's pictures, as the paper shows them, written into its run directory.

- ``samples.png``: Gx(z) for a fixed z (the same noise for every run and step;
  conditional ALI: with the y of the first validation images);
- ``reconstructions.png``: odd columns (1st, 3rd, …) validation images x, even
  columns Gx(Gz(x)), z drawn from q(z | x) as the released ``scripts/reconstruct``;
- ``interpolations.png``: per row, two validation images encoded, z interpolated
  linearly in ``interp_steps + 1`` points (ends included) and decoded, the two
  originals at the ends (the released ``scripts/interpolate`` layout);
- ``conditional.png`` (conditional ALI): each row a fixed z, each column a y;
- ``curves.png``: losses and D's accuracy from train_log.jsonl;
- ``samples/step_XXXXXX.png`` during training (``sample_every``);
- the metric ``recon_mse`` (mean squared pixel error in [0, 1] over the whole
  validation split; beside it, for scale, ``mse_of_mean_image``: the error of
  putting the mean validation image in place of every image) in
  metrics.jsonl, and ``report.md``;
- the training signals (evaluation/training_signals.py) in metrics.jsonl:
  ``sample_diversity`` (samples from the fixed noise against as many
  validation images) and ``acc_d_final`` (D's accuracy in the last logged
  window), judged with recon_mse in report.md's "Training signals" section; a
  run that looks collapsed also says so on stderr.

Validation images are the part of the training split the experiment holds out
(never the test set). Networks run in inference mode (batch-norm population
statistics); every random draw is seeded, so the pictures of one checkpoint are
the same each time they are drawn, and the training RNG is left untouched.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from ..core import checkpoint, faults
from ..core.errors import UserError
from ..core.rundir import RunDir
from ..data.conditioning import FigureConditions, figure_grid_conditions
from ..evaluation import sample_quality
from ..evaluation.training_signals import (
    ACC_D_METRIC,
    COLLAPSE_RULE,
    DIVERSITY_METRIC,
    RECON_METRIC,
    last_logged,
    sample_diversity,
    signals_from,
)
from ..models.ali import sample_code
from ..train.loop import Callback
from . import grids
from .report import write_report

NOISE_SEED = 1606_00704   # the arXiv number: any constant, the same for every run
ENCODE_SEED = 0
SAMPLES_DIR = "samples"
DIVERSITY_IMAGES = 500    # at most this many samples (and validation images) for sample_diversity
# The metric lines write_figures records besides FID/KID/IS (the figures tool replaces them).
PICTURE_METRICS = (RECON_METRIC, DIVERSITY_METRIC, ACC_D_METRIC)
DIVERSITY_MEASURE = "mean pairwise L2 distance of samples / of real validation images, pixels in [0,1]"
ACC_D_MEASURE = "D's accuracy over the last logged training window (0.5: fooled)"


@dataclass
class FigureConfig:
    """What the pictures show; mixed into every ALI experiment's config."""
    figures: bool = True     # write the pictures, recon_mse, the training signals and report.md at the end
    sample_every: int = 5000  # a sample grid from the fixed noise every N steps (0 = off)
    grid_rows: int = 10
    grid_cols: int = 10
    interp_pairs: int = 10
    interp_steps: int = 10
    # FID/KID/IS with the pictures (evaluation/sample_quality.py): a local Inception
    # weights file, never downloaded ('' = off), and the sha256 (or prefix) it must have
    inception_weights: str = ""
    inception_sha256: str = sample_quality.OFFICIAL_SHA256_PREFIX
    fidelity_metrics: str = "auto"    # auto: KID and IS, FID too from 2048 images; or e.g. fid,kid
    fidelity_samples: int = 0         # generated images; 0: as many as the validation images

    def validate_figures(self) -> None:
        for key in ("grid_rows", "grid_cols", "interp_pairs", "interp_steps"):
            if getattr(self, key) <= 0:
                raise UserError(f"{key} must be positive, got {getattr(self, key)}")
        if self.sample_every < 0:
            raise UserError(f"sample_every must be >= 0 (0 = off), got {self.sample_every}")
        if self.fidelity_samples < 0:
            raise UserError(f"fidelity_samples must be >= 0 (0 = as many as the validation "
                            f"images), got {self.fidelity_samples}")
        sample_quality.parse_metrics(self.fidelity_metrics)


def check_fidelity(cfg: FigureConfig) -> None:
    """The Inception file exists and has its sha256 (before a run directory is made;
    not in ``validate_figures``, which a saved config also passes after the file moved)."""
    sample_quality.check_settings(cfg.inception_weights, cfg.inception_sha256, cfg.fidelity_metrics)


@dataclass
class Validation:
    """The held-out training images the pictures are drawn from."""
    x: np.ndarray                 # uint8 NHWC
    y: np.ndarray | None          # (N, K) float32 conditioning vectors, or None
    source: str                   # where they come from, for the report
    conditions: FigureConditions | None = None


class Pictured:
    """What the pictures need from a trained (conditional) ALI method."""

    def __init__(self, method: Any) -> None:
        self.nets = method.nets
        self.device = method.device
        self.stochastic = getattr(method, "stochastic_encoder", True)
        self.embed = getattr(method, "embed", None)
        self.latent_dim = self.nets.decoder.latent_dim

    @contextmanager
    def inference(self):
        nets = (self.nets.encoder, self.nets.decoder)
        modes = [n.training for n in nets]
        try:
            for n in nets:
                n.eval()
            with torch.no_grad():
                yield self
        finally:
            for n, mode in zip(nets, modes):
                n.train(mode)

    def _y(self, y: torch.Tensor | None) -> torch.Tensor | None:
        if y is None:
            return None
        y = y.to(self.device)
        return self.embed(y) if self.embed is not None else y

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.nets.decoder(z.to(self.device), self._y(y)).float().cpu()

    def encode(self, x: torch.Tensor, y: torch.Tensor | None, gen: torch.Generator) -> torch.Tensor:
        """z ~ q(z | x): μ + σ ε with ε from ``gen`` (μ alone for a deterministic encoder)."""
        return self.codes(x, y, gen)[0]

    def codes(self, x: torch.Tensor, y: torch.Tensor | None,
              gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(z ~ q(z | x), μ(x)) from one pass of the encoder."""
        mu, log_sigma = self.nets.encoder(x.to(self.device), self._y(y))
        z = sample_code(mu, log_sigma, self.stochastic,
                        lambda like: torch.randn(like.shape, generator=gen).to(like.device, like.dtype))
        return z, mu


def fixed_noise(n: int, latent_dim: int) -> torch.Tensor:
    return torch.randn(n, latent_dim, 1, 1, generator=torch.Generator().manual_seed(NOISE_SEED))


def to_float(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2).float().div(255)


def _cond(y: np.ndarray | None, n: int) -> torch.Tensor | None:
    """The first ``n`` conditioning vectors, cycled if there are fewer."""
    return None if y is None else torch.from_numpy(y[np.arange(n) % len(y)])


def sample_callbacks(run: RunDir, method: Any, cfg: FigureConfig, y: np.ndarray | None = None,
                     mirror: Any = None) -> tuple[Callback, ...]:
    """Save samples/step_XXXXXX.png from the fixed noise every ``sample_every`` steps
    (and into the TensorBoard ``mirror`` as the image 'samples', if given)."""
    if cfg.sample_every <= 0:
        return ()
    model, n = Pictured(method), cfg.grid_rows * cfg.grid_cols
    z, yy = fixed_noise(n, model.latent_dim), _cond(y, n)

    def draw(step: int) -> None:
        with model.inference():
            images = model.decode(z, yy)
        picture = grids.grid(images, cfg.grid_cols)
        grids.save_png(run.path / SAMPLES_DIR / f"step_{step:06d}.png", picture)
        if mirror is not None:
            mirror.image("samples", step, picture)

    return (Callback(cfg.sample_every, draw),)


def restore(run: RunDir, method: Any, device: torch.device) -> int:
    """Load the run's checkpoint into ``method``; the step it was saved at."""
    if not run.checkpoint_path.exists():
        raise UserError(f"{run.path} has no {run.checkpoint_path.name}: the run trained nothing "
                        "to draw yet")
    return int(checkpoint.load(run.checkpoint_path, method.state(), map_location=device)["step"])


def _reconstruct(model: Pictured, x: torch.Tensor, y: torch.Tensor | None,
                 gen: torch.Generator) -> torch.Tensor:
    return model.decode(model.encode(x, y, gen), y)


def recon_mse(model: Pictured, val: Validation, batch_size: int = 500) -> tuple[float, float]:
    """Mean squared error between validation images and Gx(Gz(x)), pixels in [0, 1];
    and, for scale, that of the mean validation image put in place of every x."""
    mse, spread, _ = recon_errors(model, val, batch_size)
    return mse, spread


def recon_errors(model: Pictured, val: Validation, batch_size: int = 500) -> tuple[float, float, float | None]:
    """``recon_mse``'s two numbers, and the error of Gx(μ(x)), the mean code's
    reconstruction (None for a deterministic encoder, whose z is μ): far below
    the sampled error when q(z | x) is broad, the codes know x but its noise hides it."""
    gen, total, spread, total_mu = torch.Generator().manual_seed(ENCODE_SEED), 0.0, 0.0, 0.0
    mean = torch.from_numpy(val.x.mean(axis=0, dtype=np.float64)).permute(2, 0, 1).float() / 255
    for start in range(0, len(val.x), batch_size):
        x = to_float(val.x[start:start + batch_size])
        y = None if val.y is None else torch.from_numpy(val.y[start:start + batch_size])
        z, mu = model.codes(x, y, gen)
        total += (model.decode(z, y) - x).pow(2).sum().item()
        spread += (x - mean).pow(2).sum().item()
        if model.stochastic:
            total_mu += (model.decode(mu, y) - x).pow(2).sum().item()
    return total / val.x.size, spread / val.x.size, total_mu / val.x.size if model.stochastic else None


def _draw_samples(model: Pictured, val: Validation, cfg: FigureConfig) -> np.ndarray:
    n = cfg.grid_rows * cfg.grid_cols
    y = _cond(val.y, n)     # conditional: real attribute/class combinations of validation images
    z = fixed_noise(n, model.latent_dim)
    return grids.grid(model.decode(z, y), cfg.grid_cols)


def _draw_reconstructions(model: Pictured, val: Validation, cfg: FigureConfig) -> np.ndarray:
    n = min(len(val.x), cfg.grid_rows * cfg.grid_cols)
    x, y = to_float(val.x[:n]), None if val.y is None else torch.from_numpy(val.y[:n])
    x_hat = _reconstruct(model, x, y, torch.Generator().manual_seed(ENCODE_SEED))
    return grids.reconstruction_grid(x, x_hat, min(cfg.grid_cols, n))


def _draw_interpolations(model: Pictured, val: Validation, cfg: FigureConfig) -> np.ndarray:
    pairs = max(1, min(cfg.interp_pairs, len(val.x) // 2))
    gen = torch.Generator().manual_seed(ENCODE_SEED)
    ends = []
    for part in (slice(0, pairs), slice(pairs, 2 * pairs)):
        x = to_float(val.x[part])
        y = None if val.y is None else torch.from_numpy(val.y[part])
        ends.append((x, y, model.encode(x, y, gen)))
    (x_a, y_a, z_a), (x_b, y_b, z_b) = ends
    path = []
    for t in torch.linspace(0, 1, cfg.interp_steps + 1).tolist():
        y_t = None if y_a is None else (1 - t) * y_a + t * y_b
        path.append(model.decode((1 - t) * z_a + t * z_b, y_t))
    return grids.interpolation_grid(x_a, x_b, torch.stack(path, dim=1))


def _draw_conditional(model: Pictured, val: Validation, cfg: FigureConfig, path) -> None:
    y, row_labels = figure_grid_conditions(val.conditions, cfg.grid_rows)
    n_cols = len(val.conditions.columns)
    z = fixed_noise(cfg.grid_rows, model.latent_dim).repeat_interleave(n_cols, dim=0)
    images = model.decode(z, torch.from_numpy(y))
    grids.save_labelled_grid(path, grids.grid(images, n_cols), tuple(images.shape[-2:]),
                             val.conditions.col_labels, row_labels)


def write_figures(ctx: Any, method: Any, val: Validation, cfg: FigureConfig, method_name: str,
                  n_labels: int = 0, batch_size: int = 500) -> list[dict]:
    """Every picture, the recon_mse and training-signal metrics and report.md;
    returns the metric records (and warns on stderr when the run looks collapsed)."""
    if len(val.x) < 2:
        raise UserError("the pictures need at least 2 validation images")
    model, out = Pictured(method), ctx.run_dir.path
    devices = [method.device] if method.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), model.inference():
        grids.save_png(out / "samples.png", _draw_samples(model, val, cfg))
        faults.point("picture")
        grids.save_png(out / "reconstructions.png", _draw_reconstructions(model, val, cfg))
        faults.point("picture")
        grids.save_png(out / "interpolations.png", _draw_interpolations(model, val, cfg))
        faults.point("picture")
        if val.conditions is not None:
            _draw_conditional(model, val, cfg, out / "conditional.png")
            faults.point("picture")
        mse, mse_mean_image, mse_mean_code = recon_errors(model, val, batch_size)
        n_div = min(len(val.x), DIVERSITY_IMAGES)
        diversity = sample_diversity(_fixed_samples(model, val, n_div, batch_size), to_float(val.x[:n_div]))
        generated = _fidelity_samples(model, val, cfg, batch_size) if cfg.inception_weights else None
    rec = ctx.record(method_name, RECON_METRIC, mse, n_labels, n_images=len(val.x),
                     encoder="sample" if model.stochastic else "mean", pixel_range="[0, 1]",
                     mse_of_mean_image=mse_mean_image,
                     **({} if mse_mean_code is None else {"mean_code_mse": mse_mean_code}))
    log = ctx.run_dir.train_log()
    records = [rec] + _game_records(ctx, method_name, n_labels, diversity, n_div, log)
    records += fidelity_records(ctx, generated, val, cfg, method_name, n_labels, method.device)
    _conclude(ctx, val, records, log)
    return records


def write_generator_figures(ctx: Any, generate: Callable[[int], torch.Tensor], val: Validation,
                            cfg: FigureConfig, method_name: str, n_labels: int = 0,
                            device: torch.device | None = None) -> list[dict]:
    """The same for a GAN without an encoder (GAN-FM): samples.png, curves.png,
    sample_diversity, acc_d_final (no reconstructions, no recon_mse) and report.md.
    ``generate(n)``: the first ``n`` samples from the method's fixed noise, float
    N×C×H×W in [0, 1], networks in inference mode, the RNG untouched."""
    if len(val.x) < 2:
        raise UserError("the pictures need at least 2 validation images")
    n_grid, n_div = cfg.grid_rows * cfg.grid_cols, min(len(val.x), DIVERSITY_IMAGES)
    grids.save_png(ctx.run_dir.path / "samples.png", grids.grid(generate(n_grid), cfg.grid_cols))
    faults.point("picture")
    diversity = sample_diversity(generate(n_div), to_float(val.x[:n_div]))
    generated = _to_uint8(generate(cfg.fidelity_samples or len(val.x))) if cfg.inception_weights else None
    log = ctx.run_dir.train_log()
    records = _game_records(ctx, method_name, n_labels, diversity, n_div, log)
    records += fidelity_records(ctx, generated, val, cfg, method_name, n_labels,
                                device or torch.device("cpu"))
    _conclude(ctx, val, records, log)
    return records


def signed_generator_samples(generator: torch.nn.Module, z: torch.Tensor, device: torch.device,
                             batch_size: int = 500) -> torch.Tensor:
    """A [−1, 1] generator's images for the codes ``z`` (fixed noise), in inference
    mode, as float N×3×H×W in [0, 1] on the CPU (GAN-FM's and DCGAN's pictures)."""
    mode = generator.training
    try:
        generator.eval()
        with torch.no_grad():
            x = torch.cat([generator(z[s:s + batch_size].to(device)).float().cpu()
                           for s in range(0, len(z), batch_size)])
    finally:
        generator.train(mode)
    return x.add(1).div(2).clamp(0, 1)


def write_training_report(ctx: Any, validation: str) -> None:
    """curves.png and report.md of a method that trains no generator (the
    supervised floor): its report says the GAN signals do not apply."""
    _save_curves(ctx, ctx.run_dir.train_log())
    write_report(ctx.run_dir, validation, game=False)


def _save_curves(ctx: Any, log: list[dict]) -> None:
    if log:
        grids.save_curves(ctx.run_dir.path / "curves.png", log, title=ctx.run_dir.path.name)


def _game_records(ctx: Any, method_name: str, n_labels: int, diversity: float, n_div: int,
                  log: list[dict]) -> list[dict]:
    """The sample_diversity line and, if D's accuracy was logged, the acc_d_final line."""
    records = [ctx.record(method_name, DIVERSITY_METRIC, diversity, n_labels, n_samples=n_div,
                          n_real=n_div, measure=DIVERSITY_MEASURE)]
    acc = last_logged(log, "acc_d")
    if acc is not None:
        records.append(ctx.record(method_name, ACC_D_METRIC, float(acc["acc_d"]), n_labels,
                                  step=acc.get("step"), measure=ACC_D_MEASURE))
    return records


def _conclude(ctx: Any, val: Validation, records: list[dict], log: list[dict]) -> None:
    """curves.png, report.md and, if the signals say so, the collapse warning."""
    _save_curves(ctx, log)
    write_report(ctx.run_dir, val.source, val.conditions)
    warn_if_collapsed(ctx.run_dir.path.name, records, log)


def warn_if_collapsed(run_name: str, records: list[dict], log: list[dict]) -> bool:
    """One line on stderr, 'warning: ...', if the signals say the run looks collapsed."""
    signals = signals_from(records, log)
    if signals.collapsed:
        print(f"warning: run {run_name} looks collapsed: {'; '.join(signals.problems())} "
              f"(rule: {COLLAPSE_RULE}; see its report.md)", file=sys.stderr)
    return signals.collapsed


FIDELITY_METRICS = {"fid": "fid", "kid": "kid", "isc": "inception_score"}   # metric names recorded


def _fixed_samples(model: Pictured, val: Validation, n: int, batch_size: int) -> torch.Tensor:
    """Gx(z) for the first ``n`` of the fixed noise (the samples grid's are the first),
    y cycled from the validation images' for a conditional run: float N×C×H×W in [0, 1]."""
    z, y = fixed_noise(n, model.latent_dim), _cond(val.y, n)
    parts = [model.decode(z[s:s + batch_size], None if y is None else y[s:s + batch_size])
             for s in range(0, n, batch_size)]
    return torch.cat(parts).clamp(0, 1)


def _fidelity_samples(model: Pictured, val: Validation, cfg: FigureConfig, batch_size: int) -> np.ndarray:
    """uint8 NHWC samples from the fixed noise for FID/KID/IS."""
    return _to_uint8(_fixed_samples(model, val, cfg.fidelity_samples or len(val.x), batch_size))


def _to_uint8(x: torch.Tensor) -> np.ndarray:
    """Float N×C×H×W in [0, 1] as uint8 NHWC, as the Inception metrics take images."""
    return x.mul(255).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def fidelity_records(ctx: Any, generated: np.ndarray | None, val: Validation, cfg: FigureConfig,
                     method_name: str, n_labels: int, device: torch.device) -> list[dict]:
    """FID/KID/IS of the samples against the validation images, or a note how to enable them."""
    if generated is None:
        print(f"note: {sample_quality.ENABLE_NOTE}")
        return []
    res = sample_quality.sample_quality(generated, val.x, cfg.inception_weights, cfg.inception_sha256,
                                        cfg.fidelity_metrics, device)
    common = {"n_real": res.n_real, "n_generated": res.n_generated, "reference": val.source,
              "reference_split": "validation", "feature_extractor": sample_quality.FEATURE_EXTRACTOR,
              "inception_sha256": res.sha256,
              "inception_official": res.sha256.startswith(sample_quality.OFFICIAL_SHA256_PREFIX)}
    records = []
    for key in res.metrics:
        extra = dict(common)
        if key == "kid":
            extra.update(std_over_subsets=res.values["kid_std"], kid_subset_size=res.kid_subset_size)
        if key == "isc":
            extra.update(std_over_splits=res.values["isc_std"])
        records.append(ctx.record(method_name, FIDELITY_METRICS[key], res.values[key], n_labels, **extra))
    return records
