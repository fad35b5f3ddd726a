"""``report.md``: one page per run linking its pictures and listing its metrics."""

from __future__ import annotations

import pandas as pd

from ..core.files import atomic_write_text
from ..core.rundir import RunDir
from ..evaluation.training_signals import (
    COLLAPSE_RULE,
    MAX_ACC_D,
    MAX_RECON_RATIO,
    MIN_DIVERSITY,
    Signals,
    signals_from,
)

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
                  "feature_dim", "n_images", "encoder", "mse_of_mean_image", "mean_code_mse"]


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
    # the last training record (a validation line may come after it)
    last = next((r for r in reversed(log) if any(k.startswith("loss") for k in r)), log[-1])
    vals = ", ".join(f"{k} {v:.3f}" for k, v in last.items()
                     if k.startswith(("loss", "acc", "err")) and isinstance(v, (int, float)))
    speed = last.get("steps_per_s")
    return [f"Last logged step {last['step']}: {vals}" + (f"; {speed} steps/s." if speed else ".")]


def _num(value: float | None, fmt: str = ".3f") -> str:
    return "—" if value is None else format(value, fmt)


def _signals(signals: Signals) -> list[str]:
    """The table of the signals checked first, and the verdict by COLLAPSE_RULE."""
    s = signals
    losses = "—" if s.loss_d is None and s.loss_g is None else f"{_num(s.loss_d)} / {_num(s.loss_g)}"
    rows = [("D's final accuracy (last logged window)", _num(s.acc_d),
             f"0.5: D is fooled; 1.0: D wins (flagged above {MAX_ACC_D})"),
            ("loss_d / loss_g (last logged)", losses,
             "ALI's losses are both 2 ln 2 ≈ 1.386 while D is fooled; loss_d → 0 as D wins "
             "(a (K+1) D's loss_d adds the labelled cross-entropy loss_lab; GAN-FM's loss_g "
             "is feature matching)")]
    if s.log_sigma_mean is not None or s.sigma_small_frac is not None:
        rows += [("encoder: mean log σ (last logged)", _num(s.log_sigma_mean),
                  "log σ of q(z | x), averaged over codes and batch"),
                 ("encoder: fraction of σ < 0.01 (last logged)", _num(s.sigma_small_frac),
                  "near 1: the encoder has turned deterministic")]
    rows += [("sample diversity", _num(s.diversity),
              "mean pairwise L2 distance of samples over that of real validation images; "
              f"1.0: samples spread as much as real images (flagged below {MIN_DIVERSITY})"),
             ("recon_mse / mse_of_mean_image", _num(s.recon_ratio),
              "below 1: reconstructions know something about x; 1: no more than the mean image "
              f"(flagged above {MAX_RECON_RATIO})")]
    if s.recon_ratio_mean_code is not None:
        rows.append(("the same from the mean code, Gx(μ(x))", _num(s.recon_ratio_mean_code),
                     "not judged; well below the row above: the codes know x, but q(z | x) is so "
                     "broad that a sample of it hides what they know"))
    lines = ["| signal | value | what it means |", "| --- | --- | --- |"]
    lines += [f"| {name} | {value} | {meaning} |" for name, value, meaning in rows]
    problems = s.problems()
    if problems:
        verdict = f"**Warning: this run looks collapsed**: {'; '.join(problems)} (rule: {COLLAPSE_RULE})."
    elif s.acc_d is None and s.diversity is None and s.recon_ratio is None:
        verdict = f"Verdict: unknown, no signal recorded (rule: {COLLAPSE_RULE})."
    else:
        verdict = f"Verdict: ok (rule: {COLLAPSE_RULE})."
    intro = ("What to check first; a run is flagged as collapsed when any one of the rule's "
             "conditions holds (docs/pictures.md).")
    return [intro, ""] + lines + ["", verdict]


NO_GAME = ("This method trains no generator and plays no game (the supervised-only floor): "
           "the GAN signals do not apply. Its labelled-batch loss and error are in curves.png "
           "and under Training.")


def write_report(run: RunDir, validation: str, conditions=None, game: bool = True) -> None:
    """``game=False``: a method without a generator (its report has no signal table)."""
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
    metrics = run.metrics()
    signals = _signals(signals_from(metrics, log)) if game else [NO_GAME]
    lines += ["## Training signals", ""] + signals + [""]
    lines += ["## Metrics", ""] + _metrics(metrics) + [""]
    lines += ["## Training", ""] + _training(log) + [""]
    if not meta.get("dataset", {}).get("full", True):
        lines += ["Numbers from a sample or copy of the data are not comparable with the paper's.", ""]
    atomic_write_text(run.path / "report.md", "\n".join(lines))
