"""What every experiment is handed: the run context (its run directory, data,
device, seed, …) and the metric record format; and the one way a run's context
is opened from a directory that already exists (``--resume`` and the
``figures`` tool share it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from ..core import faults, hardware
from ..core.config import from_dict
from ..core.registry import Experiment
from ..core.rundir import RunDir
from ..data import ImageData, load_dataset
from ..reporting.paper import paper_table
from ..train import distributed

SPLITS_DIR = "label-splits"   # beside the run directories: label draws shared by every method


@dataclass
class RunContext:
    """Everything a run needs besides its config."""
    experiment: Experiment
    run_dir: RunDir
    data: ImageData
    device: torch.device
    seed: int
    preset: str
    hardware: str
    resumed: bool = False
    dist: distributed.DistEnv | None = None   # set under torchrun (several processes)
    tensorboard: Any = None     # the TensorBoard mirror while training (train.tensorboard), if on

    @property
    def splits_dir(self) -> Path:
        return self.run_dir.path.parent / SPLITS_DIR

    @property
    def paper_dataset(self) -> str:
        """The paper table our numbers sit beside ('' when experiment or data differ)."""
        return paper_table(self.experiment.paper_table, self.data.name)

    def record(self, method: str, metric: str, value: float, n_labels: int, **extra: Any) -> dict:
        """Append one metric line to the run's metrics.jsonl (once per method and
        metric) and return it."""
        rec = {"experiment": self.experiment.name, "method": method, "dataset": self.data.name,
               "dataset_full": self.data.full, "paper_dataset": self.paper_dataset,
               "preset": self.preset, "n_labels": int(n_labels), "seed": self.seed,
               "metric": metric, "value": float(value), "hardware": self.hardware,
               "run": self.run_dir.path.name, **extra}
        return self.run_dir.add_metric(rec)   # the line already there, on a resumed run

    def stage(self, name: str, work: Callable[[], list[dict]]) -> list[dict]:
        """Run a stage after training (an SVM on one feature set, the pictures, an
        evaluation) once: ``work()`` returns its metric records; a resumed run
        whose stage finished gets them back from metrics.jsonl without redoing it."""
        done = self.run_dir.stage_records(name)
        if done is not None:
            return done
        records = work()
        faults.point("stage")
        self.run_dir.finish_stage(name, records)
        return records


def load_data(cfg: Any, data_dir: Path | None, download: bool = False,
              exp: Experiment | None = None) -> ImageData:
    """The data a config names (with SVHN's extra split when it trains on it), or
    what the experiment generates itself."""
    if exp is not None and exp.make_data is not None:
        return exp.make_data(cfg)
    return load_dataset(cfg.data, data_dir, download,
                        with_extra="extra" in getattr(cfg, "unlabeled", ""))


def saved_config(exp: Experiment, run_dir: RunDir) -> Any:
    """The config a run directory was started with, checked as a new one would be."""
    cfg = from_dict(exp.config_cls, run_dir.meta["config"])
    cfg.validate()
    return cfg


def reopen(exp: Experiment, run_dir: RunDir, data_dir: Path | None, device_name: str,
           resumed: bool = False):
    """(config, context) of an existing run, its data loaded as the run loaded it
    (from ``data_dir``, else where the run found it)."""
    cfg = saved_config(exp, run_dir)
    meta = run_dir.meta
    device = hardware.resolve_device(device_name)
    data_dir = data_dir or (Path(meta["data_dir"]) if meta.get("data_dir") else None)
    data = load_data(cfg, data_dir, exp=exp)
    ctx = RunContext(exp, run_dir, data, device, int(meta["seed"]), meta["preset"],
                     hardware.describe(device), resumed=resumed)
    return cfg, ctx
