"""The command line as a user meets it: a tiny real run end to end, and bad
input refused in one line with nothing written."""

import json

import numpy as np
import pytest

from conftest import assert_one_line_error, cli

TINY = ["--preset", "demo", "--set", "steps=12", "width=0.125", "batch_size=32", "log_every=4",
        "checkpoint_every=6", "n_val_draws=2", "n_test_draws=4", "n_c=6"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    proc = cli("svhn-svm", *TINY, "--seeds", "0,1", "--out", out, "--device", "cpu")
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
                     "svm_ali.json", "svm_raw-pixels.json", "samples.png", "reconstructions.png",
                     "interpolations.png", "curves.png", "report.md", "samples/step_000012.png"):
            assert (run / name).exists(), name
        lines = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
        assert {l["method"] for l in lines} == {"ali", "raw-pixels"}
        assert [l["n_images"] for l in lines if l["metric"] == "recon_mse"] == [100]  # n_val
        for l in lines:
            for key in ("experiment", "method", "dataset", "n_labels", "seed", "metric", "value"):
                assert key in l
            assert 0 <= l["value"] <= 100
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


@pytest.mark.parametrize("args,fragments", [
    (["svhn-svx"], ["invalid choice", "svhn-svm"]),
    (["svhn-svm", "--preset", "huge"], ["unknown preset 'huge'", "paper, fast, demo"]),
    (["svhn-svm", "--set", "widht=2"], ["unknown config key 'widht'"]),
    (["svhn-svm", "--set", "width=big"], ["bad value for 'width'"]),
    (["svhn-svm", "--data-dir", "{tmp}/nothing"], ["train_32x32.mat is missing", "download svhn"]),
    (["svhn-svm", "--data", "npz:{tmp}/none.npz"], ["does not exist"]),
    (["svhn-svm", "--preset", "demo", "--set", "n_labels=1000"], ["n_labels=1000", "only"]),
    (["svhn-svm", "--preset", "demo", "--seeds", "a,b"], ["--seeds"]),
    (["svhn-svm", "--preset", "demo", "--device", "tpu"], ["unknown device"]),
    (["svhn-svm", "--resume", "{tmp}"], ["not a run directory"]),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, args, fragments):
    out = tmp_path / "out"
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    proc = cli(*args, "--out", out) if args[0] == "svhn-svm" else cli(*args)
    assert_one_line_error(proc, *fragments)
    assert not out.exists()


def test_help_lists_experiments_and_presets():
    proc = cli("--help")
    assert proc.returncode == 0
    assert "svhn-svm" in proc.stdout and "paper, fast, demo" in proc.stdout
