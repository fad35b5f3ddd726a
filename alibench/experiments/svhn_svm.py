"""Track 1: ALI on SVHN, then an L2-SVM on the encoder's features (PAPER.md).

Also runs the same SVM protocol on raw pixels, a sanity row every table shows
beside ALI.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..core.registry import Experiment, register
from ..data import ImageData
from ..evaluation.features import calibrate_encoder_bn, encoder_features, parse_layers, pixel_features
from ..reporting import paper
from ..reporting.figures import (
    FigureConfig,
    Validation,
    restore,
    sample_callbacks,
    write_figures,
)
from .ali_training import DEMO_TRAINING, ALITrainConfig, build_ali_method, check_arch_fits, train_ali
from .context import RunContext
from .svm_track import SvmProtocolConfig, check_protocol, evaluate_features


@dataclass
class SvmConfig(SvmProtocolConfig):
    """The protocol plus ALI's feature choice and the raw-pixels sanity row."""
    feature_layers: str = "mu,bn4,bn5,bn6"
    raw_pixels: bool = True
    # the control that tells learning from architecture: the same encoder, untrained
    # (the run's seed and init), batch-norm statistics from the training images
    untrained_encoder: bool = True

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


# The first demo (issue 13 measured it: D wins by step 100, samples one grey template):
# the inference baselines (bigan, gan-inverse, gan-posthoc) still use it, since the
# numbers in docs/fidelity.md were measured with it.
DEMO_V1 = {"data": "sample:svhn", "unlabeled": "train+extra", "width": 0.25,
           "steps": 600, "batch_size": 64, "log_every": 50, "checkpoint_every": 200,
           "n_labels": 200, "n_val": 100, "eval_batch_size": 200, "svm_solver": "torch",
           "sample_every": 100}

PRESETS = {
    # float32 (TF32 on CUDA) until a GPU run shows bf16 changes nothing beyond noise
    "paper": {"amp_bf16": "off"},
    # Same networks and protocol, a tenth of the training: for quick GPU checks.
    "fast": {"epochs": 10.0, "svm_solver": "torch"},
    # Tiny widths on the real SVHN sample shipped in the package, ~10 minutes on a
    # CPU: batch 64 (paper 100), and the demos' training (DEMO_TRAINING: its
    # deviations and why).
    "demo": {**DEMO_V1, **DEMO_TRAINING},
}


def check(cfg: SvhnSvmConfig, data: ImageData) -> None:
    """Everything that can be refused before a run directory is made."""
    check_arch_fits(cfg.arch, data)
    check_protocol(cfg, data)


def execute(cfg: SvhnSvmConfig, ctx: RunContext) -> list[dict]:
    method = train_ali(cfg, ctx, ctx.data.unlabeled(cfg.unlabeled),
                       callbacks_for=lambda m: sample_callbacks(ctx.run_dir, m, cfg,
                                                               mirror=ctx.tensorboard))
    return evaluate_encoder(cfg, ctx, method, "ali")


def evaluate_encoder(cfg: SvhnSvmConfig, ctx: RunContext, method, name: str) -> list[dict]:
    """The SVM protocol on a trained method's encoder features (recorded as
    ``name``), the raw-pixels row if asked, and the pictures if asked."""
    data, layers = ctx.data, parse_layers(cfg.feature_layers)
    enc = method.nets.encoder
    # Features are computed inside their SVM stage, so a resumed run that finished one skips both.
    feats = {name: lambda: [encoder_features(enc, x, layers, ctx.device, cfg.eval_batch_size)
                            for x in (data.x_train, data.x_test)]}
    if cfg.raw_pixels:
        feats["raw-pixels"] = lambda: [pixel_features(data.x_train), pixel_features(data.x_test)]
    if cfg.untrained_encoder:
        feats[UNTRAINED] = lambda: untrained_features(cfg, ctx, layers)
    records = evaluate_features(cfg, ctx, feats)
    if cfg.figures:
        records += ctx.stage("pictures", lambda: draw_pictures(cfg, ctx, method, name))
    return records


UNTRAINED = "untrained-encoder"


def untrained_method(cfg: SvhnSvmConfig, ctx: RunContext):
    """ALI as the run built it before its first step (its seed, its init, the decoder's
    output bias from its images), in inference mode, the encoder's batch-norm
    statistics taken from the images it trains on: the ``untrained-encoder`` control
    row, and step 0 of ``curve``. The caller's RNG is left as it was."""
    images = ctx.data.unlabeled(cfg.unlabeled)
    with torch.random.fork_rng(devices=[ctx.device] if ctx.device.type == "cuda" else []):
        torch.manual_seed(ctx.seed)
        method = build_ali_method(cfg, ctx.device, images)
    method.nets.encoder = calibrate_encoder_bn(method.nets.encoder, images, ctx.device, cfg.eval_batch_size)
    for net in method.nets.modules().values():
        net.eval()
    return method


def untrained_features(cfg: SvhnSvmConfig, ctx: RunContext, layers: tuple[str, ...]) -> list[np.ndarray]:
    """The SVM features of the run's encoder as it was before training."""
    encoder = untrained_method(cfg, ctx).nets.encoder
    return [encoder_features(encoder, x, layers, ctx.device, cfg.eval_batch_size)
            for x in (ctx.data.x_train, ctx.data.x_test)]


def draw_pictures(cfg: SvhnSvmConfig, ctx: RunContext, method, name: str) -> list[dict]:
    """The run's figures from its validation split (the last n_val training images)."""
    val = Validation(ctx.data.x_train[-cfg.n_val:], None,
                     f"the last {cfg.n_val} images of {ctx.data.name}'s training split "
                     "(the SVM protocol's validation part)")
    return write_figures(ctx, method, val, cfg, name, cfg.n_labels, cfg.eval_batch_size)


def pictures(cfg: SvhnSvmConfig, ctx: RunContext, method=None) -> list[dict]:
    if method is None:
        method = build_ali_method(cfg, ctx.device)
        restore(ctx.run_dir, method, ctx.device)
    return draw_pictures(cfg, ctx, method, "ali")


register(Experiment(
    name="svhn-svm",
    summary="ALI on SVHN, L2-SVM on encoder features (paper Table 1: "
            f"{paper.format_result(paper.lookup('svhn', 'ali', 1000))} %)",
    config_cls=SvhnSvmConfig, presets=PRESETS, execute=execute,
    methods=("ali", "raw-pixels", UNTRAINED),
    check=check, paper_table="svhn", pictures=pictures,
    model=lambda cfg, dataset, device: build_ali_method(cfg, device)))
