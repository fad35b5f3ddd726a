"""Regression bands and the check: derived from runs, failing on regressions,
on unexplained improvements and on bands that match no run."""

import json

import pytest

from alibench.reporting.bands import check, derive, load
from alibench.core.errors import UserError
from alibench.core.rundir import RunDir
from conftest import cli


def _run(root, seed, value, method="ali-k1", state="finished", n_labels=1000):
    run = RunDir.create(root, f"r{seed}_{method}", {"experiment": "cifar10-ssl", "command": "python -m x"})
    run.add_metric({"experiment": "cifar10-ssl", "method": method, "dataset": "cifar10-sample-5k",
                    "paper_dataset": "cifar10", "preset": "demo", "hardware": "cpu",
                    "n_labels": n_labels, "seed": seed, "metric": "test_error_pct", "value": value,
                    "run": run.path.name})
    run.set_state(state)
    return run


@pytest.fixture
def bands_file(tmp_path):
    ref = tmp_path / "ref"
    for seed, value in enumerate([50.0, 51.0, 52.0, 53.0, 54.0]):
        _run(ref, seed, value)
    data = derive([ref])
    path = tmp_path / "bands.json"
    path.write_text(json.dumps(data))
    return path


def test_band_is_mean_plus_minus_three_std(bands_file):
    (band,) = load(bands_file)
    assert band.mean == pytest.approx(52.0)
    assert band.deviation == pytest.approx(3 * 1.5811388, rel=1e-5)
    assert band.n_seeds == 5 and band.commands == ["python -m x"]


def test_floor_widens_a_too_narrow_band(tmp_path):
    for seed in range(5):
        _run(tmp_path, seed, 40.0)
    (band,) = [b for b in derive([tmp_path], floor=1.5)["bands"]]
    assert band["deviation"] == 1.5


def test_fewer_than_five_seeds_is_refused(tmp_path):
    for seed in range(3):
        _run(tmp_path, seed, 40.0)
    with pytest.raises(UserError, match="only 3 seed"):
        derive([tmp_path])


@pytest.mark.parametrize("values,status,passes", [
    ([51.0, 53.0], "ok", True),
    ([70.0, 72.0], "REGRESSION", False),
    ([20.0, 22.0], "BETTER than band", False),
])
def test_check_statuses(tmp_path, bands_file, values, status, passes):
    new = tmp_path / "new"
    for seed, v in enumerate(values):
        _run(new, seed, v)
    table, ok = check(load(bands_file), [new])
    assert table.iloc[0]["status"] == status and ok is passes


def test_a_band_without_runs_fails(tmp_path, bands_file):
    new = tmp_path / "new"
    _run(new, 0, 52.0, n_labels=4000)      # runs exist, but none for the band's label count
    table, ok = check(load(bands_file), [new])
    assert not ok and table.iloc[0]["status"].startswith("MISSING")


def test_unfinished_runs_do_not_count(tmp_path, bands_file):
    new = tmp_path / "new"
    _run(new, 0, 52.0, state="failed")
    assert not check(load(bands_file), [new])[1]


def test_cli_exit_codes(tmp_path, bands_file):
    good, bad = tmp_path / "good", tmp_path / "bad"
    _run(good, 0, 52.5)
    _run(bad, 0, 80.0)
    ok = cli("check", "--against", bands_file, good)
    assert ok.returncode == 0 and "all 1 bands ok" in ok.stdout
    fail = cli("check", "--against", bands_file, bad)
    assert fail.returncode == 1 and "REGRESSION" in fail.stdout
    missing = cli("check", "--against", tmp_path / "nope.json", good)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
