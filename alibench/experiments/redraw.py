"""``python -m alibench.run figures --run RUN_DIR``: redraw a run's pictures from
its directory alone: the config in run.json, the networks in checkpoint.pt and
the data loaded as the run loaded it (``context.reopen``, which ``--resume``'s
config check shares)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from ..core import registry
from ..core.errors import UserError
from ..core.files import atomic_write_text, read_jsonl
from ..core.config import parse_overrides
from ..core.rundir import METRICS_FILE, RunDir
from ..reporting.figures import FIDELITY_METRICS, PICTURE_METRICS, FigureConfig, check_fidelity
from .context import reopen


def _drop_metrics(run: RunDir, metrics: set[str]) -> None:
    """Remove earlier lines of ``metrics`` so redrawing replaces rather than repeats them."""
    kept = [r for r in read_jsonl(run.path / METRICS_FILE) if r.get("metric") not in metrics]
    atomic_write_text(run.path / METRICS_FILE, "".join(json.dumps(r, sort_keys=True, default=str)
                                                      + "\n" for r in kept))


def redraw(run_dir: Path, data_dir: Path | None, device_name: str,
           overrides: tuple[str, ...] = ()) -> RunDir:
    """``overrides``: --set of the picture keys only (``FigureConfig``: the grid, the
    Inception file for FID/KID/IS, …); the networks' and data's keys stay the run's."""
    run = RunDir.open(run_dir)
    exp = registry.get(run.meta.get("experiment", "?"))
    if exp.pictures is None:
        raise UserError(f"{run_dir} is a '{exp.name}' run, which draws no pictures")
    if not run.checkpoint_path.exists():
        raise UserError(f"{run_dir} has no {run.checkpoint_path.name}: the run trained nothing "
                        "to draw yet")
    figure_keys = parse_overrides(FigureConfig, list(overrides))
    cfg, ctx = reopen(exp, run, data_dir, device_name)
    cfg = replace(cfg, **figure_keys)
    cfg.validate()
    check_fidelity(cfg)
    if ctx.data.fingerprint() != run.meta.get("dataset", {}).get("fingerprint"):
        print(f"note: the data now loaded from {cfg.data} differs from the data the run saw "
              "(its fingerprint changed); the pictures use the data as it is now")
    _drop_metrics(run, {*PICTURE_METRICS, *FIDELITY_METRICS.values()})
    exp.pictures(cfg, ctx, None)
    return run
