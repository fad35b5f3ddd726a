"""The training signals (alibench/evaluation/training_signals.py): sample
diversity on real images, the collapse rule, and how a run records and reports
them (metrics.jsonl, report.md's "Training signals", a warning on stderr)."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from alibench.core.rundir import RunDir
from alibench.evaluation.training_signals import (
    COLLAPSE_RULE,
    MAX_ACC_D,
    MAX_RECON_RATIO,
    MIN_DIVERSITY,
    Signals,
    final_acc_d,
    mean_pairwise_distance,
    sample_diversity,
    signals_from,
)
from alibench.reporting import tables
from alibench.reporting.figures import warn_if_collapsed
from alibench.reporting.report import write_report
from conftest import cli
from test_figures import TINY

SVHN_SAMPLE = Path(__file__).resolve().parents[1] / "alibench" / "data" / "samples" / "svhn-real-800.npz"


@pytest.fixture(scope="module")
def real():
    """The shipped real SVHN sample, float N×3×32×32 in [0, 1]."""
    x = np.load(SVHN_SAMPLE)["x_train"]
    return torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255


# ---- sample_diversity --------------------------------------------------------------------

def test_mean_pairwise_distance_by_hand():
    x = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 0.0]])
    assert mean_pairwise_distance(x) == pytest.approx((5 + 5 + 0) / 3)


def test_two_halves_of_real_images_score_about_one(real):
    assert sample_diversity(real[:400], real[400:]) == pytest.approx(1.0, abs=0.1)


def test_copies_of_one_image_score_about_zero(real):
    assert sample_diversity(real[:1].repeat(100, 1, 1, 1), real[400:]) < 1e-6


def test_blurred_and_shrunk_sets_score_in_between(real):
    sharp = sample_diversity(real[:400], real[400:])
    blurred = F.avg_pool2d(real[:400], 9, stride=1, padding=4, count_include_pad=False)
    assert 0.05 < sample_diversity(blurred, real[400:]) < sharp
    # every image half-way to the mean image: every distance, so the diversity, halves
    halfway = 0.5 * real[:400] + 0.5 * real[:400].mean(0, keepdim=True)
    assert sample_diversity(halfway, real[400:]) == pytest.approx(0.5 * sharp, rel=1e-6)


def test_diversity_needs_two_images_and_a_spread_reference(real):
    with pytest.raises(ValueError):
        sample_diversity(real[:1], real[:10])
    assert np.isnan(sample_diversity(real[:10], real[:1].repeat(5, 1, 1, 1)))


# ---- the collapse rule -------------------------------------------------------------------

HEALTHY = Signals(acc_d=0.62, diversity=0.93, recon_ratio=0.55, log_sigma_mean=-1.2)


def test_a_healthy_run_passes():
    assert HEALTHY.problems() == [] and HEALTHY.verdict() == "ok" and not HEALTHY.collapsed


@pytest.mark.parametrize("change,words", [
    ({"diversity": MIN_DIVERSITY - 0.01}, "samples spread"),
    ({"recon_ratio": MAX_RECON_RATIO + 0.01}, "reconstructions are"),
    ({"acc_d": MAX_ACC_D + 0.01}, "D wins"),
])
def test_each_rule_flags_on_its_own(change, words):
    signals = Signals(**{**HEALTHY.__dict__, **change})
    (problem,) = signals.problems()
    assert words in problem
    assert signals.collapsed and signals.verdict() == "collapsed: " + problem


def test_every_rule_at_once_and_thresholds_themselves():
    bad = Signals(acc_d=1.0, diversity=0.01, recon_ratio=1.3)
    assert len(bad.problems()) == 3 and bad.verdict().count(";") == 2
    edge = Signals(acc_d=MAX_ACC_D, diversity=MIN_DIVERSITY, recon_ratio=MAX_RECON_RATIO)
    assert edge.verdict() == "ok"                     # flagged strictly beyond the thresholds
    assert Signals(None, None, None).verdict() == "ok"              # nothing measured: nothing flagged
    assert Signals(None, float("nan"), float("nan")).verdict() == "ok"
    for value in (MIN_DIVERSITY, MAX_RECON_RATIO, MAX_ACC_D):
        assert str(value) in COLLAPSE_RULE


def test_signals_from_metric_lines_and_the_train_log():
    log = [{"step": 10, "loss_d": 1.2, "loss_g": 0.8, "acc_d": 0.7, "log_sigma_mean": -1.0,
            "sigma_small_frac": 0.0},
           {"step": 20, "loss_d": 0.4, "loss_g": 3.1, "acc_d": 0.97, "log_sigma_mean": -4.0,
            "sigma_small_frac": 0.25}]
    records = [{"method": "ali", "metric": "test_error_pct", "value": 30.0},
               {"method": "ali", "metric": "recon_mse", "value": 0.05, "mse_of_mean_image": 0.04},
               {"method": "ali", "metric": "sample_diversity", "value": 0.2}]
    s = signals_from(records, log)
    assert (s.acc_d, s.diversity, s.loss_d, s.loss_g) == (0.97, 0.2, 0.4, 3.1)
    assert s.recon_ratio == pytest.approx(1.25)
    assert (s.log_sigma_mean, s.sigma_small_frac) == (-4.0, 0.25)
    assert len(s.problems()) == 3
    # an acc_d_final line wins over the log; no log, no σ
    s = signals_from(records + [{"method": "ali", "metric": "acc_d_final", "value": 0.5}], [])
    assert s.acc_d == 0.5 and s.log_sigma_mean is None and s.loss_d is None
    assert final_acc_d([{"step": 1, "loss_d": 1.0}]) is None and final_acc_d(log) == 0.97
    assert s.recon_ratio_mean_code is None      # a deterministic encoder records none
    # the mean code's reconstruction is shown, not judged: 0.5 does not clear the warning
    with_mu = [{**r, "mean_code_mse": 0.02} if r["metric"] == "recon_mse" else r for r in records]
    s = signals_from(with_mu, log)
    assert s.recon_ratio_mean_code == pytest.approx(0.5) and len(s.problems()) == 3


# ---- report.md and the warning -------------------------------------------------------------

def _run(tmp_path, diversity, acc_d):
    run = RunDir.create(tmp_path, "t", {"experiment": "test", "dataset": {"full": False}})
    run.log_train({"step": 5, "loss_d": 1.3, "loss_g": 0.7, "acc_d": acc_d, "log_sigma_mean": -2.5,
                   "sigma_small_frac": 0.125})
    records = [{"method": "ali", "metric": "recon_mse", "value": 0.02, "mse_of_mean_image": 0.05},
               {"method": "ali", "metric": "sample_diversity", "value": diversity},
               {"method": "ali", "metric": "acc_d_final", "value": acc_d, "step": 5}]
    for rec in records:
        run.add_metric(rec)
    write_report(run, "test images")
    return run, records


def test_report_shows_the_signals_and_an_ok_verdict(tmp_path, capsys):
    run, records = _run(tmp_path, diversity=0.8, acc_d=0.6)
    report = (run.path / "report.md").read_text()
    section = report.split("## Training signals")[1].split("## Metrics")[0]
    for text in ("| D's final accuracy (last logged window) | 0.600 |", "1.300 / 0.700", "-2.500",
                 "0.125", "| sample diversity | 0.800 |", "1.0: samples spread as much as real",
                 "| recon_mse / mse_of_mean_image | 0.400 |", f"Verdict: ok (rule: {COLLAPSE_RULE})"):
        assert text in section, text
    assert "Warning" not in report
    assert not warn_if_collapsed(run.path.name, records, run.train_log())
    assert capsys.readouterr().err == ""


def test_report_and_stderr_warn_about_a_collapsed_run(tmp_path, capsys):
    run, records = _run(tmp_path, diversity=0.1, acc_d=0.99)
    report = (run.path / "report.md").read_text()
    (line,) = [line for line in report.splitlines() if "looks collapsed" in line]
    assert line.startswith("**Warning: this run looks collapsed**: samples spread 0.10×")
    assert "D wins" in line and f"(rule: {COLLAPSE_RULE})" in line and "Verdict: ok" not in report
    assert warn_if_collapsed(run.path.name, records, run.train_log())
    (err,) = capsys.readouterr().err.splitlines()
    assert err.startswith(f"warning: run {run.path.name} looks collapsed: samples spread 0.10×")


def test_tables_and_bands_ignore_the_signal_metrics():
    rows = [{"paper_dataset": "svhn", "experiment": "svhn-svm", "method": "ali", "dataset": "d",
             "preset": "demo", "hardware": "cpu", "n_labels": 200, "seed": 0, "run": "r",
             "metric": metric, "value": value}
            for metric, value in (("test_error_pct", 30.0), ("recon_mse", 0.03),
                                  ("sample_diversity", 0.9), ("acc_d_final", 0.6))]
    summary = tables.summarize(pd.DataFrame(rows))
    assert len(summary) == 1 and summary["mean"].iloc[0] == 30.0
    assert tables.summarize(pd.DataFrame(rows), "sample_diversity")["mean"].iloc[0] == 0.9


# ---- a real run end to end ---------------------------------------------------------------

SVM_TINY = ["n_val_draws=2", "n_test_draws=2", "n_c=2", "raw_pixels=false"]


@pytest.fixture(scope="module")
def svhn_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    proc = cli("svhn-svm", *TINY, "--set", *SVM_TINY, "--out", out, env={"OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    (run,) = out.glob("svhn-svm_*")
    return run, proc


def _lines(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_a_demo_run_records_and_reports_its_signals(svhn_run):
    run, proc = svhn_run
    lines = {line["metric"]: line for line in _lines(run) if line["method"] == "ali"}
    div, acc = lines["sample_diversity"], lines["acc_d_final"]
    assert div["n_samples"] == div["n_real"] == 100 and div["value"] >= 0   # n_val of the demo
    assert "mean pairwise L2 distance" in div["measure"]
    last = json.loads((run / "train_log.jsonl").read_text().splitlines()[-1])
    assert acc["value"] == pytest.approx(last["acc_d"]) and acc["step"] == last["step"] == 8
    report = (run / "report.md").read_text()
    assert "## Training signals" in report
    starts = ("Verdict: ok (rule: ", "**Warning: this run looks collapsed**")
    verdicts = [line for line in report.splitlines() if line.startswith(starts)]
    assert len(verdicts) == 1
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == (0 if verdicts[0].startswith("Verdict") else 1)


def test_the_figures_tool_replaces_the_signal_lines(svhn_run, tmp_path):
    run, _ = svhn_run
    copy = tmp_path / run.name
    shutil.copytree(run, copy)
    before = _lines(copy)
    proc = cli("figures", "--run", copy, "--device", "cpu", env={"OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    after = _lines(copy)
    assert sorted(line["metric"] for line in after) == sorted(line["metric"] for line in before)
    assert [line["metric"] for line in after].count("sample_diversity") == 1
    old = {(line["method"], line["metric"]): line["value"] for line in before}
    for line in after:
        key = (line["method"], line["metric"])
        assert line["value"] == pytest.approx(old[key], rel=1e-6), key
    assert "## Training signals" in (copy / "report.md").read_text()
