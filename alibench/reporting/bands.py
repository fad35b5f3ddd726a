"""Regression bands: what error a configuration is expected to give, derived
from real runs, and the check that compares new runs with them.

A band covers one (experiment, method, dataset, n_labels, metric). Its centre
is the mean over at least ``min_seeds`` seeds of finished runs; its half-width
is ``k`` sample standard deviations of the per-seed values, never less than
``floor`` points. A check fails when a band's observed mean over seeds falls
outside it (worse: a regression; better: an unexplained change, which should
be confirmed by refreshing the bands on purpose), and when a band has no
matching runs at all: a check that silently checks nothing must fail.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..core import hardware
from ..core.errors import UserError
from ..core.rundir import find_runs
from .tables import load_records

KEY = ["experiment", "method", "dataset", "n_labels", "metric"]


@dataclass
class Band:
    experiment: str
    method: str
    dataset: str
    n_labels: int
    metric: str
    mean: float
    deviation: float
    n_seeds: int
    seeds: list[int]
    per_seed: list[float]
    commands: list[str] = field(default_factory=list)
    preset: str = ""
    hardware: str = ""

    @property
    def low(self) -> float:
        return self.mean - self.deviation

    @property
    def high(self) -> float:
        return self.mean + self.deviation

    def key(self) -> tuple:
        return (self.experiment, self.method, self.dataset, int(self.n_labels), self.metric)


def _records(paths: list[Path]) -> tuple[pd.DataFrame, int]:
    frames, skipped = [], 0
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise UserError(f"{path} does not exist; pass run directories or folders that hold them")
        if not find_runs(path):
            raise UserError(f"{path} holds no run directories (no run.json below it)")
        df, n = load_records(path)
        frames.append(df)
        skipped += n
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return (df.drop_duplicates(subset=["run", "method", "metric", "n_labels"]) if not df.empty else df), skipped


def _commands(paths: list[Path]) -> dict[str, str]:
    out = {}
    for path in paths:
        for run in find_runs(path):
            meta = run.meta
            out[meta.get("run", run.path.name)] = meta.get("command", "")
    return out


def derive(paths: list[Path], metrics: tuple[str, ...] = ("test_error_pct",), k: float = 3.0,
           floor: float = 1.0, min_seeds: int = 5) -> dict:
    """Bands for every group of finished runs under ``paths``."""
    df, _ = _records(paths)
    if df.empty:
        raise UserError("no finished runs found to derive bands from")
    df = df[df["metric"].isin(metrics)]
    commands = _commands(paths)
    bands = []
    for key, g in df.groupby(KEY, sort=True):
        per_seed = g.groupby("seed")["value"].mean()
        if len(per_seed) < min_seeds:
            raise UserError(f"{'/'.join(map(str, key))}: only {len(per_seed)} seed(s); bands need at "
                            f"least {min_seeds} (run more seeds or lower --min-seeds)")
        std = float(per_seed.std(ddof=1))
        bands.append(Band(*key[:3], int(key[3]), key[4], mean=float(per_seed.mean()),
                          deviation=max(k * std, floor), n_seeds=len(per_seed),
                          seeds=[int(s) for s in per_seed.index], per_seed=[float(v) for v in per_seed],
                          commands=sorted({commands.get(r, "") for r in g["run"]}),
                          preset=",".join(sorted(set(g["preset"]))),
                          hardware=",".join(sorted(set(g["hardware"])))))
    return {"rule": f"mean ± max({k} × std over seeds, {floor})", "k": k, "floor": floor,
            "min_seeds": min_seeds, "commit": hardware.git_commit(),
            "bands": [asdict(b) for b in bands]}


def load(path: Path) -> list[Band]:
    try:
        data = json.loads(Path(path).read_text())
        bands = [Band(**b) for b in data["bands"]]
    except FileNotFoundError:
        raise UserError(f"bands file {path} does not exist; create it with: "
                        "python -m alibench.run bands RUN_DIRS... > results/bands/ci.json") from None
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise UserError(f"bands file {path} is not a valid bands file ({type(exc).__name__}: {exc})") from None
    if not bands:
        raise UserError(f"bands file {path} holds no bands")
    return bands


def check(bands: list[Band], paths: list[Path]) -> tuple[pd.DataFrame, bool]:
    """(observed-vs-band table, whether every band passed)."""
    df, _ = _records(paths)
    rows, ok = [], True
    for band in bands:
        obs = df
        for col, val in zip(KEY, band.key()):
            obs = obs[obs[col] == val] if not obs.empty and col in obs else obs.iloc[0:0]
        per_seed = obs.groupby("seed")["value"].mean() if not obs.empty else pd.Series(dtype=float)
        if per_seed.empty:
            status, mean = "MISSING (no runs)", np.nan
        else:
            mean = float(per_seed.mean())
            status = ("ok" if band.low <= mean <= band.high else
                      "REGRESSION" if mean > band.high else "BETTER than band")
        ok &= status == "ok"
        rows.append({"experiment": band.experiment, "method": band.method, "dataset": band.dataset,
                     "labels": band.n_labels, "metric": band.metric,
                     "observed": "—" if per_seed.empty else f"{mean:.2f}",
                     "seeds (n)": f"{','.join(map(str, per_seed.index))} ({len(per_seed)})",
                     "band": f"{band.mean:.2f} ± {band.deviation:.2f}", "status": status})
    return pd.DataFrame(rows), ok
