"""One short run that checks what the GPU path claims (issue 14, item 3).

    python -m alibench.run gpu-check --prepare-data ../shared/data   # once, on the CPU side
    python -m alibench.run gpu-check --out results/gpu                # on the GPU machine
    python -m alibench.run gpu-check --dry-run --out DIR              # tiny, CPU: what CI runs

Parts, in this order (each timed; a part that would overrun ``--budget-s`` is
recorded as skipped, never silently dropped):

1. ``bench``: images/s and ms/step, full width, batch 100, SVHN and CIFAR10
   architectures, for eager float32, each switch alone, the ``paper`` preset's
   path (all but bf16) and everything on, all in this one process; % of the bf16
   peak; the paper schedules' projected hours (SVHN 531,100 steps, CIFAR10
   2,913,750) — projections from the measured step, not runs;
2. ``real``: ``svhn-svm`` (SVHN architecture) on the CIFAR10 JPEG copy for a few
   thousand steps, fast path and eager float32 from the same seed, then encoder
   features + the L2-SVM protocol (torch solver, on the GPU) for both: their test
   errors must agree within ``--tolerance`` percentage points (one seed each:
   10 validation and 30 test label draws, not the paper's 100, to fit the time);
3. ``tests``: ``pytest -m gpu`` (the CUDA-graph step equals the eager step, no
   host sync per step, the demo's fast-vs-eager error rates).

Writes ``DIR/gpu_check.json`` and ``DIR/summary.md``. Only the project folder
travels to a GPU machine (64 MiB in all), so the data come from the ignored
folder ``gpu_data/`` that ``--prepare-data`` fills with a class-balanced slice of
the shared JPEG copy (``TRAIN_PER_CLASS`` images per class of the train file,
the whole test file).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..core import hardware
from ..core.errors import UserError
from ..core.files import atomic_write_text
from ..train.fastpath import SWITCHES, resolve
from .train_step import train_bench

DATA_DIR = Path("gpu_data")
TRAIN_PER_CLASS = 3000          # 30,000 train images: ~31 MiB, + ~9 MiB test
ALL_OFF = {k: "off" for k in SWITCHES}
# name -> switches over eager float32 (everything off); "paper": what the paper preset runs on CUDA
VARIANTS = {"eager-fp32": ALL_OFF,
            **{f"{k}-only": {**ALL_OFF, k: "on"} for k in SWITCHES if k != "load_threads"},  # CPU-only
            "paper (all but bf16)": {**{k: "on" for k in SWITCHES}, "amp_bf16": "off"},
            "all": {k: "on" for k in SWITCHES}}
FULL = {"width": 1.0, "batch": 100, "steps": 200, "real_steps": 3000, "train_per_class": TRAIN_PER_CLASS}
DRY = {"width": 0.0625, "batch": 16, "steps": 2, "real_steps": 20, "train_per_class": 60}
# GPU seconds per part on an H100/H200, estimated (docs/performance.md says from what)
# (bench: 13 eager-ish cases × ~4 s + 5 compiled × ~30 s; real: 2 runs × (start + decode ~15 s,
# 3,000 steps at ~2 / ~8 ms, features ~5 s, 40 SVM fits ~20 s) + one compile ~30 s;
# tests: 4 gpu tests, 3 of them compile, the demo pair ~90 s)
ESTIMATE_S = {"bench": 200, "real": 130, "tests": 150}


def prepare_data(src: Path, dest: Path = DATA_DIR, per_class: int = TRAIN_PER_CLASS) -> list[Path]:
    """A class-balanced slice of ``src``/cifar10-jpeg-train.npz (the first ``per_class``
    of each class, in file order) and the whole test file, under ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for split in ("train", "test"):
        path = Path(src) / f"cifar10-jpeg-{split}.npz"
        if not path.is_file():
            raise UserError(f"{path} not found; pass the folder holding cifar10-jpeg-*.npz "
                            "(the project's shared/data)")
        with np.load(path) as arr:
            jpeg, offsets, labels, files = arr["jpeg"], arr["offsets"], arr["labels"], arr["files"]
        keep = np.arange(len(labels))
        if split == "train":
            keep = np.sort(np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in range(10)]))
        parts = [jpeg[offsets[i]:offsets[i + 1]] for i in keep]
        new_offsets = np.concatenate([[0], np.cumsum([len(p) for p in parts])]).astype(np.int64)
        out = dest / path.name
        np.savez(out, jpeg=np.concatenate(parts), offsets=new_offsets, labels=labels[keep],
                 files=files[keep])
        written.append(out)
    return written


def run_tests(dry: bool) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "pytest", "-q", "-m", "gpu", "tests", "-p", "no:cacheprovider"]
    if dry:
        cmd += ["--co"]          # CPU: collect them (they need CUDA to run)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    tail = proc.stdout.strip().splitlines()[-1:] or [proc.stderr.strip()[-200:]]
    return {"command": " ".join(cmd[2:]), "returncode": proc.returncode, "summary": tail[0],
            "ok": proc.returncode == 0}


def run_bench(device: torch.device, size: dict) -> list[dict[str, Any]]:
    rows = []
    for arch in ("svhn", "cifar10"):
        for name, switches in VARIANTS.items():
            if device.type != "cuda" and switches.get("cuda_graphs") == "on":
                continue                 # dry run on a CPU: no CUDA graphs there
            if device.type != "cuda" and switches.get("compile") == "on":
                continue                 # minutes of inductor on a CPU: not a dry run
            if arch == "cifar10" and name == "compile-only":
                continue                 # compile alone: SVHN only (each compile costs ~30 s)
            fast = resolve(switches, device)
            if fast.compile:          # a fresh dynamo per compiled case: no recompile limit reached
                torch._dynamo.reset()
            r = train_bench(arch, size["width"], size["batch"], size["steps"], device, fast,
                            reference=False, count_flops=True)
            rows.append({"arch": arch, "variant": name, **{k: r.get(k) for k in (
                "images_per_s", "ms_per_step", "warmup_s", "end_to_end_s", "achieved_tflops",
                "fraction_of_bf16_peak", "paper_schedule_steps", "paper_schedule_projected_h",
                "cuda_graph_captured", "dtype")}})
    for row in rows:
        base = next(r for r in rows if r["arch"] == row["arch"] and r["variant"] == "eager-fp32")
        row["speedup_vs_eager_fp32"] = round(row["images_per_s"] / base["images_per_s"], 3)
    return rows


def run_real(device: torch.device, size: dict, out: Path, data_dir: Path, tol: float) -> dict[str, Any]:
    """svhn-svm on the CIFAR10 JPEG copy, fast path vs eager float32, seed 0 each."""
    common = ["--data", "cifar10-jpeg", "--data-dir", str(data_dir), "--seeds", "0",
              "--device", device.type, "--set", f"steps={size['real_steps']}", "unlabeled=train",
              "figures=false", "svm_solver=torch", "log_every=100",
              f"checkpoint_every={size['real_steps']}", "batch_size=" + str(size["batch"]),
              f"width={size['width']}"]
    if size is FULL:
        common += ["n_test_draws=30"]
    else:
        common += ["n_labels=100", "n_val=100", "n_val_draws=2", "n_test_draws=2", "n_c=5",
                   "eval_batch_size=100"]
    preset = "paper" if size is FULL else "demo"
    results: dict[str, Any] = {"steps": size["real_steps"], "data": "CIFAR10 (JPEG copy), "
                               f"{10 * size['train_per_class']} train images", "seed": 0}
    for name, extra in (("fast", ["amp_bf16=on"]), ("eager-fp32", [f"{k}=off" for k in SWITCHES])):
        run_out = out / "real" / name
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "alibench.run", "svhn-svm", "--preset", preset,
                               "--out", str(run_out), *common, *extra], capture_output=True, text=True)
        entry: dict[str, Any] = {"wall_s": round(time.perf_counter() - t0, 1), "returncode": proc.returncode}
        if proc.returncode != 0:
            entry["error"] = (proc.stderr.strip().splitlines() or ["?"])[-1]
        else:
            entry.update(_errors(run_out))
        results[name] = entry
    f, e = results["fast"].get("test_error_pct"), results["eager-fp32"].get("test_error_pct")
    results["tolerance_pct_points"] = tol
    results["agree"] = None if f is None or e is None else abs(f - e) <= tol
    return results


def _errors(run_out: Path) -> dict[str, Any]:
    run = next(p for p in run_out.iterdir() if p.name.startswith("svhn-svm_"))
    lines = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
    ali = {l["metric"]: l["value"] for l in lines if l.get("method") == "ali"}
    return {"run_dir": str(run), "test_error_pct": ali.get("test_error_pct"),
            **{k: v for k, v in ali.items() if k.startswith("test_error") and k != "test_error_pct"}}


def summary_md(report: dict[str, Any]) -> str:
    lines = [f"# GPU check ({'dry run, CPU' if report['dry_run'] else 'GPU'})", "",
             f"{report['device_name']}, torch {report['torch']}, {report['wall_s']:.0f} s in all.", ""]
    for part, info in report["parts"].items():
        lines.append(f"- {part}: {info.get('status')} ({info.get('wall_s', 0):.0f} s)")
    bench = report["parts"].get("bench", {}).get("rows", [])
    if bench:
        lines += ["", "| arch | variant | images/s | ms/step | × eager fp32 | % bf16 peak | paper schedule, projected h |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for r in bench:
            peak = r["fraction_of_bf16_peak"]
            lines.append(f"| {r['arch']} | {r['variant']} | {r['images_per_s']} | {r['ms_per_step']} | "
                         f"{r['speedup_vs_eager_fp32']} | {'' if peak is None else round(100 * peak, 2)} | "
                         f"{r.get('paper_schedule_projected_h') or ''} |")
    real = report["parts"].get("real", {}).get("result")
    if real:
        lines += ["", f"Real data ({real['data']}, {real['steps']} steps, seed 0): test error fast "
                  f"{real['fast'].get('test_error_pct')} %, eager fp32 {real['eager-fp32'].get('test_error_pct')} %; "
                  f"agree within {real['tolerance_pct_points']} points: {real['agree']}"
                  + (" (not judged in a dry run: too few steps and draws)" if report["dry_run"] else "")]
    tests = report["parts"].get("tests", {}).get("result")
    if tests:
        lines += ["", f"gpu tests: `{tests['command']}`: {tests['summary']}"]
    return "\n".join(lines) + "\n"


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=Path("results/gpu"))
    p.add_argument("--dry-run", action="store_true", help="tiny sizes on the CPU (CI)")
    p.add_argument("--device", default="auto")
    p.add_argument("--data-dir", type=Path, default=DATA_DIR)
    p.add_argument("--prepare-data", type=Path, metavar="SHARED_DATA", default=None,
                   help="only write the class-balanced slice of SHARED_DATA/cifar10-jpeg-*.npz "
                        "to --data-dir, then stop")
    p.add_argument("--parts", default="bench,real,tests")
    p.add_argument("--budget-s", type=float, default=480.0, help="skip parts that would overrun this")
    p.add_argument("--tolerance", type=float, default=3.0,
                   help="fast vs eager test error, percentage points (one seed each)")


def main(args: argparse.Namespace) -> int:
    if args.prepare_data is not None:
        per_class = DRY["train_per_class"] if args.dry_run else TRAIN_PER_CLASS
        for path in prepare_data(args.prepare_data, args.data_dir, per_class):
            print(f"gpu-check: wrote {path} ({path.stat().st_size / 2**20:.1f} MiB)")
        return 0
    parts = [p for p in args.parts.split(",") if p]
    unknown = set(parts) - set(ESTIMATE_S)
    if unknown:
        raise UserError(f"unknown --parts {', '.join(sorted(unknown))}; valid: {', '.join(ESTIMATE_S)}")
    if "real" in parts and not (args.data_dir / "cifar10-jpeg-train.npz").is_file():
        raise UserError(f"{args.data_dir}/cifar10-jpeg-train.npz not found; fill it first: "
                        "python -m alibench.run gpu-check --prepare-data ../shared/data")
    device = hardware.resolve_device("cpu" if args.dry_run else args.device)
    if not args.dry_run and device.type != "cuda":
        raise UserError("gpu-check needs a CUDA device; use --dry-run for the tiny CPU version")
    report = run_parts(parts, device, args)
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "gpu_check.json", json.dumps(report, indent=1, sort_keys=True) + "\n")
    atomic_write_text(args.out / "summary.md", summary_md(report))
    print(summary_md(report))
    failed = [p for p, i in report["parts"].items() if i["status"] == "failed"]
    return 1 if failed else 0


def run_parts(parts: list[str], device: torch.device, args: argparse.Namespace) -> dict[str, Any]:
    size = DRY if args.dry_run else FULL
    t_start = time.perf_counter()
    report: dict[str, Any] = {"dry_run": args.dry_run, "device_name": hardware.describe(device),
                              "torch": torch.__version__, "sizes": size, "parts": {},
                              "estimate_s": ESTIMATE_S}
    for part in parts:
        spent = time.perf_counter() - t_start
        if not args.dry_run and spent + ESTIMATE_S[part] > args.budget_s:
            report["parts"][part] = {"status": "skipped (budget)", "wall_s": 0}
            continue
        t0 = time.perf_counter()
        if part == "tests":
            res: Any = run_tests(args.dry_run)
            ok = res["ok"]
        elif part == "bench":
            res = run_bench(device, size)
            ok = bool(res)
        else:
            res = run_real(device, size, args.out, args.data_dir, args.tolerance)
            ok = all(res[k]["returncode"] == 0 for k in ("fast", "eager-fp32")) \
                and (args.dry_run or res["agree"] is not False)
            # A dry run's 20 steps and 2 label draws measure noise (bf16 vs float32 differed
            # by 4.3 points on one CI run): it checks that both paths run, not that they agree.
        key = "rows" if part == "bench" else "result"
        report["parts"][part] = {"status": "ok" if ok else "failed", key: res,
                                 "wall_s": round(time.perf_counter() - t0, 1)}
    report["wall_s"] = round(time.perf_counter() - t_start, 1)
    return report
