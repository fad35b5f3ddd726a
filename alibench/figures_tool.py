"""``python -m alibench.run figures --run RUN_DIR``: redraw a run's pictures from
its directory alone: the config in run.json, the networks in checkpoint.pt and
the data loaded as the run loaded it."""

from __future__ import annotations

import json
from pathlib import Path

from . import hardware, registry
from .config import from_dict
from .data import load_dataset
from .errors import UserError
from .experiments.common import RunContext
from .fsutil import atomic_write_text, read_jsonl
from .rundir import METRICS_FILE, Run
from .runner import SPLITS_DIR


def _drop_metric(run: Run, metric: str) -> None:
    """Remove earlier lines of ``metric`` so redrawing replaces rather than repeats them."""
    kept = [r for r in read_jsonl(run.path / METRICS_FILE) if r.get("metric") != metric]
    atomic_write_text(run.path / METRICS_FILE, "".join(json.dumps(r, sort_keys=True, default=str)
                                                      + "\n" for r in kept))


def redraw(run_dir: Path, data_dir: Path | None, device_name: str) -> Run:
    run = Run.open(run_dir)
    meta = run.meta
    exp = registry.get(meta.get("experiment", "?"))
    if exp.pictures is None:
        raise UserError(f"{run_dir} is a '{exp.name}' run, which draws no pictures")
    if not run.checkpoint_path.exists():
        raise UserError(f"{run_dir} has no {run.checkpoint_path.name}: the run trained nothing "
                        "to draw yet")
    cfg = from_dict(exp.config_cls, meta["config"])
    cfg.validate()
    device = hardware.resolve_device(device_name)
    data_dir = data_dir or (Path(meta["data_dir"]) if meta.get("data_dir") else None)
    data = load_dataset(cfg.data, data_dir, False,
                        with_extra="extra" in getattr(cfg, "unlabeled", ""))
    if data.fingerprint() != meta.get("dataset", {}).get("fingerprint"):
        print(f"note: the data now loaded from {cfg.data} differs from the data the run saw "
              "(its fingerprint changed); the pictures use the data as it is now")
    ctx = RunContext(exp.name, run, data, device, int(meta["seed"]), meta["preset"],
                     hardware.describe(device), run.path.parent / SPLITS_DIR,
                     paper_dataset=exp.paper_dataset)
    _drop_metric(run, "recon_mse")
    exp.pictures(cfg, ctx, None)
    return run
