"""The command line as a user meets it: a tiny real run end to end, and bad
input refused in one line with nothing written."""

import json
import os
import shutil

import numpy as np
import pytest
import torch

from alibench.core.rundir import RunDir
from conftest import assert_one_line_error, cli, run_main
from test_data import write_cifar10, write_svhn_mat

TINY = ["--preset", "demo", "--set", "steps=12", "width=0.125", "batch_size=32", "log_every=4",
        "checkpoint_every=6", "n_val_draws=2", "n_test_draws=4", "n_c=6"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    proc = cli("svhn-svm", *TINY, "--seeds", "0,1", "--out", out, "--device", "cpu",
               env={"OMP_NUM_THREADS": "1"})   # one thread: fast on a shared machine
    assert proc.returncode == 0, proc.stderr
    return out, proc


def test_tiny_demo_writes_run_directories(tiny_run):
    out, proc = tiny_run
    runs = sorted(p for p in out.iterdir() if p.name.startswith("svhn-svm_"))
    assert len(runs) == 2
    for run in runs:
        meta = json.loads((run / "run.json").read_text())
        assert meta["state"] == "finished" and meta["experiment"] == "svhn-svm"
        assert meta["config"]["steps"] == 12 and meta["dataset"]["name"] == "svhn-sample-800"
        assert meta["git_commit"] and meta["hardware"]["device"] == "cpu"
        assert len(meta["dataset"]["fingerprint"]) == 24
        for name in ("checkpoint.pt", "train_log.jsonl", "label_draws.npz", "data_split.json",
                     "svm_ali.json", "svm_raw-pixels.json", "svm_untrained-encoder.json", "samples.png", "reconstructions.png",
                     "interpolations.png", "curves.png", "report.md", "samples/step_000012.png"):
            assert (run / name).exists(), name
        lines = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
        assert {l["method"] for l in lines} == {"ali", "raw-pixels", "untrained-encoder"}
        assert [l["n_images"] for l in lines if l["metric"] == "recon_mse"] == [100]  # n_val
        for l in lines:
            for key in ("experiment", "method", "dataset", "n_labels", "seed", "metric", "value"):
                assert key in l
            assert 0 <= l["value"] <= 100
        errors = {l["method"]: l["value"] for l in lines if l["metric"] == "test_error_pct"}
        assert errors["untrained-encoder"] != errors["ali"]   # the control is not the trained encoder
        draws = np.load(run / "label_draws.npz")
        assert draws["test"].shape == (4, 200)
    assert "| ali" in proc.stdout and "| raw-pixels" in proc.stdout
    assert "not comparable with the paper" in proc.stdout


def test_seeds_share_nothing_but_the_protocol(tiny_run):
    out, _ = tiny_run
    runs = sorted(p for p in out.iterdir() if p.name.startswith("svhn-svm_"))
    d0, d1 = (np.load(r / "label_draws.npz")["test"] for r in runs)
    assert not np.array_equal(d0, d1)


def test_tables_reads_the_runs(tiny_run):
    out, _ = tiny_run
    proc = cli("tables", "--runs", out)
    assert proc.returncode == 0, proc.stderr
    row = next(l for l in proc.stdout.splitlines() if l.startswith("| ali"))
    assert "±" in row and "0,1 (2)" in row and "19.14 ± 0.50 at 1000 labels" in row
    csv = cli("tables", "--runs", out, "--format", "csv")
    assert csv.returncode == 0 and csv.stdout.startswith("method,")


def write_npz(path, **change):
    arrays = {"x_train": np.zeros((40, 32, 32, 3), np.uint8), "y_train": np.arange(40) % 10,
              "x_test": np.zeros((10, 32, 32, 3), np.uint8), "y_test": np.arange(10)}
    np.savez(path, **{**arrays, **change})


def truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def bad_svhn_dir(tmp):
    write_svhn_mat(tmp / "svhn" / "train_32x32.mat", 30)
    write_svhn_mat(tmp / "svhn" / "test_32x32.mat", 10)
    truncate(tmp / "svhn" / "train_32x32.mat")


def bad_cifar_dir(tmp):
    truncate(write_cifar10(tmp) / "data_batch_2")


NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
READ_ONLY = pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")


def read_only_dir(tmp):
    (tmp / "ro").mkdir()
    (tmp / "ro").chmod(0o500)


# (arguments, fragments the one-line error must contain, files to prepare in tmp)
BAD_INPUT = {
    "unknown experiment": (["svhn-svx"], ["invalid choice", "svhn-svm"], None),
    "unknown preset": (["svhn-svm", "--preset", "huge"], ["unknown preset 'huge'", "paper, fast, demo"], None),
    "unknown --set key": (["svhn-svm", "--set", "widht=2"], ["unknown config key 'widht'"], None),
    "float for a float key": (["svhn-svm", "--set", "width=big"], ["bad value for 'width'"], None),
    "float for an int key": (["svhn-svm", "--set", "steps=1.5"], ["bad value for 'steps'", "int"], None),
    "not a bool": (["svhn-svm", "--set", "raw_pixels=maybe"], ["bad value for 'raw_pixels'"], None),
    "impossible value": (["svhn-svm", "--set", "lr=-1"], ["lr must be positive"], None),
    "missing dataset directory": (["svhn-svm", "--data-dir", "{tmp}/nothing"],
                                  ["train_32x32.mat is missing", "download svhn"], None),
    "truncated SVHN .mat": (["svhn-svm", "--data-dir", "{tmp}"], ["cannot read SVHN file"], bad_svhn_dir),
    "truncated CIFAR pickle": (["svhn-svm", "--data", "cifar10", "--data-dir", "{tmp}"],
                               ["cannot read the CIFAR10 batches", "download cifar10"], bad_cifar_dir),
    "missing npz": (["svhn-svm", "--data", "npz:{tmp}/none.npz"], ["does not exist"], None),
    "truncated npz": (["svhn-svm", "--data", "npz:{tmp}/cut.npz"], ["cannot read", "cut.npz"],
                      lambda tmp: (write_npz(tmp / "cut.npz"), truncate(tmp / "cut.npz"))),
    "images of the wrong shape": (["svhn-svm", "--data", "npz:{tmp}/s.npz"], ["(N, 32, 32, 3)", "(40, 28, 28, 3)"],
                                  lambda tmp: write_npz(tmp / "s.npz", x_train=np.zeros((40, 28, 28, 3), np.uint8))),
    "images of the wrong dtype": (["svhn-svm", "--data", "npz:{tmp}/d.npz"], ["must be uint8", "float32"],
                                  lambda tmp: write_npz(tmp / "d.npz", x_train=np.zeros((40, 32, 32, 3), np.float32))),
    "labels outside 0..K-1": (["svhn-svm", "--data", "npz:{tmp}/l.npz"], ["labels must lie in 0..9", "found 0..10"],
                              lambda tmp: write_npz(tmp / "l.npz", y_train=np.arange(40) % 11)),
    "more labels than exist": (["svhn-svm", "--preset", "demo", "--set", "n_labels=1000"],
                               ["n_labels=1000", "only"], None),
    "bad seeds": (["svhn-svm", "--preset", "demo", "--seeds", "a,b"], ["--seeds"], None),
    "unknown device": (["svhn-svm", "--preset", "demo", "--device", "tpu"], ["unknown device"], None),
    "device not there": pytest.param(["svhn-svm", "--preset", "demo", "--device", "cuda"],
                                     ["'cuda'", "CUDA is not available", "--device cpu"], None, marks=NO_CUDA),
    "device index not there": (["svhn-svm", "--preset", "demo", "--device", "cuda:99"], ["'cuda:99'"], None),
    "a file where --out should be": (["svhn-svm", "--preset", "demo", "--out", "{tmp}/file/runs"],
                                     ["is a file, not a directory", "another --out"],
                                     lambda tmp: (tmp / "file").write_text("x")),
    "read-only --out": pytest.param(["svhn-svm", "--preset", "demo", "--out", "{tmp}/ro/runs"],
                                    ["is not writable"], read_only_dir, marks=READ_ONLY),
    "resume of a non-run directory": (["svhn-svm", "--resume", "{tmp}"], ["not a run directory"], None),
    "resume with --set": (["svhn-svm", "--resume", "{tmp}", "--set", "lr=1"], ["cannot be combined"], None),
}


def named(table):
    """pytest params with the table's keys as ids (entries may carry marks)."""
    return [pytest.param(*c.values, marks=c.marks, id=name) if isinstance(c, type(pytest.param()))
            else pytest.param(*c, id=name) for name, c in table.items()]


@pytest.mark.parametrize("args,fragments,prepare", named(BAD_INPUT))
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, args, fragments, prepare):
    if prepare:
        prepare(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    out = tmp_path / "out"
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if args[0] == "svhn-svm" and "--out" not in args:
        args += ["--out", out]
    proc = run_main(capsys, *args)
    assert_one_line_error(proc, *fragments)
    assert proc.returncode == 2
    assert sorted(tmp_path.rglob("*")) == before


@pytest.mark.parametrize("args,fragment", [
    (["svhn-svx"], "invalid choice"),
    (["svhn-svm", "--set", "width=big"], "bad value for 'width'"),
    # a non-finite hyperparameter once got "internal error" and a half-made run directory
    (["svhn-svm", "--preset", "demo", "--set", "epochs=inf", "steps=0"], "epochs must be a finite number"),
])
def test_bad_input_in_a_real_process(tmp_path, args, fragment):
    proc = cli(*args, "--out", tmp_path / "out") if args[0] == "svhn-svm" else cli(*args)
    assert_one_line_error(proc, fragment)
    assert proc.returncode == 2 and not (tmp_path / "out").exists()


def snapshot(folder):
    """Every file's bytes (the run's lock file aside: taking it is how a resume starts)."""
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".run.lock"}


def set_meta(run, **fields):
    meta = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**meta, **fields}))


def drop_config(run):
    meta = json.loads((run / "run.json").read_text())
    del meta["config"]
    (run / "run.json").write_text(json.dumps({**meta, "state": "failed"}))


def flip_middle(data):
    """Damage inside the tensors' bytes: the file still parses, its digest no longer matches."""
    mid = len(data) // 2
    return data[:mid] + bytes(x ^ 0x55 for x in data[mid:mid + 256]) + data[mid + 256:]


def spoil_checkpoint(run, damage):
    set_meta(run, state="interrupted")
    ck = run / "checkpoint.pt"
    ck.write_bytes(damage(ck.read_bytes()))


def hold_lock(run):
    set_meta(run, state="running")
    held = RunDir(run)
    held.hold()        # as a still-running process would
    return held


BAD_RESUME = {
    "already finished": (lambda run: None, ["already finished", "nothing to resume"]),
    "another experiment's run": (lambda run: set_meta(run, experiment="cifar-kplus1"),
                                 ["is a 'cifar-kplus1' run, not 'svhn-svm'", "cifar-kplus1 --resume"]),
    "unreadable run.json": (lambda run: (run / "run.json").write_text('{"state": "runn'), ["is unreadable"]),
    "run.json without a config": (drop_config, ["lacks config"]),
    "truncated checkpoint": (lambda run: spoil_checkpoint(run, lambda b: b[: len(b) // 3]),
                             ["checkpoint", "unreadable (truncated or corrupt", "delete it"]),
    "corrupt checkpoint": (lambda run: spoil_checkpoint(run, flip_middle),
                           ["checkpoint", "is corrupt (its content does not match its digest)"]),
    "a NaN in the saved config": (lambda run: set_meta(run, state="interrupted",
                                                       config={**json.loads((run / "run.json").read_text())["config"],
                                                               "lr": float("nan")}),
                                  ["lr must be a finite number, got nan"]),
    "run still in use": (hold_lock, ["in use by another alibench process", "pid"]),
}


@pytest.mark.parametrize("spoil,fragments", list(BAD_RESUME.values()), ids=list(BAD_RESUME))
def test_bad_resume_is_one_line_and_leaves_the_run_untouched(tiny_run, tmp_path, capsys, spoil, fragments):
    source = sorted(p for p in tiny_run[0].iterdir() if p.name.startswith("svhn-svm_"))[0]
    run = shutil.copytree(source, tmp_path / source.name)
    keep = spoil(run)
    before = snapshot(tmp_path)
    proc = run_main(capsys, "svhn-svm", "--resume", run)
    assert_one_line_error(proc, *fragments)
    assert snapshot(tmp_path) == before
    del keep


def test_help_lists_experiments_and_presets():
    proc = cli("--help")
    assert proc.returncode == 0
    assert "svhn-svm" in proc.stdout and "paper, fast, demo" in proc.stdout
