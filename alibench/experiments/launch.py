"""Launching a registered experiment: config, data and every check first, then
one run directory per (label count, seed), its state kept current in run.json.

The command line hands a ``RunRequest`` (parsed, typed, frozen); nothing here
knows about argparse.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from ..core import __version__, checkpoint, hardware
from ..core import signals as stop
from ..core.config import ConfigFile, build_config, read_config_file, to_dict
from ..core.errors import UserError
from ..core.files import NoSpace, atomic_write_json
from ..core.registry import Experiment
from ..core.rundir import RunDir, check_out_dir
from ..reporting import tables
from ..reporting.figures import FigureConfig, check_fidelity
from ..train import distributed, fastpath
from ..train.loop import Divergence
from .context import RunContext, load_data, saved_config


@dataclass(frozen=True)
class RunRequest:
    """What the user asked for, parsed: one run per (label count, seed)."""
    preset: str | None = None             # None: a --config run.json's, else the experiment's default
    data: str | None = None               # a data source overriding the preset's
    data_dir: Path | None = None
    download: bool = False
    device: str = "auto"
    seeds: tuple[int, ...] = (0,)
    labels: tuple[int, ...] | None = None  # None: the preset's n_labels
    out: Path = Path("results/runs")
    overrides: tuple[str, ...] = ()       # --set key=value
    resume: Path | None = None
    show_config: bool = False
    command: str = ""                     # as typed, for run.json
    config_file: Path | None = None       # --config: JSON/YAML config keys or a run.json


class Resume(NamedTuple):
    run: RunDir
    step: int     # of its checkpoint (0: none yet)


def _configs(exp: Experiment, req: RunRequest):
    """([configs, one per label count], preset, seeds, Resume or None)."""
    if req.resume is None:
        overrides = ([f"data={req.data}"] if req.data else []) + list(req.overrides)
        if req.labels is not None and not hasattr(exp.config_cls, "n_labels"):
            raise UserError(f"{exp.name} takes no --labels")
        file = _config_file(exp, req.config_file)
        preset = req.preset or (file.preset if file else None) or exp.default_preset
        cfgs = [build_config(exp.config_cls, exp.presets, preset,
                             overrides + ([f"n_labels={n}"] if n else []), file)
                for n in req.labels or [None]]
        return cfgs, preset, list(req.seeds), None
    if req.overrides or req.data or req.labels or req.config_file:
        raise UserError("--set/--config/--data/--labels cannot be combined with --resume: "
                        "a resumed run keeps its saved config")
    return _resumable(exp, Path(req.resume))


def _config_file(exp: Experiment, path: Path | None) -> ConfigFile | None:
    """The --config file; a run.json must be one of this experiment's."""
    if path is None:
        return None
    file = read_config_file(path)
    if file.experiment is not None and file.experiment != exp.name:
        raise UserError(f"--config {path} is a '{file.experiment}' run's run.json, not "
                        f"'{exp.name}''s; rerun it with: python -m alibench.run {file.experiment} "
                        f"--config {path}")
    return file


def _resumable(exp: Experiment, path: Path):
    """Everything about a run to resume is checked before the run is touched."""
    run = RunDir.open(path, exp.name)
    meta = run.meta
    if meta.get("state") == "finished":
        raise UserError(f"{path} already finished; nothing to resume "
                        "(start a new run to train again)")
    missing = [k for k in ("config", "preset", "seed") if k not in meta]
    if missing:
        raise UserError(f"{path / 'run.json'} lacks {', '.join(missing)}; this run cannot be resumed")
    run.hold()
    step = int(checkpoint.read(run.checkpoint_path)["step"]) if run.checkpoint_path.exists() else 0
    cfg = saved_config(exp, run)
    return [cfg], meta["preset"], [int(meta["seed"])], Resume(run, step)


def _meta(exp: Experiment, cfg, preset: str, seed: int, data, req: RunRequest, device) -> dict:
    return {"experiment": exp.name, "preset": preset, "seed": seed, "config": to_dict(cfg),
            "overrides": list(req.overrides), "alibench_version": __version__,
            "git_commit": hardware.git_commit(), "hardware": hardware.info(device),
            "dataset": {**data.summary(), "fingerprint": data.fingerprint()},
            "data_dir": str(req.data_dir) if req.data_dir else None,
            "command": req.command,
            "config_file": str(req.config_file) if req.config_file else None}


def _run_one(exp: Experiment, cfg, ctx: RunContext) -> list[dict]:
    run = ctx.run_dir
    try:
        with stop.handling_signals():
            records = exp.execute(cfg, ctx)
    except distributed.WorkerDone:
        return []                   # a rank other than 0: training done, rank 0 evaluates
    except NoSpace as exc:
        _mark(run, "failed", str(exc))
        raise UserError(f"{exc}; {_checkpoint_note(run)}; free space, then resume with: "
                        f"python -m alibench.run {exp.name} --resume {run.path}") from exc
    except Divergence as exc:
        _mark(run, "failed", f"training diverged: {exc}")
        raise UserError(f"training diverged: {exc}; run marked failed in {run.path}, "
                        f"{_checkpoint_note(run)}; lower lr or change the config") from exc
    except stop.Stopped as exc:
        _mark(run, "interrupted", exc.message)
        exc.message += (f"; run marked interrupted, {_checkpoint_note(run)}; resume with: "
                        f"python -m alibench.run {exp.name} --resume {run.path}")
        raise
    except KeyboardInterrupt:
        _mark(run, "interrupted", "interrupted by the user")
        raise
    except BaseException as exc:
        _mark(run, "failed", f"{type(exc).__name__}: {exc}")
        raise
    run.set_state("finished")
    return records


def run_experiment(exp: Experiment, req: RunRequest) -> int:
    cfgs, preset, seeds, resumed = _configs(exp, req)
    if req.show_config:
        for cfg in cfgs:
            print(json.dumps(to_dict(cfg), indent=2))
        return 0
    env = distributed.setup(req.device)      # None unless torchrun started several processes
    try:
        return _run_all(exp, req, cfgs, preset, seeds, resumed, env)
    finally:
        distributed.shutdown(env)


def _run_all(exp: Experiment, req: RunRequest, cfgs, preset, seeds, resumed, env) -> int:
    device = env.device if env else hardware.resolve_device(req.device)
    for cfg in cfgs:              # the files a config names, before the data is loaded
        if isinstance(cfg, FigureConfig):
            check_fidelity(cfg)
    data = load_data(cfgs[0], req.data_dir, req.download, exp)
    for cfg in cfgs:              # every refusal happens before any directory is made
        if exp.check is not None:
            exp.check(cfg, data)
        fastpath.check_config(cfg, device, distributed=env is not None)
        distributed.check_config(cfg, env)
    main = env is None or env.is_main
    for note in data.notes if main else ():
        print(f"note: {data.name}: {note}")
    out = Path(req.out) if resumed is None else resumed.run.path.parent
    if main:
        check_out_dir(out)
    hw = hardware.describe(device) + (f" × {env.world} processes (DDP)" if env else "")
    records: list[dict] = []
    for cfg in cfgs:
        for seed in seeds:
            if main:
                run = _open_run(exp, cfg, preset, seed, data, req, device, out, resumed)
                print(f"run: {run.path}")
                if env is not None:
                    run.update(world_size=env.world)
            else:
                run, scratch = distributed.worker_run(exp.name, env.rank)
                env.main_checkpoint = resumed.run.checkpoint_path if resumed else None
            ctx = RunContext(exp, run, data, device, seed, preset, hw,
                             resumed=resumed is not None, dist=env)
            try:
                records += _run_one(exp, cfg, ctx)
            finally:
                if not main:
                    distributed.remove_worker_run(scratch)
    if not main:
        return 0
    summary = tables.summarize(pd.DataFrame(records))
    text = exp.report(records) if exp.report is not None else ""
    if text:
        print()
        print(text)
    elif not summary.empty:     # picture-only experiments have no error rates to tabulate
        print()
        print(tables.render(tables.display(summary)))
    if not data.full:
        print(f"\n{data.description}: not the full dataset, so these numbers are not comparable "
              "with the paper's (shown for reference only).")
    return 0


def _open_run(exp: Experiment, cfg, preset: str, seed: int, data, req: RunRequest, device, out: Path,
              resumed: Resume | None) -> RunDir:
    if resumed is not None:
        resumed.run.start_resume(resumed.step)
        return resumed.run
    labels = f"_n{cfg.n_labels}" if hasattr(cfg, "n_labels") else ""
    name = f"{exp.name}_{data.name.replace(':', '-')}_{preset}{labels}_seed{seed}"
    run = RunDir.create(out, name, _meta(exp, cfg, preset, seed, data, req, device))
    if data.split_info:
        atomic_write_json(run.path / "data_split.json", data.split_info)
    return run


def _mark(run: RunDir, state: str, message: str) -> None:
    """Record why the run stopped, if the disk lets us (a full one may not: the
    run then still says running, and --resume takes it over all the same)."""
    try:
        run.set_state(state, message)
    except (OSError, NoSpace):
        pass


def _checkpoint_note(run: RunDir) -> str:
    """Which checkpoint a stopped or failed run keeps (only finite states are ever saved)."""
    if not run.checkpoint_path.exists():
        return "no checkpoint had been written"
    try:
        return f"its checkpoint at step {checkpoint.read(run.checkpoint_path)['step']} is kept"
    except UserError:
        return "its checkpoint is unreadable"
