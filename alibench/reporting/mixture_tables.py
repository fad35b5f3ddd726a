"""The toy-mixture table: per method, modes covered (mean ± sample std, min and
max over runs) with the paper's numbers beside ALI's and the GAN's, and the
three measures the paper only shows as pictures. One table per (dataset,
preset, overrides): runs of different settings are never pooled."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from . import paper

EXPERIMENT = "toy-mixture"
METHOD_ORDER = ("ali", "gan", "gan-inverse", "gan-posthoc", "vae")
LABELS = {"ali": "ALI", "gan": "GAN", "gan-inverse": "GAN + learned inverse mapping",
          "gan-posthoc": "GAN + post-hoc learned inference", "vae": "VAE"}
MEASURES = (("high_quality_pct", "high-quality samples %", 1),
            ("recon_mode_acc_pct", "reconstructions in x's mode %", 1),
            ("latent_mmd", "latent MMD² vs N(0, I)", 4))
NOTES = ["ours: mean ± sample std over runs (one run per seed); min and max over runs.",
         "modes covered: of 25, from 10,000 samples Gx(z) assigned by the mixture's responsibilities.",
         "high-quality: samples within 3 std of their nearest mean; reconstructions: held-out x "
         "whose Gx(Gz(x)) lands in x's own component; latent MMD²: unbiased, codes of held-out x "
         "vs N(0, I) draws, Gaussian kernels with s = 0.25, 0.5, 1, 2 summed (0: same law).",
         "gan-inverse and gan-posthoc sample from the frozen GAN, so their sample measures are its."]


@dataclass
class MixtureTable:
    dataset: str
    preset: str
    meta: dict[str, str]
    main: pd.DataFrame

    @property
    def slug(self) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "-", f"{EXPERIMENT}_{self.dataset}_{self.preset}").strip("-")


def _spread(v: pd.Series, digits: int) -> str:
    if v.empty:
        return "—"
    if len(v) == 1:
        return f"{v.iloc[0]:.{digits}f}"
    return f"{v.mean():.{digits}f} ± {v.std(ddof=1):.{digits}f}"


def _per_run(df: pd.DataFrame, method: str, metric: str) -> pd.Series:
    """One value per seed (the newest run's when a seed ran twice)."""
    sel = df[(df["method"] == method) & (df["metric"] == metric)]
    if "run" in sel:
        sel = sel.sort_values("run", kind="stable")
    return sel.drop_duplicates("seed", keep="last")["value"]


def _row(df: pd.DataFrame, method: str) -> dict:
    modes = _per_run(df, method, "modes_covered")
    row = {"method": LABELS.get(method, method),
           "modes covered (ours)": _spread(modes, 1),
           "min": f"{modes.min():.0f}" if len(modes) else "—",
           "max": f"{modes.max():.0f}" if len(modes) else "—",
           "runs": str(len(modes)),
           "modes covered (paper)": paper.format_modes(method)}
    for metric, title, digits in MEASURES:
        row[title] = _spread(_per_run(df, method, metric), digits)
    collapsed = df[(df["method"] == method) & (df["metric"] == "modes_covered")]
    if "collapsed" in collapsed and collapsed["collapsed"].fillna(False).astype(bool).any():
        row["method"] += f" ({int(collapsed['collapsed'].fillna(False).astype(bool).sum())} collapsed)"
    return row


def _meta(df: pd.DataFrame) -> dict[str, str]:
    hw = df.groupby("hardware")["run"].nunique() if "run" in df else df["hardware"].value_counts()
    return {"dataset": str(df["dataset"].iloc[0]) + (" (generated in full, as the paper's)"
                                                     if bool(df.get("dataset_full", pd.Series([True])).all())
                                                     else ""),
            "hardware": "; ".join(f"{h} ({k} runs)" for h, k in hw.items()),
            "seeds": ",".join(map(str, sorted(set(df["seed"].astype(int))))),
            "runs": str(df["run"].nunique()) if "run" in df else str(len(df))}


def _setting(overrides) -> str:
    """The setting a record's ``overrides`` names, space-separated. Runs record
    it without ``methods=`` (``core.config.setting_overrides``: a method's phase is
    the same whichever others run beside it), so runs of one seed split by method
    pool with the rest. Records of earlier versions joined every --set item with
    commas, ``methods=`` included: those are read item by item."""
    text = "" if overrides is None else str(overrides)
    if "methods=" not in text:
        return text
    kept, skipping = [], False
    for item in text.split(","):
        # "methods=ali,gan" arrives comma-split: its method names follow without a "="
        skipping = item.startswith("methods=") or (skipping and "=" not in item)
        if not skipping and item:
            kept.append(item)
    return " ".join(kept)


def build(records: pd.DataFrame) -> list[MixtureTable]:
    if records.empty or "experiment" not in records:
        return []
    df = records[records["experiment"] == EXPERIMENT].copy()
    if df.empty:
        return []
    df["overrides"] = df["overrides"].fillna("") if "overrides" in df else ""
    df["overrides"] = df["overrides"].map(_setting)
    out = []
    for (dataset, preset, overrides), g in df.groupby(["dataset", "preset", "overrides"], sort=True):
        methods = [m for m in METHOD_ORDER if m in set(g["method"])]
        name = f"{preset} + {overrides}" if overrides else str(preset)
        meta = {"preset": name, **_meta(g)}
        out.append(MixtureTable(str(dataset), name, meta, pd.DataFrame([_row(g, m) for m in methods])))
    return out


def render(t: MixtureTable, fmt: str = "markdown") -> str:
    title = f"Toy mixture (paper section 'Importance of learning inference jointly with generation'), " \
            f"preset {t.preset}"
    if fmt == "markdown":
        lines = [f"## {title}", ""] + [f"- {k}: {v}" for k, v in t.meta.items()]
        lines += ["", t.main.to_markdown(index=False), ""] + [f"- {n}" for n in NOTES]
        return "\n".join(lines) + "\n"
    if fmt == "csv":
        return t.main.assign(**{k: v for k, v in t.meta.items()}).to_csv(index=False)
    if fmt == "latex":
        caption = title + ". " + "; ".join(f"{k}: {v}" for k, v in t.meta.items())
        return t.main.to_latex(index=False, caption=caption, label=f"tab:{t.slug}")
    raise ValueError(fmt)


def render_run_summary(records: list[dict]) -> str:
    """What a launch prints at its end: the table of the runs it just made."""
    tables = build(pd.DataFrame(records))
    return "\n\n".join(render(t) for t in tables)
