"""Test error of finished (K+1)-track runs on CIFAR10 test images they never saw.

    python results/studies/cifar10-ssl-demo-steps/jpeg_test.py RUNS_ROOT --data-dir ../shared/data

The demo trains and tests on the 5k CIFAR10 sample, whose 5,085 images all come
from CIFAR10's *training* set. This re-tests each run's final networks on the
8,867 CIFAR10 *test* images of the JPEG copy in ../shared/data (real test images,
JPEG-compressed: "CIFAR10 (JPEG copy)"), with the classifier the track itself uses
(``ALIK1.class_logits``: argmax_k D(x, μ(x))_k; ``Supervised.class_logits``: z = 0),
networks in eval mode. cifar10-ssl and supervised runs only. Writes ``--out``
(default jpeg_test.csv beside this script): one row per run.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
import torch

from alibench.data import load_dataset
from alibench.experiments.kplus1_track import error_pct
from alibench.methods.ali_k1 import ALIK1
from alibench.methods.supervised import Supervised
from alibench.models.ali import ARCHS, Discriminator, build_ali
from collect import read_run   # the study's reader of what a run recorded (beside this script)

HERE = Path(__file__).parent


class _NoSchedule:   # the methods ask their schedule for optimisers; evaluation needs none
    def optimizer(self, params, device):
        return torch.optim.SGD(params, lr=0.0)


def load_method(run: Path):
    meta = json.loads((run / "run.json").read_text())
    cfg, exp = meta["config"], meta["experiment"]
    if exp not in ("cifar10-ssl", "supervised"):
        return meta, None
    state = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=False)["state"]
    latent = cfg["latent_dim"] or ARCHS[cfg["arch"]].latent_dim
    if exp == "cifar10-ssl":
        nets = build_ali(cfg["arch"], cfg["width"], cfg["latent_dim"], n_out=10, d_reading=cfg["d_reading"])
        for name, net in nets.modules().items():
            net.load_state_dict(state[name])
        return meta, ALIK1(nets, _NoSchedule(), torch.device("cpu"), cfg["stochastic_encoder"])
    disc = Discriminator(ARCHS[cfg["arch"]], cfg["width"], latent, n_out=10, reading=cfg["d_reading"])
    disc.load_state_dict(state["discriminator"])
    return meta, Supervised(disc, latent, _NoSchedule(), torch.device("cpu"))


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
        run = run_json.parent
        if not (run / "metrics.jsonl").exists():
            continue
        meta, method = load_method(run)
        if method is None:     # gan-fm and others: not part of this study
            continue
        # the sample's own test split again: must equal what the run recorded
        recorded = read_run(run_json)["test_error_pct"]
        again = error_pct(method, sample.x_test, sample.y_test, torch.device("cpu"), 500)
        if abs(again - recorded) > 0.05:
            raise SystemExit(f"{run}: re-evaluated sample test error {again} != recorded {recorded}")
        rows.append({"experiment": meta["experiment"], "seed": meta["seed"],
                     "steps": meta["config"]["steps"], "run": run.name,
                     "sample_test_error_pct": recorded,
                     "jpeg_test_error_pct": round(error_pct(method, test.x_test, test.y_test,
                                                            torch.device("cpu"), 500), 2)})
        print(rows[-1], flush=True)
    pd.DataFrame(rows).to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
