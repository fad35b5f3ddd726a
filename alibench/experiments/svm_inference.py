"""The paper's §2.2 alternatives to ALI, and BiGAN, as rows of the SVHN SVM
track (beyond the paper's Table 1: no published comparison runs them under
one protocol).

- ``bigan``: ALI with a deterministic encoder (z = μ(x)); otherwise ``svhn-svm``.
- ``gan-inverse``: a GAN (ALI's decoder as its generator), then ALI's encoder
  trained on E‖z − μ(Gx(z))‖² against the frozen generator.
- ``gan-posthoc``: the same GAN, then a new stochastic encoder and joint
  D(x, z) trained with ALI's game against the frozen generator.

All three use ``svhn-svm``'s config (networks, Adam, batches, features, SVM
protocol) and its shared label draws for the same (dataset, n_labels, seed),
so their differences from ``ali`` are paired. For the two-phase methods the
GAN phase has ALI's schedule (``epochs``/``steps``) and the inference phase
its own (``inference_epochs``/``inference_steps``); they train eagerly (no fast
path) on one process. See ``methods.posthoc`` and docs/fidelity.md.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch

from ..core import checks
from ..core.errors import UserError
from ..core.registry import Experiment, register
from ..data import ImageData
from ..methods.posthoc import GANPhase, InverseMapping, PostHoc
from ..models.ali import ALINets, build_gan_discriminator
from ..reporting.figures import restore, sample_callbacks
from ..train.entry import epoch_batches, fit
from ..train.fastpath import switch_values
from ..train.loop import LoopSettings, steps_for
from .ali_training import GAME_KEYS, build_ali_method, build_nets, train_ali
from .context import RunContext
from .svhn_svm import DEMO_V1, PRESETS as SVHN_PRESETS, SvhnSvmConfig, check as check_svm, draw_pictures, \
    evaluate_encoder


@dataclass
class BiganConfig(SvhnSvmConfig):
    stochastic_encoder: bool = False
    raw_pixels: bool = False          # svhn-svm's runs give that row
    untrained_encoder: bool = False   # and this one

    def validate(self) -> None:
        super().validate()
        if self.stochastic_encoder:
            raise UserError("bigan's encoder is deterministic; for a stochastic one run svhn-svm")


@dataclass
class TwoPhaseConfig(SvhnSvmConfig):
    """svhn-svm's config; epochs/steps are the GAN phase's."""
    inference_epochs: float = 100.0   # the inference phase: ALI's 100 epochs again
    inference_steps: int = 0          # 0: derived from inference_epochs
    raw_pixels: bool = False
    untrained_encoder: bool = False

    def validate(self) -> None:
        super().validate()
        checks.non_negative(self, "inference_epochs", "inference_steps")
        on = [k for k, v in switch_values(self).items() if v == "on"]
        if on:
            raise UserError(f"the two-phase inference baselines train eagerly; set "
                            f"{', '.join(k + '=auto' for k in on)}")
        # their GAN phase and inference phase do not take ALI's game keys: refuse
        # them rather than silently train without them
        moved = [k for k in GAME_KEYS if getattr(self, k) != DEFAULTS[k]]
        if moved:
            raise UserError(f"the two-phase inference baselines do not take "
                            f"{', '.join(moved)}; leave {'it' if len(moved) == 1 else 'them'} "
                            f"at the default ({', '.join(f'{k}={DEFAULTS[k]!r}' for k in moved)})")


DEFAULTS = {f.name: f.default for f in fields(SvhnSvmConfig)}


def phase_steps(cfg: TwoPhaseConfig, n_images: int) -> tuple[int, int]:
    gan = steps_for(cfg.epochs, cfg.steps, n_images, cfg.batch_size)
    return gan, steps_for(cfg.inference_epochs, cfg.inference_steps, n_images, cfg.batch_size)


def check_two_phase(cfg: TwoPhaseConfig, data: ImageData) -> None:
    check_svm(cfg, data)
    gan, _ = phase_steps(cfg, len(data.unlabeled(cfg.unlabeled)))
    if gan % cfg.log_every:
        raise UserError(f"the GAN phase ({gan} steps) must end on a logging step; set "
                        f"log_every to a divisor of {gan}")


def build_two_phase(cfg: TwoPhaseConfig, device: torch.device, kind, gan_steps: int, images):
    nets = build_nets(cfg, device, images)
    disc = build_gan_discriminator(cfg.arch, cfg.width, cfg.d_reading).to(device)
    gan = GANPhase(nets.decoder, disc, cfg.lr, cfg.beta1, cfg.beta2, device)
    if kind is InverseMapping:   # no joint D: keep the GAN's D(x) where the figures look
        nets = ALINets(nets.encoder, nets.decoder, disc)
    return kind(nets, gan, gan_steps, cfg.lr, cfg.beta1, cfg.beta2, device)


def saved_two_phase(kind):
    """``model=``: a saved run's method (in its inference phase: the decoder frozen)."""
    def model(cfg: TwoPhaseConfig, dataset, device: torch.device):
        method = build_two_phase(cfg, device, kind, 0, None)
        method.nets.decoder.eval()
        return method
    return model


def _two_phase(kind, name: str):
    def execute(cfg: TwoPhaseConfig, ctx: RunContext) -> list[dict]:
        if ctx.dist is not None:
            raise UserError(f"{name} trains on one process; run it without torchrun")
        images = ctx.data.unlabeled(cfg.unlabeled)
        gan_steps, inf_steps = phase_steps(cfg, len(images))
        settings = LoopSettings(gan_steps + inf_steps, cfg.log_every, cfg.checkpoint_every,
                                desc=f"{name} seed {ctx.seed}")
        method = fit(ctx, lambda: build_two_phase(cfg, ctx.device, kind, gan_steps, images),
                     epoch_batches(ctx, images, cfg.batch_size), settings,
                     callbacks_for=lambda m: sample_callbacks(ctx.run_dir, m, cfg),
                     train_images=len(images), gan_steps=gan_steps, inference_steps=inf_steps)
        return evaluate_encoder(cfg, ctx, method, name)

    def pictures(cfg: TwoPhaseConfig, ctx: RunContext, method=None) -> list[dict]:
        if method is None:
            gan_steps, _ = phase_steps(cfg, len(ctx.data.unlabeled(cfg.unlabeled)))
            method = build_two_phase(cfg, ctx.device, kind, gan_steps, None)
            restore(ctx.run_dir, method, ctx.device)
            method.nets.decoder.eval()
        return draw_pictures(cfg, ctx, method, name)
    return execute, pictures


def execute_bigan(cfg: BiganConfig, ctx: RunContext) -> list[dict]:
    method = train_ali(cfg, ctx, ctx.data.unlabeled(cfg.unlabeled),
                       callbacks_for=lambda m: sample_callbacks(ctx.run_dir, m, cfg))
    return evaluate_encoder(cfg, ctx, method, "bigan")


def pictures_bigan(cfg: BiganConfig, ctx: RunContext, method=None) -> list[dict]:
    if method is None:
        method = build_ali_method(cfg, ctx.device)
        restore(ctx.run_dir, method, ctx.device)
    return draw_pictures(cfg, ctx, method, "bigan")


# svhn-svm's presets, but the first demo (its numbers in docs/fidelity.md were measured
# with it; svhn-svm's own demo moved on, docs/demo.md).
PRESETS = {**SVHN_PRESETS, "demo": DEMO_V1}
# The demo's inference phase: half the GAN phase's 600 steps.
TWO_PHASE_PRESETS = {**PRESETS, "demo": {**PRESETS["demo"], "inference_steps": 300},
                     "fast": {**PRESETS["fast"], "inference_epochs": 10.0}}

register(Experiment(
    name="bigan", summary="BiGAN (ALI with a deterministic encoder), L2-SVM on its encoder's "
                          "features (our row of Table 1)",
    config_cls=BiganConfig, presets=PRESETS, execute=execute_bigan, methods=("bigan",),
    check=check_svm, paper_table="svhn", pictures=pictures_bigan,
    model=lambda cfg, dataset, device: build_ali_method(cfg, device)))

for _kind, _name, _summary in (
        (InverseMapping, "gan-inverse", "GAN + a learned inverse mapping E‖z − Gz(Gx(z))‖²"),
        (PostHoc, "gan-posthoc", "GAN + post-hoc inference (ALI's game, frozen generator)")):
    _execute, _pictures = _two_phase(_kind, _name)
    register(Experiment(
        name=_name, summary=f"{_summary}, L2-SVM on the encoder's features (our row of Table 1)",
        config_cls=TwoPhaseConfig, presets=TWO_PHASE_PRESETS, execute=_execute, methods=(_name,),
        check=check_two_phase, paper_table="svhn", pictures=_pictures, model=saved_two_phase(_kind)))
