"""The paper's two comparison tables, rebuilt from run directories.

Rows are methods, columns label counts; each of our cells is the mean ± sample
standard deviation over seeds (n = seeds), with the paper's number beside it
(from ``alibench.paper`` only). A second table gives the paired difference
ALI − baseline: per seed, on the identical label split, then mean ± std over
the pairs. A method the suite implements but has no finished run for shows as
"missing"; a paper row the suite does not implement as "not implemented".
One table per (paper table, dataset, preset): numbers from different data or
presets are never pooled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from ..core import registry
from . import paper

MISSING = "missing"
NOT_IMPLEMENTED = "not implemented"

OUR_LABELS = {"raw-pixels": "Raw pixels + L2-SVM (sanity row)",
              "untrained-encoder": "ALI's encoder untrained + L2-SVM (control row)",
              "bigan": "BiGAN (deterministic encoder) + L2-SVM",
              "gan-inverse": "GAN + learned inverse mapping + L2-SVM",
              "gan-posthoc": "GAN + post-hoc learned inference + L2-SVM",
              "supervised": "Supervised only (ALI-K1's D, labelled images alone)"}


@dataclass(frozen=True)
class TableSpec:
    key: str                                  # the paper table (``Experiment.paper_table``)
    title: str
    ours: tuple[str, ...]                     # our rows after the paper's (no paper number)
    pairs: tuple[tuple[str, str], ...]        # (ALI, baseline) differences, always shown
    extra_pairs: tuple[tuple[str, str], ...] = ()   # shown when either side has runs

    @property
    def rows(self) -> tuple[str, ...]:
        """The paper's rows in its order (from ``paper``), then ours."""
        theirs = [r.method for r in paper.PAPER_RESULTS if r.dataset == self.key]
        return tuple(dict.fromkeys(theirs + list(self.ours)))


SPECS = {
    "svhn": TableSpec("svhn", "Table 1 (SVHN)",
                      ("bigan", "gan-inverse", "gan-posthoc", "supervised", "raw-pixels",
                       "untrained-encoder"),
                      (("ali", "dcgan-svm"),),
                      (("ali", "raw-pixels"), ("ali", "untrained-encoder"), ("ali", "bigan"), ("ali", "gan-inverse"),
                       ("ali", "gan-posthoc"), ("ali-k1", "gan-fm"), ("ali-k1", "supervised"))),
    "cifar10": TableSpec("cifar10", "Table 2 (CIFAR10)", ("supervised",),
                         (("ali-k1", "gan-fm"), ("ali-k1", "supervised"))),
}


@dataclass
class PaperTable:
    spec: TableSpec
    dataset: str
    preset: str
    meta: dict[str, str]
    main: pd.DataFrame
    diffs: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def slug(self) -> str:
        text = "_".join((self.spec.key, self.dataset, self.preset))
        return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")


def _label(method: str, table: str) -> str:
    rows = [r for r in paper.PAPER_RESULTS if (r.dataset, r.method) == (table, method)]
    return rows[0].label if rows else OUR_LABELS.get(method, method)


def _paper_cell(table: str, method: str, n: int) -> str:
    r = paper.lookup(table, method, n)
    return paper.format_result(r) if r else "—"


def _our_cell(values: pd.Series, method: str, implemented: set[str]) -> str:
    """``values``: one per seed."""
    if values.empty:
        return MISSING if method in implemented else NOT_IMPLEMENTED
    n = len(values)
    if n == 1:
        return f"{values.iloc[0]:.2f} (n=1)"
    return f"{values.mean():.2f} ± {values.std(ddof=1):.2f} (n={n})"


def _per_seed(df: pd.DataFrame, method: str, n: int) -> pd.DataFrame:
    """One value per seed (the newest run's, if a seed was run twice)."""
    if df.empty:
        return pd.DataFrame({"value": pd.Series(dtype=float)})
    sel = df[(df["method"] == method) & (df["n_labels"] == n)]
    if "run" in sel:
        sel = sel.sort_values("run", kind="stable")
    return sel.drop_duplicates("seed", keep="last").set_index("seed")


def _diff_cell(df: pd.DataFrame, ali: str, base: str, n: int) -> str:
    a, b = _per_seed(df, ali, n), _per_seed(df, base, n)
    if a.empty or b.empty:
        return MISSING
    seeds = a.index.intersection(b.index)
    if "label_split" in df:
        same = [s for s in seeds if a.at[s, "label_split"] == b.at[s, "label_split"]
                or pd.isna(a.at[s, "label_split"]) or pd.isna(b.at[s, "label_split"])]
        seeds = pd.Index(same)
    if not len(seeds):
        return "no paired seeds"
    d = a.loc[seeds, "value"] - b.loc[seeds, "value"]
    if len(d) == 1:
        return f"{d.iloc[0]:+.2f} (n=1)"
    return f"{d.mean():+.2f} ± {d.std(ddof=1):.2f} (n={len(d)})"


def _counts(spec: TableSpec, df: pd.DataFrame) -> list[int]:
    ours = set(df["n_labels"].astype(int)) if not df.empty else set()
    theirs = {r.n_labels for r in paper.PAPER_RESULTS if r.dataset == spec.key}
    return sorted(ours | theirs)


def _main_frame(spec: TableSpec, df: pd.DataFrame, counts: list[int],
                implemented: set[str]) -> pd.DataFrame:
    extra = sorted(set(df["method"]) - set(spec.rows)) if not df.empty else []
    rows = []
    for method in list(spec.rows) + extra:
        row = {"method": method, "row": _label(method, spec.key)}
        for n in counts:
            row[f"{n} ours"] = _our_cell(_per_seed(df, method, n)["value"], method, implemented)
            row[f"{n} paper"] = _paper_cell(spec.key, method, n)
        rows.append(row)
    return pd.DataFrame(rows)


def _diff_frame(spec: TableSpec, df: pd.DataFrame, counts: list[int]) -> pd.DataFrame:
    have = set(df["method"]) if not df.empty else set()
    pairs = list(spec.pairs) + [p for p in spec.extra_pairs if have & set(p)]
    rows = []
    for ali, base in pairs:
        row = {"difference": f"{ali} − {base}"}
        for n in counts:
            row[f"{n}"] = _diff_cell(df, ali, base, n) if not df.empty else MISSING
        rows.append(row)
    return pd.DataFrame(rows)


def _meta(df: pd.DataFrame, metric: str, skipped: int) -> dict[str, str]:
    if df.empty:
        return {"metric": metric, "runs": "none finished", "skipped (not finished)": str(skipped)}
    desc = df["dataset_description"].dropna() if "dataset_description" in df else pd.Series([])
    full = bool(df["dataset_full"].all()) if "dataset_full" in df else False
    hw = df.groupby("hardware")["run"].nunique() if "run" in df else df["hardware"].value_counts()
    return {"metric": metric,
            "dataset": (desc.iloc[0] if len(desc) else df["dataset"].iloc[0])
                       + ("" if full else " — not the full dataset: not comparable with the paper's"),
            "preset": str(df["preset"].iloc[0]) + (f" + {df['overrides'].iloc[0]}"
                                                    if df["overrides"].iloc[0] else ""),
            "hardware": "; ".join(f"{h} ({k} runs)" for h, k in hw.items()),
            "seeds": ",".join(map(str, sorted(set(df["seed"].astype(int))))),
            "runs": str(df["run"].nunique()) if "run" in df else str(len(df)),
            "skipped (not finished)": str(skipped)}


NOTES = ["ours: mean ± sample std over seeds (n = seeds); paper: as printed "
         "(for ALI on CIFAR10 the paper's ± is 3 std).",
         "paired difference: per seed on the identical label split, ALI minus the "
         "baseline; negative means ALI has the lower error.",
         f"'{MISSING}': the suite implements the method but no finished run exists; "
         f"'{NOT_IMPLEMENTED}': a paper row the suite does not run."]


def build(records: pd.DataFrame, metric: str = "test_error_pct", skipped: int = 0,
          implemented: set[str] | None = None) -> list[PaperTable]:
    """One PaperTable per (paper table, dataset, preset) found; a paper table with
    no runs at all is still shown once, every cell of ours missing. ``implemented``:
    the methods the suite runs (default: those of the registered experiments)."""
    implemented = registry.implemented_methods() if implemented is None else implemented
    df = records[records["metric"] == metric].copy() if not records.empty and "metric" in records \
        else pd.DataFrame(columns=["paper_dataset", "dataset", "preset", "method", "n_labels",
                                   "seed", "value"])
    for col in ("paper_dataset", "overrides"):
        df[col] = df[col].fillna("") if col in df else ""
    tables = []
    for key, spec in SPECS.items():
        sub = df[df["paper_dataset"] == key]
        groups = list(sub.groupby(["dataset", "preset", "overrides"], sort=True)) \
            or [(("no finished runs", "none", ""), sub)]
        for (dataset, preset, overrides), g in groups:
            counts = _counts(spec, g)
            preset = f"{preset} + {overrides}" if overrides else str(preset)
            tables.append(PaperTable(spec, str(dataset), preset, _meta(g, metric, skipped),
                                     _main_frame(spec, g, counts, implemented),
                                     _diff_frame(spec, g, counts),
                                     list(NOTES)))
    return tables


EXTENSIONS = {"markdown": "md", "csv": "csv", "latex": "tex"}


def _title(t: PaperTable) -> str:
    return f"{t.spec.title}: {t.meta['metric']} on {t.dataset}, preset {t.preset}"


def render(t: PaperTable, fmt: str = "markdown") -> str:
    if fmt == "markdown":
        lines = [f"## {_title(t)}", ""] + [f"- {k}: {v}" for k, v in t.meta.items()]
        lines += ["", t.main.to_markdown(index=False), "",
                  "Paired difference ALI − baseline (percentage points):", "",
                  t.diffs.to_markdown(index=False), ""] + [f"- {n}" for n in t.notes]
        return "\n".join(lines) + "\n"
    if fmt == "csv":
        meta = {"table": t.spec.title, "dataset": t.dataset, "preset": t.preset,
                "hardware": t.meta.get("hardware", ""), "seeds": t.meta.get("seeds", "")}
        diffs = t.diffs.rename(columns={"difference": "method"})
        diffs = diffs.rename(columns={c: f"{c} ALI − baseline" for c in diffs if c != "method"})
        body = pd.concat([t.main.assign(section="error %"),
                          diffs.assign(section="paired difference")], ignore_index=True)
        return body.assign(**meta)[list(meta) + ["section"] + [c for c in body if c != "section"]] \
            .to_csv(index=False)
    if fmt == "latex":
        caption = _title(t) + ". " + "; ".join(f"{k}: {v}" for k, v in t.meta.items() if k != "metric")
        return (t.main.to_latex(index=False, caption=caption, label=f"tab:{t.slug}")
                + t.diffs.to_latex(index=False, caption=f"{t.spec.title}: paired difference "
                                   "ALI − baseline (percentage points), per seed on identical splits"))
    raise ValueError(fmt)
