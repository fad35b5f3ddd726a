"""Track 1: ALI on SVHN, then an L2-SVM on the encoder's features (PAPER.md).

Also runs the same SVM protocol on raw pixels, a sanity row every table shows
beside ALI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..data import ImageData
from ..errors import UserError
from ..features import encoder_features, parse_layers, pixel_features
from ..figures import FigureConfig, Validation, restore, sample_callbacks, write_figures
from ..fsutil import atomic_write_json
from ..registry import Experiment, register
from ..splits import LabelDraws, check_feasible, per_class, shared_draws
from ..svm import SOLVERS, SvmSettings, make_solver, run_protocol
from .common import (ALITrainConfig, RunContext, build_ali_method, check_arch_fits,
                     check_train_images, train_ali)


@dataclass
class SvmProtocolConfig:
    """The official protocol: 1000 labels (100 per class) from train[:-10000],
    C from 50 values exp(t), t in [-20, 20], 10 validation and 100 test draws.
    Every method of the SVHN SVM track shares it (and its label draws)."""
    n_labels: int = 1000
    n_val: int = 10000
    n_val_draws: int = 10
    n_test_draws: int = 100
    log_c_min: float = -20.0
    log_c_max: float = 20.0
    n_c: int = 50
    standardize: bool = False
    svm_max_iter: int = 1000
    svm_solver: str = "liblinear"
    eval_batch_size: int = 500

    def svm_settings(self) -> SvmSettings:
        return SvmSettings(self.log_c_min, self.log_c_max, self.n_c, self.standardize,
                           self.svm_max_iter, self.svm_solver)

    def validate_svm(self) -> None:
        if self.svm_solver not in SOLVERS:
            raise UserError(f"unknown svm_solver '{self.svm_solver}'; valid: {', '.join(SOLVERS)}")
        for key in ("n_val", "n_c", "n_test_draws", "svm_max_iter", "eval_batch_size"):
            if getattr(self, key) <= 0:
                raise UserError(f"{key} must be positive, got {getattr(self, key)}")
        if self.n_val_draws < 0:
            raise UserError(f"n_val_draws must be >= 0, got {self.n_val_draws}")
        if self.log_c_min > self.log_c_max:
            raise UserError("log_c_min must not exceed log_c_max")
        per_class(self.n_labels, 10)


@dataclass
class SvmConfig(SvmProtocolConfig):
    """The protocol plus ALI's feature choice and the raw-pixels sanity row."""
    feature_layers: str = "mu,bn4,bn5,bn6"
    raw_pixels: bool = True

    def validate_svm(self) -> None:
        super().validate_svm()
        parse_layers(self.feature_layers)


@dataclass
class SvhnSvmConfig(ALITrainConfig, SvmConfig, FigureConfig):
    data: str = "svhn"
    unlabeled: str = "extra"   # ALI trains on SVHN's extra split in the paper

    def validate(self) -> None:
        self.validate_training()
        self.validate_svm()
        self.validate_figures()


PRESETS = {
    "paper": {},
    # Same networks and protocol, a tenth of the training: for quick GPU checks.
    "fast": {"epochs": 10.0, "svm_solver": "torch"},
    # Tiny widths on the real SVHN sample shipped in the package: minutes on a CPU.
    "demo": {"data": "sample:svhn", "unlabeled": "train+extra", "width": 0.25,
             "steps": 600, "batch_size": 64, "log_every": 50, "checkpoint_every": 200,
             "n_labels": 200, "n_val": 100, "eval_batch_size": 200, "svm_solver": "torch",
             "sample_every": 100},
}


def check(cfg: SvhnSvmConfig, data: ImageData) -> None:
    """Everything that can be refused before a run directory is made."""
    check_arch_fits(cfg.arch, data)
    check_protocol(cfg, data)


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
    draws.save(ctx.run.path / "label_draws.npz", shared_copy=str(shared))
    return draws


def evaluate_features(cfg: SvmProtocolConfig, ctx: RunContext, feats: dict[str, list[np.ndarray]],
                      protocol: Callable[..., dict] = run_protocol) -> list[dict]:
    """The SVM protocol on each named (train, test) feature pair; writes
    svm_<name>.json and one metric line per estimate."""
    data, draws = ctx.data, label_draws(cfg, ctx)
    n_pool = len(data.x_train) - cfg.n_val
    records = []
    for name, (f_train, f_test) in feats.items():
        res = protocol(make_solver(cfg.svm_settings()), cfg.svm_settings(),
                       f_train[:n_pool], data.y_train[:n_pool], f_train[n_pool:], data.y_train[n_pool:],
                       f_test, data.y_test, draws, desc=f"SVM on {name} features")
        atomic_write_json(ctx.run.path / f"svm_{name}.json", {**res, "feature_dim": f_train.shape[1]})
        records += _record_protocol(ctx, name, res, cfg.n_labels, f_train.shape[1])
    return records


def run(cfg: SvhnSvmConfig, ctx: RunContext) -> list[dict]:
    data = ctx.data
    method = train_ali(cfg, ctx, data.unlabeled(cfg.unlabeled),
                       callbacks_for=lambda m: sample_callbacks(ctx.run, m, cfg))
    layers = parse_layers(cfg.feature_layers)
    enc = method.nets.encoder
    feats = {"ali": [encoder_features(enc, x, layers, ctx.device, cfg.eval_batch_size)
                     for x in (data.x_train, data.x_test)]}
    if cfg.raw_pixels:
        feats["raw-pixels"] = [pixel_features(data.x_train), pixel_features(data.x_test)]
    records = evaluate_features(cfg, ctx, feats)
    if cfg.figures:
        records += pictures(cfg, ctx, method)
    return records


def pictures(cfg: SvhnSvmConfig, ctx: RunContext, method=None) -> list[dict]:
    """The run's figures from its validation split (the last n_val training images)."""
    if method is None:
        method = build_ali_method(cfg, ctx.device)
        restore(ctx.run, method, ctx.device)
    val = Validation(ctx.data.x_train[-cfg.n_val:], None,
                     f"the last {cfg.n_val} images of {ctx.data.name}'s training split "
                     "(the SVM protocol's validation part)")
    return write_figures(ctx, method, val, cfg, "ali", cfg.n_labels, cfg.eval_batch_size)


register(Experiment(
    name="svhn-svm",
    summary="ALI on SVHN, L2-SVM on encoder features (paper Table 1: 19.14 ± 0.50 %)",
    config_cls=SvhnSvmConfig, presets=PRESETS, run=run, check=check, paper_dataset="svhn",
    pictures=pictures))
