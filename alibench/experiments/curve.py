"""``python -m alibench.run curve RUN_DIR``: a run's kept checkpoints evaluated
along its way (issue 13), from its directory alone.

For each checkpoint the run kept (``RUN/checkpoints/step_XXXXXXXX.pt``, written
when it trained with ``--set keep_checkpoints_every=N``; every K-th with
``--every K``) and its final ``checkpoint.pt`` when that step is not among them,
ALI's networks are built as the run built them (its saved config) and loaded in
inference mode, then measured:

- ``ali_test_error_pct``: the run's own SVM protocol (``svm_track.evaluate_features``:
  its label draws, C grid, draws and solver; ``--n-labels`` for another label
  count) on the encoder's features. The protocol runs in a scratch run directory
  under the output folder, deleted afterwards: the run's metrics.jsonl, run.json
  and shared label draws are never written (the draws are a pure function of
  dataset, label count and seed, so the scratch ones are the run's);
- ``raw_pixels_test_error_pct``: the same protocol on raw pixels, once (it does not
  depend on the checkpoint), repeated on every row;
- ``recon_mse``, ``mse_of_mean_image`` and their ``recon_ratio`` (and
  ``mean_code_ratio``, the same for Gx(μ(x)); NaN for a deterministic encoder) on the run's
  validation images (the last ``n_val`` of the training split, as the run's
  pictures use), ``sample_diversity`` (``evaluation.training_signals``) of
  min(500, n_val) samples from the fixed noise against as many validation images;
- ``acc_d``: D's accuracy in the train-log record of that step (or the nearest before).

Row 0 is the networks before training (the run's seed and init; the encoder's
batch-norm statistics from the training images, as svhn-svm's
``untrained-encoder`` control row): what the architecture gives without learning.

Writes ``curve.csv``, ``curve.png`` and ``curve.json`` into ``--out`` (default
``RUN/curve/``) after every checkpoint, atomically; a rerun skips the steps
curve.csv already has.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from ..core import checkpoint, registry
from ..core.errors import UserError
from ..core.files import atomic_write_json, atomic_write_text
from ..core.rundir import RUN_FILE, RunDir, check_out_dir, now
from ..evaluation.features import encoder_features, parse_layers, pixel_features
from ..evaluation.training_signals import sample_diversity
from ..reporting import grids
from ..reporting.figures import Pictured, Validation, fixed_noise, recon_errors, to_float
from ..train.loop import KEPT_DIR
from .ali_training import build_ali_method
from .context import RunContext, reopen
from .saved import networks
from .svhn_svm import untrained_method
from .svm_track import check_protocol, evaluate_features

# The experiments whose runs the tool takes: ALI (or BiGAN) trained end to end with an
# encoder, then the SVM track; the name each records its encoder's features under.
SUPPORTED = {"svhn-svm": "ali", "bigan": "bigan"}
COLUMNS = ("step", "epoch", "ali_test_error_pct", "raw_pixels_test_error_pct", "recon_mse",
           "mse_of_mean_image", "recon_ratio", "mean_code_ratio", "sample_diversity", "acc_d",
           "seconds_per_checkpoint")
ADDED_LATER = ("mean_code_ratio",)   # an older curve.csv lacks them: read as missing (None)
CSV, PNG, JSON = "curve.csv", "curve.png", "curve.json"
DIVERSITY_IMAGES = 500
_KEPT = re.compile(r"step_(\d+)\.pt")


def kept_checkpoints(run: RunDir) -> list[tuple[int, Path]]:
    """(step, path) of the run's kept checkpoints, by step."""
    folder = run.path / KEPT_DIR
    found = [(int(m.group(1)), p) for p in folder.glob("step_*.pt")
             if (m := _KEPT.fullmatch(p.name))] if folder.is_dir() else []
    return sorted(found)


def choose(run: RunDir, every: int) -> list[tuple[int, Path]]:
    """Every ``every``-th kept checkpoint (the every-th, 2·every-th, …) and the run's
    checkpoint.pt when its step is not among them; refuses a run that kept none."""
    kept = kept_checkpoints(run)
    if not kept:
        raise UserError(f"{run.path} has no kept checkpoints (no {KEPT_DIR}/step_*.pt); train with "
                        "--set keep_checkpoints_every=N to keep one every N steps")
    if every > len(kept):
        raise UserError(f"--every {every} skips all {len(kept)} kept checkpoints of {run.path}; "
                        f"choose --every between 1 and {len(kept)}")
    chosen = [(0, None)] + kept[every - 1::every]   # step 0: the untrained networks
    if run.checkpoint_path.exists():
        final = int(checkpoint.read(run.checkpoint_path)["step"])
        if final not in {s for s, _ in chosen}:
            chosen.append((final, run.checkpoint_path))
    return sorted(chosen)


def acc_d_at(train_log: list[dict], step: int) -> float:
    """D's accuracy in the log record of ``step``, or of the nearest step before (NaN: none)."""
    before = [r for r in train_log if "acc_d" in r and r.get("step", 0) <= step]
    return float(max(before, key=lambda r: r["step"])["acc_d"]) if before else float("nan")


@contextmanager
def scratch_context(ctx: RunContext, out: Path) -> Iterator[RunContext]:
    """``ctx`` with a throwaway run directory under ``out`` (its metric lines, stage
    marks, SVM files and label draws go there, then the folder goes), so the SVM
    protocol runs exactly as in the experiment without touching the run."""
    root = Path(tempfile.mkdtemp(prefix=".scratch-", dir=out))
    try:
        scratch = RunDir(root / "run")
        scratch.path.mkdir()
        atomic_write_json(scratch.path / RUN_FILE, {"experiment": ctx.experiment.name,
                                                    "state": "running", "scratch_of": str(ctx.run_dir.path)})
        yield replace(ctx, run_dir=scratch)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _test_error(records: list[dict], method: str) -> float:
    return next(float(r["value"]) for r in records
                if r["method"] == method and r["metric"] == "test_error_pct")


def _svm_error(cfg: Any, ctx: RunContext, out: Path, name: str, features) -> float:
    with scratch_context(ctx, out) as sctx:
        return _test_error(evaluate_features(cfg, sctx, {name: features}), name)


def _load(cfg: Any, ctx: RunContext, path: Path) -> tuple[Any, int]:
    """ALI built from the run's config (its initial weights drawn without moving the
    caller's RNG), the checkpoint's networks loaded, in inference mode."""
    devices = [ctx.device] if ctx.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        method = build_ali_method(cfg, ctx.device)
    nets = networks(method)
    payload = checkpoint.load(path, nets, map_location=ctx.device, restore_rng=False)
    for net in nets.values():
        net.eval()
    return method, int(payload["step"])


def _pictured_signals(method: Any, val: Validation, n_div: int, batch: int,
                      device: torch.device) -> dict[str, float]:
    model = Pictured(method)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), model.inference():
        mse, mse_mean, mse_mu = recon_errors(model, val, batch)
        z = fixed_noise(n_div, model.latent_dim)
        samples = torch.cat([model.decode(z[s:s + batch]) for s in range(0, n_div, batch)])
    ratio = (lambda v: v / mse_mean if v is not None and mse_mean > 0 else float("nan"))  # noqa: E731
    return {"recon_mse": mse, "mse_of_mean_image": mse_mean,
            "recon_ratio": ratio(mse), "mean_code_ratio": ratio(mse_mu),
            "sample_diversity": sample_diversity(samples, to_float(val.x[:n_div]))}


def _read_existing(out: Path, n_labels: int, protocol: dict | None = None) -> list[dict]:
    """The rows of an earlier curve in ``out`` (refused if it used another label count
    or another protocol)."""
    csv = out / CSV
    if not csv.exists():
        return []
    if (out / JSON).exists():
        try:
            facts = json.loads((out / JSON).read_text())
        except (ValueError, OSError) as exc:
            raise UserError(f"{out / JSON} is unreadable ({exc}); delete {out} or choose another --out") from exc
        if facts.get("n_labels") not in (None, n_labels):
            raise UserError(f"{out} holds a curve with n_labels={facts['n_labels']}, not {n_labels}; "
                            "choose another --out")
        if protocol and facts.get("protocol") not in (None, protocol):
            raise UserError(f"{out} holds a curve made with the protocol {facts['protocol']}, not "
                            f"{protocol}; choose another --out")
    import pandas as pd
    try:
        table = pd.read_csv(csv)
    except Exception as exc:  # pandas raises several kinds for a damaged file
        raise UserError(f"{csv} is unreadable ({type(exc).__name__}); delete it or choose another --out") from exc
    missing = [c for c in COLUMNS if c not in table.columns and c not in ADDED_LATER]
    if missing:
        raise UserError(f"{csv} lacks the columns {', '.join(missing)}; delete it or choose another --out")
    return [{c: _plain(r.get(c)) for c in COLUMNS} for r in table.to_dict("records")]


def _plain(v: Any) -> Any:
    """A JSON-able scalar (NaN → None)."""
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if math.isnan(v) else float(v)
    return v


def _write(out: Path, rows: list[dict], facts: dict, title: str) -> None:
    import pandas as pd
    rows = sorted(rows, key=lambda r: r["step"])
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    atomic_write_text(out / CSV, table.to_csv(index=False))
    atomic_write_json(out / JSON, {**facts, "columns": list(COLUMNS), "updated": now(),
                                   "rows": [{k: _plain(v) for k, v in r.items()} for r in rows]})
    grids.save_checkpoint_curve(out / PNG, rows, title)


# The SVM protocol's keys a curve may change (``--set``): fewer draws and C values make
# each checkpoint cheaper (a noisier estimate of the same error), never another protocol.
PROTOCOL_KEYS = ("n_c", "n_val_draws", "n_test_draws", "svm_solver")


def protocol_overrides(cfg: Any, pairs: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings → typed values for PROTOCOL_KEYS (one-line refusal otherwise)."""
    out = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or key not in PROTOCOL_KEYS:
            raise UserError(f"curve --set {pair!r}: use KEY=VALUE with KEY one of {', '.join(PROTOCOL_KEYS)}")
        kind = type(getattr(cfg, key))
        try:
            out[key] = kind(text)
        except ValueError as exc:
            raise UserError(f"curve --set {key}: {text!r} is not a {kind.__name__}") from exc
    return out


def curve(run_dir: Path, every: int = 1, n_labels: int | None = None, out: Path | None = None,
          data_dir: Path | None = None, device_name: str = "auto", command: str = "",
          overrides: list[str] | None = None) -> Path:
    """Evaluate the run's kept checkpoints into ``out`` (default RUN/curve); returns ``out``.
    ``overrides``: ``KEY=VALUE`` for the SVM protocol's PROTOCOL_KEYS. Every refusal
    comes before anything is written."""
    if every < 1:
        raise UserError(f"--every must be a positive integer, got {every}")
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"{run_dir} does not exist or is not a directory; pass a run directory")
    run = RunDir.open(run_dir)
    name = run.meta.get("experiment", "?")
    if name not in SUPPORTED:
        raise UserError(f"{run_dir} is a '{name}' run; curve evaluates ALI encoders trained by "
                        f"{' or '.join(SUPPORTED)} runs")
    exp = registry.get(name)
    chosen = choose(run, every)
    cfg, ctx = reopen(exp, run, data_dir, device_name)
    changed = protocol_overrides(cfg, overrides or [])
    if n_labels is not None:
        changed["n_labels"] = n_labels
    if changed:
        cfg = replace(cfg, **changed)
        cfg.validate()
    check_protocol(cfg, ctx.data)
    out = Path(out) if out is not None else run.path / "curve"
    check_out_dir(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a directory; choose another --out")
    rows = _read_existing(out, cfg.n_labels, {k: getattr(cfg, k) for k in ("n_labels", *PROTOCOL_KEYS)})
    done = {r["step"] for r in rows}
    skipped = [s for s, _ in chosen if s in done]
    pending = [(s, p) for s, p in chosen if s not in done]
    if skipped:
        print(f"curve: step{'s' if len(skipped) > 1 else ''} {', '.join(map(str, skipped))} "
              f"already in {out / CSV}: skipped")
    if not pending:
        print(f"curve: nothing left to evaluate in {run_dir}")
        return out

    meta = run.meta
    data, layers = ctx.data, parse_layers(cfg.feature_layers)
    train_images = meta.get("train_images") or len(data.unlabeled(cfg.unlabeled))
    val = Validation(data.x_train[-cfg.n_val:], None, f"the last {cfg.n_val} images of {data.name}'s "
                     "training split (the SVM protocol's validation part)")
    n_div = min(DIVERSITY_IMAGES, cfg.n_val)
    log = run.train_log()
    facts = {"run": str(run.path), "experiment": name, "preset": meta.get("preset"),
             "seed": meta.get("seed"), "dataset": meta.get("dataset", {}),
             "run_hardware": meta.get("hardware", {}), "curve_hardware": ctx.hardware,
             "command": command, "n_labels": cfg.n_labels, "svm_solver": cfg.svm_solver,
             "feature_layers": cfg.feature_layers, "every": every,
             "protocol": {k: getattr(cfg, k) for k in ("n_labels", *PROTOCOL_KEYS)}, "batch_size": cfg.batch_size,
             "train_images": train_images, "validation": val.source, "diversity_images": n_div,
             "git_commit": meta.get("git_commit")}
    title = f"{run.path.name}: {cfg.n_labels} labels"

    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        raw = rows[0]["raw_pixels_test_error_pct"] if rows else None
        if raw is None:
            print("curve: the SVM protocol on raw pixels (once)")
            raw = _svm_error(cfg, ctx, out, "raw-pixels",
                             lambda: [pixel_features(data.x_train), pixel_features(data.x_test)])
        for _, path in tqdm(pending, desc="curve", unit="checkpoint", disable=None, dynamic_ncols=True):
            t0 = time.perf_counter()
            method, step = (untrained_method(cfg, ctx), 0) if path is None else _load(cfg, ctx, path)
            enc = method.nets.encoder
            err = _svm_error(cfg, ctx, out, SUPPORTED[name],
                             lambda enc=enc: [encoder_features(enc, x, layers, ctx.device,
                                                               cfg.eval_batch_size)
                                              for x in (data.x_train, data.x_test)])
            signals = _pictured_signals(method, val, n_div, cfg.eval_batch_size, ctx.device)
            rows = [r for r in rows if r["step"] != step] + [{
                "step": step, "epoch": step * cfg.batch_size / train_images,
                "ali_test_error_pct": err, "raw_pixels_test_error_pct": raw, **signals,
                "acc_d": acc_d_at(log, step), "seconds_per_checkpoint": time.perf_counter() - t0}]
            _write(out, rows, facts, title)
    except BaseException:
        if created and not any(out.iterdir()):
            out.rmdir()
        raise
    return out
