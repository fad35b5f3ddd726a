"""The public Python API: a trained ALI from a finished run directory or an
export, used without training.

    run = alibench.load_run("results/runs/svhn-svm_...", device="cpu")
    feats = run.encode(images)            # the SVM track's features, (N, D) float32
    x_hat = run.reconstruct(images)       # Gx(Gz(x)), float N×3×H×W in [0, 1]
    x = run.sample(16, seed=0)            # Gx(z), z ~ N(0, I) from the seed
    logits = load_run("results/runs/cifar10-ssl_...").classify(images)   # (K+1) track: (N, K)

Images are uint8 N×H×W×3 numpy arrays (as the datasets hold them) or float
N×3×H×W tensors in [0, 1]; bad input raises ``UserError`` with the CLI's
one-line messages. The networks run in inference mode (batch-norm population
statistics, no dropout); every random draw is seeded, and the global RNG is
never touched. Detail: docs/api.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from .core import registry
from .core.errors import UserError
from .data.dataset import check_images
from .evaluation.features import PAPER_LAYERS, encoder_features, parse_layers
from .experiments.saved import SavedModel, open_saved
from .models.ali import ALINets, ARCHS
from .reporting.figures import Pictured, to_float

__all__ = ["Run", "load_run", "list_experiments"]

BATCH = 500


def list_experiments() -> list[str]:
    """The registered experiments' names (``python -m alibench.run --help`` describes them)."""
    from . import experiments  # noqa: F401  (registers them)
    return registry.names()


def load_run(path: str | Path, device: str = "auto") -> "Run":
    """A finished run directory (run.json + checkpoint.pt) or an export
    (``python -m alibench.run export``: config.json + model.safetensors), its
    networks in inference mode on ``device`` (auto, cpu, cuda or cuda:N)."""
    return Run(open_saved(Path(path), device))


class Run:
    """A trained (conditional) ALI: ``config``, ``experiment`` (its name), ``nets``
    (encoder, decoder, discriminator, in eval mode), ``meta`` (run.json or the
    export's config.json), ``step``, ``device``."""

    def __init__(self, saved: SavedModel) -> None:
        self._saved = saved
        self.config = saved.config
        self.experiment: str = saved.experiment.name
        # None for a (K+1) run without ALI's networks (gan-fm, supervised): classify only
        self.nets: ALINets | None = getattr(saved.method, "nets", None)
        self._model = Pictured(saved.method) if self.nets is not None else None
        self.meta: dict[str, Any] = saved.meta
        self.path, self.step = saved.path, saved.step
        self.device = saved.method.device
        arch = getattr(saved.config, "arch", None)     # GAN-FM's nets take the data's size
        size = ARCHS[arch].image_size if arch else int(saved.meta.get("dataset", {}).get("image_shape")[0])
        self.image_shape = (size, size, 3)
        embedder = getattr(saved.method, "embedder", None)
        self.cond_dim = (embedder.in_features if isinstance(embedder, torch.nn.Linear)
                         else self.nets.encoder.cond_dim if self.nets is not None else 0)
        self.latent_dim = self.nets.decoder.latent_dim if self.nets is not None else 0

    def __repr__(self) -> str:
        return (f"Run({self.experiment!r}, {str(self.path)!r}, step={self.step}, "
                f"arch={getattr(self.config, 'arch', None)!r}, device={str(self.device)!r})")

    @property
    def default_layers(self) -> tuple[str, ...]:
        """The SVM track's feature layers: the run's ``feature_layers``, else the paper's."""
        text = getattr(self.config, "feature_layers", None)
        return parse_layers(text) if text else PAPER_LAYERS

    # --- inputs --------------------------------------------------------------------------
    def _images(self, images: Any, what: str = "input") -> np.ndarray | torch.Tensor:
        """uint8 N×H×W×3 numpy (kept as numpy: the SVM track's exact path) or a checked
        float N×3×H×W tensor in [0, 1] on the CPU."""
        if isinstance(images, np.ndarray):
            check_images(images, what, shape=self.image_shape)
            return np.ascontiguousarray(images)
        if not isinstance(images, torch.Tensor):
            raise UserError(f"{what}: expected a uint8 numpy array (N, {', '.join(map(str, self.image_shape))}) "
                            f"or a float tensor (N, 3, {self.image_shape[0]}, {self.image_shape[1]}) "
                            f"in [0, 1], got {type(images).__name__}")
        want = (3, *self.image_shape[:2])
        if images.dim() != 4 or tuple(images.shape[1:]) != want:
            raise UserError(f"{what}: a tensor must have shape (N, {', '.join(map(str, want))}) "
                            f"(channels first), got {tuple(images.shape)}")
        if not images.is_floating_point():
            raise UserError(f"{what}: a tensor must be float in [0, 1], got dtype {images.dtype}; "
                            "pass uint8 images as a numpy array (N, H, W, 3)")
        if len(images) == 0:
            raise UserError(f"{what}: no images")
        x = images.detach().cpu().float()
        if not torch.isfinite(x).all() or x.min() < 0 or x.max() > 1:
            raise UserError(f"{what}: values must lie in [0, 1], got {x.min().item():.3g}.."
                            f"{x.max().item():.3g}; divide uint8 pixels by 255")
        return x

    def _float(self, images: Any, what: str = "input") -> torch.Tensor:
        x = self._images(images, what)
        return to_float(x) if isinstance(x, np.ndarray) else x

    def _y(self, y: Any, n: int) -> torch.Tensor | None:
        """A conditional run's y: (n, K) float (one-hot classes or multi-hot attributes)."""
        if self.cond_dim == 0:
            if y is not None:
                raise UserError(f"this '{self.experiment}' run is not conditional; drop y")
            return None
        if y is None:
            raise UserError(f"this run is conditional: pass y, an (N, {self.cond_dim}) float array "
                            "of one-hot classes or multi-hot attributes")
        t = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y).float().cpu()
        if tuple(t.shape) != (n, self.cond_dim):
            raise UserError(f"y must have shape ({n}, {self.cond_dim}), got {tuple(t.shape)}")
        return t

    def _ali(self, what: str) -> None:
        """Refuse an ALI-only call on a run without ALI's encoder and decoder."""
        if self._model is None:
            raise UserError(f"{what} needs ALI's encoder and decoder, which a '{self.experiment}' "
                            f"run has not; it offers classify()")

    # --- the model -----------------------------------------------------------------------
    def classify(self, images: Any, batch_size: int = BATCH) -> np.ndarray:
        """(N, K) float32 class logits of a (K+1)-track run (cifar10-ssl, gan-fm,
        supervised, svhn-ssl), by the rule its test error was measured with (ALI-K1:
        D(x, μ(x)) in eval mode); ``.argmax(1)`` is the predicted class."""
        classify = getattr(self._saved.method, "class_logits", None)
        if classify is None:
            raise UserError(f"a '{self.experiment}' run has no classifier; classify() takes runs of "
                            "the (K+1) track (cifar10-ssl, gan-fm, supervised, svhn-ssl)")
        x = self._float(images)
        with torch.inference_mode():
            return torch.cat([classify(x[s:s + batch_size].to(self.device)).float().cpu()
                              for s in range(0, len(x), batch_size)]).numpy()

    def encode(self, images: Any, layers: str | Sequence[str] | None = None, y: Any = None,
               batch_size: int = BATCH) -> np.ndarray:
        """(N, D) float32 features, μ and batch-norm activations, as the SVM track
        computes them (default: its layers; e.g. ``layers="mu"`` for the code alone)."""
        self._ali("encode()")
        x = self._images(images)
        names = self.default_layers if layers is None else parse_layers(
            layers if isinstance(layers, str) else ",".join(layers))
        yy = self._y(y, len(x))
        with torch.inference_mode():
            emb = None if yy is None else self._saved.method.embed(yy.to(self.device))
            return encoder_features(self.nets.encoder, x, names, self.device, batch_size, emb)

    def reconstruct(self, images: Any, y: Any = None, seed: int = 0,
                    batch_size: int = BATCH) -> torch.Tensor:
        """Gx(Gz(x)), z drawn from q(z | x) with noise from ``seed`` (as the
        reconstructions figure); float N×3×H×W in [0, 1] on the CPU."""
        self._ali("reconstruct()")
        x = self._float(images)
        yy = self._y(y, len(x))
        gen = torch.Generator().manual_seed(seed)
        out = []
        with self._model.inference():
            for s in range(0, len(x), batch_size):
                yb = None if yy is None else yy[s:s + batch_size]
                out.append(self._model.decode(self._model.encode(x[s:s + batch_size], yb, gen), yb))
        return torch.cat(out)

    def decode(self, z: torch.Tensor, y: Any = None, batch_size: int = BATCH) -> torch.Tensor:
        """Gx(z) for codes z (N, latent_dim) or (N, latent_dim, 1, 1); float N×3×H×W in [0, 1]."""
        self._ali("decode()")
        if not isinstance(z, torch.Tensor) or z.dim() not in (2, 4) or z.shape[1] != self.latent_dim:
            raise UserError(f"z must be a tensor (N, {self.latent_dim}) or (N, {self.latent_dim}, 1, 1), "
                            f"got {tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__}")
        z = z.float().cpu().reshape(len(z), self.latent_dim, 1, 1)
        yy = self._y(y, len(z))
        with self._model.inference():
            return torch.cat([self._model.decode(z[s:s + batch_size],
                                                 None if yy is None else yy[s:s + batch_size])
                              for s in range(0, len(z), batch_size)])

    def sample(self, n: int, seed: int = 0, y: Any = None) -> torch.Tensor:
        """``n`` samples Gx(z), z ~ N(0, I) drawn from ``seed`` (the same seed, the
        same images); float n×3×H×W in [0, 1] on the CPU."""
        if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
            raise UserError(f"n must be a positive integer, got {n!r}")
        z = torch.randn(n, self.latent_dim, 1, 1, generator=torch.Generator().manual_seed(seed))
        return self.decode(z, y)

    def interpolate(self, a: Any, b: Any, steps: int = 10, seed: int = 0,
                    y: Any = None) -> torch.Tensor:
        """Per pair (a[i], b[i]): both encoded (z from q(z | x), noise from ``seed``),
        z interpolated linearly in ``steps + 1`` points, ends included, and decoded
        (the interpolations figure's ``interp_steps``); float N×(steps+1)×3×H×W."""
        self._ali("interpolate()")
        if isinstance(steps, bool) or not isinstance(steps, int) or steps <= 0:
            raise UserError(f"steps must be a positive integer, got {steps!r}")
        xa, xb = self._float(a, "a"), self._float(b, "b")
        if len(xa) != len(xb):
            raise UserError(f"a and b must hold as many images, got {len(xa)} and {len(xb)}")
        yy = self._y(y, len(xa))
        gen = torch.Generator().manual_seed(seed)
        with self._model.inference():
            za, zb = self._model.encode(xa, yy, gen).cpu(), self._model.encode(xb, yy, gen).cpu()
        path = [self.decode((1 - t) * za + t * zb, yy)
                for t in torch.linspace(0, 1, steps + 1).tolist()]
        return torch.stack(path, dim=1)
