"""One directory per run: ``run.json`` (config, seed, data, commit, hardware,
state), ``metrics.jsonl`` (one metric per line), ``train_log.jsonl``,
``checkpoint.pt`` and the label draws used."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from .errors import UserError
from .fsutil import append_jsonl, atomic_write_json, read_jsonl

STATES = ("running", "finished", "failed", "interrupted")
RUN_FILE = "run.json"
METRICS_FILE = "metrics.jsonl"
TRAIN_LOG = "train_log.jsonl"
CHECKPOINT = "checkpoint.pt"


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


class Run:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def create(cls, out_dir: Path, name: str, meta: dict[str, Any]) -> "Run":
        """A fresh directory under ``out_dir``; concurrent creators never share one."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        base = f"{name}_{time.strftime('%Y%m%d-%H%M%S')}"
        for i in range(10_000):
            path = out_dir / (base if i == 0 else f"{base}-{i}")
            try:
                path.mkdir()
                break
            except FileExistsError:
                continue
        else:
            raise UserError(f"could not create a run directory under {out_dir}")
        run = cls(path)
        atomic_write_json(run.path / RUN_FILE,
                          {**meta, "run": path.name, "state": "running", "started": now()})
        return run

    @classmethod
    def open(cls, path: Path, experiment: str | None = None) -> "Run":
        path = Path(path)
        if not (path / RUN_FILE).is_file():
            raise UserError(f"{path} is not a run directory (no {RUN_FILE}); "
                            "pass a directory created by an alibench run")
        run = cls(path)
        try:
            meta = run.meta
        except (json.JSONDecodeError, OSError) as exc:
            raise UserError(f"{path / RUN_FILE} is unreadable ({exc})") from exc
        if experiment and meta.get("experiment") != experiment:
            raise UserError(f"{path} is a '{meta.get('experiment')}' run, not '{experiment}'; "
                            f"resume it with: python -m alibench.run {meta.get('experiment')} --resume {path}")
        return run

    @property
    def meta(self) -> dict[str, Any]:
        return json.loads((self.path / RUN_FILE).read_text())

    def update(self, **fields: Any) -> None:
        atomic_write_json(self.path / RUN_FILE, {**self.meta, **fields})

    def set_state(self, state: str, message: str | None = None) -> None:
        assert state in STATES, state
        fields: dict[str, Any] = {"state": state, f"{state}_at": now()}
        if message is not None:
            fields["message"] = message
        self.update(**fields)

    @property
    def state(self) -> str:
        return self.meta.get("state", "unknown")

    def add_metric(self, record: dict[str, Any]) -> None:
        append_jsonl(self.path / METRICS_FILE, record)

    def metrics(self) -> list[dict[str, Any]]:
        return read_jsonl(self.path / METRICS_FILE)

    def log_train(self, record: dict[str, Any]) -> None:
        append_jsonl(self.path / TRAIN_LOG, record)

    def train_log(self) -> list[dict[str, Any]]:
        return read_jsonl(self.path / TRAIN_LOG)

    @property
    def checkpoint_path(self) -> Path:
        return self.path / CHECKPOINT


def find_runs(root: Path) -> list[Run]:
    """Every run directory at or below ``root``."""
    root = Path(root)
    return [Run(p.parent) for p in sorted(root.rglob(RUN_FILE))]
