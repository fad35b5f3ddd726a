"""``report.md`` of a toy-mixture run: its facts, the figure, every method's
measures side by side and each phase's last training line (losses, D's
accuracy, speed); a collapsed method is named."""

from __future__ import annotations

import pandas as pd

from ..core.files import atomic_write_text
from ..core.rundir import RunDir
from .report import _facts

SHOWN = ("modes_covered", "high_quality_pct", "recon_mode_acc_pct", "latent_mmd", "acc_d",
         "sample_std", "recon_mse", "mse_of_mean", "encoder_sigma")


def _measures(records: list[dict]) -> list[str]:
    if not records:
        return ["(no metrics yet)"]
    df = pd.DataFrame(records)
    table = df.pivot_table(index="method", columns="metric", values="value", aggfunc="last", sort=False)
    cols = [c for c in SHOWN if c in table] + [c for c in table if c not in SHOWN]
    return [table[cols].reset_index().to_markdown(index=False, floatfmt=".4g")]


def _phase_lines(phases: dict[str, list[dict]]) -> list[str]:
    lines = []
    for method, log in phases.items():
        if not log:
            lines.append(f"- {method}: no training log")
            continue
        last = log[-1]
        vals = ", ".join(f"{k} {v:.3f}" for k, v in last.items()
                         if k.startswith(("loss", "acc")) and isinstance(v, (int, float)))
        lines.append(f"- {method}: step {last['step']}: {vals}; {last.get('steps_per_s')} steps/s")
    return lines


def write_mixture_report(run: RunDir, phases: dict[str, list[dict]], figure: str | None) -> None:
    meta, records = run.meta, run.metrics()
    steps = {m: (log[-1]["step"] if log else 0) for m, log in phases.items()}
    lines = [f"# {meta.get('run', run.path.name)}", ""] + _facts(meta, [])[:-3]
    lines += [f"| steps trained | {', '.join(f'{m} {s}' for m, s in steps.items())} |",
              f"| hyperparameters | {meta.get('hyper')} |", f"| git commit | {meta.get('git_commit')} |",
              f"| command | `{meta.get('command')}` |", ""]
    if figure:
        lines += ["## Figure", "", "Rows: held-out x by component, codes Gz(x), reconstructions, "
                  "prior z, samples Gx(z); columns: ALI, inverse mapping, post-hoc inference, VAE.",
                  "", f"![{figure}]({figure})", ""]
    collapsed = sorted({r["method"] for r in records if r.get("collapsed")})
    lines += ["## Measures", ""] + _measures(records) + [""]
    if collapsed:
        lines += [f"Collapsed (samples in one mode): {', '.join(collapsed)}.", ""]
    lines += ["## Training", ""] + _phase_lines(phases) + [""]
    atomic_write_text(run.path / "report.md", "\n".join(lines))
