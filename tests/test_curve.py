"""The ``curve`` tool: a tiny svhn-svm run that kept its checkpoints, evaluated
along its way; the run itself left untouched, a rerun skipping what is done,
bad input refused in one line with nothing written."""

import json
import math
import shutil

import pandas as pd
import pytest
from conftest import assert_one_line_error, cli, run_main

from alibench.cli import main
from alibench.experiments.curve import COLUMNS

TINY = ["--preset", "demo", "--set", "steps=20", "keep_checkpoints_every=10", "width=0.125",
        "batch_size=32", "log_every=5", "checkpoint_every=10", "n_val_draws=2", "n_test_draws=4",
        "n_c=6", "sample_every=0", "--device", "cpu"]
ONE_THREAD = {"OMP_NUM_THREADS": "1"}


def files(folder):
    """Every file's bytes (the run's lock file aside)."""
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".run.lock"}


@pytest.fixture(scope="module")
def curved(tmp_path_factory):
    """(run directory, its files and the shared label draws' before the tool, the tool's process)."""
    out = tmp_path_factory.mktemp("runs")
    proc = cli("svhn-svm", *TINY, "--out", out, env=ONE_THREAD)
    assert proc.returncode == 0, proc.stderr
    (run,) = [p for p in out.iterdir() if p.name.startswith("svhn-svm_")]
    before = files(run), files(out / "label-splits")
    proc = cli("curve", run, "--device", "cpu", env=ONE_THREAD)
    assert proc.returncode == 0, proc.stderr
    return run, before, proc


def test_curve_has_a_row_per_kept_checkpoint(curved):
    run, _, _ = curved
    table = pd.read_csv(run / "curve" / "curve.csv")
    assert list(table.columns) == list(COLUMNS)
    assert table["step"].tolist() == [0, 10, 20]     # 0: the untrained networks
    for col in COLUMNS:
        values = table[col][1:] if col == "acc_d" else table[col]   # no D accuracy before step 1
        assert values.map(math.isfinite).all(), col
    assert table["raw_pixels_test_error_pct"].nunique() == 1
    assert (table["recon_mse"] > 0).all() and (table["seconds_per_checkpoint"] > 0).all()
    meta = json.loads((run / "run.json").read_text())
    assert table["epoch"].tolist() == pytest.approx([s * 32 / meta["train_images"] for s in (0, 10, 20)])
    log = {r["step"]: r for r in map(json.loads, (run / "train_log.jsonl").read_text().splitlines())}
    assert table["acc_d"].tolist()[1:] == pytest.approx([log[10]["acc_d"], log[20]["acc_d"]])
    # the same protocol as the run's own: its raw-pixels number, its final ali number
    metrics = {(m["method"], m["metric"]): m["value"]
               for m in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())}
    assert table["raw_pixels_test_error_pct"][0] == pytest.approx(metrics[("raw-pixels", "test_error_pct")])
    # the final row: the same weights, evaluated eager (the run: channels_last); at this
    # tiny scale the chosen C sits at the grid's edge (2e-9) and features equal to 1e-7
    # can move the error by a few points, so within the run's spread over test draws
    spread = next(json.loads(l)["std_over_draws"] for l in (run / "metrics.jsonl").read_text().splitlines()
                  if '"method": "ali"' in l and '"test_error_pct"' in l)
    assert table["ali_test_error_pct"][2] == pytest.approx(metrics[("ali", "test_error_pct")],
                                                          abs=max(1.0, spread))
    # row 0 is the run's own untrained-encoder control
    assert table["ali_test_error_pct"][0] == pytest.approx(metrics[("untrained-encoder", "test_error_pct")])
    facts = json.loads((run / "curve" / "curve.json").read_text())
    assert facts["n_labels"] == 200 and facts["preset"] == "demo" and facts["seed"] == 0
    assert facts["dataset"]["name"] == "svhn-sample-800" and facts["run_hardware"]["device"] == "cpu"
    assert facts["command"].startswith("python -m alibench.run curve ")
    assert [r["step"] for r in facts["rows"]] == [0, 10, 20]
    assert (run / "curve" / "curve.png").stat().st_size > 0


def test_curve_leaves_the_run_untouched(curved):
    run, (before, draws), _ = curved
    after = {p: b for p, b in files(run).items() if p.parts[0] != "curve"}
    assert after == before                      # metrics.jsonl, run.json, … as the run left them
    assert files(run.parent / "label-splits") == draws
    # the scratch run directories of the SVM protocol are gone
    assert sorted(p.name for p in (run / "curve").iterdir()) == ["curve.csv", "curve.json", "curve.png"]


def test_rerun_skips_the_rows_it_has(curved, capsys):
    run, _, _ = curved
    before = files(run / "curve")
    rc = main(["curve", str(run), "--device", "cpu"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "steps 0, 10, 20 already in" in out and "skipped" in out
    assert files(run / "curve") == before


def test_an_older_curve_without_the_mean_code_column_is_kept(curved, tmp_path, capsys):
    """A curve.csv written before mean_code_ratio existed is read and its rows kept
    (the column stays empty for them), not refused."""
    run, _, _ = curved
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    csv = copy / "curve" / "curve.csv"
    pd.read_csv(csv).drop(columns=["mean_code_ratio"]).to_csv(csv, index=False)
    rc = main(["curve", str(copy), "--device", "cpu"])
    assert rc == 0 and "already in" in capsys.readouterr().out


def _other_experiment(tmp, run):
    target = tmp / "other"
    shutil.copytree(run, target, ignore=shutil.ignore_patterns("curve"))
    meta = json.loads((target / "run.json").read_text())
    (target / "run.json").write_text(json.dumps({**meta, "experiment": "cifar10-ssl"}))
    return target


def _no_kept(tmp, run):
    target = tmp / "nokept"
    shutil.copytree(run, target, ignore=shutil.ignore_patterns("curve", "checkpoints"))
    return target


def _not_a_run(tmp, run):
    (tmp / "empty").mkdir()
    return tmp / "empty"


BAD = {
    "missing": (lambda tmp, run: tmp / "nowhere", [], ["does not exist"]),
    "not a run": (_not_a_run, [], ["not a run directory"]),
    "other experiment": (_other_experiment, [], ["'cifar10-ssl' run", "svhn-svm or bigan"]),
    "no kept checkpoints": (_no_kept, [], ["no kept checkpoints", "keep_checkpoints_every=N"]),
    "every zero": (lambda tmp, run: run, ["--every", "0"], ["--every must be a positive integer"]),
    "every too large": (lambda tmp, run: run, ["--every", "3"], ["skips all 2 kept checkpoints"]),
    "every not a number": (lambda tmp, run: run, ["--every", "x"], ["invalid int value"]),
    "bad n-labels": (lambda tmp, run: run, ["--n-labels", "7"], ["multiple of 10"]),
    "set a key outside the protocol": (lambda tmp, run: run, ["--set", "lr=1"], ["KEY one of n_c"]),
    "set a bad value": (lambda tmp, run: run, ["--set", "n_c=many"], ["'many' is not a int"]),
    "set an impossible value": (lambda tmp, run: run, ["--set", "n_test_draws=0"], ["n_test_draws"]),
}


def test_a_cheaper_protocol_is_recorded_and_kept_apart(curved, tmp_path, capsys):
    run, _, _ = curved
    out = tmp_path / "cheap"
    proc = run_main(capsys, "curve", run, "--set", "n_test_draws=2", "--set", "n_c=3", "--out", out,
                    "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    facts = json.loads((out / "curve.json").read_text())
    assert facts["protocol"]["n_test_draws"] == 2 and facts["protocol"]["n_c"] == 3
    assert "--set n_test_draws=2" in facts["command"]
    # the same folder with the run's own protocol is refused: its rows are not comparable
    proc = run_main(capsys, "curve", run, "--out", out, "--device", "cpu")
    assert_one_line_error(proc, "made with the protocol")


@pytest.mark.parametrize("prepare,extra,fragments", BAD.values(), ids=BAD.keys())
def test_bad_input_is_one_line_and_writes_nothing(curved, tmp_path, capsys, prepare, extra, fragments):
    run, _, _ = curved
    target = prepare(tmp_path, run)
    before_tmp, before_run = files(tmp_path), files(run)
    proc = run_main(capsys, "curve", target, *extra, "--out", tmp_path / "out", "--device", "cpu")
    assert_one_line_error(proc, *fragments)
    assert proc.returncode == 2
    assert files(tmp_path) == before_tmp and files(run) == before_run
    assert not (tmp_path / "out").exists()
