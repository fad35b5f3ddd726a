"""Sample quality, offline: FID, KID and the Inception score through
torch-fidelity (its ``inception-v3-compat`` feature extractor), from an
Inception weights file the user supplies. Nothing is ever downloaded: without
a file the metrics are skipped with a one-line note saying how to enable them.

The file is checked by sha256 before use (``inception_sha256``: the full hash
or a prefix of at least 8 hex digits; the default is the prefix torch-fidelity's
own download URL names, ``weights-inception-2015-12-05-6726825d.pth``, as torch
hub names files), and loaded once with ``weights_only=True`` so that a file
holding anything but tensors is refused (torch-fidelity itself unpickles it).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..core.errors import UserError

OFFICIAL_SHA256_PREFIX = "6726825d"   # torch-fidelity's weights-inception-2015-12-05-6726825d.pth
METRICS = ("fid", "kid", "isc")
FID_MIN_IMAGES = 2048     # below the feature dimension the covariances are singular: KID then
FEATURE_EXTRACTOR = "inception-v3-compat"
ENABLE_NOTE = ("FID/KID/IS not computed: pass --set inception_weights=PATH (torch-fidelity's "
               "Inception file weights-inception-2015-12-05-6726825d.pth, obtained by you; "
               "never downloaded) and pip install 'alibench[fidelity]'")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def parse_metrics(text: str) -> tuple[str, ...]:
    """'auto' or a comma list of fid, kid, isc."""
    if text == "auto":
        return ("auto",)
    names = tuple(s.strip() for s in text.split(",") if s.strip())
    bad = [n for n in names if n not in METRICS]
    if bad or not names:
        raise UserError(f"fidelity_metrics: unknown metric(s) {bad or text!r}; "
                        f"use auto or a comma list of {', '.join(METRICS)}")
    return names


def check_settings(weights: str, expected_sha: str, metrics: str) -> str:
    """Refuse unusable settings before a run starts; the file's full sha256 ('' when off)."""
    parse_metrics(metrics)
    # checked even without a weights file: a bad value is refused wherever it is set
    if not re.fullmatch(r"[0-9a-f]{8,64}", expected_sha):
        raise UserError(f"inception_sha256 must be 8 to 64 lower-case hex digits, got {expected_sha!r}")
    if not weights:
        return ""
    try:
        import torch_fidelity  # noqa: F401
    except ImportError:
        raise UserError("inception_weights needs torch-fidelity: pip install 'alibench[fidelity]'") from None
    path = Path(weights).expanduser()
    if not path.is_file():
        raise UserError(f"inception_weights {path} does not exist; give the path of a local "
                        "Inception weights file (nothing is downloaded)")
    digest = sha256(path)
    if not digest.startswith(expected_sha):
        raise UserError(f"inception_weights {path}: sha256 {digest[:16]}… does not match "
                        f"inception_sha256={expected_sha}; use the right file, or set "
                        "inception_sha256 to the file's own hash if you mean this one")
    return digest


@dataclass
class QualityResult:
    values: dict[str, float]     # fid, kid, kid_std, isc, isc_std (those computed)
    n_real: int
    n_generated: int
    metrics: tuple[str, ...]
    kid_subset_size: int
    sha256: str


def choose_metrics(requested: str, n_real: int, n_generated: int) -> tuple[str, ...]:
    """'auto': KID and IS, with FID too once both sets reach FID_MIN_IMAGES."""
    names = parse_metrics(requested)
    if names != ("auto",):
        return names
    return ("fid", "kid", "isc") if min(n_real, n_generated) >= FID_MIN_IMAGES else ("kid", "isc")


class _Images(torch.utils.data.Dataset):
    """uint8 N×H×W×3 images as torch-fidelity takes them: uint8 3×H×W tensors."""

    def __init__(self, images: np.ndarray) -> None:
        self.x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.x[i].contiguous()


def _check_tensors_only(path: Path) -> None:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, ...
        raise UserError(f"inception_weights {path} is not a plain state dict of tensors "
                        f"({type(exc).__name__}); use torch-fidelity's Inception file") from exc
    if not isinstance(state, dict) or "fc.weight" not in state:
        raise UserError(f"inception_weights {path} is not an Inception v3 state dict (no fc.weight)")


def sample_quality(generated: np.ndarray, real: np.ndarray, weights: str, expected_sha: str,
                   metrics: str = "auto", device: torch.device | str = "cpu",
                   batch_size: int = 64) -> QualityResult:
    """FID/KID/IS of uint8 NHWC ``generated`` against ``real`` (the reference);
    IS is of the generated images alone."""
    import torch_fidelity
    digest = check_settings(weights, expected_sha, metrics)
    if not digest:
        raise UserError(ENABLE_NOTE)
    _check_tensors_only(Path(weights).expanduser())
    names = choose_metrics(metrics, len(real), len(generated))
    if min(len(real), len(generated)) < 2:
        raise UserError("sample quality needs at least 2 real and 2 generated images")
    subset = min(1000, len(real), len(generated))
    out = torch_fidelity.calculate_metrics(
        input1=_Images(generated), input2=_Images(real), cuda=torch.device(device).type == "cuda",
        batch_size=batch_size, fid="fid" in names, kid="kid" in names, isc="isc" in names,
        feature_extractor=FEATURE_EXTRACTOR,
        feature_extractor_weights_path=str(Path(weights).expanduser()),
        kid_subset_size=subset, isc_splits=min(10, len(generated)), cache=False, verbose=False,
        samples_shuffle=False, save_cpu_ram=True)   # save_cpu_ram: no loader worker processes
    keys = {"fid": "frechet_inception_distance", "kid": "kernel_inception_distance_mean",
            "kid_std": "kernel_inception_distance_std", "isc": "inception_score_mean",
            "isc_std": "inception_score_std"}
    values = {k: float(out[v]) for k, v in keys.items() if v in out}
    return QualityResult(values, len(real), len(generated), names, subset, digest)
