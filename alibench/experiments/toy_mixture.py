"""The paper's 2-D mixture experiment ("importance of learning inference jointly
with generation"): ALI vs a GAN, the GAN with inference added afterwards (a
learned inverse mapping, post-hoc ALI) and a VAE, on 25 Gaussians.

One run = one seed: every selected method trains in turn (each its own phase
directory with its checkpoint and train log, so a resumed run skips finished
phases and continues the interrupted one), then each is measured
(``evaluation.mixture``) and the figure ``mixture.png`` drawn. ``gan-inverse``
and ``gan-posthoc`` freeze the GAN of the same run, or the one of ``base_gan``
(a finished toy-mixture run directory: the paper froze its best-covering GAN).

Setup read from the released code (docs/toy-mixture.md has the sources): see
``data.mixture``, ``models.mixture`` and ``methods.mixture``. The paper trained
each model 10 times with a random learning rate, β1 and init std; the ranges
are not stated. Ours (``random_search``, drawn from the run's seed; every
method of a run shares the draw, so ALI and the GAN of one seed are paired):
lr log-uniform in [lr_min, lr_max] = [2e-5, 5e-4] (around the released 1e-4),
β1 uniform in [0.1, 0.9] (PyTorch convention; the released 0.8 is β1 = 0.2),
init std log-uniform in [0.005, 0.08] (around the released 0.02).
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..core import checkpoint, checks
from ..core.config import setting_overrides
from ..core.errors import UserError
from ..core.registry import Experiment, register
from ..core.rundir import PhaseDir, RunDir
from ..data.batches import EpochSampler
from ..data.mixture import NAME, MixtureData, make_mixture
from ..evaluation.mixture import Outcome, evaluate
from ..methods.mixture import Hyper, InverseMapping, MixtureALI, MixtureGAN, MixtureVAE
from ..models import mixture as nets
from ..reporting import paper
from ..reporting.mixture_figure import write_mixture_figure
from ..reporting.mixture_report import write_mixture_report
from ..reporting.mixture_tables import render_run_summary
from ..train.entry import fit
from ..train.fastpath import resolve, switch_values
from ..train.loop import LoopSettings
from .context import RunContext

METHODS = ("ali", "gan", "gan-inverse", "gan-posthoc", "vae")
NEEDS_GAN = ("gan-inverse", "gan-posthoc")
FIGURE = "mixture.png"
EVAL_SEED_OFFSET = 7_777   # evaluation noise: its own stream, never the training one


@dataclass
class ToyMixtureConfig:
    """Defaults: the released scripts plus the paper's random search (``paper``)."""
    data: str = NAME
    methods: str = ",".join(METHODS)
    data_seed: int = 1          # the same training set for every run (the released code's too)
    n_train: int = 100_000
    n_held: int = 10_000
    mixture_std: float = 0.05
    batch_size: int = 100
    steps: int = 200_000        # ALI and GAN: 200 epochs × 1,000 updates
    steps_after: int = 200_000  # gan-inverse and gan-posthoc (unstated in the paper)
    steps_vae: int = 200_000    # (unstated)
    lr: float = 1e-4
    beta1: float = 0.2          # the released Adam(beta1=0.8) in Blocks' old one-minus convention
    beta2: float = 0.999
    init_std: float = 0.02
    random_search: bool = True  # draw lr, beta1, init_std per seed from the ranges below
    lr_min: float = 2e-5
    lr_max: float = 5e-4
    beta1_min: float = 0.1
    beta1_max: float = 0.9
    init_std_min: float = 0.005
    init_std_max: float = 0.08
    gen_hidden: int = 400
    disc_hidden: int = 200
    maxout_pieces: int = 5
    vae_x_std: float = 0.05     # σ of the VAE's Gaussian p(x | z): the components' own std
    n_samples: int = 10_000     # samples Gx(z) the sample measures count
    base_gan: str = ""          # a finished toy-mixture run whose GAN (b) and (c) freeze
    one_pass_d: bool = True     # one backward through D for both losses (exact; methods.mixture)
    fused_adam: str = "on"      # auto|on|off; on: one fused Adam kernel (measured faster on a CPU here)
    log_every: int = 1000
    checkpoint_every: int = 10_000
    figure: bool = True

    def method_list(self) -> list[str]:
        names = [m.strip() for m in self.methods.split(",") if m.strip()]
        for m in names:
            if m not in METHODS:
                raise UserError(f"unknown method '{m}' in methods; valid: {', '.join(METHODS)}")
        if not names:
            raise UserError(f"methods is empty; choose from {', '.join(METHODS)}")
        return [m for m in METHODS if m in names]

    def validate(self) -> None:
        checks.one_of("data", self.data, (NAME,))
        methods = self.method_list()
        if any(m in NEEDS_GAN for m in methods) and "gan" not in methods and not self.base_gan:
            raise UserError("gan-inverse and gan-posthoc freeze a trained GAN: add gan to methods "
                            "or set base_gan to a finished toy-mixture run")
        checks.positive(self, "n_train", "n_held", "mixture_std", "batch_size", "steps", "steps_after",
                        "steps_vae", "lr", "init_std", "gen_hidden", "disc_hidden", "maxout_pieces",
                        "vae_x_std", "n_samples", "log_every", "checkpoint_every")
        checks.non_negative(self, "data_seed")
        if self.batch_size > self.n_train:
            raise UserError(f"batch_size={self.batch_size} exceeds n_train={self.n_train}")
        if self.n_held < 2:
            raise UserError(f"n_held must be at least 2, got {self.n_held}")
        for key in ("beta1", "beta2"):
            checks.within(self, key, 0.0, 1.0, open_hi=True)
        if self.random_search:
            self._check_ranges()
        if self.base_gan:
            gan_checkpoint(Path(self.base_gan))

    def _check_ranges(self) -> None:
        checks.positive(self, "lr_min", "init_std_min")
        for key in ("beta1_min", "beta1_max"):
            checks.within(self, key, 0.0, 1.0, open_hi=True)
        for lo, hi in (("lr_min", "lr_max"), ("beta1_min", "beta1_max"), ("init_std_min", "init_std_max")):
            if getattr(self, lo) > getattr(self, hi):
                raise UserError(f"{lo}={getattr(self, lo)} exceeds {hi}={getattr(self, hi)}")

    def steps_of(self, method: str) -> int:
        return {"gan-inverse": self.steps_after, "gan-posthoc": self.steps_after,
                "vae": self.steps_vae}.get(method, self.steps)


PRESETS = {
    "paper": {},
    # The whole five-way comparison in minutes on a CPU: the released networks and
    # data, no random search (the released values), a larger learning rate and
    # 1/25 of the updates (docs/toy-mixture.md: what this does and does not show).
    "demo": {"random_search": False, "lr": 5e-4, "beta1": 0.5, "steps": 8000, "steps_after": 3000,
             "steps_vae": 4000, "log_every": 500, "checkpoint_every": 2000},
}


def gan_checkpoint(run_path: Path) -> Path:
    """The GAN phase checkpoint of a finished toy-mixture run, or a one-line refusal."""
    try:
        run = RunDir.open(run_path, "toy-mixture")
        state = run.meta.get("state")
    except UserError as exc:
        raise UserError(f"base_gan: {exc}") from None
    path = run_path / "gan" / "checkpoint.pt"
    if state != "finished" or not path.is_file():
        raise UserError(f"base_gan: {run_path} is not a finished toy-mixture run with a trained gan "
                        f"(state {state}); choose one that trained gan")
    return path


def draw_hyper(cfg: ToyMixtureConfig, seed: int) -> Hyper:
    """The released values, or the seed's draw from the random-search ranges."""
    if not cfg.random_search:
        return Hyper(cfg.lr, cfg.beta1, cfg.beta2, cfg.init_std)
    rng = np.random.default_rng([seed, 20_161_001])

    def log_uniform(lo: float, hi: float) -> float:
        return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
    return Hyper(lr=log_uniform(cfg.lr_min, cfg.lr_max),
                 beta1=float(rng.uniform(cfg.beta1_min, cfg.beta1_max)), beta2=cfg.beta2,
                 init_std=log_uniform(cfg.init_std_min, cfg.init_std_max))


@dataclass
class Phase:
    """Where one method trains: a phase directory inside the run (``train.entry.Where``)."""
    run_dir: PhaseDir
    device: torch.device
    seed: int
    resumed: bool
    dist: Any = None


def _phase(ctx: RunContext, method: str) -> Phase:
    return Phase(PhaseDir.ensure(ctx.run_dir.path / method, method), ctx.device, ctx.seed, ctx.resumed)


def _gx(cfg: ToyMixtureConfig, hp: Hyper, device: torch.device):
    return nets.init_normal(nets.decoder(hidden=cfg.gen_hidden), hp.init_std).to(device)


def _gz(cfg: ToyMixtureConfig, hp: Hyper, device: torch.device):
    return nets.init_normal(nets.ImplicitEncoder(hidden=cfg.gen_hidden), hp.init_std).to(device)


def _vae_encoder(cfg: ToyMixtureConfig, hp: Hyper, device: torch.device):
    return nets.init_normal(nets.GaussianEncoder(hidden=cfg.gen_hidden), hp.init_std).to(device)


def _d(cfg: ToyMixtureConfig, hp: Hyper, in_dim: int, device: torch.device):
    net = nets.discriminator(in_dim, cfg.disc_hidden, cfg.maxout_pieces)
    return nets.init_normal(net, hp.init_std).to(device)


def builder(method: str, cfg: ToyMixtureConfig, hp: Hyper, device: torch.device, frozen_gx=None):
    """A function building ``method`` afresh on ``device`` (``fit`` calls it under the run's seed)."""
    flags = {"fused": resolve(switch_values(cfg), device).fused_adam}
    adv = {**flags, "one_pass": cfg.one_pass_d}
    dev = device
    if method == "ali":
        return lambda: MixtureALI(_gz(cfg, hp, dev), _gx(cfg, hp, dev), _d(cfg, hp, 4, dev), hp, **adv)
    if method == "gan":
        return lambda: MixtureGAN(_gx(cfg, hp, dev), _d(cfg, hp, 2, dev), hp, **adv)
    if method == "gan-inverse":
        return lambda: InverseMapping(_gz(cfg, hp, dev), _copy(frozen_gx, dev), hp, **flags)
    if method == "gan-posthoc":
        return lambda: MixtureALI(_gz(cfg, hp, dev), _copy(frozen_gx, dev), _d(cfg, hp, 4, dev), hp,
                                  train_gx=False, **adv)
    if method == "vae":
        return lambda: MixtureVAE(_vae_encoder(cfg, hp, dev), _gx(cfg, hp, dev), hp, cfg.vae_x_std, **flags)
    raise ValueError(method)


def _copy(gx, device: torch.device):
    """A private copy of the frozen generator (each method's checkpoint holds its own)."""
    return copy.deepcopy(gx).to(device)


def _batches(cfg: ToyMixtureConfig, data: MixtureData, seed: int, device: torch.device):
    """Seeded epochs over the training set (reshuffled each epoch, as the released stream)."""
    x = torch.from_numpy(data.x_train).to(device)
    sampler = EpochSampler(len(x), cfg.batch_size, seed, device)
    return lambda step: x.index_select(0, sampler.indices(step))


def train_method(method: str, cfg: ToyMixtureConfig, hp: Hyper, ctx: RunContext, frozen_gx=None):
    phase = _phase(ctx, method)
    settings = LoopSettings(cfg.steps_of(method), cfg.log_every, cfg.checkpoint_every,
                            desc=f"{method} seed {ctx.seed}")
    return fit(phase, builder(method, cfg, hp, ctx.device, frozen_gx),
               _batches(cfg, ctx.data, ctx.seed, ctx.device), settings, hyper=asdict(hp))


def load_base_gan(cfg: ToyMixtureConfig, hp: Hyper, device: torch.device):
    gx = _gx(cfg, hp, device)
    gx.load_state_dict(checkpoint.read(gan_checkpoint(Path(cfg.base_gan)))["state"]["gx"])
    return gx


def measure(method: str, trained, cfg: ToyMixtureConfig, ctx: RunContext) -> Outcome:
    data = ctx.data
    gz = None if method == "gan" else trained.gz
    return evaluate(trained.gx, gz, data.x_held, data.y_held, data.means, data.std, cfg.n_samples,
                    ctx.seed + EVAL_SEED_OFFSET)


def record(ctx: RunContext, method: str, out: Outcome, hp: Hyper, phase_log: list[dict]) -> list[dict]:
    last = phase_log[-1] if phase_log else {}
    common = {"hyper_lr": hp.lr, "hyper_beta1": hp.beta1, "hyper_init_std": hp.init_std,
              "collapsed": out.collapsed, "steps_trained": last.get("step", 0),
              "overrides": " ".join(setting_overrides(ctx.run_dir.meta.get("overrides", []), ("methods=",)))}
    recs = [ctx.record(method, name, value, 0, **common) for name, value in out.metrics.items()]
    finals = {k: v for k, v in last.items() if k.startswith(("loss", "acc"))}
    for name, value in {**out.extra, **finals}.items():
        recs.append(ctx.record(method, name, value, 0, **common))
    return recs


def execute(cfg: ToyMixtureConfig, ctx: RunContext) -> list[dict]:
    hp = draw_hyper(cfg, ctx.seed)
    ctx.run_dir.update(hyper=asdict(hp))
    frozen_gx = load_base_gan(cfg, hp, ctx.device) if cfg.base_gan else None
    records, arrays, logs = [], {}, {}
    for method in cfg.method_list():
        trained = train_method(method, cfg, hp, ctx, frozen_gx)
        if method == "gan" and not cfg.base_gan:
            frozen_gx = trained.gx
        out = measure(method, trained, cfg, ctx)
        logs[method] = _phase(ctx, method).run_dir.train_log()
        records += record(ctx, method, out, hp, logs[method])
        arrays[method] = out.arrays
        if out.collapsed:
            print(f"note: {method} seed {ctx.seed} collapsed: its samples cover "
                  f"{int(out.metrics['modes_covered'])} mode")
    if cfg.figure:
        title = (f"toy-mixture, preset {ctx.preset}, seed {ctx.seed}: lr {hp.lr:.2g}, β1 {hp.beta1:.2f}, "
                 f"init std {hp.init_std:.3g}")
        write_mixture_figure(ctx.run_dir.path / FIGURE, arrays, ctx.data.x_held, ctx.data.y_held,
                             len(ctx.data.means), title)
    write_mixture_report(ctx.run_dir, logs, FIGURE if cfg.figure else None)
    return records


def make_data(cfg: ToyMixtureConfig) -> MixtureData:
    return make_mixture(cfg.data_seed, cfg.n_train, cfg.n_held, cfg.mixture_std)


register(Experiment(
    name="toy-mixture",
    summary="2-D mixture of 25 Gaussians: ALI vs GAN, inverse mapping, post-hoc inference, VAE "
            f"(paper, modes covered: {paper.format_modes('ali')} ALI, {paper.format_modes('gan')} GAN)",
    config_cls=ToyMixtureConfig, presets=PRESETS, execute=execute, methods=METHODS,
    paper_table=NAME, make_data=make_data, report=render_run_summary))
