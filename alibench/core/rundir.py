"""One directory per run: ``run.json`` (config, seed, data, commit, hardware,
state), ``metrics.jsonl`` (one metric per line), ``train_log.jsonl``,
``checkpoint.pt`` and the label draws used.

A run directory is held by one process at a time (a lock that the operating
system releases when the process dies, however it dies), so a resume can never
write into a run that is still going."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from . import faults
from .errors import UserError
from .files import append_jsonl, atomic_write_json, read_jsonl, remove_stale_temp_files

STATES = ("running", "finished", "failed", "interrupted")
RUN_FILE = "run.json"
METRICS_FILE = "metrics.jsonl"
TRAIN_LOG = "train_log.jsonl"
CHECKPOINT = "checkpoint.pt"
LOCK_FILE = ".run.lock"
PHASE_FILE = "phase.json"


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def check_out_dir(out_dir: Path) -> None:
    """Refuse an --out that cannot receive run directories, before anything is made."""
    out_dir = Path(out_dir)
    existing = out_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"--out {out_dir}: {existing} is a file, not a directory; choose another --out")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"--out {out_dir}: {existing} is not writable; "
                        "choose another --out or fix its permissions")


class RunDir:
    meta_file = RUN_FILE

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock: FileLock | None = None

    @classmethod
    def create(cls, out_dir: Path, name: str, meta: dict[str, Any]) -> "RunDir":
        """A fresh directory under ``out_dir``; concurrent creators never share one."""
        out_dir = Path(out_dir)
        base = f"{name}_{time.strftime('%Y%m%d-%H%M%S')}"
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            for i in range(10_000):
                path = out_dir / (base if i == 0 else f"{base}-{i}")
                try:
                    path.mkdir()   # atomic: exactly one creator gets each name
                    break
                except FileExistsError:
                    continue
            else:
                raise UserError(f"could not create a run directory under {out_dir}")
        except OSError as exc:
            raise UserError(f"cannot create a run directory under {out_dir} ({exc.strerror}); "
                            "choose another --out") from exc
        run = cls(path)
        run.hold()
        atomic_write_json(run.path / RUN_FILE, {**meta, "run": path.name, "state": "running",
                                                "started": now(), **_process()})
        return run

    @classmethod
    def open(cls, path: Path, experiment: str | None = None) -> "RunDir":
        path = Path(path)
        if not (path / RUN_FILE).is_file():
            raise UserError(f"{path} is not a run directory (no {RUN_FILE}); "
                            "pass a directory created by an alibench run")
        run = cls(path)
        try:
            meta = run.meta
        except (ValueError, OSError) as exc:
            raise UserError(f"{path / RUN_FILE} is unreadable ({exc}); this run cannot be resumed") from exc
        if not isinstance(meta, dict):
            raise UserError(f"{path / RUN_FILE} is not an alibench run file; this run cannot be resumed")
        if experiment and meta.get("experiment") != experiment:
            raise UserError(f"{path} is a '{meta.get('experiment')}' run, not '{experiment}'; "
                            f"resume it with: python -m alibench.run {meta.get('experiment')} --resume {path}")
        return run

    def hold(self) -> None:
        """Take the run's lock for the rest of this process, or refuse if another has it."""
        lock = FileLock(str(self.path / LOCK_FILE))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise UserError(f"{self.path} is in use by another alibench process "
                            f"(pid {self.meta.get('pid', '?')} on {self.meta.get('host', '?')}); "
                            "wait for it to end or stop it first") from None
        self._lock = lock

    @property
    def meta(self) -> dict[str, Any]:
        return json.loads((self.path / self.meta_file).read_text())

    def update(self, **fields: Any) -> None:
        atomic_write_json(self.path / self.meta_file, {**self.meta, **fields})

    def set_state(self, state: str, message: str | None = None) -> None:
        assert state in STATES, state
        fields: dict[str, Any] = {"state": state, f"{state}_at": now()}
        if message is not None:
            fields["message"] = message
        self.update(**fields)

    def start_resume(self, step: int) -> None:
        """Mark the run running again and count the resume; files a kill left
        half-written go. Metric lines and finished stages stay: each metric is
        written once (``add_metric``) and a finished stage is not redone (``stage_records``)."""
        meta = self.meta
        resumes = meta.get("resumes", []) + [{"at": now(), "from_state": meta.get("state"),
                                              "from_step": step, **_process()}]
        remove_stale_temp_files(self.path)
        self.update(state="running", resumes=resumes, n_resumes=len(resumes), message=None,
                    **_process())

    @property
    def state(self) -> str:
        return self.meta.get("state", "unknown")

    def add_metric(self, record: dict[str, Any]) -> dict[str, Any]:
        """Append a metric line unless the run already has one for its (method,
        metric): a resumed evaluation never duplicates a line. Returns the line kept."""
        key = (record.get("method"), record.get("metric"))
        for old in self.metrics():
            if (old.get("method"), old.get("metric")) == key:
                return old
        append_jsonl(self.path / METRICS_FILE, record)
        faults.point("metric")
        return record

    def stage_records(self, name: str) -> list[dict[str, Any]] | None:
        """The metric lines of a stage marked finished (``finish_stage``), or None
        if it has not finished (or its lines are gone: then it is redone)."""
        keys = self.meta.get("stages", {}).get(name)
        if keys is None:
            return None
        have = {(r.get("method"), r.get("metric")): r for r in self.metrics()}
        if not all(tuple(k) in have for k in keys):
            return None
        return [have[tuple(k)] for k in keys]

    def finish_stage(self, name: str, records: list[dict[str, Any]]) -> None:
        """Mark a stage finished (in run.json, atomically) with the metric lines it wrote."""
        stages = {**self.meta.get("stages", {}), name: [[r["method"], r["metric"]] for r in records]}
        self.update(stages=stages)

    def metrics(self) -> list[dict[str, Any]]:
        return read_jsonl(self.path / METRICS_FILE)

    def log_train(self, record: dict[str, Any]) -> None:
        append_jsonl(self.path / TRAIN_LOG, record)

    def train_log(self) -> list[dict[str, Any]]:
        return read_jsonl(self.path / TRAIN_LOG)

    @property
    def checkpoint_path(self) -> Path:
        return self.path / CHECKPOINT


class PhaseDir(RunDir):
    """One training phase inside a run (an experiment that trains several models in
    turn): its own ``phase.json``, train log and checkpoint, under the run's lock.
    Not a run itself: ``find_runs`` and the tables never see it."""
    meta_file = PHASE_FILE

    @classmethod
    def ensure(cls, path: Path, name: str) -> "PhaseDir":
        phase = cls(path)
        if not (phase.path / PHASE_FILE).is_file():
            phase.path.mkdir(parents=True, exist_ok=True)
            atomic_write_json(phase.path / PHASE_FILE, {"phase": name, "created": now()})
        return phase


def _process() -> dict[str, Any]:
    return {"pid": os.getpid(), "host": socket.gethostname()}


def find_runs(root: Path) -> list[RunDir]:
    """Every run directory at or below ``root``, through symlinked folders too (a
    folder of links to runs kept elsewhere is a common way to pool them), each
    real folder once."""
    found, seen = [], set()
    for folder, subdirs, files in os.walk(Path(root), followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:       # a link cycle, or a second link to the same folder
            subdirs[:] = []
            continue
        seen.add(real)
        subdirs.sort()
        if RUN_FILE in files:
            found.append(Path(folder))
    return [RunDir(p) for p in sorted(found)]
