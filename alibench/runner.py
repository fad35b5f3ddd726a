"""Running a registered experiment: config, data and every check first, then
one run directory per seed, its state kept current in run.json."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from . import __version__, checkpoint, distributed, fastpath, hardware, stop, tables
from .config import build_config, from_dict, to_dict
from .data import load_dataset
from .errors import UserError
from .experiments.common import RunContext
from .fsutil import atomic_write_json
from .loop import Divergence
from .registry import Experiment
from .rundir import Run, check_out_dir

SPLITS_DIR = "label-splits"


class Resume(NamedTuple):
    run: Run
    step: int     # of its checkpoint (0: none yet)


def _configs(exp: Experiment, args: argparse.Namespace):
    """([configs, one per label count], preset, seeds, Resume or None)."""
    from .run import parse_int_list, parse_seeds
    if args.resume is None:
        overrides = ([f"data={args.data}"] if args.data else []) + list(args.overrides)
        labels = parse_int_list(args.labels, "--labels") if args.labels else [None]
        if labels != [None] and not hasattr(exp.config_cls, "n_labels"):
            raise UserError(f"{exp.name} takes no --labels")
        cfgs = [build_config(exp.config_cls, exp.presets, args.preset,
                             overrides + ([f"n_labels={n}"] if n else [])) for n in labels]
        return cfgs, args.preset, parse_seeds(args.seeds), None
    if args.overrides or args.data or args.labels:
        raise UserError("--set/--data/--labels cannot be combined with --resume: "
                        "a resumed run keeps its saved config")
    return _resumable(exp, Path(args.resume))


def _resumable(exp: Experiment, path: Path):
    """Everything about a run to resume is checked before the run is touched."""
    run = Run.open(path, exp.name)
    meta = run.meta
    if meta.get("state") == "finished":
        raise UserError(f"{path} already finished; nothing to resume "
                        "(start a new run to train again)")
    missing = [k for k in ("config", "preset", "seed") if k not in meta]
    if missing:
        raise UserError(f"{path / 'run.json'} lacks {', '.join(missing)}; this run cannot be resumed")
    run.hold()
    step = int(checkpoint.read(run.checkpoint_path)["step"]) if run.checkpoint_path.exists() else 0
    cfg = from_dict(exp.config_cls, meta["config"])
    cfg.validate()
    return [cfg], meta["preset"], [int(meta["seed"])], Resume(run, step)


def _meta(exp: Experiment, cfg, preset: str, seed: int, data, args, device) -> dict:
    return {"experiment": exp.name, "preset": preset, "seed": seed, "config": to_dict(cfg),
            "overrides": list(args.overrides), "alibench_version": __version__,
            "git_commit": hardware.git_commit(), "hardware": hardware.info(device),
            "dataset": {**data.summary(), "fingerprint": data.fingerprint()},
            "data_dir": str(args.data_dir) if args.data_dir else None,
            "command": "python -m alibench.run " + shlex.join(sys.argv[1:])}


def _run_one(exp: Experiment, cfg, ctx: RunContext) -> list[dict]:
    run = ctx.run
    try:
        with stop.handling_signals():
            records = exp.run(cfg, ctx)
    except distributed.WorkerDone:
        return []                   # a rank other than 0: training done, rank 0 evaluates
    except Divergence as exc:
        run.set_state("failed", f"training diverged: {exc}")
        raise UserError(f"training diverged: {exc}; run marked failed in {run.path}, "
                        f"{_checkpoint_note(run)}; lower lr or change the config") from exc
    except stop.Stopped as exc:
        run.set_state("interrupted", exc.message)
        exc.message += (f"; run marked interrupted, {_checkpoint_note(run)}; resume with: "
                        f"python -m alibench.run {exp.name} --resume {run.path}")
        raise
    except KeyboardInterrupt:
        run.set_state("interrupted", "interrupted by the user")
        raise
    except BaseException as exc:
        run.set_state("failed", f"{type(exc).__name__}: {exc}")
        raise
    run.set_state("finished")
    return records


def run_experiment(exp: Experiment, args: argparse.Namespace) -> int:
    cfgs, preset, seeds, resumed = _configs(exp, args)
    if args.show_config:
        for cfg in cfgs:
            print(json.dumps(to_dict(cfg), indent=2))
        return 0
    env = distributed.setup(args.device)      # None unless torchrun started several processes
    try:
        return _run_all(exp, args, cfgs, preset, seeds, resumed, env)
    finally:
        distributed.shutdown(env)


def _run_all(exp: Experiment, args, cfgs, preset, seeds, resumed, env) -> int:
    device = env.device if env else hardware.resolve_device(args.device)
    data = load_dataset(cfgs[0].data, args.data_dir, args.download,
                        with_extra="extra" in getattr(cfgs[0], "unlabeled", ""))
    for cfg in cfgs:              # every refusal happens before any directory is made
        if exp.check is not None:
            exp.check(cfg, data)
        fastpath.check_config(cfg, device, distributed=env is not None)
        distributed.check_config(cfg, env)
    main = env is None or env.is_main
    for note in data.notes if main else ():
        print(f"note: {data.name}: {note}")
    out = Path(args.out) if resumed is None else resumed.run.path.parent
    if main:
        check_out_dir(out)
    hw = hardware.describe(device) + (f" × {env.world} processes (DDP)" if env else "")
    records: list[dict] = []
    for cfg in cfgs:
        for seed in seeds:
            if main:
                run = _open_run(exp, cfg, preset, seed, data, args, device, out, resumed)
                print(f"run: {run.path}")
                if env is not None:
                    run.update(world_size=env.world)
            else:
                run, scratch = distributed.worker_run(exp.name, env.rank)
                env.main_checkpoint = resumed.run.checkpoint_path if resumed else None
            ctx = RunContext(exp.name, run, data, device, seed, preset, hw,
                             out / SPLITS_DIR, resumed=resumed is not None,
                             paper_dataset=exp.paper_dataset, dist=env)
            try:
                records += _run_one(exp, cfg, ctx)
            finally:
                if not main:
                    distributed.remove_worker_run(scratch)
    if not main:
        return 0
    summary = tables.summarize(pd.DataFrame(records))
    if not summary.empty:     # picture-only experiments have no error rates to tabulate
        print()
        print(tables.render(tables.display(summary)))
    if not data.full:
        print(f"\n{data.description}: not the full dataset, so these numbers are not comparable "
              "with the paper's (shown for reference only).")
    return 0


def _open_run(exp: Experiment, cfg, preset: str, seed: int, data, args, device, out: Path,
              resumed: Resume | None) -> Run:
    if resumed is not None:
        resumed.run.start_resume(resumed.step)
        return resumed.run
    labels = f"_n{cfg.n_labels}" if hasattr(cfg, "n_labels") else ""
    name = f"{exp.name}_{data.name.replace(':', '-')}_{preset}{labels}_seed{seed}"
    run = Run.create(out, name, _meta(exp, cfg, preset, seed, data, args, device))
    if data.split_info:
        atomic_write_json(run.path / "data_split.json", data.split_info)
    return run


def _checkpoint_note(run: Run) -> str:
    """Which checkpoint a stopped or failed run keeps (only finite states are ever saved)."""
    if not run.checkpoint_path.exists():
        return "no checkpoint had been written"
    try:
        return f"its checkpoint at step {checkpoint.read(run.checkpoint_path)['step']} is kept"
    except UserError:
        return "its checkpoint is unreadable"
