"""Tables from run directories: finished runs only, mean ± std over seeds,
the paper's number beside each row."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.rundir import find_runs
from . import paper

GROUP = ["paper_dataset", "experiment", "method", "dataset", "preset", "hardware", "n_labels"]
FORMATS = ("markdown", "csv", "latex")


def scan(root: Path) -> tuple[pd.DataFrame, Counter]:
    """All metric lines of finished runs under ``root``, and the runs skipped,
    counted by state ("unreadable" for a damaged run.json or metrics file)."""
    rows, skipped = [], Counter()
    for run in find_runs(root):
        try:
            state = run.meta.get("state")
            metrics = run.metrics() if state == "finished" else []
        except (OSError, ValueError, AttributeError):
            state = "unreadable"
        if state != "finished":
            skipped[state or "unknown"] += 1
            continue
        rows += metrics
    return pd.DataFrame(rows), skipped


def load_records(root: Path) -> tuple[pd.DataFrame, int]:
    """All metric lines of finished runs under ``root``, and how many runs were skipped."""
    records, skipped = scan(root)
    return records, sum(skipped.values())


def describe_skipped(skipped: Counter) -> str:
    """'3 runs (1 failed, 2 running)'."""
    n = sum(skipped.values())
    detail = ", ".join(f"{count} {state}" for state, count in sorted(skipped.items()))
    return f"{n} run{'s' if n != 1 else ''} ({detail})"


def summarize(records: pd.DataFrame, metric: str = "test_error_pct") -> pd.DataFrame:
    """One row per (table, experiment, method, dataset, preset, hardware, labels)."""
    if records.empty or "metric" not in records:
        return pd.DataFrame()
    df = records[records["metric"] == metric].copy()
    if df.empty:
        return pd.DataFrame()
    for col in GROUP:
        if col not in df:
            df[col] = ""
    if "std_over_draws" not in df:
        df["std_over_draws"] = np.nan
    g = df.groupby(GROUP, dropna=False, sort=True)
    out = g.agg(mean=("value", "mean"), std=("value", lambda v: v.std(ddof=1) if len(v) > 1 else np.nan),
                n_seeds=("seed", "nunique"), seeds=("seed", lambda s: ",".join(map(str, sorted(set(s))))),
                draw_std=("std_over_draws", "mean")).reset_index()
    out["paper"] = [paper.format_result(paper.nearest(d, m, int(n)), int(n))
                    for d, m, n in zip(out["paper_dataset"], out["method"], out["n_labels"])]
    return out


def _cell(mean: float, std: float, n: int) -> str:
    if n > 1 and np.isfinite(std):
        return f"{mean:.2f} ± {std:.2f}"
    return f"{mean:.2f}"


def display(summary: pd.DataFrame) -> pd.DataFrame:
    """The human table: ours (mean ± std over seeds, n), spread over label draws, paper."""
    if summary.empty:
        return summary
    return pd.DataFrame({
        "method": summary["method"],
        "dataset": summary["dataset"],
        "preset": summary["preset"],
        "labels": summary["n_labels"].astype(int),
        "test error % (ours, mean ± std over seeds)": [
            _cell(m, s, n) for m, s, n in zip(summary["mean"], summary["std"], summary["n_seeds"])],
        "seeds (n)": [f"{s} ({n})" for s, n in zip(summary["seeds"], summary["n_seeds"])],
        "std over label draws": [f"{v:.2f}" if np.isfinite(v) else "—" for v in summary["draw_std"]],
        "paper (full data)": summary["paper"],
        "hardware": summary["hardware"],
    })


def render(df: pd.DataFrame, fmt: str = "markdown") -> str:
    if df.empty:
        return "(no finished runs)"
    if fmt == "markdown":
        return df.to_markdown(index=False)
    if fmt == "csv":
        return df.to_csv(index=False)
    if fmt == "latex":
        return df.to_latex(index=False)
    raise ValueError(fmt)
