"""``python -m alibench.run figures --run RUN_DIR``: redraw a run's pictures from
its directory alone: the config in run.json, the networks in checkpoint.pt and
the data loaded as the run loaded it (``context.reopen``, which ``--resume``'s
config check shares)."""

from __future__ import annotations

import json
from pathlib import Path

from ..core import registry
from ..core.errors import UserError
from ..core.files import atomic_write_text, read_jsonl
from ..core.rundir import METRICS_FILE, RunDir
from .context import reopen


def _drop_metric(run: RunDir, metric: str) -> None:
    """Remove earlier lines of ``metric`` so redrawing replaces rather than repeats them."""
    kept = [r for r in read_jsonl(run.path / METRICS_FILE) if r.get("metric") != metric]
    atomic_write_text(run.path / METRICS_FILE, "".join(json.dumps(r, sort_keys=True, default=str)
                                                      + "\n" for r in kept))


def redraw(run_dir: Path, data_dir: Path | None, device_name: str) -> RunDir:
    run = RunDir.open(run_dir)
    exp = registry.get(run.meta.get("experiment", "?"))
    if exp.pictures is None:
        raise UserError(f"{run_dir} is a '{exp.name}' run, which draws no pictures")
    if not run.checkpoint_path.exists():
        raise UserError(f"{run_dir} has no {run.checkpoint_path.name}: the run trained nothing "
                        "to draw yet")
    cfg, ctx = reopen(exp, run, data_dir, device_name)
    if ctx.data.fingerprint() != run.meta.get("dataset", {}).get("fingerprint"):
        print(f"note: the data now loaded from {cfg.data} differs from the data the run saw "
              "(its fingerprint changed); the pictures use the data as it is now")
    _drop_metric(run, "recon_mse")
    exp.pictures(cfg, ctx, None)
    return run
