"""The CIFAR10 (K+1) track from the command line: each experiment's demo end to
end on the real CIFAR10 sample (a few steps, tiny widths), shared label splits,
and refused input."""

import json

import numpy as np
import pytest

from conftest import assert_one_line_error, cli

EXPERIMENTS = {"cifar10-ssl": "ali-k1", "gan-fm": "gan-fm", "supervised": "supervised"}
TINY = ["--preset", "demo", "--labels", "100", "--seeds", "0,1", "--device", "cpu",
        "--set", "steps=3", "width=0.0625", "batch_size=20", "log_every=1", "checkpoint_every=3",
        "n_val=200", "eval_batch_size=250"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, shared_data):
    out = tmp_path_factory.mktemp("ssl-runs")
    for exp in EXPERIMENTS:
        proc = cli(exp, *TINY, "--data-dir", shared_data, "--out", out)
        assert proc.returncode == 0, proc.stderr
        assert f"| {EXPERIMENTS[exp]}" in proc.stdout
    return out


def _run_dirs(out, exp):
    return sorted(p for p in out.iterdir() if p.name.startswith(exp + "_"))


@pytest.mark.parametrize("exp", EXPERIMENTS)
def test_demo_writes_finished_runs_with_the_method_name(runs, exp):
    dirs = _run_dirs(runs, exp)
    assert len(dirs) == 2
    for run in dirs:
        meta = json.loads((run / "run.json").read_text())
        assert meta["state"] == "finished" and meta["preset"] == "demo"
        assert meta["config"]["n_labels"] == 100 and meta["total_steps"] == 3
        assert meta["dataset"]["name"] == "cifar10-sample-5k"
        lines = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
        assert {l["method"] for l in lines} == {EXPERIMENTS[exp]}
        assert {l["metric"] for l in lines} == {"val_error_pct", "test_error_pct"}
        for l in lines:
            assert l["paper_dataset"] == "cifar10" and l["n_labels"] == 100
            assert 0 <= l["value"] <= 100
        test = next(l for l in lines if l["metric"] == "test_error_pct")
        assert test["n_images"] == 1000
        log = [json.loads(l) for l in (run / "train_log.jsonl").read_text().splitlines()]
        assert [r["step"] for r in log] == [1, 2, 3]


def test_every_method_uses_the_same_labels_per_seed(runs):
    by_seed = {0: [], 1: []}
    for exp in EXPERIMENTS:
        for run in _run_dirs(runs, exp):
            seed = json.loads((run / "run.json").read_text())["seed"]
            with np.load(run / "label_draws.npz") as f:
                by_seed[seed].append(f["selection"])
    for seed, draws in by_seed.items():
        assert len(draws) == 3
        for d in draws[1:]:
            np.testing.assert_array_equal(draws[0], d)
    assert not np.array_equal(by_seed[0][0], by_seed[1][0])
    assert len(list((runs / "label-splits").glob("*.npz"))) == 2


def test_tables_show_the_three_methods_from_real_runs(runs, tmp_path):
    proc = cli("tables", "--runs", runs, "--save-dir", tmp_path)
    assert proc.returncode == 0, proc.stderr
    table = next(tmp_path.glob("cifar10_cifar10-sample-5k_demo*.md")).read_text()
    for method in EXPERIMENTS.values():
        row = next(l for l in table.splitlines() if l.startswith(f"| {method} "))
        assert "(n=2)" in row, row
    assert "ali-k1 − supervised" in table


@pytest.mark.parametrize("exp,labels,fragments", [
    *[(exp, "5000", ["n_labels=5000", "only", "lower --set n_labels"]) for exp in EXPERIMENTS],
    ("cifar10-ssl", "105", ["multiple of 10"]),
])
def test_impossible_label_counts_are_one_line_and_write_nothing(tmp_path, shared_data, exp,
                                                                 labels, fragments):
    out = tmp_path / "out"
    proc = cli(exp, "--preset", "demo", "--labels", labels, "--data-dir", shared_data,
               "--out", out)
    assert_one_line_error(proc, *fragments)
    assert not out.exists()
