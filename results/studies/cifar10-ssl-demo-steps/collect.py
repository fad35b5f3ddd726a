"""Collect the cifar10-ssl demo step study (issue 13) from its run directories.

    python results/studies/cifar10-ssl-demo-steps/collect.py RUNS_ROOT

RUNS_ROOT holds one ``--out`` folder per command (see README.md beside this file);
writes steps.csv (one row per run), steps.md (mean ± std over seeds per
method and step count, and the paired ALI-K1 − supervised difference) and steps.png
next to this script. Reads what the runs recorded (run.json, metrics.jsonl,
train_log.jsonl) and, when jpeg_test.py has written it, jpeg_test.csv: the same
runs' error on the 8,867 CIFAR10 test images of the JPEG copy.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

HERE = Path(__file__).parent


def read_run(run_json: Path) -> dict:
    meta = json.loads(run_json.read_text())
    cfg = meta["config"]
    row = {"experiment": meta["experiment"], "seed": meta["seed"], "steps": cfg["steps"],
           "run": run_json.parent.name, "hardware": meta.get("hardware", {}).get("description"),
           "width": cfg["width"], "n_labels": cfg["n_labels"], "data": cfg["data"]}
    for line in (run_json.parent / "metrics.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if rec.get("metric") in ("test_error_pct", "val_error_pct"):
            row[rec["metric"]] = rec["value"]
    log = [json.loads(x) for x in (run_json.parent / "train_log.jsonl").read_text().splitlines()]
    last = log[-1]
    row["train_err_lab_last"] = last.get("err_lab")
    row["acc_d_last"] = last.get("acc_d")
    row["train_seconds"] = round(sum(r.get("seconds", 0.0) for r in log), 1)
    return row


DEMO_STEPS = 1200   # the demo preset's length, which the cross-length table holds ALI-K1 at


def main(root: Path) -> None:
    # a run still training has no metrics.jsonl yet
    runs = sorted(p for p in root.glob("*/*/run.json") if (p.parent / "metrics.jsonl").exists())
    df = pd.DataFrame([read_run(p) for p in runs]).sort_values(["experiment", "width", "steps", "seed"])
    metrics = {"val_error_pct": "validation: the sample's last 500 training images (held out of training)",
               "test_error_pct": "the sample's test split (1,000 images of CIFAR10's training set)"}
    if (HERE / "jpeg_test.csv").exists():
        jpeg = pd.read_csv(HERE / "jpeg_test.csv")[["run", "jpeg_test_error_pct"]]
        df = df.merge(jpeg, on="run", how="left")
        metrics["jpeg_test_error_pct"] = "CIFAR10 test images, JPEG copy (8,867, never trained on)"
    df.to_csv(HERE / "steps.csv", index=False)
    text = ["# cifar10-ssl demo vs supervised, by training steps and width", ""]
    widths = sorted(df["width"].unique())
    fig, axes = plt.subplots(len(widths), len(metrics), figsize=(5.2 * len(metrics), 3.8 * len(widths)),
                             squeeze=False)
    for (metric, where), column in zip(metrics.items(), axes.T):
        text += section(df, metric, where)
        for width, ax in zip(widths, column):
            plot(ax, df[df.width == width], metric, f"width {width:g}: {where}")
    (HERE / "steps.md").write_text("\n".join(text))
    fig.tight_layout()
    fig.savefig(HERE / "steps.png", dpi=110)


def section(df: pd.DataFrame, metric: str, where: str) -> list[str]:
    keys = ["width", "steps"]
    agg = df.groupby(["experiment", *keys])[metric].agg(["mean", "std", "count"]).round(2).reset_index()
    wide = df.pivot_table(index=[*keys, "seed"], columns="experiment", values=metric)
    diff = (wide["cifar10-ssl"] - wide["supervised"]).dropna().groupby(keys).agg(["mean", "std", "count"])
    # ALI-K1 at the demo length against the supervised floor at every length it ran
    ali = wide["cifar10-ssl"].xs(DEMO_STEPS, level="steps").dropna()
    sup = wide["supervised"].dropna().rename("sup").reset_index()
    cross = sup.merge(ali.rename("ali").reset_index(), on=["width", "seed"])
    cross = (cross.assign(diff=cross["ali"] - cross["sup"]).groupby(keys)["diff"]
             .agg(["mean", "std", "count"]).round(2).reset_index()
             .rename(columns={"steps": "supervised steps"}))
    return [f"## {metric}: {where}", "", "Error % (mean, sample std, number of seeds):", "",
            agg.to_markdown(index=False), "",
            "Paired difference cifar10-ssl (ALI-K1) − supervised at the same width and length, per seed"
            " on the same label draw (negative: ALI-K1 lower):", "",
            diff.round(2).reset_index().to_markdown(index=False), "",
            f"ALI-K1 at {DEMO_STEPS} steps − supervised at each length it ran, same width and seed:", "",
            cross.to_markdown(index=False), ""]


def plot(ax, df: pd.DataFrame, metric: str, where: str) -> None:
    for exp, label in (("cifar10-ssl", "ALI-K1 (cifar10-ssl)"), ("supervised", "supervised only")):
        runs = df[df.experiment == exp]
        a = runs.groupby("steps")[metric].agg(["mean", "std"]).reset_index()
        ax.errorbar(a["steps"], a["mean"], yerr=a["std"], marker="o", capsize=3, label=label)
        ax.scatter(runs["steps"], runs[metric], s=8, alpha=0.4)
    ax.set_xscale("log")
    ticks = sorted(df["steps"].unique())
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("training steps (demo preset otherwise)")
    ax.set_ylabel("error % (1000 labels)")
    ax.set_title(where, fontsize=8)
    ax.legend(fontsize=8)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
