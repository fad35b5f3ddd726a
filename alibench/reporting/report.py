"""``report.md``: one page per run linking its pictures and listing its metrics."""

from __future__ import annotations

import pandas as pd

from ..core.files import atomic_write_text
from ..core.rundir import RunDir

CAPTIONS = {
    "samples.png": "Samples Gx(z) from fixed noise z ~ N(0, I) (the same z in every run; "
                   "conditional ALI: with the y of the first validation images).",
    "reconstructions.png": "Reconstructions: odd columns (1st, 3rd, …) are validation images x, "
                           "each followed by Gx(Gz(x)), z drawn from q(z | x).",
    "interpolations.png": "Latent interpolations: per row, two validation images at the ends; "
                          "between them, Gx of z interpolated linearly between their codes.",
    "conditional.png": "Conditional generation: each row one fixed z, each column one y.",
    "curves.png": ("Training curves from train_log.jsonl: losses, D's accuracy (0.5 = fooled) "
                   "and, for a stochastic encoder, its mean log σ and fraction of σ < 0.01."),
}
METRIC_COLUMNS = ["method", "metric", "value", "n_labels", "std_over_draws", "n_draws", "best_c",
                  "feature_dim", "n_images", "encoder", "mse_of_mean_image"]


def _facts(meta: dict, log: list[dict]) -> list[str]:
    data = meta.get("dataset", {})
    hw = meta.get("hardware", {})
    rows = [("experiment", meta.get("experiment")), ("preset", meta.get("preset")),
            ("seed", meta.get("seed")),
            ("dataset", f"{data.get('description')} ({'full' if data.get('full') else 'not the full dataset'})"),
            ("hardware", hw.get("description", hw.get("device"))),
            ("steps trained", f"{log[-1]['step'] if log else 0} of {meta.get('total_steps', '?')}"),
            ("git commit", meta.get("git_commit")), ("command", f"`{meta.get('command')}`")]
    return ["| | |", "| --- | --- |"] + [f"| {k} | {v} |" for k, v in rows]


def _metrics(records: list[dict]) -> list[str]:
    if not records:
        return ["(no metrics yet)"]
    df = pd.DataFrame(records)
    cols = [c for c in METRIC_COLUMNS if c in df]
    return [df[cols].to_markdown(index=False, floatfmt=".4g")]


def _training(log: list[dict]) -> list[str]:
    if not log:
        return ["(no training log)"]
    last = log[-1]
    vals = ", ".join(f"{k} {v:.3f}" for k, v in last.items()
                     if k.startswith(("loss", "acc")) and isinstance(v, (int, float)))
    speed = last.get("steps_per_s")
    return [f"Last logged step {last['step']}: {vals}" + (f"; {speed} steps/s." if speed else ".")]


def write_report(run: RunDir, validation: str, conditions=None) -> None:
    meta, log = run.meta, run.train_log()
    lines = [f"# {meta.get('run', run.path.name)}", ""] + _facts(meta, log) + ["", "## Pictures", ""]
    lines.append(f"Validation images: {validation}. Networks in inference mode.")
    lines.append("")
    for name, caption in CAPTIONS.items():
        if (run.path / name).exists():
            lines += [f"**{name}**: {caption}", "", f"![{name}]({name})", ""]
    if conditions is not None:
        lines += ["Columns: " + "; ".join(conditions.col_labels) + ".", ""]
        if conditions.row_labels[0]:
            lines += ["Row bases (cycling): " + "; ".join(conditions.row_labels) + ".", ""]
    steps = sorted((run.path / "samples").glob("step_*.png"))
    if steps:
        links = " · ".join(f"[{p.stem[5:].lstrip('0') or '0'}](samples/{p.name})" for p in steps)
        lines += ["Samples from the same fixed noise during training, by step: " + links, ""]
    lines += ["## Metrics", ""] + _metrics(run.metrics()) + [""]
    lines += ["## Training", ""] + _training(log) + [""]
    if not meta.get("dataset", {}).get("full", True):
        lines += ["Numbers from a sample or copy of the data are not comparable with the paper's.", ""]
    atomic_write_text(run.path / "report.md", "\n".join(lines))
