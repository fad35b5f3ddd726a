"""Runs survive real faults: a real `python -m alibench.run` process killed with
SIGKILL, stopped with SIGINT/SIGTERM, diverging, or started several times at
once into the same --out. Resumed runs must end bit-identical to an
uninterrupted one (CPU, one thread, same seed)."""

import json
import os
import resource
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from alibench.core import checkpoint
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
        # ali and the untrained-encoder control each give a test and a validation error
        assert sorted(m["metric"] for m in metrics(run)) == ["acc_d_final", "recon_mse",
                                                             "sample_diversity", "test_error_pct",
                                                             "test_error_pct", "val_error_pct",
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


# ---- A kill at any stage resumes (issue 18). ``ALIBENCH_KILL_AT=POINT:N`` makes the
# run SIGKILL itself the N-th time it passes POINT (alibench/core/faults.py): a real
# kill -9 at an exact place. liblinear so the SVM protocol has points between fits:
# 3 values of C (fits 1-3), 2 validation draws (fits 4-5), 4 test draws (fits 6-9).
STAGED = [*TINY, "svm_solver=liblinear", "n_c=3"]
KILLS = {
    "during training": ("step", 15),
    "during feature extraction": ("features", 2),
    "between values of C": ("svm-fit", 2),
    "between validation draws": ("svm-fit", 5),
    "between test draws": ("svm-fit", 7),
    "after the first metric line": ("metric", 1),
    "after the SVM stage, before its mark": ("stage", 1),
    "during the pictures": ("picture", 2),
}
# points passed after the ali SVM stage finished: resuming must not redo it
AFTER_SVM = {"during the pictures"}
FAST_KILLS = {"between test draws", "during the pictures"}
KILL_ENV = "ALIBENCH_KILL_AT"


@pytest.fixture(scope="module")
def staged_reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("staged-reference")
    proc = cli("svhn-svm", *STAGED, "--out", out, env=ONE_THREAD)
    assert proc.returncode == 0, proc.stderr
    (run,) = run_dirs(out)
    return run


def killed_at(out, point, n, *args):
    """Start (or resume, with args) a run that kills itself at ``point``'s n-th pass;
    True if it was killed, False if it finished first."""
    proc = cli("svhn-svm", *args, env={**ONE_THREAD, KILL_ENV: f"{point}:{n}"})
    if proc.returncode == 0:
        return False
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    return True


def assert_clean(run):
    assert meta(run)["state"] == "finished"
    assert not list(run.glob(".*.tmp")) and not list(run.glob("*.partial.json"))


@pytest.mark.parametrize("point,n", [
    pytest.param(*KILLS[name], id=name, marks=() if name in FAST_KILLS else pytest.mark.slow)
    for name in KILLS])
def test_a_kill_at_any_stage_resumes_to_the_same_result(tmp_path, staged_reference, point, n):
    out = tmp_path / "runs"
    assert killed_at(out, point, n, *STAGED, "--out", out)
    (run,) = run_dirs(out)
    assert meta(run)["state"] == "running"
    svm_done = (run / "svm_ali.json").stat().st_mtime_ns if (run / "svm_ali.json").exists() else None
    resumed = cli("svhn-svm", "--resume", run, env=ONE_THREAD)
    assert resumed.returncode == 0, resumed.stderr
    assert meta(run)["n_resumes"] == 1
    assert_clean(run)
    assert_same_run(run, staged_reference)   # metrics: same lines, none twice, none torn
    assert json.loads((run / "svm_ali.json").read_text()) == \
        json.loads((staged_reference / "svm_ali.json").read_text())
    if any(KILLS[name] == (point, n) for name in AFTER_SVM):
        assert (run / "svm_ali.json").stat().st_mtime_ns == svm_done   # not redone


def test_a_killed_svm_protocol_keeps_its_finished_fits(tmp_path):
    """Killed during the second test draw (fit 7, before it was saved): the saved
    partial results hold every earlier fit, the first test draw's included."""
    out = tmp_path / "runs"
    assert killed_at(out, "svm-fit", 7, *STAGED, "--out", out)
    (run,) = run_dirs(out)
    saved = json.loads((run / "svm_ali.partial.json").read_text())
    assert [len(saved[k]["errors"]) for k in ("0", "1", "2")] == [3, 2, 1]


def reachable(run) -> dict[str, int]:
    """The points a (resumed) process will still pass, each with how many times
    it passes it at least, read off the run directory: every drawn kill happens."""
    if run is None:
        return {"step": STEPS, "features": 5, "svm-fit": 9, "stage": 2, "picture": 3}
    ck = run / "checkpoint.pt"
    step = torch.load(ck, weights_only=True)["step"] if ck.exists() else 0
    stages = meta(run).get("stages", {})
    points = {"step": STEPS - step} if step < STEPS else {}
    if "svm:ali" not in stages:
        partial = run / "svm_ali.partial.json"
        saved = sum(len(v["errors"]) for v in json.loads(partial.read_text()).values()) \
            if partial.exists() else 0
        points.update(features=5, stage=1, **({"svm-fit": 9 - saved} if saved < 9 else {}))
    if "pictures" not in stages:
        points.update(picture=3, stage=1)
    return points


def soak(tmp_path, reference, kills, seed):
    """Kill one run ``kills`` times at seeded random points still ahead of it,
    resuming after each, then let it finish."""
    rng = np.random.default_rng(seed)
    out = tmp_path / "runs"
    args, run, n_killed = [*STAGED, "--out", out], None, 0
    while n_killed < kills:
        points = reachable(run)
        if not points:
            break
        point = str(rng.choice(sorted(points)))
        n = int(rng.integers(1, points[point] + 1))
        assert killed_at(out, point, n, *args), f"{point}:{n} was not reached"
        n_killed += 1
        (run,) = run_dirs(out)
        args = ["--resume", run]
    resumed = cli("svhn-svm", *args, env=ONE_THREAD)
    assert resumed.returncode == 0, resumed.stderr
    (run,) = run_dirs(out)
    assert meta(run).get("n_resumes", 0) == n_killed
    assert n_killed >= min(kills, 4), n_killed
    assert_clean(run)
    assert_same_run(run, reference)


def test_fault_soak_short(tmp_path, staged_reference):
    soak(tmp_path, staged_reference, kills=3, seed=18)


@pytest.mark.slow
def test_fault_soak(tmp_path, staged_reference):
    soak(tmp_path, staged_reference, kills=20, seed=1806)


# ---- A full disk (issue 18), simulated with a file-size limit (RLIMIT_FSIZE, SIGXFSZ
# ignored, so a write past it fails with EFBIG as a full disk's fails with ENOSPC).
CHECKPOINT_SHARE = 0.8   # a write limit of 80 % of the run's checkpoint: only the checkpoint hits it
PICTURE_LIMIT = 100_000                  # its reconstructions.png is ~220 kB, the rest less


def limited_cli(limit, *args):
    def preexec():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    env = {**os.environ, "PYTHONPATH": str(ROOT), **ONE_THREAD}
    return subprocess.run([sys.executable, "-m", "alibench.run", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=600, preexec_fn=preexec)


def assert_intact(run):
    """No temporary file, no torn line; every JSON file parses."""
    assert not list(run.glob(".*.tmp"))
    for name in ("train_log.jsonl", "metrics.jsonl"):
        if (run / name).exists():
            text = (run / name).read_text()
            assert text == "" or text.endswith("\n")
            [json.loads(l) for l in text.splitlines()]
    for path in run.glob("*.json"):
        json.loads(path.read_text())


def test_a_full_disk_at_a_checkpoint_keeps_the_last_good_one_and_resumes(tmp_path, staged_reference):
    out = tmp_path / "runs"
    assert killed_at(out, "step", 15, *STAGED, "--out", out)   # checkpoint of step 10 on disk
    (run,) = run_dirs(out)
    limit = int(CHECKPOINT_SHARE * (run / "checkpoint.pt").stat().st_size)   # ~0.8 MB at width 1/16
    full = limited_cli(limit, "svhn-svm", "--resume", run)
    assert_one_line_error(full, f"cannot write {run / 'checkpoint.pt'}", "its checkpoint at step 10 is kept",
                          "free space, then resume with")
    assert full.returncode == 2
    assert checkpoint.read(run / "checkpoint.pt")["step"] == 10
    assert meta(run)["state"] == "failed"
    assert_intact(run)
    resumed = cli("svhn-svm", "--resume", run, env=ONE_THREAD)    # space is back
    assert resumed.returncode == 0, resumed.stderr
    assert_clean(run)
    assert_same_run(run, staged_reference)


def test_a_full_disk_while_drawing_pictures_resumes(tmp_path, staged_reference):
    out = tmp_path / "runs"
    assert killed_at(out, "stage", 1, *STAGED, "--out", out)    # SVM on ali done, not marked
    (run,) = run_dirs(out)
    full = limited_cli(PICTURE_LIMIT, "svhn-svm", "--resume", run)
    assert_one_line_error(full, f"cannot write {run / 'reconstructions.png'}", "resume with")
    assert not (run / "reconstructions.png").exists()
    assert_intact(run)
    resumed = cli("svhn-svm", "--resume", run, env=ONE_THREAD)
    assert resumed.returncode == 0, resumed.stderr
    assert_clean(run)
    assert_same_run(run, staged_reference)


def test_a_full_disk_never_tears_a_line_or_a_file(tmp_path):
    """Appended metric lines and atomic writes under a 64-byte file-size limit."""
    script = f"""
import json, resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
sys.path.insert(0, {str(ROOT)!r})
from alibench.core.files import NoSpace, append_jsonl, atomic_write_json
p = {str(tmp_path)!r}
append_jsonl(p + "/m.jsonl", {{"a": 1}})
atomic_write_json(p + "/t.json", {{"a": 1}})
resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))
for write in (lambda: append_jsonl(p + "/m.jsonl", {{"b": "x" * 100}}),
              lambda: atomic_write_json(p + "/t.json", {{"b": "x" * 100}})):
    try:
        write()
    except NoSpace as exc:
        print(exc)
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 2 and "m.jsonl" in lines[0] and "t.json" in lines[1], proc.stdout
    assert all("the file is unchanged" in l for l in lines)
    assert (tmp_path / "m.jsonl").read_text() == '{"a": 1}\n'
    assert json.loads((tmp_path / "t.json").read_text()) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.jsonl", "t.json"]


def test_a_full_disk_when_writing_a_table_is_one_line(tmp_path, staged_reference):
    target = tmp_path / "table.md"
    full = limited_cli(200, "tables", "--runs", staged_reference.parent, "--output", target, "--no-save")
    assert_one_line_error(full, f"cannot write {target}")
    assert not target.exists() and not list(tmp_path.glob(".*.tmp"))
