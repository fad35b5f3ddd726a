"""Test error of finished (K+1)-track runs on CIFAR10 test images they never saw.

    python results/studies/cifar10-ssl-demo-steps/jpeg_test.py RUNS_ROOT --data-dir ../shared/data

The demo trains and tests on the 5k CIFAR10 sample, whose 5,085 images all come
from CIFAR10's *training* set. This re-tests each run's final networks on the
8,867 CIFAR10 *test* images of the JPEG copy in ../shared/data (real test images,
JPEG-compressed: "CIFAR10 (JPEG copy)"), with the classifier the track itself uses
(``alibench.load_run(run).classify``: ALI-K1 argmax_k D(x, μ(x))_k, supervised
z = 0), networks in eval mode. cifar10-ssl and supervised runs only. Writes ``--out``
(default jpeg_test.csv beside this script): one row per run.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

import alibench
from alibench.data import load_dataset
from collect import read_run   # the study's reader of what a run recorded (beside this script)

HERE = Path(__file__).parent
STUDIED = ("cifar10-ssl", "supervised")


def error_pct(run: alibench.Run, images: np.ndarray, labels: np.ndarray) -> float:
    """The track's test rule, through the public API (``Run.classify``)."""
    return 100.0 * float((run.classify(images).argmax(1) != labels).mean())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("root", type=Path)
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=HERE / "jpeg_test.csv")
    args = ap.parse_args()
    test = load_dataset("cifar10-jpeg", data_dir=args.data_dir)
    sample = load_dataset("cifar10-sample", data_dir=args.data_dir)
    rows = []
    for run_json in sorted(args.root.glob("*/*/run.json")):
        meta = json.loads(run_json.read_text())
        if meta.get("experiment") not in STUDIED or not (run_json.parent / "metrics.jsonl").exists():
            continue       # gan-fm and others: not part of this study
        run = alibench.load_run(run_json.parent, device="cpu")
        # the sample's own test split again: must equal what the run recorded
        recorded = read_run(run_json)["test_error_pct"]
        again = error_pct(run, sample.x_test, sample.y_test)
        if abs(again - recorded) > 0.05:
            raise SystemExit(f"{run.path}: re-evaluated sample test error {again} != recorded {recorded}")
        rows.append({"experiment": meta["experiment"], "seed": meta["seed"],
                     "steps": meta["config"]["steps"], "run": run.path.name,
                     "sample_test_error_pct": recorded,
                     "jpeg_test_error_pct": round(error_pct(run, test.x_test, test.y_test), 2)})
        print(rows[-1], flush=True)
    pd.DataFrame(rows).to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
