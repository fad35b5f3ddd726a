"""Runs survive real faults: a real `python -m alibench.run` process killed with
SIGKILL, stopped with SIGINT/SIGTERM, diverging, or started several times at
once into the same --out. Resumed runs must end bit-identical to an
uninterrupted one (CPU, one thread, same seed)."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from conftest import ROOT, assert_one_line_error, cli

STEPS = 40
TINY = ["--preset", "demo", "--device", "cpu", "--set", f"steps={STEPS}", "width=0.0625",
        "batch_size=32", "log_every=3", "checkpoint_every=10", "n_val_draws=2", "n_test_draws=4",
        "n_c=2", "raw_pixels=false"]
ONE_THREAD = {"OMP_NUM_THREADS": "1"}   # same thread count everywhere: bit-identical CPU results


def start(*args) -> subprocess.Popen:
    """A CLI process we can signal. SIGINT is reset to its default because a
    shell starting background jobs may have ignored it (as a terminal would not)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **ONE_THREAD}
    return subprocess.Popen([sys.executable, "-m", "alibench.run", *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def run_dirs(out):
    return sorted(p for p in out.iterdir() if p.name.startswith("svhn-svm_")) if out.exists() else []


def logged_step(out) -> int:
    """The last step in the (only) run's train log, 0 before there is one."""
    dirs = run_dirs(out)
    if not dirs or not (dirs[0] / "train_log.jsonl").exists():
        return 0
    lines = (dirs[0] / "train_log.jsonl").read_text().splitlines()
    return json.loads(lines[-1])["step"] if lines else 0


def wait_until_logged(proc, out, step, timeout=120):
    deadline = time.monotonic() + timeout
    while logged_step(out) < step:
        assert proc.poll() is None, f"the run ended before step {step}: {proc.communicate()}"
        assert time.monotonic() < deadline, "the run did not reach step {step} in time"
        time.sleep(0.01)


def meta(run):
    return json.loads((run / "run.json").read_text())


def metrics(run):
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(l).items() if k != "run"} for l in lines]


def train_log(run):
    """Log records without their timings; every line must parse (no torn lines)."""
    text = (run / "train_log.jsonl").read_text()
    assert text.endswith("\n")
    records = [json.loads(l) for l in text.splitlines()]
    return [{k: v for k, v in r.items() if k not in ("seconds", "steps_per_s")} for r in records]


def weights(run):
    return torch.load(run / "checkpoint.pt", weights_only=True)["state"]


def assert_same_run(run, reference):
    """Same metrics, same train log, same final weights and optimiser states."""
    assert metrics(run) == metrics(reference)
    steps = [r["step"] for r in train_log(run)]
    assert steps == sorted(set(steps)), f"duplicate or out-of-order log lines: {steps}"
    assert train_log(run) == train_log(reference)
    a, b = weights(run), weights(reference)
    for net in b:
        for key, value in b[net].items():
            if isinstance(value, torch.Tensor):
                assert torch.equal(a[net][key], value), (net, key)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("reference")
    proc = cli("svhn-svm", *TINY, "--out", out, env=ONE_THREAD)
    assert proc.returncode == 0, proc.stderr
    (run,) = run_dirs(out)
    return run


def test_kill_9_then_resume_ends_like_an_uninterrupted_run(tmp_path, reference):
    out = tmp_path / "runs"
    proc = start("svhn-svm", *TINY, "--out", out)
    wait_until_logged(proc, out, 12)           # past the first checkpoint (step 10)
    proc.kill()                                # SIGKILL: no handler, no cleanup
    assert proc.wait() == -signal.SIGKILL
    (run,) = run_dirs(out)
    killed_at = torch.load(run / "checkpoint.pt", weights_only=True)["step"]
    assert 10 <= killed_at < STEPS and meta(run)["state"] == "running"
    assert not (run / "metrics.jsonl").exists()

    resumed = cli("svhn-svm", "--resume", run, env=ONE_THREAD)
    assert resumed.returncode == 0, resumed.stderr
    info = meta(run)
    assert info["state"] == "finished" and info["n_resumes"] == 1
    assert info["resumes"][0]["from_state"] == "running"
    assert info["resumes"][0]["from_step"] == killed_at
    assert_same_run(run, reference)
    assert not list(run.glob(".*.tmp"))


@pytest.mark.parametrize("sig", [
    signal.SIGTERM,
    pytest.param(signal.SIGINT, marks=pytest.mark.slow),
])
def test_signal_checkpoints_the_current_step_and_resume_finishes_it(tmp_path, reference, sig):
    out = tmp_path / "runs"
    proc = start("svhn-svm", *TINY, "--out", out)
    wait_until_logged(proc, out, 3)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, stderr
    err = assert_one_line_error(subprocess.CompletedProcess([], proc.returncode, "", stderr),
                                f"stopped by {sig.name} at step", "resume with")
    (run,) = run_dirs(out)
    stopped_at = int(err.split(" at step ")[1].split(";")[0])
    assert 3 <= stopped_at < STEPS
    assert torch.load(run / "checkpoint.pt", weights_only=True)["step"] == stopped_at
    assert meta(run)["state"] == "interrupted" and f"at step {stopped_at}" in meta(run)["message"]

    resumed = cli("svhn-svm", "--resume", run, env=ONE_THREAD)
    assert resumed.returncode == 0, resumed.stderr
    assert meta(run)["resumes"][0]["from_state"] == "interrupted"
    assert_same_run(run, reference)


def test_divergence_fails_the_run_naming_step_and_network(tmp_path):
    out = tmp_path / "runs"
    proc = cli("svhn-svm", *TINY, "lr=1e6", "--out", out, env=ONE_THREAD)
    err = assert_one_line_error(proc, "training diverged", "became NaN or inf at step",
                                "discriminator", "run marked failed")
    (run,) = run_dirs(out)
    info = meta(run)
    assert info["state"] == "failed" and "NaN or inf at step" in info["message"]
    assert not (run / "metrics.jsonl").exists()
    step = int(err.split("NaN or inf at step ")[1].split()[0])
    if (run / "train_log.jsonl").exists():   # nothing non-finite was logged
        assert all(r["step"] < step for r in train_log(run))
    if (run / "checkpoint.pt").exists():     # nothing non-finite was saved
        assert torch.load(run / "checkpoint.pt", weights_only=True)["step"] < step
    tables = cli("tables", "--runs", out)
    assert tables.returncode == 0 and "(no finished runs)" in tables.stdout
    assert "1 failed" in tables.stderr


@pytest.fixture(scope="module")
def concurrent(tmp_path_factory):
    """Three runs of the same seed and config started at once into one --out."""
    out = tmp_path_factory.mktemp("shared")
    procs = [start("svhn-svm", *TINY, "--out", out) for _ in range(3)]
    results = [(p.wait(timeout=600), p.communicate()) for p in procs]
    for rc, (_, stderr) in results:
        assert rc == 0, stderr
    return out


def test_concurrent_runs_get_their_own_directories(concurrent):
    runs = run_dirs(concurrent)
    assert len(runs) == 3 and len({meta(r)["pid"] for r in runs}) == 3
    for run in runs:
        assert meta(run)["state"] == "finished" and meta(run)["run"] == run.name
        assert sorted(m["metric"] for m in metrics(run)) == ["recon_mse", "test_error_pct",
                                                             "val_error_pct"]
        assert not list(run.glob(".*.tmp"))


def test_concurrent_runs_share_one_intact_split_file(concurrent):
    (split,) = (concurrent / "label-splits").glob("*.npz")
    shared = np.load(split)
    for run in run_dirs(concurrent):
        own = np.load(run / "label_draws.npz")
        assert str(own["shared_copy"]) == str(split)
        for key in ("selection", "val", "test"):
            np.testing.assert_array_equal(own[key], shared[key])


def test_same_seed_and_config_give_the_same_metrics(concurrent):
    """Determinism on CPU: three processes, one seed, identical numbers and weights."""
    first, *others = run_dirs(concurrent)
    for run in others:
        assert_same_run(run, first)
