"""A trained model outside training: opened from a finished run directory
(run.json + checkpoint.pt) or from an export (config.json + model.safetensors),
and written as an export. ``alibench.load_run`` and the ``export`` tool share it.

An export holds the networks only (no optimiser states, no RNG, no pickle):
``model.safetensors`` with keys ``<network>.<parameter>`` and ``config.json``
with the resolved config, the commit, the dataset (summary and fingerprint),
the run's metrics and the weights file's sha256, checked when it is loaded."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..core import checkpoint, hardware, registry
from ..core.config import from_dict, to_dict
from ..core.errors import UserError
from ..core.files import atomic_write_json
from ..core.rundir import RUN_FILE, RunDir, now
from .context import saved_config

EXPORT_FORMAT = "alibench-export"
EXPORT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


@dataclass
class SavedModel:
    """A trained method in inference mode and what its run recorded."""
    experiment: registry.Experiment
    config: Any
    meta: dict[str, Any]        # run.json, or an export's config.json
    method: Any                 # ALI or conditional ALI, networks loaded
    path: Path
    step: int
    layout: str                 # "run" or "export"

    def modules(self) -> dict[str, nn.Module]:
        return networks(self.method)


def networks(method: Any) -> dict[str, nn.Module]:
    """The method's networks (and a conditional method's embedding), not its optimisers."""
    return {k: v for k, v in method.state().items() if isinstance(v, nn.Module)}


def loadable() -> list[str]:
    return [e.name for e in registry.all_experiments() if e.model is not None]


def _experiment(name: str, path: Path) -> registry.Experiment:
    exp = registry.get(name)
    if exp.model is None:
        raise UserError(f"{path} is a '{name}' run, which cannot be loaded as a model; "
                        f"load_run and export take runs of {', '.join(loadable())}")
    return exp


def open_saved(path: Path, device_name: str = "auto") -> SavedModel:
    """The model in ``path`` (a finished run directory or an export), on the device named."""
    path = Path(path)
    if (path / CONFIG_FILE).is_file() and not (path / RUN_FILE).exists():
        return _open_export(path, hardware.resolve_device(device_name))
    return _open_run(path, hardware.resolve_device(device_name))


def _open_run(path: Path, device: torch.device) -> SavedModel:
    run = RunDir.open(path)
    meta = run.meta
    if meta.get("state") != "finished":
        raise UserError(f"{path} is not a finished run (state: {meta.get('state', 'unknown')}); "
                        f"finish it first: python -m alibench.run {meta.get('experiment', '?')} "
                        f"--resume {path}")
    exp = _experiment(meta.get("experiment", "?"), path)
    cfg = saved_config(exp, run)
    if not run.checkpoint_path.exists():
        raise UserError(f"{path} has no {run.checkpoint_path.name}: the run saved no networks")
    method = _build(exp, cfg, meta, device)
    payload = checkpoint.load(run.checkpoint_path, networks(method), map_location=device,
                              restore_rng=False)
    return _ready(SavedModel(exp, cfg, meta, method, path, int(payload["step"]), "run"))


def _build(exp: registry.Experiment, cfg: Any, meta: dict, device: torch.device) -> Any:
    """The untrained method; its random initial weights (overwritten next) must not
    move the caller's RNG."""
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        return exp.model(cfg, meta.get("dataset", {}), device)


def _ready(saved: SavedModel) -> SavedModel:
    for net in saved.modules().values():
        net.eval()
    return saved


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _open_export(path: Path, device: torch.device) -> SavedModel:
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    try:
        meta = json.loads((path / CONFIG_FILE).read_text())
    except (ValueError, OSError) as exc:
        raise UserError(f"{path / CONFIG_FILE} is unreadable ({exc}); export the run again") from exc
    if not isinstance(meta, dict) or meta.get("format") != EXPORT_FORMAT:
        raise UserError(f"{path} is neither a run directory nor an alibench export "
                        f"({CONFIG_FILE} has no \"format\": \"{EXPORT_FORMAT}\")")
    if meta.get("format_version") != EXPORT_VERSION:
        raise UserError(f"{path}: export format version {meta.get('format_version')} is not "
                        f"{EXPORT_VERSION}, which this alibench reads")
    exp = _experiment(meta.get("experiment", "?"), path)
    cfg = from_dict(exp.config_cls, meta.get("config", {}))
    cfg.validate()
    weights = path / WEIGHTS_FILE
    if not weights.is_file():
        raise UserError(f"{path} has no {WEIGHTS_FILE}; export the run again")
    if _sha256(weights) != meta.get("weights_sha256"):
        raise UserError(f"{weights} is corrupt (its sha256 does not match {CONFIG_FILE}); "
                        "export the run again")
    try:
        tensors = load_file(str(weights), device=str(device))
    except (SafetensorError, OSError) as exc:
        raise UserError(f"{weights} is unreadable ({exc}); export the run again") from exc
    method = _build(exp, cfg, meta, device)
    _load_tensors(method, tensors, weights)
    return _ready(SavedModel(exp, cfg, meta, method, path, int(meta.get("step", 0)), "export"))


def _load_tensors(method: Any, tensors: dict[str, torch.Tensor], source: Path) -> None:
    for name, net in networks(method).items():
        state = {k[len(name) + 1:]: v for k, v in tensors.items() if k.startswith(name + ".")}
        try:
            net.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            first = str(exc).splitlines()[1].strip() if len(str(exc).splitlines()) > 1 else str(exc)
            raise UserError(f"{source}: the {name}'s weights do not fit the config "
                            f"({first}); export the run again") from exc


def export(run_dir: Path, out: Path) -> Path:
    """Write ``out``/model.safetensors and config.json from a finished run; ``out``
    appears whole or not at all (written beside it, then renamed)."""
    from safetensors.torch import save_file
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"--out {out} already exists and is not an empty directory; "
                        "choose another --out")
    saved = open_saved(run_dir, "cpu")
    if saved.layout != "run":
        raise UserError(f"{run_dir} is already an export; copy it instead")
    tensors = {f"{name}.{k}": v.detach().cpu().contiguous()
               for name, net in saved.modules().items() for k, v in net.state_dict().items()}
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)   # mkdtemp's 0700 would hide a shared export
    except OSError as exc:
        raise UserError(f"cannot write under {out.parent} ({exc.strerror}); choose another --out") from exc
    try:
        save_file(tensors, str(tmp / WEIGHTS_FILE), metadata={"format": EXPORT_FORMAT})
        atomic_write_json(tmp / CONFIG_FILE, _export_meta(saved, _sha256(tmp / WEIGHTS_FILE)))
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _export_meta(saved: SavedModel, sha: str) -> dict[str, Any]:
    meta = saved.meta
    return {"format": EXPORT_FORMAT, "format_version": EXPORT_VERSION,
            "experiment": saved.experiment.name, "preset": meta.get("preset"),
            "seed": meta.get("seed"), "config": to_dict(saved.config), "step": saved.step,
            "git_commit": meta.get("git_commit"), "alibench_version": meta.get("alibench_version"),
            "dataset": meta.get("dataset", {}), "metrics": RunDir(saved.path).metrics(),
            "source_run": meta.get("run", saved.path.name), "exported_at": now(),
            "weights": WEIGHTS_FILE, "weights_sha256": sha,
            "networks": sorted(saved.modules())}
