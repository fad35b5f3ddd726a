"""The SVHN SVM track's shared protocol (PAPER.md, Track 1): its config, its
refusals, the label draws every method of the track shares, and the protocol
run on named feature sets (``svhn-svm``'s ALI and raw pixels, ``dcgan-svm``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..core import checks
from ..core.errors import UserError
from ..core.files import atomic_write_json
from ..data import ImageData
from ..evaluation.splits import LabelDraws, check_feasible, per_class, shared_draws
from ..evaluation.svm import (
    SOLVERS,
    ResumableSolver,
    SvmSettings,
    make_solver,
    run_protocol,
)
from .ali_training import check_train_images
from .context import RunContext


@dataclass
class SvmProtocolConfig(SvmSettings):
    """The official protocol: 1000 labels (100 per class) from train[:-10000],
    C from 50 values exp(t), t in [-20, 20], 10 validation and 100 test draws.
    Every method of the SVHN SVM track shares it (and its label draws)."""
    n_labels: int = 1000
    n_val: int = 10000
    n_val_draws: int = 10
    n_test_draws: int = 100
    eval_batch_size: int = 500

    def validate_svm(self) -> None:
        checks.one_of("svm_solver", self.svm_solver, SOLVERS)
        checks.positive(self, "n_val", "n_c", "n_test_draws", "svm_max_iter", "eval_batch_size")
        checks.non_negative(self, "n_val_draws")
        if not self.log_c_min <= self.log_c_max:
            raise UserError("log_c_min must not exceed log_c_max")
        per_class(self.n_labels, 10)


def check_protocol(cfg: SvmProtocolConfig, data: ImageData) -> None:
    """What every method of the SVM track needs of the data (cfg also has
    batch_size and unlabeled)."""
    check_train_images(data.unlabeled(cfg.unlabeled), cfg.batch_size)
    if cfg.n_val >= len(data.x_train):
        raise UserError(f"n_val={cfg.n_val} leaves no labelled pool: {data.name} has only "
                        f"{len(data.x_train)} training images; lower --set n_val")
    pool = data.y_train[: len(data.x_train) - cfg.n_val]
    check_feasible(pool, cfg.n_labels, data.n_classes,
                   f"the labelled pool of {data.name} ({len(pool)} images)")


def _record_protocol(ctx: RunContext, method: str, res: dict, n_labels: int, dim: int) -> list[dict]:
    test, val = np.asarray(res["test_error_pct"]), np.asarray(res["val_error_pct"])
    common = {"feature_dim": dim, "best_c": res["best_c"], "svm_solver": res["solver"]}
    recs = [ctx.record(method, "test_error_pct", test.mean(), n_labels, std_over_draws=float(test.std()),
                       n_draws=len(test), **common)]
    if len(val):
        recs.append(ctx.record(method, "val_error_pct", val.mean(), n_labels,
                               std_over_draws=float(val.std()), n_draws=len(val), **common))
    return recs


def label_draws(cfg: SvmProtocolConfig, ctx: RunContext) -> LabelDraws:
    """The draws shared by every method with this (dataset, n_labels, seed),
    copied into the run directory."""
    data = ctx.data
    n_pool = len(data.x_train) - cfg.n_val
    draws, shared = shared_draws(ctx.splits_dir, data.name, data.fingerprint(), data.y_train[:n_pool],
                                 cfg.n_labels, ctx.seed, cfg.n_val_draws, cfg.n_test_draws)
    draws.save(ctx.run_dir.path / "label_draws.npz", shared_copy=str(shared))
    return draws


Features = Callable[[], "list[np.ndarray]"]    # () -> [train features, test features]


def evaluate_features(cfg: SvmProtocolConfig, ctx: RunContext, feats: dict[str, Features],
                      protocol: Callable[..., dict] = run_protocol) -> list[dict]:
    """The SVM protocol on each named (train, test) feature pair, one stage each
    (``ctx.stage``: a resumed run skips the sets it finished, features included);
    writes svm_<name>.json and one metric line per estimate. Fit results are saved
    as they come (svm_<name>.partial.json), so a kill mid-protocol loses at most one fit."""
    data, draws = ctx.data, label_draws(cfg, ctx)
    n_pool = len(data.x_train) - cfg.n_val
    records = []
    for name, features in feats.items():
        def work(name=name, features=features) -> list[dict]:
            f_train, f_test = features()
            partial = ctx.run_dir.path / f"svm_{name}.partial.json"
            solver = ResumableSolver(make_solver(cfg), partial)
            res = protocol(solver, cfg, f_train[:n_pool], data.y_train[:n_pool],
                           f_train[n_pool:], data.y_train[n_pool:], f_test, data.y_test, draws,
                           desc=f"SVM on {name} features")
            atomic_write_json(ctx.run_dir.path / f"svm_{name}.json", {**res, "feature_dim": f_train.shape[1]})
            return _record_protocol(ctx, name, res, cfg.n_labels, f_train.shape[1])
        records += ctx.stage(f"svm:{name}", work)
        # kept until the stage is marked: a kill before the mark redoes no fit
        (ctx.run_dir.path / f"svm_{name}.partial.json").unlink(missing_ok=True)
    return records
