"""Proof that the CI's regression check bites: the committed bands
(results/bands/ci.json, derived from the real runs in results/bands/runs) pass
on those runs, and fail on a deliberately crippled model trained with the CI's
command cut to a single training step (a model that never learns)."""

import json

import pytest

from conftest import ROOT, cli

BANDS = ROOT / "results" / "bands" / "ci.json"
BAND_RUNS = ROOT / "results" / "bands" / "runs"


def _ali_k1_band(tmp_path):
    """The committed ali-k1 band alone, so only the crippled method is checked."""
    data = json.loads(BANDS.read_text())
    data["bands"] = [b for b in data["bands"] if b["method"] == "ali-k1"]
    assert len(data["bands"]) == 1, "results/bands/ci.json must hold the CI's ali-k1 band"
    path = tmp_path / "ali-k1.json"
    path.write_text(json.dumps(data))
    return path


def test_committed_bands_cover_the_ci_configuration():
    bands = json.loads(BANDS.read_text())["bands"]
    keys = {(b["experiment"], b["method"], b["n_labels"]) for b in bands}
    assert {("svhn-svm", "ali", 200), ("svhn-svm", "raw-pixels", 200),
            ("cifar10-ssl", "ali-k1", 1000)} <= keys
    for band in bands:
        assert band["n_seeds"] >= 5 and band["preset"] == "demo" and band["commands"]


def test_committed_bands_pass_on_the_runs_they_came_from():
    proc = cli("check", "--against", BANDS, BAND_RUNS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "REGRESSION" not in proc.stdout


@pytest.mark.slow
def test_check_fails_on_a_model_that_never_trains(tmp_path, shared_data):
    out = tmp_path / "runs"
    run = cli("cifar10-ssl", "--preset", "demo", "--labels", "1000", "--device", "cpu",
              "--data-dir", shared_data, "--seeds", "0", "--out", out, "--set", "steps=1")
    assert run.returncode == 0, run.stderr
    proc = cli("check", "--against", _ali_k1_band(tmp_path), out)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    row = next(line for line in proc.stdout.splitlines() if "ali-k1" in line)
    assert "REGRESSION" in row
